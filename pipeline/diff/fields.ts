/**
 * The field vocabulary of `capflow diff`: every name a difference can be reported under and
 * `--ignore` can mask. Header field names follow tshark where the brief does not say otherwise
 * (`eth.src`, `udp.srcport`, `tcp.flags`...); the layer is the part before the dot.
 *
 * Header fields get a scope when a packet carries a tunnel (VXLAN): `outer.` or `inner.`, and an
 * index in a stack of more than one VLAN tag or MPLS label: `vlan[1].id`, `mpls[0].ttl` (0 is
 * the outermost). Packet fields (frame.*, timestamp, comment, interface) have neither.
 */

/** How a field's value is shown. */
export type FieldFormat =
  | 'dec'
  | 'hex'
  | 'mac'
  | 'ipv4'
  | 'ipv6'
  | 'bytes'
  | 'ipflags'
  | 'tcpflags'
  | 'payload'
  | 'packet';

export interface FieldDef {
  /** Full name without scope or index, e.g. `ipv4.ttl`. */
  readonly name: string;
  /** The part before the first dot (`ipv4`), or the whole name for single-word fields. */
  readonly layer: string;
  /** Header bytes (per packet layout), packet metadata, or the undecoded rest. */
  readonly kind: 'header' | 'packet' | 'payload';
  readonly format: FieldFormat;
  /** Numeric fields of up to 4 bytes: the bits of the big-endian word that belong to the field (0 = all). */
  readonly mask: number;
  /** A checksum: its difference is dropped when only ignored fields it covers differ. */
  readonly checksum: boolean;
  readonly describe: string;
}

function f(name: string, format: FieldFormat, describe: string, mask = 0, kind: FieldDef['kind'] = 'header'): FieldDef {
  const dot = name.indexOf('.');
  return {
    name,
    layer: dot < 0 ? name : name.slice(0, dot),
    kind,
    format,
    mask,
    checksum: name.endsWith('.checksum'),
    describe,
  };
}

