/**
 * mpls-push: push MPLS label stack entries after the Ethernet header and any VLAN tags, as
 * `skb_mpls_push` (net/core/skbuff.c) does for tc act_mpls, the MPLS lwtunnel
 * (net/mpls/mpls_iptunnel.c) and OVS push_mpls.
 *
 *   before:  dst src [8100 TCI]... 0800 | IPv4 ...
 *   after:   dst src [8100 TCI]... 8847 | LSE(label 100, S=0) LSE(label 200, S=1) | IPv4 ...
 *
 * - Labels are listed outermost first, as the lwtunnel lists them (`encap mpls 100/200`).
 * - BoS is set only on the entry that sits directly on a non-MPLS payload: the innermost pushed
 *   entry when the packet was not MPLS. On an already-labelled packet the new entries go on top
 *   of the stack and none has BoS (act_mpls default).
 * - The EtherType right before the stack (after the VLAN tags) becomes 0x8847, or 0x8848 with
 *   `multicast`. The kernel (skb_mpls_push, net/core/skbuff.c) always rewrites frame bytes 12-13; capflow writes the field
 *   after the in-band tags, which is what the kernel produces on the wire when the tag is
 *   hw-accelerated (`skb->vlan_tci`, the usual case after receive); with in-band tags the kernel
 *   would overwrite the first TPID instead, a frame no one wants to replay (OVS refuses to push
 *   onto VLAN flows for that reason: ofproto-dpif-xlate.c).
 * - TTL is a number or `inherit`: the IPv4 TTL / IPv6 hop limit of the payload (lwtunnel with
 *   `ip_ttl_propagate`), 255 for non-IP payloads (the kernel default TTL), the current top
 *   label's TTL when pushing onto a stack (OVS). When the byte to copy was not captured
 *   (snaplen), 255 is used and a warning printed once.
 * - First push onto a non-MPLS packet records `innerProtocol` (the previous EtherType field,
 *   verbatim) and `innerNetOff` (the old network header), as skb_mpls_push sets
 *   skb->inner_protocol and the inner network header on the first push; MPLS GSO and mpls-pop
 *   read them.
 * - On an MPLS packet capflow did not label itself (captured with a stack), the payload under
 *   the stack is guessed once (IPv4/IPv6 by its first nibble) and recorded the same way, so MPLS
 *   GSO and mpls-pop see the whole stack. (The kernel would record 0x8847 and the old top label.)
 * - An 802.3 length field in place of the EtherType is kept verbatim as innerProtocol, so a
 *   later pop restores the frame byte for byte.
 * - Only the L2 prefix moves (into headroom, `Packet.insertAt`); the payload never moves.
 * - `match` (the tunnel-key match keys, pipeline/match.ts) restricts which packets get labels;
 *   `rules: [{match, labels, multicast}]` gives per-rule stacks, first match wins. Packets that
 *   match nothing pass unchanged. The fields are read from the frame as it is at this stage.
 *
 * Drops: `mpls-push-encapsulated` (the packet carries a tunnel header: skb_mpls_push rejects
 * skb->encapsulation with -EINVAL), `truncated` (the Ethernet header or a VLAN tag is not captured, so there is no place
 * to put the label).
 */
import * as z from 'zod';
import { defineStage, type Stage, type StageContext } from './stage.js';
import type { Packet } from '../pipeline/packet.js';
import { ETHER_TYPE } from '../pipeline/wire/ether-type.js';
import { outerHeadersChanged } from '../pipeline/layer-record.js';
import { MAX_MPLS_LABELS } from '../pipeline/decode.js';
import { u16, setU16 } from '../pipeline/wire/bytes.js';
import * as ethernet from '../pipeline/wire/ethernet.js';
import * as vlan from '../pipeline/wire/vlan.js';
import * as mpls from '../pipeline/wire/mpls.js';
import * as ipv4 from '../pipeline/wire/ipv4.js';
import * as ipv6 from '../pipeline/wire/ipv6.js';
import { matchSchema, RuleTable, type Rule } from '../pipeline/match.js';

/** TTL for non-IP payloads and the fallback when the TTL to copy was not captured (ACT_MPLS_TTL_DEFAULT / net.mpls.default_ttl). */
export const DEFAULT_TTL = 255;
/** Most entries one push may add (capflow's decoder follows stacks of up to 8 labels). */
export const MAX_PUSH_LABELS = 8;

export const MPLS_PUSH_DROP = {
  ENCAPSULATED: 'mpls-push-encapsulated',
  TRUNCATED: 'truncated',
} as const;

const TTL_MESSAGE = 'expected a TTL 1..255 or "inherit" (copy the IP TTL / hop limit, 255 for non-IP)';

export const lseConfig = z
  .object({
    label: z
      .number({ error: 'expected a label number 0..1048575' })
      .int('expected a whole label number')
      .min(0, 'a label is 0..1048575')
      .max(mpls.MAX_LABEL, 'a label is 0..1048575 (20 bits)'),
    tc: z.number().int().min(0, 'tc is 0..7').max(7, 'tc is 0..7 (3 bits)').default(0),
    ttl: z.union([z.number().int(TTL_MESSAGE).min(1, TTL_MESSAGE).max(255, TTL_MESSAGE), z.literal('inherit')], { error: TTL_MESSAGE }),
  })
  .strict();
