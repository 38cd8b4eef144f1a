import { describe, expect, it } from 'vitest';
import { GSO } from '../../pipeline/packet.js';
import { decideTx, gsoTypeFeatures, makeTxRequest, type TxOutcome, type TxRequest } from '../../pipeline/nic/decide.js';
import { ETH_P, FEATURE_NAMES, NETIF_F as F } from '../../pipeline/nic/features.js';
import { loadProfile, parseProfile, profileToJson } from '../../pipeline/nic/profile.js';

const MSS = 1448;
const SEGS = 20;
const TCP_HDR = 14 + 20 + 32;
const VXLAN_HDR = 50;

const tcp4 = makeTxRequest({ gsoType: GSO.TCPV4, gsoSize: MSS, gsoSegs: SEGS, len: TCP_HDR + SEGS * MSS, csumPartial: true });
const tcp6 = makeTxRequest({ ...tcp4, gsoType: GSO.TCPV6, outerProto: ETH_P.IPV6, len: tcp4.len + 20 });
const vxlan: TxRequest = {
  ...tcp4,
  gsoType: GSO.TCPV4 | GSO.UDP_TUNNEL,
  gsoSize: MSS - VXLAN_HDR,
  len: VXLAN_HDR + TCP_HDR + SEGS * (MSS - VXLAN_HDR),
  encapsulation: true,
  innerProto: ETH_P.IP,
  tunnelDstPort: 4789,
};
const vxlanCsum: TxRequest = { ...vxlan, gsoType: GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM };
const udpL4 = makeTxRequest({ gsoType: GSO.UDP_L4, gsoSize: 1472, gsoSegs: SEGS, len: 42 + SEGS * 1472, csumPartial: true });
const mpls: TxRequest = { ...tcp4, outerProto: ETH_P.MPLS_UC, innerProto: ETH_P.IP, len: tcp4.len + 4 };
const vlan: TxRequest = { ...tcp4, vlanTags: 1, len: tcp4.len + 4 };
const qinq: TxRequest = { ...tcp4, vlanTags: 2, len: tcp4.len + 8 };
const overSegs: TxRequest = { ...tcp4, gsoSize: 1, gsoSegs: 65536, len: TCP_HDR + 65536 };
const v6ext: TxRequest = { ...tcp6, ipv6ExtHeaders: true, len: tcp6.len + 8 };

const CASES = { tcp4, tcp6, vxlan, vxlanCsum, udpL4, mpls, vlan, qinq, overSegs, v6ext } as const;
type CaseName = keyof typeof CASES;

const H = 'hardware', S = 'software', P = 'partial';
// Expected outcomes from the drivers' feature sets and netif_skb_features / validate_xmit_skb.
const EXPECTED: Record<string, Record<CaseName, TxOutcome>> = {
  //            tcp4 tcp6 vxlan vxlanCsum udpL4 mpls vlan qinq overSegs v6ext
  none:         { tcp4: S, tcp6: S, vxlan: S, vxlanCsum: S, udpL4: S, mpls: S, vlan: S, qinq: S, overSegs: S, v6ext: S },
  veth:         { tcp4: H, tcp6: H, vxlan: H, vxlanCsum: H, udpL4: H, mpls: H, vlan: H, qinq: S, overSegs: S, v6ext: H },
  'virtio-net': { tcp4: H, tcp6: H, vxlan: S, vxlanCsum: S, udpL4: S, mpls: S, vlan: H, qinq: S, overSegs: S, v6ext: H },
  mlx5:         { tcp4: H, tcp6: H, vxlan: H, vxlanCsum: P, udpL4: P, mpls: H, vlan: H, qinq: S, overSegs: S, v6ext: H },
  ixgbe:        { tcp4: H, tcp6: H, vxlan: S, vxlanCsum: S, udpL4: H, mpls: H, vlan: H, qinq: S, overSegs: S, v6ext: H },
  i40e:         { tcp4: H, tcp6: H, vxlan: P, vxlanCsum: P, udpL4: H, mpls: H, vlan: H, qinq: S, overSegs: S, v6ext: H },
  ice:          { tcp4: H, tcp6: H, vxlan: H, vxlanCsum: P, udpL4: H, mpls: S, vlan: H, qinq: S, overSegs: S, v6ext: S },
  bnxt:         { tcp4: H, tcp6: H, vxlan: H, vxlanCsum: P, udpL4: S, mpls: S, vlan: H, qinq: S, overSegs: S, v6ext: S },
};

describe('decideTx per built-in profile', () => {
  for (const [profileName, row] of Object.entries(EXPECTED)) {
    describe(profileName, () => {
      const profile = loadProfile(profileName);
      for (const [caseName, expected] of Object.entries(row) as Array<[CaseName, TxOutcome]>) {
        it(`${caseName} → ${expected}`, () => {
          const d = decideTx(profile, CASES[caseName]);
          expect(d.outcome, d.reasons.join('; ')).toBe(expected);
          expect(d.segmentInSoftware).toBe(expected !== 'hardware');
          expect(d.gsoPartial).toBe(expected === 'partial');
          if (expected !== 'hardware') expect(d.reasons.length).toBeGreaterThan(0);
        });
      }
    });
  }
});

