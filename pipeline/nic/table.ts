/**
 * The "who segments what" table: each profile against a few typical GSO packets. The README
 * table is generated from softwareGsoTable() (formatSoftwareGsoTable gives it as Markdown).
 */
import { GSO } from '../packet.js';
import { decideTx, makeTxRequest, type TxRequest } from './decide.js';
import { ETH_P } from './features.js';
import { builtinProfiles, type NicProfile } from './profile.js';

export type GsoCaseId = 'tcp' | 'tcpVxlan' | 'tcpVxlanCsum' | 'udpGso' | 'mplsTcp';
export type GsoCell = 'hardware' | 'software' | 'partial';
export type GsoTableRow = { readonly profile: string } & { readonly [K in GsoCaseId]: GsoCell };

export interface GsoCase {
  readonly id: GsoCaseId;
  readonly label: string;
  readonly request: Readonly<TxRequest>;
}

// A local TCP/IPv4 super-packet of 44 × 1448 bytes (Ethernet 14 + IPv4 20 + TCP 32 with timestamps).
const TCP_HDR = 14 + 20 + 32;
const VXLAN_HDR = 14 + 20 + 8 + 8; // outer Ethernet + IPv4 + UDP + VXLAN
const SEGS = 44;
const MSS = 1448;
const VXLAN_MSS = MSS - VXLAN_HDR;

const tcp4 = { gsoType: GSO.TCPV4, csumPartial: true, outerProto: ETH_P.IP, innerIpv4Df: true } as const;
const vxlan = { encapsulation: true, outerProto: ETH_P.IP, innerProto: ETH_P.IP, tunnelDstPort: 4789 } as const;

/** The table's columns, in order. */
export const GSO_TABLE_CASES: readonly GsoCase[] = [
  {
    id: 'tcp',
    label: 'TCP',
    request: makeTxRequest({ ...tcp4, gsoSize: MSS, gsoSegs: SEGS, len: TCP_HDR + SEGS * MSS }),
  },
  {
    id: 'tcpVxlan',
    label: 'TCP in VXLAN',
    request: makeTxRequest({
      ...tcp4, ...vxlan, gsoType: GSO.TCPV4 | GSO.UDP_TUNNEL,
      gsoSize: VXLAN_MSS, gsoSegs: SEGS, len: VXLAN_HDR + TCP_HDR + SEGS * VXLAN_MSS,
    }),
  },
  {
    id: 'tcpVxlanCsum',
    label: 'TCP in VXLAN, outer UDP checksum',
    request: makeTxRequest({
      ...tcp4, ...vxlan, gsoType: GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM,
      gsoSize: VXLAN_MSS, gsoSegs: SEGS, len: VXLAN_HDR + TCP_HDR + SEGS * VXLAN_MSS,
    }),
  },
  {
    id: 'udpGso',
    label: 'UDP GSO',
    request: makeTxRequest({
      gsoType: GSO.UDP_L4, csumPartial: true, outerProto: ETH_P.IP,
      gsoSize: 1472, gsoSegs: SEGS, len: 14 + 20 + 8 + SEGS * 1472,
    }),
  },
  {
    id: 'mplsTcp',
    label: 'MPLS TCP',
    request: makeTxRequest({
      ...tcp4, outerProto: ETH_P.MPLS_UC, innerProto: ETH_P.IP,
      gsoSize: MSS - 4, gsoSegs: SEGS, len: 4 + TCP_HDR + SEGS * (MSS - 4),
    }),
  },
];

/** One row per profile: how each case leaves the device (hardware = passed whole). */
export function softwareGsoTable(profiles: readonly NicProfile[] = builtinProfiles()): GsoTableRow[] {
  return profiles.map((p) => {
    const row: Record<string, string> = { profile: p.name };
    for (const c of GSO_TABLE_CASES) {
      const o = decideTx(p, c.request).outcome;
      row[c.id] = o === 'none' ? 'hardware' : o;
    }
    return row as GsoTableRow;
  });
}

/** The table as Markdown (profile column plus one column per case). */
export function formatSoftwareGsoTable(rows: readonly GsoTableRow[] = softwareGsoTable()): string {
  const head = `| profile | ${GSO_TABLE_CASES.map((c) => c.label).join(' | ')} |`;
  const rule = `|---|${GSO_TABLE_CASES.map(() => '---').join('|')}|`;
  const body = rows.map((r) => `| ${r.profile} | ${GSO_TABLE_CASES.map((c) => r[c.id]).join(' | ')} |`);
  return [head, rule, ...body].join('\n') + '\n';
}