/** Every field, in the order a frame is laid out (packet fields first). */
export const DIFF_FIELDS: readonly FieldDef[] = [
  f('frame.len', 'dec', 'length of the frame on the wire (origLen)', 0, 'packet'),
  f('frame.caplen', 'dec', 'captured length', 0, 'packet'),
  f('frame.linktype', 'dec', 'link type (LINKTYPE_*)', 0, 'packet'),
  f('timestamp', 'dec', 'capture time, compared exactly across resolutions', 0, 'packet'),
  f('interface', 'dec', 'capture interface index (pcapng IDB; 0 for pcap)', 0, 'packet'),
  f('comment', 'packet', 'packet comments, capflow metadata (tunnel ..., gso ...) included', 0, 'packet'),

  f('link.header', 'bytes', 'non-Ethernet link header (Linux cooked, loopback)'),
  f('eth.dst', 'mac', 'destination MAC'),
  f('eth.src', 'mac', 'source MAC'),
  f('eth.type', 'hex', 'EtherType (the first TPID when tagged)'),
  f('vlan.pcp', 'dec', '802.1Q priority', 0xe000),
  f('vlan.dei', 'dec', 'drop eligible indicator', 0x1000),
  f('vlan.id', 'dec', 'VLAN ID', 0x0fff),
  f('vlan.etype', 'hex', 'EtherType after the tag'),
  f('mpls.label', 'dec', 'MPLS label', 0xfffff000),
  f('mpls.tc', 'dec', 'traffic class (EXP)', 0x00000e00),
  f('mpls.bos', 'dec', 'bottom of stack', 0x00000100),
  f('mpls.ttl', 'dec', 'MPLS TTL', 0x000000ff),
  f('ipv4.version', 'dec', 'IP version', 0xf0),
  f('ipv4.hdr_len', 'dec', 'header length in 32-bit words (IHL)', 0x0f),
  f('ipv4.tos', 'hex', 'TOS byte (DSCP and ECN)'),
  f('ipv4.len', 'dec', 'total length'),
  f('ipv4.id', 'hex', 'identification'),
  f('ipv4.flags', 'ipflags', 'flags (reserved, DF, MF)', 0xe000),
  f('ipv4.frag_offset', 'dec', 'fragment offset (8-byte units)', 0x1fff),
  f('ipv4.ttl', 'dec', 'time to live'),
  f('ipv4.proto', 'dec', 'protocol'),
  f('ipv4.checksum', 'hex', 'header checksum'),
  f('ipv4.src', 'ipv4', 'source address'),
  f('ipv4.dst', 'ipv4', 'destination address'),
  f('ipv4.options', 'bytes', 'options'),
  f('ipv6.version', 'dec', 'IP version', 0xf0000000),
  f('ipv6.tclass', 'hex', 'traffic class (DSCP and ECN)', 0x0ff00000),
  f('ipv6.flow', 'hex', 'flow label', 0x000fffff),
  f('ipv6.plen', 'dec', 'payload length'),
  f('ipv6.nxt', 'dec', 'next header'),
  f('ipv6.hlim', 'dec', 'hop limit'),
  f('ipv6.src', 'ipv6', 'source address'),
  f('ipv6.dst', 'ipv6', 'destination address'),
  f('ipv6.ext', 'bytes', 'extension headers'),
  f('udp.srcport', 'dec', 'source port'),
  f('udp.dstport', 'dec', 'destination port'),
  f('udp.length', 'dec', 'length'),
  f('udp.checksum', 'hex', 'checksum (pseudo-header, header and data)'),
  f('tcp.srcport', 'dec', 'source port'),
  f('tcp.dstport', 'dec', 'destination port'),
  f('tcp.seq', 'dec', 'sequence number (raw)'),
  f('tcp.ack', 'dec', 'acknowledgment number (raw)'),
  f('tcp.hdr_len', 'dec', 'data offset (32-bit words)', 0xf0),
  f('tcp.flags', 'tcpflags', 'flags (NS..FIN)', 0x0fff),
  f('tcp.window', 'dec', 'window (unscaled)'),
  f('tcp.checksum', 'hex', 'checksum (pseudo-header, header and data)'),
  f('tcp.urgent', 'dec', 'urgent pointer'),
  f('tcp.options', 'bytes', 'options'),
  f('icmp.type', 'dec', 'type'),
  f('icmp.code', 'dec', 'code'),
  f('icmp.checksum', 'hex', 'checksum'),
  f('icmp.ident', 'dec', 'echo identifier'),
  f('icmp.seq', 'dec', 'echo sequence number'),
  f('icmp.rest', 'hex', 'rest of header (non-echo types)'),
  f('icmpv6.type', 'dec', 'type'),
  f('icmpv6.code', 'dec', 'code'),
  f('icmpv6.checksum', 'hex', 'checksum (pseudo-header and message)'),
  f('icmpv6.ident', 'dec', 'echo identifier'),
  f('icmpv6.seq', 'dec', 'echo sequence number'),
  f('icmpv6.rest', 'hex', 'rest of header (non-echo types)'),
  f('vxlan.flags', 'hex', 'flags (I = 0x0800; GBP G/D/A bits)', 0xffff0000),
  f('vxlan.gbp', 'hex', 'group policy ID', 0x0000ffff),
  f('vxlan.vni', 'dec', 'VXLAN network identifier', 0xffffff00),
  f('vxlan.reserved', 'hex', 'reserved low byte of word 1', 0x000000ff),
  f('payload', 'payload', 'bytes after the last decoded header (L4 payload, padding, undecodable rest)', 0, 'payload'),
];

/** Every field name `capflow diff` reports and `--ignore` accepts (without scope or index). */
export const DIFF_FIELD_NAMES: readonly string[] = DIFF_FIELDS.map((d) => d.name);

const byName = new Map(DIFF_FIELDS.map((d, i) => [d.name, i]));
const layers = new Set(DIFF_FIELDS.map((d) => d.layer));

/** The id (index in DIFF_FIELDS) of a field name; throws for an unknown name (a programming error). */
export function fieldId(name: string): number {
  const id = byName.get(name);
  if (id === undefined) throw new Error(`unknown diff field ${name}`);
  return id;
}

/** Scope of a header field: OUTER also stands for the headers of a packet without a tunnel. */
export const SCOPE = { NONE: 0, OUTER: 1, INNER: 2 } as const;
export type Scope = (typeof SCOPE)[keyof typeof SCOPE];

/** One `--ignore` entry, parsed. */
export interface IgnoreRule {
  /** Field id, or -1 for a whole layer (`tcp.*`). */
  readonly field: number;
  /** The layer, for `layer.*` rules. */
  readonly layer: string | null;
  /** SCOPE.NONE: any scope. */
  readonly scope: Scope;
  /** Stack index, or -1 for any. */
  readonly index: number;
}

