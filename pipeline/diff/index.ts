/** Packet-by-packet capture comparison: `capflow diff`, `diffCaptures`, the `toMatchPcap` matcher. */
export { diffCaptures, DEFAULT_MAX_DIFFERENCES, type DiffOptions, type PacketSource } from './diff.js';
export { type Difference, type DiffResult } from './result.js';
export { formatDiff, formatDifference, diffJson, summaryLine, streamReport } from './report.js';
export { ALIGN_WINDOW } from './align.js';
export {
  DIFF_FIELDS,
  DIFF_FIELD_NAMES,
  DiffFieldError,
  describeFields,
  parseIgnore,
  type FieldDef,
  type IgnoreRule,
} from './fields.js';
export { DEFAULT_VXLAN_PORTS } from './layout.js';
