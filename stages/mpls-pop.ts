/**
 * mpls-pop: remove the top MPLS label stack entry, as `skb_mpls_pop` (net/core/skbuff.c) does
 * for tc act_mpls pop and OVS pop_mpls.
 *
 * - The entry sits right after the EtherType that follows the Ethernet header and VLAN tags;
 *   that EtherType is rewritten (after the tags, as skb_mpls_pop does with the mac_len it is
 *   given) and only the L2 prefix moves
 *   (`Packet.removeAt`); the payload stays where it is.
 * - BoS set (last entry): the EtherType becomes `pkt.innerProtocol` when a push recorded it,
 *   else it is guessed from the payload's first nibble (4 → 0x0800, 6 → 0x86dd); anything else
 *   is dropped (`mpls-pop-unknown-payload`). innerProtocol/innerNetOff are cleared.
 * - BoS clear: the EtherType stays MPLS (0x8847 / 0x8848 as it was).
 * - Packets that are not MPLS pass unchanged.
 *
 * Drops: `mpls-pop-unknown-payload`; `truncated` when the top entry, or the payload byte the
 * guess needs, was not captured.
 */
import * as z from 'zod';
import { defineStage, type Stage, type StageContext } from './stage.js';
import { NO_OFFSET, type Packet } from '../pipeline/packet.js';
import { ETHER_TYPE } from '../pipeline/wire/ether-type.js';
import { outerHeadersChanged } from '../pipeline/layer-record.js';
import { u16, setU16 } from '../pipeline/wire/bytes.js';
import * as mpls from '../pipeline/wire/mpls.js';
import { etherTypeOffset, isMplsEtherType } from './mpls-push.js';

export const MPLS_POP_DROP = {
  UNKNOWN_PAYLOAD: 'mpls-pop-unknown-payload',
  TRUNCATED: 'truncated',
} as const;

export const mplsPopOptions = z.object({}).strict();
export type MplsPopOptions = z.output<typeof mplsPopOptions>;

/** Outcome of popLabel. */
export const POP = { DONE: 0, NOT_MPLS: 1, TRUNCATED: 2, UNKNOWN_PAYLOAD: 3 } as const;
export type PopResult = (typeof POP)[keyof typeof POP];

/** Remove the top label of `pkt`. Nothing changes unless the result is DONE. */
export function popLabel(pkt: Packet): PopResult {
  const typeOff = etherTypeOffset(pkt.buf, pkt.head, pkt.tail);
  if (typeOff < 0) return POP.NOT_MPLS;
  const type = u16(pkt.buf, typeOff);
  if (!isMplsEtherType(type)) return POP.NOT_MPLS;
  const at = typeOff + 2;
  if (at + mpls.LSE_LEN > pkt.tail) return POP.TRUNCATED;
  const bos = mpls.bos(pkt.buf, at);
  let next = type;
  if (bos) {
    if (pkt.innerProtocol !== 0 && !pkt.encapsulation) next = pkt.innerProtocol;
    else {
      const payload = at + mpls.LSE_LEN;
      if (payload >= pkt.tail) return POP.TRUNCATED;
      const nibble = pkt.buf[payload]! >>> 4;
      if (nibble === 4) next = ETHER_TYPE.IPV4;
      else if (nibble === 6) next = ETHER_TYPE.IPV6;
      else return POP.UNKNOWN_PAYLOAD;
    }
  }
  pkt.removeAt(at, mpls.LSE_LEN);
  // The EtherType moved forward with the prefix; the payload (or next entry) starts at `at + 4`.
  setU16(pkt.buf, typeOff + mpls.LSE_LEN, next);
  pkt.protocol = next;
  pkt.netOff = at + mpls.LSE_LEN;
  if (bos) {
    pkt.innerProtocol = 0;
    pkt.innerNetOff = NO_OFFSET;
  }
  outerHeadersChanged(pkt);
  return POP.DONE;
}

export function createMplsPop(): Stage {
  return {
    name: 'mpls-pop',
    process(pkt: Packet, ctx: StageContext): void {
      const r = popLabel(pkt);
      if (r === POP.TRUNCATED) ctx.drop(pkt, MPLS_POP_DROP.TRUNCATED);
      else if (r === POP.UNKNOWN_PAYLOAD) ctx.drop(pkt, MPLS_POP_DROP.UNKNOWN_PAYLOAD);
      else ctx.emit(pkt);
    },
    reset() {},
  };
}

export const mplsPopStage = defineStage({
  name: 'mpls-pop',
  summary: 'remove the top MPLS label stack entry (skb_mpls_pop)',
  options: mplsPopOptions,
  create: () => createMplsPop(),
});
