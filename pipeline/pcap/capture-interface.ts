import type { Packet } from '../packet.js';

/** A capture interface: the pcap file header, or one pcapng Interface Description Block. */
export interface CaptureInterface {
  /** LINKTYPE_* number. */
  linkType: number;
  /** Snapshot length; 0 = not limited. */
  snapLen: number;
  /** Timestamp fractions per second: 1e6, 1e9, 2**n, 10**n. */
  tsUnits: number;
  /** pcapng if_name. */
  name?: string;
  /** pcapng if_description. */
  description?: string;
}

/** What a format parser needs from its reader: the name for errors, the policy and the warning sink. */
export interface ParseContext {
  readonly file: string;
  readonly strict: boolean;
  warn(msg: string): void;
}

/** Largest caplen accepted (libpcap/Wireshark MAXIMUM_SNAPLEN, WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_CAPLEN = 262144;

/**
 * A record parser for one capture format. parse() works on bytes already in memory and never
 * waits: it consumes one record (file header, packet record or block) at `off`, appending any
 * packet to `out`, and returns the bytes consumed; when the record is not complete in
 * [off, end) it returns -(bytes it needs from off), having consumed nothing.
 */
export interface FormatParser {
  readonly format: 'pcap' | 'pcapng';
  readonly nanosecond: boolean;
  readonly interfaces: CaptureInterface[];
  /** The file header (pcap) / first Section Header Block (pcapng) has been read. */
  readonly started: boolean;
  /** Enough read for the reader's properties to be final: pcap header / first IDB. */
  readonly ready: boolean;
  parse(bytes: Uint8Array, dv: DataView, off: number, end: number, fileOff: number, out: Packet[]): number;
}