export type LseConfig = z.output<typeof lseConfig>;

const labelStack = z
  .array(lseConfig)
  .min(1, 'give at least one label')
  .max(MAX_PUSH_LABELS, `at most ${MAX_PUSH_LABELS} labels per push`);

const pushRule = z
  .object({
    /** Packet fields this rule applies to (absent: every packet). */
    match: matchSchema.optional(),
    labels: labelStack,
    /** Overrides the stage's `multicast` for this rule. */
    multicast: z.boolean().optional(),
  })
  .strict();

export const mplsPushOptions = z
  .object({
    /** Label stack entries, outermost first (one stack for every packet that `match`es). */
    labels: labelStack.optional(),
    /** Restricts `labels` to matching packets; the others pass unchanged. */
    match: matchSchema.optional(),
    /** Per-rule stacks, tried in order, first match wins; packets matching no rule pass unchanged. */
    rules: z.array(pushRule).min(1, 'give at least one rule').optional(),
    /** EtherType 0x8848 (multicast MPLS) instead of 0x8847. */
    multicast: z.boolean().default(false),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.labels && o.rules) ctx.addIssue({ code: 'custom', message: 'give either "labels" or "rules", not both', path: ['rules'] });
    else if (!o.labels && !o.rules) ctx.addIssue({ code: 'custom', message: 'give "labels" (one stack) or "rules" (per-match stacks)', path: ['labels'] });
    if (o.match && o.rules) ctx.addIssue({ code: 'custom', message: 'with "rules", put "match" inside each rule', path: ['match'] });
  });
export type MplsPushOptions = z.output<typeof mplsPushOptions>;

/** One compiled push: the entries' fixed bits, and per entry a TTL or INHERIT. */
export interface PushPlan {
  /** label|tc bits of each entry, outermost first (no BoS, no TTL). */
  readonly lses: Uint32Array;
  /** TTL per entry, or INHERIT. */
  readonly ttls: Int16Array;
  readonly etherType: number;
  /** Some entry copies its TTL from the packet. */
  readonly inherit: boolean;
}
const INHERIT = -1;

export function compilePush(labels: readonly LseConfig[], multicast: boolean): PushPlan {
  const lses = new Uint32Array(labels.length);
  const ttls = new Int16Array(labels.length);
  labels.forEach((l, i) => {
    lses[i] = mpls.makeLse(l.label, l.tc, false, 0);
    ttls[i] = l.ttl === 'inherit' ? INHERIT : l.ttl;
  });
  return {
    lses,
    ttls,
    etherType: multicast ? ETHER_TYPE.MPLS_MC : ETHER_TYPE.MPLS_UC,
    inherit: labels.some((l) => l.ttl === 'inherit'),
  };
}

export function isMplsEtherType(t: number): boolean {
  return t === ETHER_TYPE.MPLS_UC || t === ETHER_TYPE.MPLS_MC;
}

/**
 * Absolute offset of the EtherType field after the Ethernet header and every in-band VLAN tag
 * (0x8100, 0x88a8, 0x9100) of the frame b[head, tail); -1 when that field is not captured.
 */
export function etherTypeOffset(b: Uint8Array, head: number, tail: number): number {
  let off = head + ethernet.ETHER_TYPE;
  if (off + 2 > tail) return -1;
  while (vlan.isVlanTpid(u16(b, off))) {
    off += vlan.HEADER_LEN;
    if (off + 2 > tail) return -1;
  }
  return off;
}

/**
 * The TTL an `inherit` entry gets for the payload at `at` whose EtherType is `type`:
 * the top label's TTL, the IPv4 TTL, the IPv6 hop limit, or DEFAULT_TTL for other payloads.
 * Returns -1 when the byte to copy lies past `tail` (not captured).
 */
export function inheritTtl(b: Uint8Array, at: number, tail: number, type: number): number {
  let o: number;
  if (isMplsEtherType(type)) o = at + 3;
  else if (type === ETHER_TYPE.IPV4) o = at + ipv4.TTL;
  else if (type === ETHER_TYPE.IPV6) o = at + ipv6.HOP_LIMIT;
  else return DEFAULT_TTL;
  return o < tail ? b[o]! : -1;
}

/**
 * Push `plan` onto `pkt` (an Ethernet frame, not encapsulated). Returns false when the frame
 * is too short to hold the EtherType field (nothing changed).
 */
