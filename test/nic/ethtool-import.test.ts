import { describe, expect, it } from 'vitest';
import { decideTx, makeTxRequest } from '../../pipeline/nic/decide.js';
import { importEthtool } from '../../pipeline/nic/ethtool-import.js';
import { ETH_P, NETIF_F as F } from '../../pipeline/nic/features.js';
import { loadProfile, parseProfile, ProfileError } from '../../pipeline/nic/profile.js';
import { GSO } from '../../pipeline/packet.js';

// `ethtool -k veth0` on a 6.1 kernel (ethtool 6.1), saved to a file: group lines at column 0,
// their members indented by a tab, "[fixed]" / "[requested on]" suffixes.
const VETH_K = `Features for veth0:
rx-checksumming: on
tx-checksumming: on
\ttx-checksum-ipv4: off [fixed]
\ttx-checksum-ip-generic: on
\ttx-checksum-ipv6: off [fixed]
\ttx-checksum-fcoe-crc: off [fixed]
\ttx-checksum-sctp: on
scatter-gather: on
\ttx-scatter-gather: on
\ttx-scatter-gather-fraglist: on
tcp-segmentation-offload: on
\ttx-tcp-segmentation: on
\ttx-tcp-ecn-segmentation: on
\ttx-tcp-mangleid-segmentation: on
\ttx-tcp6-segmentation: on
generic-segmentation-offload: on
generic-receive-offload: on
large-receive-offload: off [fixed]
rx-vlan-offload: on
tx-vlan-offload: on
ntuple-filters: off [fixed]
receive-hashing: off [fixed]
highdma: on
rx-vlan-filter: off [fixed]
vlan-challenged: off [fixed]
tx-lockless: on [fixed]
netns-local: off [fixed]
tx-gso-robust: off [fixed]
tx-fcoe-segmentation: off [fixed]
tx-gre-segmentation: on
tx-gre-csum-segmentation: on
tx-ipxip4-segmentation: on
tx-ipxip6-segmentation: on
tx-udp_tnl-segmentation: on
tx-udp_tnl-csum-segmentation: on
tx-gso-partial: off [fixed]
tx-tunnel-remcsum-segmentation: off [fixed]
tx-sctp-segmentation: on
tx-esp-segmentation: off [fixed]
tx-udp-segmentation: on
tx-gso-list: on
tx-nocache-copy: off
loopback: off [fixed]
rx-fcs: off [fixed]
rx-all: off [fixed]
tx-vlan-stag-hw-insert: on
rx-vlan-stag-hw-parse: on
rx-vlan-stag-filter: off [fixed]
l2-fwd-offload: off [fixed]
hw-tc-offload: off [fixed]
esp-hw-offload: off [fixed]
esp-tx-csum-hw-offload: off [fixed]
rx-udp_tunnel-port-offload: off [fixed]
tls-hw-tx-offload: off [fixed]
tls-hw-rx-offload: off [fixed]
rx-gro-hw: off [fixed]
tls-hw-record: off [fixed]
rx-gro-list: off
macsec-hw-offload: off [fixed]
rx-udp-gro-forwarding: off
hsr-tag-ins-offload: off [fixed]
hsr-tag-rm-offload: off [fixed]
hsr-fwd-offload: off [fixed]
hsr-dup-offload: off [fixed]
`;

// A NIC with TSO requested but SG turned off by the admin: ethtool shows "off [requested on]".
const NO_SG_K = `Features for eth1:
scatter-gather: off
\ttx-scatter-gather: off
tcp-segmentation-offload: off
\ttx-tcp-segmentation: off [requested on]
tx-checksumming: on
\ttx-checksum-ipv4: on
\ttx-checksum-ipv6: on
`;

