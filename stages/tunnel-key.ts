/**
 * tunnel-key: the routing / tc step that decides tunnel metadata per packet (tc `tunnel_key`,
 * an `encap ip` route, an OVS `set(tunnel(...))` action).
 *
 * Rules are tried in order; the first whose `match` holds wins (pipeline/match.ts, indexed on
 * `ipDst`). Exactly one action per rule:
 *   set: {...}   replace the packet's metadata by a new TX key holding exactly the given fields,
 *                as tc `tunnel_key set` and an `encap ip` route do: what is not given is unset
 *                (VNI 0, no addresses, TOS 0, TTL 0 = device default, csum off as in
 *                `ip route ... encap ip`, flags KEY). A received (RX) key's outer addresses, TTL
 *                and ports never leak into the new one. Fields: vni, src, dst, tos, ttl, tpSrc,
 *                tpDst, csum, df, label, gbp. All packets of a rule share one immutable key.
 *   modify: {...} change only the given fields of the packet's metadata (OVS set_field on
 *                tun_*; created when absent) and mark it a TX key. A received key's UDP source
 *                port is cleared (transmit hashes its own), everything else is kept.
 *   unset: true  remove the metadata (tc `tunnel_key unset`)
 *   drop: true   drop the packet (reason `tunnel-key-drop`)
 * Packets no rule matches pass unchanged. Metadata is never changed in place (packets may share
 * one TunnelInfo): a `set` writes a fresh copy.
 */
import * as z from 'zod';
import { defineStage, type StageContext } from './stage.js';
import type { Packet } from '../pipeline/packet.js';
import { TUNNEL, TunnelInfo } from '../pipeline/metadata.js';
import { RuleTable, matchSchema } from '../pipeline/match.js';
import { parseIp } from '../pipeline/wire/ip-address.js';

const address = z.string().refine((s) => parseIp(s) !== null, { message: 'expected an IPv4 or IPv6 address' });

export const setSchema = z
  .object({
    vni: z.number().int().min(0).max(0xffffff, 'VNI must be 0..16777215').optional(),
    src: address.optional(),
    dst: address.optional(),
    tos: z.number().int().min(0).max(255).optional(),
    ttl: z.number().int().min(0).max(255).optional(),
    tpSrc: z.number().int().min(0).max(65535).optional(),
    tpDst: z.number().int().min(0).max(65535).optional(),
    csum: z.boolean().optional(),
    df: z.boolean().optional(),
    label: z.number().int().min(0).max(0xfffff, 'flow label must be 0..1048575').optional(),
    /** VXLAN GBP value (policy ID | D 0x400000 | A 0x080000); sets the VXLAN_OPT option. 0 removes it. */
    gbp: z.number().int().min(0).max(0xffffff).optional(),
  })
  .strict()
  .refine((s) => !(s.src && s.dst) || parseIp(s.src)!.length === parseIp(s.dst)!.length, {
    message: 'src and dst must be the same address family',
  });

export const ruleSchema = z
  .object({
    match: matchSchema.default({}),
    set: setSchema.optional(),
    modify: setSchema.optional(),
    unset: z.literal(true).optional(),
    drop: z.literal(true).optional(),
  })
  .strict()
  .refine((r) => Number(r.set !== undefined) + Number(r.modify !== undefined) + Number(r.unset === true) + Number(r.drop === true) === 1, {
    message: 'each rule needs exactly one action: set, modify, unset: true or drop: true',
  });

/**
 * Rules per tunnel-key stage. Loading is linear (about 8 MB of JSON and a few seconds per
 * 100,000 rules, most of it validation); a larger table is refused before any rule is validated.
 */
export const MAX_TUNNEL_KEY_RULES = 100_000;

export const tunnelKeyOptions = z
  .object({
    rules: z
      .array(z.unknown())
      .max(MAX_TUNNEL_KEY_RULES, `at most ${MAX_TUNNEL_KEY_RULES} rules per tunnel-key stage (split the table over several stages)`)
      .pipe(z.array(ruleSchema))
      .default([]),
  })
  .strict();