export function pushLabels(pkt: Packet, plan: PushPlan, ctx: StageContext): boolean {
  const n = plan.lses.length;
  const typeOff = etherTypeOffset(pkt.buf, pkt.head, pkt.tail);
  if (typeOff < 0) return false;
  const at = typeOff + 2;
  const prevType = u16(pkt.buf, typeOff);
  const onStack = isMplsEtherType(prevType);

  let ttl = DEFAULT_TTL;
  if (plan.inherit) {
    ttl = inheritTtl(pkt.buf, at, pkt.tail, prevType);
    if (ttl < 0) {
      ttl = DEFAULT_TTL;
      ctx.warnOnce(
        'mpls-push-ttl-not-captured',
        `whose ${onStack ? 'top label' : 'IP header'} was not captured (snaplen) got TTL ${DEFAULT_TTL} (mpls-push ttl: inherit)`,
      );
    }
  }

  if (!onStack) {
    // First push (skb_mpls_push sets inner_protocol): remember what the stack sits on. Any earlier value is stale here.
    pkt.innerProtocol = prevType;
    pkt.innerNetOff = at;
  } else if (pkt.innerProtocol === 0) {
    // A captured MPLS packet: capflow knows nothing about its payload yet; guess it once so
    // MPLS GSO and mpls-pop see the whole stack. (The kernel would record 0x8847 here.)
    rememberPayloadUnderStack(pkt, at);
  }

  // The decode after the push is the one before, under a label stack, when the record reached
  // this EtherType and the payload's first nibble (what the decoder guesses an MPLS payload by)
  // says the same IP version: then the record is updated instead of decoded again.
  const rec = pkt.layers;
  const keep =
    rec !== null &&
    rec.valid &&
    !onStack &&
    n <= MAX_MPLS_LABELS &&
    rec.outer.ethTypeOff === typeOff &&
    at < pkt.tail &&
    ((prevType === ETHER_TYPE.IPV4 && pkt.buf[at]! >>> 4 === 4) || (prevType === ETHER_TYPE.IPV6 && pkt.buf[at]! >>> 4 === 6));

  const gap = pkt.insertAt(at, n * mpls.LSE_LEN);
  const b = pkt.buf;
  setU16(b, gap - 2, plan.etherType);
  for (let i = 0; i < n; i++) {
    const t = plan.ttls[i]!;
    const bos = !onStack && i === n - 1;
    mpls.writeLse(b, gap + i * mpls.LSE_LEN, (plan.lses[i]! | (bos ? mpls.BOS_MASK : 0) | (t === INHERIT ? ttl : t)) >>> 0);
  }
  pkt.protocol = plan.etherType;
  pkt.netOff = gap;
  if (keep) {
    // insertAt moved the offsets in front of the stack; the payload's did not move.
    const L = rec.outer;
    L.etherType = plan.etherType;
    L.mplsOff = gap;
    L.mplsCount = n;
    rec.valid = true;
  } else outerHeadersChanged(pkt);
  return true;
}

/** Walk the captured stack from `at` to BoS; record the payload's protocol if its first nibble says IPv4/IPv6. */
function rememberPayloadUnderStack(pkt: Packet, at: number): void {
  const b = pkt.buf;
  let o = at;
  while (o + mpls.LSE_LEN <= pkt.tail) {
    const bos = mpls.bos(b, o);
    o += mpls.LSE_LEN;
    if (!bos) continue;
    if (o >= pkt.tail) return;
    const nibble = b[o]! >>> 4;
    const proto = nibble === 4 ? ETHER_TYPE.IPV4 : nibble === 6 ? ETHER_TYPE.IPV6 : 0;
    if (proto === 0) return;
    pkt.innerProtocol = proto;
    pkt.innerNetOff = o;
    return;
  }
}

/** Chooses the push for a packet: null = leave it alone. */
export type PushSelector = (pkt: Packet) => PushPlan | null;

export function createMplsPush(select: PushSelector): Stage {
  return {
    name: 'mpls-push',
    process(pkt: Packet, ctx: StageContext): void {
      const plan = select(pkt);
      if (!plan) {
        ctx.emit(pkt);
        return;
      }
      if (pkt.encapsulation) {
        ctx.drop(pkt, MPLS_PUSH_DROP.ENCAPSULATED);
        return;
      }
      if (!pushLabels(pkt, plan, ctx)) {
        ctx.drop(pkt, MPLS_PUSH_DROP.TRUNCATED);
        return;
      }
      ctx.emit(pkt);
    },
    // The plan or rule table is fixed by the options: nothing is learnt from packets.
    reset() {},
  };
}

export const mplsPushStage = defineStage({
  name: 'mpls-push',
  summary: 'push MPLS label stack entries after the Ethernet header and VLAN tags (skb_mpls_push)',
  options: mplsPushOptions,
  create(options) {
    return createMplsPush(pushSelector(options));
  },
});

/** The selector for validated options: one fixed stack, or a first-match rule table. */
export function pushSelector(options: MplsPushOptions): PushSelector {
  if (options.labels && !options.match) {
    const plan = compilePush(options.labels, options.multicast);
    return () => plan;
  }
  const rules: Rule<PushPlan>[] = options.labels
    ? [{ match: options.match ?? {}, action: compilePush(options.labels, options.multicast) }]
    : (options.rules ?? []).map((r) => ({ match: r.match ?? {}, action: compilePush(r.labels, r.multicast ?? options.multicast) }));
  const table = new RuleTable(rules);
  return (pkt) => {
    const i = table.lookup(pkt);
    return i < 0 ? null : table.action(i);
  };
}