describe('importEthtool', () => {
  const { profile, assumptions } = importEthtool(VETH_K, 'my-veth');

  it('keeps features that are on, skips legacy group lines and off features', () => {
    expect(profile.name).toBe('my-veth');
    expect(profile.features).toContain('tx-tcp-segmentation');
    expect(profile.features).toContain('tx-udp_tnl-csum-segmentation');
    expect(profile.features).toContain('highdma');
    expect(profile.features).not.toContain('tcp-segmentation-offload');
    expect(profile.features).not.toContain('scatter-gather');
    expect(profile.features).not.toContain('generic-segmentation-offload');
    expect(profile.features).not.toContain('tx-checksum-ipv4');
    expect(profile.features).not.toContain('tx-gso-partial');
    expect(profile.source).toContain('veth0');
    // single-feature legacy names are read as their kernel names
    expect(profile.features).toContain('tx-vlan-hw-insert');
    expect(profile.features).toContain('tx-generic-segmentation');
    expect(profile.features).toContain('rx-gro');
  });

  it('assumes the hidden feature sets and says so', () => {
    expect(profile.vlanFeatures).not.toContain('tx-vlan-hw-insert');
    expect(profile.vlanFeatures).not.toContain('tx-vlan-stag-hw-insert');
    expect(profile.vlanFeatures).toContain('tx-tcp-segmentation');
    expect(profile.mplsFeatures).toEqual(['tx-scatter-gather']);
    expect(profile.hwEncFeatures).toEqual(
      expect.arrayContaining(['tx-scatter-gather', 'tx-gso-partial', 'tx-checksum-ip-generic', 'tx-udp_tnl-segmentation', 'tx-udp_tnl-csum-segmentation']),
    );
    expect(profile.hwEncFeatures).not.toContain('tx-checksum-ipv4');
    const text = assumptions.join('\n');
    for (const key of ['vlanFeatures', 'hwEncFeatures', 'mplsFeatures', 'gsoPartialFeatures', 'tunnelPorts', 'mtu']) {
      expect(text).toContain(key);
    }
  });

  it('produces a valid profile with no unknown names, close to the built-in veth', () => {
    const p = parseProfile(profile, 'imported');
    expect(p.warnings).toEqual([]);
    const veth = loadProfile('veth');
    expect(p.bits.features).toBe(veth.bits.features);
    const vxlan = makeTxRequest({
      gsoType: GSO.TCPV4 | GSO.UDP_TUNNEL, gsoSize: 1398, gsoSegs: 10, len: 14100, csumPartial: true,
      encapsulation: true, innerProto: ETH_P.IP, tunnelDstPort: 4789,
    });
    expect(decideTx(p, vxlan).outcome).toBe('hardware');
    // mpls_features assumed SG only: MPLS goes to software, unlike the real veth
    const mpls = makeTxRequest({ gsoType: GSO.TCPV4, gsoSize: 1444, gsoSegs: 10, len: 14600, csumPartial: true, outerProto: ETH_P.MPLS_UC, innerProto: ETH_P.IP });
    expect(decideTx(p, mpls).outcome).toBe('software');
    expect(decideTx(veth, mpls).outcome).toBe('hardware');
  });

  it('reads "[requested on]" as off and notes the missing SG', () => {
    const r = importEthtool(NO_SG_K, 'nosg');
    expect(r.profile.features).toEqual(['tx-checksum-ipv4', 'tx-checksum-ipv6']);
    expect(r.assumptions.join('\n')).toMatch(/tx-scatter-gather is off/);
    const p = parseProfile(r.profile, 'nosg');
    expect(p.bits.features).toBe(F.IP_CSUM | F.IPV6_CSUM);
  });

  it('accepts CRLF line endings and output without the header line', () => {
    const r = importEthtool(VETH_K.split('\n').slice(1).join('\r\n'), 'crlf');
    expect(r.profile.features).toEqual(profile.features);
  });

  it('rejects text that is not ethtool -k output', () => {
    expect(() => importEthtool('hello\nworld\n', 'junk')).toThrow(ProfileError);
  });
});
