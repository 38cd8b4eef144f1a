/**
 * NIC offload profiles: what a transmitting device can do, in the kernel's terms
 * (`dev->features`, `hw_enc_features`, `mpls_features`, `vlan_features`, `gso_partial_features`,
 * `gso_max_size`, `gso_max_segs`), plus the few `ndo_features_check` quirks that matter.
 *
 * A profile file is JSON in the contract's format. loadProfile validates it, then derives the
 * feature bitsets once, applying what `register_netdevice` and `netdev_fix_features` would do.
 * What a packet needs (gso_type, checksum state) is never stored here: see decide.ts.
 */
import { createRequire } from 'node:module';
import { ConfigFileError, PROFILE_FILE_LIMIT, readBoundedTextFile } from '../config-file.js';
import type { z } from 'zod';
import { BUILTIN_PROFILE_JSON } from './builtin.js';
import {
  ALL_TSO,
  type FeatureSet,
  featureSet,
  formatFeatures,
  NETIF_F as F,
} from './features.js';

/** Boundary error for a profile that can't be loaded: names the file, the key path and what was expected. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly code = 'ERR_NIC_PROFILE';
  /** Path of the file, or `builtin:NAME` / a caller-given label. */
  readonly file: string;
  /** Dotted key path inside the file ("" = the whole document). */
  readonly keyPath: string;
  /** What was expected there. */
  readonly expected: string;

  constructor(file: string, keyPath: string, expected: string, detail?: string) {
    super(`${file}: ${keyPath === '' ? '(document)' : keyPath}: ${expected}${detail ? ` (${detail})` : ''}`);
    this.file = file;
    this.keyPath = keyPath;
    this.expected = expected;
  }
}

/** The profile file's schema, given zod. */
function makeSchema(zod: typeof z) {
  const featureList = zod.array(zod.string().min(1, 'expected a feature name (ethtool -k name)'));
  return zod
    .object({
      name: zod.string().min(1, 'expected a non-empty profile name'),
      description: zod.string().default(''),
      source: zod.string().default(''),
      variant: zod.string().optional(),
      mtu: zod.number().int().min(68).max(65535).default(1500),
      gsoMaxSize: zod.number().int().min(1).max(524288).default(65536),
      gsoMaxSegs: zod.number().int().min(1).max(65535).default(65535),
      features: featureList,
      hwEncFeatures: featureList.default([]),
      mplsFeatures: featureList.default([]),
      vlanFeatures: featureList.default([]),
      gsoPartialFeatures: featureList.optional(),
      tunnelPorts: zod.array(zod.number().int().min(1).max(65535)).optional(),
      minGsoSize: zod.number().int().min(0).max(65535).optional(),
      encapTso4NeedsMangleId: zod.boolean().optional(),
    })
    .strict();
}

type ProfileSchema = ReturnType<typeof makeSchema>;
let schema: ProfileSchema | null = null;

/**
 * Built on first use: only a profile file needs validating (the built-in profiles are derived
 * without it), and zod costs a run that needs no validation a large share of its start-up. Loaded
 * through require (zod ships CommonJS too) because validation is synchronous.
 */
function profileSchema(): ProfileSchema {
  schema ??= makeSchema((createRequire(import.meta.url)('zod') as { z: typeof z }).z);
  return schema;
}

/** A profile file as written (contract format plus capflow's extensions). */
export type ProfileJson = z.input<ProfileSchema>;

/** Feature bitsets of a profile, derived once when it is loaded. */
export interface ProfileBits {
  /** dev->features after netdev_fix_features (GSO added at registration, dropped without SG). */
  readonly features: FeatureSet;
  /** hw_enc_features | SG | GSO_PARTIAL (| TSO_MANGLEID when TSO is in it). */
  readonly hwEnc: FeatureSet;
  /** mpls_features | SG (| TSO_MANGLEID when TSO is in it). */
  readonly mpls: FeatureSet;
  /** vlan_features (| TSO_MANGLEID when TSO is in it). */
  readonly vlan: FeatureSet;
  /** gso_partial_features. */
  readonly partial: FeatureSet;
}

export interface NicProfile {
  readonly name: string;
  readonly description: string;
  /** Driver file and function the feature sets were read from. */
  readonly source: string;
  /** Which conditional branch of the driver is modelled (hardware generation, firmware caps, module options). */
  readonly variant?: string;
  readonly mtu: number;
  readonly gsoMaxSize: number;
  readonly gsoMaxSegs: number;
  readonly features: readonly string[];
  readonly hwEncFeatures: readonly string[];
  readonly mplsFeatures: readonly string[];
  readonly vlanFeatures: readonly string[];
  readonly gsoPartialFeatures?: readonly string[];
  /** UDP dst ports the NIC's tunnel offload accepts (mlx5: 4789 always; bnxt: the one registered port); absent = any. */
  readonly tunnelPorts?: readonly number[];
  /** i40e/ice `ndo_features_check`: GSO skbs with gso_size below this get no GSO offload. */
  readonly minGsoSize?: number;
  /** ixgbe `ndo_features_check`: encapsulated skbs lose TSO (IPv4) unless TSO_MANGLEID is still in the features. */
  readonly encapTso4NeedsMangleId?: boolean;
  /** Derived once: bitsets. */
  readonly bits: ProfileBits;
  /** What registration / netdev_fix_features changed while deriving `bits`. */
  readonly notes: readonly string[];
  /** Names that are not ethtool feature names known to capflow (kept, ignored). */
  readonly warnings: readonly string[];
}