/** Raised for an unknown `--ignore` name (the CLI maps it to a usage error). */
export class DiffFieldError extends Error {
  override readonly name = 'DiffFieldError';
  readonly code = 'ERR_DIFF_FIELD';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const ruleSyntax = /^(?:(outer|inner)\.)?([a-z0-9]+)(?:\[(\d+)\])?(?:\.([a-z_*]+))?$/;

/**
 * Parse `--ignore` names: `ipv4.id` (every scope), `outer.udp.srcport`, `inner.tcp.*`,
 * `mpls[1].ttl`, `timestamp`. Entries may also be comma-separated inside one string.
 */
export function parseIgnore(names: readonly string[]): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of names.flatMap((n) => n.split(','))) {
    const text = raw.trim().toLowerCase();
    if (text === '') continue;
    const m = ruleSyntax.exec(text);
    if (!m) throw unknownField(text);
    const [, scopeText, layer, indexText, rest] = m as unknown as [string, string | undefined, string, string | undefined, string | undefined];
    const scope: Scope = scopeText === 'outer' ? SCOPE.OUTER : scopeText === 'inner' ? SCOPE.INNER : SCOPE.NONE;
    const index = indexText === undefined ? -1 : Number(indexText);
    if (rest === '*') {
      if (!layers.has(layer)) throw unknownField(text);
      rules.push({ field: -1, layer, scope, index });
      continue;
    }
    const name = rest === undefined ? layer : `${layer}.${rest}`;
    const id = byName.get(name);
    if (id === undefined) throw unknownField(text);
    const def = DIFF_FIELDS[id]!;
    if (def.kind === 'packet' && (scope !== SCOPE.NONE || index >= 0)) {
      throw new DiffFieldError(text, `--ignore ${text}: ${name} is a packet field; it takes no outer./inner. prefix or index`);
    }
    if (index >= 0 && def.layer !== 'vlan' && def.layer !== 'mpls') {
      throw new DiffFieldError(text, `--ignore ${text}: only vlan and mpls fields take a stack index`);
    }
    rules.push({ field: id, layer: null, scope, index });
  }
  return rules;
}

function unknownField(text: string): DiffFieldError {
  const bare = text.replace(/^(outer|inner)\./, '').replace(/\[\d+\]/, '');
  const layer = bare.split('.')[0] ?? '';
  const near = DIFF_FIELD_NAMES.filter((n) => n.startsWith(`${layer}.`) || n === layer);
  const hint = near.length ? `; ${layer} fields: ${near.join(', ')}` : '; run "capflow diff --help" for the field list';
  return new DiffFieldError(text, `--ignore ${text}: unknown field${hint}`);
}

/**
 * True when `rules` mask field `id` in `scope` (OUTER also for untunneled packets) at stack
 * `index` (-1 when the field is not in a stack, which `[0]` rules also match).
 */
export function isIgnored(rules: readonly IgnoreRule[], id: number, scope: number, index: number): boolean {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.field >= 0 ? r.field !== id : DIFF_FIELDS[id]!.layer !== r.layer) continue;
    if (r.scope !== SCOPE.NONE && r.scope !== scope) continue;
    if (r.index >= 0 && r.index !== (index < 0 ? 0 : index)) continue;
    return true;
  }
  return false;
}

/** Display name: `ipv4.ttl`, `vlan[1].id`, with `outer `/`inner ` (text) or `outer.`/`inner.` (dotted) when tunnelled. */
export function fieldLabel(id: number, scope: number, index: number, tunnelled: boolean, sep: ' ' | '.'): string {
  const def = DIFF_FIELDS[id]!;
  let name = def.name;
  if (index >= 0) {
    const dot = name.indexOf('.');
    name = dot < 0 ? `${name}[${index}]` : `${name.slice(0, dot)}[${index}]${name.slice(dot)}`;
  }
  if (!tunnelled || def.kind === 'packet') return name;
  return `${scope === SCOPE.INNER ? 'inner' : 'outer'}${sep}${name}`;
}

/** The `--help` text listing every field with what it is. */
export function describeFields(): string {
  return DIFF_FIELDS.map((d) => `  ${d.name.padEnd(18)} ${d.describe}`).join('\n');
}
