/**
 * The stage interface. A stage is synchronous: it takes one packet and either forwards it
 * (possibly changed, or as several packets) with `ctx.emit`, or drops it with `ctx.drop` and a
 * reason of pipeline/drop-reasons.ts. The pipeline counts both per stage. Only the runner is async (file I/O); no stage awaits per packet.
 */
import type { Packet } from '../pipeline/packet.js';
import type { NicProfile } from '../pipeline/nic/profile.js';
import type { EgressView, PacketContext, View } from '../pipeline/egress.js';
import type { TunnelInfoPool } from '../pipeline/metadata.js';

export type { View, EgressView };

/** emit / drop / warnOnce: see PacketContext. */
export type StageContext = PacketContext;

export interface Stage {
  readonly name: string;
  process(pkt: Packet, ctx: StageContext): void;
  /** Called once at the end of each input, for stages that hold packets back. */
  flush?(ctx: StageContext): void;
  /**
   * Forget what earlier packets taught the stage (vxlan-encap's IPv4 ID counters): the next packet
   * is handled as by a stage just made (a cache whose content follows from the options alone may
   * stay). A batch job runs all its files through one pipeline, reset before each file
   * (Pipeline.reset); a pipeline with a stage without `reset` is built anew for each file instead.
   * A stage that keeps nothing has an empty one.
   */
  reset?(): void;
}

/** What every stage factory gets besides its own options. */
export interface StageEnv {
  nic: NicProfile;
  view: View;
  /**
   * The pipeline's egress, read-only: its MTU, and `mark` to turn a frame a stage is about to
   * grow into a GSO super-packet (vxlan-encap keeps a super-packet one and marks it for tunnel
   * GSO; the egress segments it).
   */
  egress: EgressView;
  /** UDP destination ports taken as VXLAN, one list for the whole pipeline. */
  vxlanPorts: readonly number[];
  /**
   * Metadata for the packets in flight, reused once they are written (the pipeline's
   * PipelineOptions.recycleBuffers); absent when the caller may keep packets: make new metadata.
   */
  tunnelInfos?: TunnelInfoPool;
}

/** How a stage is declared: its name, its options schema (zod) and its factory. */
export interface StageDefinition<O = unknown> {
  readonly name: string;
  readonly summary: string;
  /** zod schema of the stage's options (everything in the pipeline entry except `stage`). */
  readonly options: import('zod').ZodType<O>;
  create(options: O, env: StageEnv): Stage;
}

/** Declare a stage with its options type inferred from the schema. */
export function defineStage<S extends import('zod').ZodType>(def: {
  name: string;
  summary: string;
  options: S;
  create(options: import('zod').output<S>, env: StageEnv): Stage;
}): StageDefinition<import('zod').output<S>> {
  return def as StageDefinition<import('zod').output<S>>;
}