describe('decideTx rules', () => {
  const mlx5 = loadProfile('mlx5');
  const ice = loadProfile('ice');
  const ixgbe = loadProfile('ixgbe');

  it('none: software checksums on every software segment', () => {
    const d = decideTx(loadProfile('none'), tcp4);
    expect(d.checksumInSoftware).toBe(true);
    expect(d.features).toBe(0);
  });

  it('QinQ keeps HW_CSUM but not IP_CSUM: checksums in software only on ice/bnxt', () => {
    for (const name of ['veth', 'virtio-net', 'mlx5', 'ixgbe', 'i40e', 'ice', 'bnxt']) {
      const d = decideTx(loadProfile(name), qinq);
      expect(d.checksumInSoftware, name).toBe(name === 'ice' || name === 'bnxt');
      expect(d.features & F.TSO, name).toBe(0);
    }
  });

  it('ice MPLS: no HW_CSUM, so checksum and GSO bits are removed', () => {
    const d = decideTx(ice, mpls);
    expect(d.checksumInSoftware).toBe(true);
    expect(d.reasons.join('\n')).toMatch(/MPLS checksum offload needs tx-checksum-ip-generic/);
    expect(d.reasons.join('\n')).toMatch(/mplsFeatures lacks tx-checksum-ipv4/);
  });

  it('bnxt MPLS: mplsFeatures is SG only', () => {
    expect(decideTx(loadProfile('bnxt'), mpls).reasons.join('\n')).toMatch(/mplsFeatures lacks .*tx-tcp-segmentation/);
  });

  it('ixgbe: VXLAN+TCPv6 is GSO partial, VXLAN+TCPv4 needs mangleid', () => {
    const v6 = { ...vxlan, gsoType: GSO.TCPV6 | GSO.UDP_TUNNEL, innerProto: ETH_P.IPV6 };
    expect(decideTx(ixgbe, v6).outcome).toBe('partial');
    expect(decideTx(ixgbe, vxlan).reasons.join('\n')).toMatch(/mangleid/);
    const json = profileToJson(ixgbe);
    const withMangle = parseProfile({ ...json, features: [...json.features, 'tx-tcp-mangleid-segmentation'] }, 'ixgbe-mangleid');
    const d = decideTx(withMangle, vxlan);
    expect(d.outcome).toBe('partial');
    expect(d.mangleId).toBe(true);
    // without DF the mangleid feature is removed again, so TSO goes too
    expect(decideTx(withMangle, { ...vxlan, innerIpv4Df: false }).outcome).toBe('software');
  });

  it('mlx5/bnxt: tunnel offload only on the offloaded UDP port', () => {
    for (const name of ['mlx5', 'bnxt']) {
      const d = decideTx(loadProfile(name), { ...vxlan, tunnelDstPort: 8472 });
      expect(d.outcome, name).toBe('software');
      expect(d.checksumInSoftware, name).toBe(true);
      expect(d.reasons.join('\n'), name).toMatch(/port 8472/);
    }
    expect(decideTx(loadProfile('ice'), { ...vxlan, tunnelDstPort: 8472 }).outcome).toBe('hardware');
  });

  it('i40e/ice: gso_size below 64 gets no GSO offload', () => {
    const tiny = { ...tcp4, gsoSize: 63, gsoSegs: 200, len: TCP_HDR + 200 * 63 };
    expect(decideTx(loadProfile('i40e'), tiny).outcome).toBe('software');
    expect(decideTx(ice, tiny).outcome).toBe('software');
    expect(decideTx(mlx5, tiny).outcome).toBe('hardware');
  });

  it('length ≥ gsoMaxSize gets no GSO offload', () => {
    expect(decideTx(mlx5, { ...tcp4, len: 65536 }).outcome).toBe('software');
    expect(decideTx(mlx5, { ...tcp4, len: 65535 }).outcome).toBe('hardware');
  });

  it('every gso_type bit needs its feature (TCP_ECN, FIXEDID)', () => {
    const ecn = { ...tcp4, gsoType: GSO.TCPV4 | GSO.TCP_ECN };
    expect(decideTx(loadProfile('virtio-net'), ecn).outcome).toBe('software');
    expect(decideTx(loadProfile('i40e'), ecn).outcome).toBe('hardware');
    const fixed = { ...tcp4, gsoType: GSO.TCPV4 | GSO.TCP_FIXEDID };
    const veth = loadProfile('veth');
    expect(decideTx(veth, fixed)).toMatchObject({ outcome: 'hardware', mangleId: true });
    expect(decideTx(veth, { ...fixed, innerIpv4Df: false }).outcome).toBe('software');
    expect(decideTx(mlx5, fixed).outcome).toBe('software');
  });

  it('DODGY without tx-gso-robust: validated and passed whole', () => {
    const d = decideTx(mlx5, { ...tcp4, gsoType: GSO.TCPV4 | GSO.DODGY });
    expect(d.outcome).toBe('hardware');
    expect(d.reasons.join('\n')).toMatch(/DODGY/);
    expect(decideTx(loadProfile('virtio-net'), { ...tcp4, gsoType: GSO.TCPV4 | GSO.DODGY }).reasons).toEqual([]);
  });

  it('UFO (SKB_GSO_UDP) is never offloaded', () => {
    expect(gsoTypeFeatures(GSO.UDP) & ((1 << FEATURE_NAMES.length) - 1)).toBe(0);
    for (const name of ['veth', 'mlx5', 'ice']) {
      expect(decideTx(loadProfile(name), { ...udpL4, gsoType: GSO.UDP }).outcome, name).toBe('software');
    }
  });

  it('mangleId only where TSO_MANGLEID survives and the device cuts TCPv4', () => {
    expect(decideTx(loadProfile('veth'), tcp4).mangleId).toBe(true);
    expect(decideTx(loadProfile('veth'), { ...tcp4, innerIpv4Df: false }).mangleId).toBe(false);
    expect(decideTx(mlx5, tcp4).mangleId).toBe(false);
    expect(decideTx(loadProfile('veth'), tcp6).mangleId).toBe(false);
  });

  it('hardware GSO leaves the checksum to the device', () => {
    expect(decideTx(mlx5, tcp4).checksumInSoftware).toBe(false);
    expect(decideTx(mlx5, vxlanCsum).checksumInSoftware).toBe(false);
  });
});

