/**
 * Build a profile from saved `ethtool -k IFACE` output.
 *
 * ethtool -k prints `dev->features` only ("name: on|off [fixed|requested on|requested off]",
 * with legacy group lines such as "tcp-segmentation-offload: on" and their members indented
 * beneath; group lines are skipped, and legacy names that stand for one feature, such as
 * "tx-vlan-offload", are read as that feature). hw_enc_features, mpls_features, vlan_features and gso_partial_features are not
 * visible, so they are assumed; every assumption is returned so the user can review the result.
 */
import { ETHTOOL_GROUP_NAMES, ETHTOOL_LEGACY_ALIASES, type FeatureName } from './features.js';
import { ProfileError, type ProfileJson } from './profile.js';

export interface EthtoolImport {
  profile: ProfileJson;
  assumptions: string[];
}

const LINE = /^\s*([A-Za-z0-9_.-]+):\s+(on|off)\b(?:\s+\[[^\]]*\])?\s*$/;
const HEADER = /^\s*Features for (.+?):\s*$/;

const VLAN_INSERT: readonly FeatureName[] = ['tx-vlan-hw-insert', 'tx-vlan-stag-hw-insert'];
const CSUM_NAMES: readonly FeatureName[] = ['tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6'];
const TUNNEL_GSO_NAMES: readonly FeatureName[] = [
  'tx-udp_tnl-segmentation',
  'tx-udp_tnl-csum-segmentation',
  'tx-gre-segmentation',
  'tx-gre-csum-segmentation',
  'tx-ipxip4-segmentation',
  'tx-ipxip6-segmentation',
];

/**
 * Parse `ethtool -k` output into a profile named `name`. Throws ProfileError when the text has no
 * feature lines at all.
 */
export function importEthtool(text: string, name: string): EthtoolImport {
  let iface: string | undefined;
  const on: string[] = [];
  let lines = 0;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '') continue;
    const h = HEADER.exec(raw);
    if (h) {
      iface ??= h[1];
      continue;
    }
    const m = LINE.exec(raw);
    if (!m) continue;
    lines++;
    const feature = ETHTOOL_LEGACY_ALIASES.get(m[1]!) ?? m[1]!;
    if (ETHTOOL_GROUP_NAMES.has(feature)) continue;
    if (m[2] === 'on' && !on.includes(feature)) on.push(feature);
  }
  if (lines === 0) {
    throw new ProfileError(name, '', 'expected `ethtool -k IFACE` output ("name: on|off" lines)', 'no feature lines found');
  }

  const onSet = new Set(on);
  const has = (n: FeatureName): boolean => onSet.has(n);
  const assumptions: string[] = [];

  const vlanFeatures = on.filter((n) => !VLAN_INSERT.includes(n as FeatureName));
  assumptions.push(
    'vlanFeatures = features without tx-vlan-hw-insert/tx-vlan-stag-hw-insert (ethtool -k does not show vlan_features; most drivers copy their offloads to VLAN uppers).',
  );

  const tunnels = TUNNEL_GSO_NAMES.filter(has);
  const hwEnc: string[] = ['tx-scatter-gather', 'tx-gso-partial', ...CSUM_NAMES.filter(has), ...tunnels];
  if (tunnels.length > 0) {
    for (const n of ['tx-tcp-segmentation', 'tx-tcp6-segmentation'] as const) if (has(n)) hwEnc.push(n);
  }
  assumptions.push(
    `hwEncFeatures = tx-scatter-gather + tx-gso-partial (kernel defaults) + the checksum and tunnel-segmentation features that are on${
      tunnels.length > 0 ? ' + tx-tcp-segmentation/tx-tcp6-segmentation when on (a device with tunnel GSO segments the inner TCP)' : ''
    } (ethtool -k does not show hw_enc_features).`,
  );

  assumptions.push('mplsFeatures = tx-scatter-gather only (the kernel default for drivers that set no mpls_features): MPLS is segmented and checksummed in software.');
  assumptions.push(
    'gsoPartialFeatures = none: every tunnel GSO type that is on is taken as a full offload (ethtool -k does not show gso_partial_features; some NICs do outer-checksum tunnels only as GSO partial).',
  );
  assumptions.push('tunnelPorts not set: tunnel offload assumed for any UDP destination port.');
  assumptions.push('mtu 1500, gsoMaxSize 65536, gsoMaxSegs 65535 (ethtool -k does not show them; see `ip -d link show`).');
  if (!has('tx-scatter-gather')) assumptions.push('tx-scatter-gather is off: TSO and software GSO offload are dropped (netdev_fix_features).');

  const profile: ProfileJson = {
    name,
    description: `Imported from ethtool -k${iface ? ` output for ${iface}` : ''}; hidden feature sets assumed (see assumptions).`,
    source: `ethtool -k ${iface ?? 'IFACE'} (saved output)`,
    variant: 'features as shown by ethtool -k; hwEncFeatures, mplsFeatures, vlanFeatures assumed',
    mtu: 1500,
    gsoMaxSize: 65536,
    gsoMaxSegs: 65535,
    features: on,
    hwEncFeatures: [...new Set(hwEnc)],
    mplsFeatures: ['tx-scatter-gather'],
    vlanFeatures,
    gsoPartialFeatures: [],
  };
  return { profile, assumptions };
}
