/**
 * capflow's library entry (`import { ... } from 'capflow'`): the typed API the CLI is built on.
 *
 * - captures: `openCapture` / `readPackets` to read pcap, pcapng and gzip; `createFileWriter`
 *   (atomic) and `createStreamWriter` to write;
 * - pipelines: `readPipelineFile` + `parseStageSpec` + `resolvePipeline` give the same
 *   `PipelineConfig` as `capflow run --pipeline/--stage/--nic/--view`; `new Pipeline(config)` is
 *   the synchronous core (`process(pkt, out)` / `flush(out)`), `runCapture` the file driver;
 * - headers: `decodeFrame` into a reusable `Layers`, and the allocation-free field functions of
 *   the `wire` namespaces (`wire.ipv4.ttl(b, off)`, `wire.vxlan.vni(b, off)` ...);
 * - metadata: `TunnelInfo` (pcapng comment `tunnel vni=...`);
 * - NIC profiles: `loadProfile`, `builtinProfiles`, `decideTx`;
 * - golden files: `diffCaptures(expected, actual, {ignore, unordered, max})` → `DiffResult`,
 *   `formatDiff` for the `capflow diff` text. The vitest matcher lives in `capflow/vitest`.
 */

// The packet model.
export { Packet, HEADROOM, NO_OFFSET, GSO, CSUM, type CsumMode } from './packet.js';

// Capture I/O.
export {
  CaptureReader,
  openCapture,
  readCaptureFromStream,
  readPackets,
  type ReadOptions,
  type CaptureInterface,
  type CaptureWriter,
  type CommentSource,
  type PacketComment,
  createFileWriter,
  createStreamWriter,
  formatFromPath,
  type WriteOptions,
  CaptureFormatError,
  CaptureInputError,
  type CaptureFormatErrorCode,
  CaptureWriteError,
  type CaptureWriteErrorCode,
  LINKTYPE,
  type LinkType,
  linkTypeName,
} from './pcap/index.js';

// Pipeline configuration and execution.
export {
  readPipelineFile,
  parseStageSpec,
  resolvePipeline,
  type PipelineConfig,
  type PipelineDocument,
  type ResolveOverrides,
  type StageSpec,
  type LinkLayerOptions,
} from './config.js';
export { ConfigError } from './config-error.js';
export { Pipeline, checkAccounting, AccountingError, type PipelineOptions, type Counters, type StageCounters } from './pipeline.js';
export { DROP_REASONS, isDropReason, type DropReason } from './drop-reasons.js';
export { runCapture, outputPathFor, outDirPlan, type RunOptions, type PipelineSlot, type RunSummary, type InputSummary, type Progress, type CaptureFormat } from './run.js';
export type { Stage, StageContext, StageDefinition, StageEnv, View } from '../stages/stage.js';
export { defineStage } from '../stages/stage.js';

// Header decoding and wire formats.
export { decodeFrame, decodeIp, decodePacket, Layers, DECODE, DECODE_NAME, type DecodeStatus, type DecodeLayer } from './decode.js';
export { LayerRecord, layersOf, vxlanPortTable } from './layer-record.js';
export * as wire from './wire/index.js';
export { ETHER_TYPE, IP_PROTO, TCP_FLAG } from './wire/index.js';

// Per-packet metadata.
export { TunnelInfo, TUNNEL } from './metadata.js';
export { restoreMetadata, outputComments } from './comments.js';

// NIC offload profiles.
export {
  loadProfile,
  parseProfile,
  builtinProfiles,
  builtinProfileNames,
  profileToJson,
  ProfileError,
  type NicProfile,
  type ProfileJson,
  decideTx,
  makeTxRequest,
  type TxRequest,
  type TxDecision,
  type TxOutcome,
  FEATURE_NAMES,
  type FeatureName,
  importEthtool,
} from './nic/index.js';

// Golden files.
export {
  diffCaptures,
  DEFAULT_MAX_DIFFERENCES,
  type DiffOptions,
  type PacketSource,
  type Difference,
  type DiffResult,
  formatDiff,
  formatDifference,
  diffJson,
  DIFF_FIELDS,
  DIFF_FIELD_NAMES,
  DiffFieldError,
  parseIgnore,
  type FieldDef,
  DEFAULT_VXLAN_PORTS,
} from './diff/index.js';