/**
 * Validate a parsed profile document and derive its bitsets. `origin` names the file in errors.
 */
export function parseProfile(doc: unknown, origin: string): NicProfile {
  const r = profileSchema().safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const keyPath = path.map((k) => (typeof k === 'number' ? `[${k}]` : String(k))).join('.').replace(/\.\[/g, '[');
    const more = r.error.issues.length > 1 ? `${r.error.issues.length - 1} more problem(s)` : undefined;
    throw new ProfileError(origin, keyPath, describeIssue(issue), more);
  }
  return derive(r.data);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; expected one of ${Object.keys(profileSchema().shape).join(', ')}`;
  }
  return issue.message;
}

type ProfileData = z.output<ProfileSchema>;

function derive(d: ProfileData): NicProfile {
  const notes: string[] = [];
  const unknown: string[] = [];
  const names = (list: readonly string[]) => featureSet(list, unknown);

  // register_netdevice: features |= NETIF_F_SOFT_FEATURES (GSO, GRO).
  let features = names(d.features) | F.GSO;
  features = fixFeatures(features, names(d.gsoPartialFeatures ?? []), notes);

  let hwEnc = names(d.hwEncFeatures) | F.SG | F.GSO_PARTIAL;
  let mpls = names(d.mplsFeatures) | F.SG;
  let vlan = names(d.vlanFeatures);
  if (hwEnc & F.TSO) hwEnc |= F.TSO_MANGLEID;
  if (mpls & F.TSO) mpls |= F.TSO_MANGLEID;
  if (vlan & F.TSO) vlan |= F.TSO_MANGLEID;
  const partial = names(d.gsoPartialFeatures ?? []);

  const warnings = [...new Set(unknown)].map(
    (n) => `unknown feature name "${n}" (not an ethtool -k name capflow knows): ignored`,
  );

  const p: NicProfile = {
    name: d.name,
    description: d.description,
    source: d.source,
    ...(d.variant !== undefined ? { variant: d.variant } : {}),
    mtu: d.mtu,
    gsoMaxSize: d.gsoMaxSize,
    gsoMaxSegs: d.gsoMaxSegs,
    features: Object.freeze([...d.features]),
    hwEncFeatures: Object.freeze([...d.hwEncFeatures]),
    mplsFeatures: Object.freeze([...d.mplsFeatures]),
    vlanFeatures: Object.freeze([...d.vlanFeatures]),
    ...(d.gsoPartialFeatures !== undefined ? { gsoPartialFeatures: Object.freeze([...d.gsoPartialFeatures]) } : {}),
    ...(d.tunnelPorts !== undefined ? { tunnelPorts: Object.freeze([...d.tunnelPorts]) } : {}),
    ...(d.minGsoSize !== undefined ? { minGsoSize: d.minGsoSize } : {}),
    ...(d.encapTso4NeedsMangleId !== undefined ? { encapTso4NeedsMangleId: d.encapTso4NeedsMangleId } : {}),
    bits: Object.freeze({ features, hwEnc, mpls, vlan, partial }),
    notes: Object.freeze(notes),
    warnings: Object.freeze(warnings),
  };
  return Object.freeze(p);
}

/** `netdev_fix_features` (6.1), the TX-relevant rules. */
function fixFeatures(f: FeatureSet, partial: FeatureSet, notes: string[]): FeatureSet {
  const drop = (bits: FeatureSet, why: string) => {
    if (f & bits) {
      notes.push(`${why}: dropped ${formatFeatures(f & bits)}`);
      f &= ~bits;
    }
  };
  if (f & F.HW_CSUM) drop(F.IP_CSUM | F.IPV6_CSUM, 'tx-checksum-ip-generic together with IPv4/IPv6 checksum bits is illegal');
  if (!(f & F.SG)) drop(ALL_TSO, 'TSO needs tx-scatter-gather');
  if ((f & F.TSO) && !(f & (F.HW_CSUM | F.IP_CSUM))) drop(F.TSO | F.TSO_ECN, 'tx-tcp-segmentation needs tx-checksum-ip-generic or tx-checksum-ipv4');
  if ((f & F.TSO6) && !(f & (F.HW_CSUM | F.IPV6_CSUM))) drop(F.TSO6, 'tx-tcp6-segmentation needs tx-checksum-ip-generic or tx-checksum-ipv6');
  if (!(f & F.TSO)) drop(F.TSO_MANGLEID, 'tx-tcp-mangleid-segmentation needs tx-tcp-segmentation');
  if ((f & ALL_TSO) === F.TSO_ECN) drop(F.TSO_ECN, 'tx-tcp-ecn-segmentation needs a TSO feature');
  if (!(f & F.SG)) {
    drop(F.GSO, 'software GSO needs tx-scatter-gather (no SG: no software GSO offload; every GSO packet is segmented in software)');
  }
  if (!(f & F.GSO_PARTIAL)) drop(partial, 'gsoPartialFeatures need tx-gso-partial');
  return f;
}

/** Convert a profile back to the contract's file format (what `capflow nic show` prints). */
export function profileToJson(p: NicProfile): ProfileJson {
  const out: ProfileJson = {
    name: p.name,
    description: p.description,
    source: p.source,
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
    mtu: p.mtu,
    gsoMaxSize: p.gsoMaxSize,
    gsoMaxSegs: p.gsoMaxSegs,
    features: [...p.features],
    hwEncFeatures: [...p.hwEncFeatures],
    mplsFeatures: [...p.mplsFeatures],
    vlanFeatures: [...p.vlanFeatures],
    ...(p.gsoPartialFeatures !== undefined ? { gsoPartialFeatures: [...p.gsoPartialFeatures] } : {}),
    ...(p.tunnelPorts !== undefined ? { tunnelPorts: [...p.tunnelPorts] } : {}),
    ...(p.minGsoSize !== undefined ? { minGsoSize: p.minGsoSize } : {}),
    ...(p.encapTso4NeedsMangleId !== undefined ? { encapTso4NeedsMangleId: p.encapTso4NeedsMangleId } : {}),
  };
  return out;
}

/** Built-in profiles derived so far, by name (each derived once, when first asked for). */
const builtins = new Map<string, NicProfile>();

/** The built-in profile `name`, derived on first use; undefined when there is none by that name. */
function builtinByName(name: string): NicProfile | undefined {
  let p = builtins.get(name);
  if (p === undefined) {
    const j = BUILTIN_PROFILE_JSON.find((x) => x.name === name);
    if (j === undefined) return undefined;
    p = builtinProfile(j);
    builtins.set(name, p);
  }
  return p;
}

/** The built-in profiles (none, veth, virtio-net, mlx5, ixgbe, i40e, ice, bnxt), each derived once. */
export function builtinProfiles(): NicProfile[] {
  return BUILTIN_PROFILE_JSON.map((j) => builtinByName(j.name)!);
}

/**
 * A built-in profile: written in this repository, so only the schema's defaults are applied
 * (the test of the built-ins checks that validating them gives the same profiles).
 */
function builtinProfile(j: ProfileJson): NicProfile {
  return derive({
    ...j,
    description: j.description ?? '',
    source: j.source ?? '',
    mtu: j.mtu ?? 1500,
    gsoMaxSize: j.gsoMaxSize ?? 65536,
    gsoMaxSegs: j.gsoMaxSegs ?? 65535,
    hwEncFeatures: j.hwEncFeatures ?? [],
    mplsFeatures: j.mplsFeatures ?? [],
    vlanFeatures: j.vlanFeatures ?? [],
  });
}

/** Names of the built-in profiles. */
export function builtinProfileNames(): string[] {
  return BUILTIN_PROFILE_JSON.map((j) => j.name);
}

/**
 * A built-in profile by name, else a profile JSON file at that path.
 * Throws ProfileError naming the file and key path.
 */
export function loadProfile(nameOrPath: string): NicProfile {
  // Only the profile asked for is derived (a run derived all eight at start-up).
  const builtin = builtinByName(nameOrPath);
  if (builtin) return builtin;
  let text: string;
  try {
    text = readBoundedTextFile(nameOrPath, PROFILE_FILE_LIMIT);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new ProfileError(nameOrPath, '', `expected a profile JSON file: a regular file of at most ${PROFILE_FILE_LIMIT / 1024} KiB`, e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !/[\\/.]/.test(nameOrPath)) {
      throw new ProfileError(nameOrPath, '', `expected a built-in profile name (${builtinProfileNames().join(', ')}) or a profile JSON file`, 'no such profile or file');
    }
    throw new ProfileError(nameOrPath, '', 'expected a readable profile JSON file', (e as Error).message);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(nameOrPath, '', 'expected valid JSON', (e as Error).message);
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    // `capflow nic show NAME --json` adds what it derived (the feature sets after
    // netdev_fix_features, notes): a starting point for a custom profile. They are derived again.
    const { effective: _effective, notes: _notes, ...profile } = doc as Record<string, unknown>;
    doc = profile;
  }
  return parseProfile(doc, nameOrPath);
}
