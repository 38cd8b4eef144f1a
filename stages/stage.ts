/**
 * The stage interface. A stage is synchronous: it takes one packet and either forwards it
 * (possibly changed, or as several packets) with `ctx.emit`, or drops it with `ctx.drop` and a
 * stable lower-case reason. Only the runner is async (file I/O); no stage awaits per packet.
 */
import type { Packet } from '../pipeline/packet.js';
import type { NicProfile } from '../pipeline/nic/profile.js';

export type View = 'driver' | 'wire';

export interface StageContext {
  /** Pass the packet to the next stage (or to the output after the last one). */
  emit(pkt: Packet): void;
  /** Drop the packet, counted under `reason` (stable lower-case words joined by '-'). */
  drop(pkt: Packet, reason: string): void;
  /**
   * Count this packet under a warning `key`: the runner prints each key once per input with its
   * packet count, "FILE: N packets MESSAGE", so `message` reads after "N packets".
   */
  warnOnce(key: string, message: string): void;
}

export interface Stage {
  readonly name: string;
  process(pkt: Packet, ctx: StageContext): void;
  /** Called once at the end of each input, for stages that hold packets back. */
  flush?(ctx: StageContext): void;
}

/** What every stage factory gets besides its own options. */
export interface StageEnv {
  nic: NicProfile;
  view: View;
  /**
   * Marks TCP/UDP packets larger than the egress MTU as GSO super-packets (host captures taken
   * with TSO/USO on), as the kernel's socket layer would have built them. Shared by every stage
   * that must know (vxlan-encap keeps a super-packet one and marks it for tunnel GSO; gso
   * segments it). Built by the pipeline from the gso stage's options and the NIC profile.
   */
  superPackets: SuperPacketMarker;
}

export interface SuperPacketMarker {
  /** Egress MTU the marker uses (gso `mtu` option, else the NIC profile's). */
  readonly mtu: number;
  /**
   * Learn from the packet (e.g. SYN MSS options) and, if it is a TCP segment or UDP datagram
   * larger than the MTU that is not yet marked, set gsoSize/gsoType/gsoSegs and make its L4
   * checksum CHECKSUM_PARTIAL. `off` is the Ethernet header to look at. `outerLen`: bytes of
   * outer network headers the frame is about to be carried behind (vxlan-encap: outer IP + UDP +
   * VXLAN), so that its segments fit the MTU with them. Returns true for a super-packet.
   */
  mark(pkt: Packet, off: number, outerLen?: number): boolean;
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