export type TunnelKeyOptions = z.output<typeof tunnelKeyOptions>;
export type SetFields = z.output<typeof setSchema>;

const ACT_SET = 0;
const ACT_UNSET = 1;
const ACT_DROP = 2;
const ACT_MODIFY = 3;

/** A rule's action precompiled: addresses parsed once; a `set` key built once and shared. */
interface Action {
  kind: number;
  set: SetFields | null;
  src: Uint8Array | null;
  dst: Uint8Array | null;
  key: TunnelInfo | null;
}

function compileAction(r: z.output<typeof ruleSchema>): Action {
  if (r.drop) return { kind: ACT_DROP, set: null, src: null, dst: null, key: null };
  if (r.unset) return { kind: ACT_UNSET, set: null, src: null, dst: null, key: null };
  const s = (r.set ?? r.modify)!;
  const a: Action = { kind: r.set ? ACT_SET : ACT_MODIFY, set: s, src: s.src ? parseIp(s.src) : null, dst: s.dst ? parseIp(s.dst) : null, key: null };
  if (a.kind === ACT_SET) a.key = applySet(null, a);
  return a;
}

function setAddress(t: TunnelInfo, which: Uint8Array, other: Uint8Array, bytes: Uint8Array): void {
  const v6 = bytes.length === 16;
  if (v6 !== t.ipv6) {
    // The key holds one family: the other address is meaningless in the new one.
    other.fill(0);
    t.ipv6 = v6;
  }
  which.fill(0);
  which.set(bytes);
}

/** Apply the fields to a copy of the packet's metadata (or to fresh metadata). */
function applySet(current: TunnelInfo | null, a: Action): TunnelInfo {
  const t = current ? current.clone() : new TunnelInfo();
  // A received source port says nothing about transmit (the kernel hashes its own): drop it.
  if (current && !current.tx) t.tpSrc = 0;
  const s = a.set!;
  if (s.vni !== undefined) t.vni = s.vni;
  if (a.src) setAddress(t, t.src, t.dst, a.src);
  if (a.dst) setAddress(t, t.dst, t.src, a.dst);
  if (s.tos !== undefined) t.tos = s.tos;
  if (s.ttl !== undefined) t.ttl = s.ttl;
  if (s.tpSrc !== undefined) t.tpSrc = s.tpSrc;
  if (s.tpDst !== undefined) t.tpDst = s.tpDst;
  if (s.label !== undefined) t.label = s.label;
  if (s.csum !== undefined) t.flags = s.csum ? t.flags | TUNNEL.CSUM : t.flags & ~TUNNEL.CSUM;
  if (s.df !== undefined) t.flags = s.df ? t.flags | TUNNEL.DONT_FRAGMENT : t.flags & ~TUNNEL.DONT_FRAGMENT;
  if (s.gbp !== undefined) {
    t.gbp = s.gbp;
    t.flags = s.gbp !== 0 ? t.flags | TUNNEL.VXLAN_OPT : t.flags & ~TUNNEL.VXLAN_OPT;
  }
  t.flags |= TUNNEL.KEY;
  t.tx = true;
  return t;
}

export const tunnelKey = defineStage({
  name: 'tunnel-key',
  summary: 'match packet fields (first rule wins) and set, modify, unset or drop on tunnel metadata',
  options: tunnelKeyOptions,
  create(o) {
    const table = new RuleTable(o.rules.map((r) => ({ match: r.match, action: compileAction(r) })));
    function process(pkt: Packet, ctx: StageContext): void {
      const i = table.lookup(pkt);
      if (i < 0) return ctx.emit(pkt);
      const a = table.action(i);
      if (a.kind === ACT_DROP) return ctx.drop(pkt, 'tunnel-key-drop');
      if (a.kind === ACT_UNSET) pkt.tunnel = null;
      else if (a.kind === ACT_SET) pkt.tunnel = a.key;
      else pkt.tunnel = applySet(pkt.tunnel, a);
      ctx.emit(pkt);
    }
    // The rule table's address cache holds what the rules say, nothing learnt from packets.
    return { name: 'tunnel-key', process, reset() {} };
  },
});