describe('checksum of non-GSO CHECKSUM_PARTIAL packets', () => {
  const csum = (name: string, fields: Partial<TxRequest>) =>
    decideTx(loadProfile(name), makeTxRequest({ csumPartial: true, len: 200, ...fields }));

  it('HW_CSUM covers everything, including MPLS and IPv6 with extension headers', () => {
    expect(csum('mlx5', {}).checksumInSoftware).toBe(false);
    expect(csum('mlx5', { outerProto: ETH_P.MPLS_UC, innerProto: ETH_P.IP }).checksumInSoftware).toBe(false);
    expect(csum('mlx5', { outerProto: ETH_P.IPV6, ipv6ExtHeaders: true }).checksumInSoftware).toBe(false);
  });

  it('IP_CSUM/IPV6_CSUM must match the protocol and IPv6 must have no extension headers', () => {
    expect(csum('ice', {}).checksumInSoftware).toBe(false);
    expect(csum('ice', { outerProto: ETH_P.IPV6 }).checksumInSoftware).toBe(false);
    expect(csum('ice', { outerProto: ETH_P.IPV6, ipv6ExtHeaders: true }).checksumInSoftware).toBe(true);
    expect(csum('ice', { outerProto: ETH_P.MPLS_UC, innerProto: ETH_P.IP }).checksumInSoftware).toBe(true);
  });

  it('encapsulated: the outer protocol decides; unknown tunnel ports lose checksum offload on mlx5', () => {
    const enc = { encapsulation: true, innerProto: ETH_P.IPV6, tunnelDstPort: 4789 };
    expect(csum('bnxt', enc).checksumInSoftware).toBe(false);
    expect(csum('mlx5', { ...enc, tunnelDstPort: 8472 }).checksumInSoftware).toBe(true);
    expect(csum('virtio-net', enc).checksumInSoftware).toBe(true);
  });

  it('none computes every checksum; nothing pending means nothing to compute', () => {
    expect(csum('none', {}).checksumInSoftware).toBe(true);
    const d = decideTx(loadProfile('none'), makeTxRequest());
    expect(d).toMatchObject({ outcome: 'none', segmentInSoftware: false, checksumInSoftware: false });
  });
});

describe('decideTx without reasons (the egress hot path)', () => {
  it('decides exactly as with them, for every built-in profile and request variant', () => {
    const variants: TxRequest[] = [];
    for (const base of Object.values(CASES)) {
      for (const csumPartial of [false, true]) {
        for (const gso of [true, false]) {
          for (const df of [true, false]) {
            variants.push({ ...base, csumPartial, innerIpv4Df: df, ...(gso ? {} : { gsoType: 0, gsoSize: 0, gsoSegs: 0 }) });
            variants.push({ ...base, csumPartial, innerIpv4Df: df, gsoType: base.gsoType | GSO.DODGY | GSO.TCP_ECN, tunnelDstPort: base.encapsulation ? 9999 : 0 });
          }
        }
      }
    }
    let explained = 0;
    for (const name of Object.keys(EXPECTED)) {
      const profile = loadProfile(name);
      for (const req of variants) {
        const full = decideTx(profile, req);
        const quick = decideTx(profile, req, false);
        expect(quick).toEqual({ ...full, reasons: [] });
        explained += full.reasons.length;
      }
    }
    expect(explained).toBeGreaterThan(0);
  });
});
