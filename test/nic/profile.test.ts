import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { featureNames, NETIF_F as F } from '../../pipeline/nic/features.js';
import {
  builtinProfileNames,
  builtinProfiles,
  loadProfile,
  parseProfile,
  ProfileError,
  profileToJson,
} from '../../pipeline/nic/profile.js';
import { BUILTIN_PROFILE_JSON } from '../../pipeline/nic/builtin.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-nic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, doc: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

function catchProfileError(fn: () => unknown): ProfileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error('expected a ProfileError');
}

describe('built-in profiles', () => {
  it('are the eight documented ones', () => {
    expect(builtinProfileNames()).toEqual(['none', 'veth', 'virtio-net', 'mlx5', 'ixgbe', 'i40e', 'ice', 'bnxt']);
  });

  it('are what validating their JSON like a profile file gives (they are derived without the schema)', () => {
    const validated = BUILTIN_PROFILE_JSON.map((j) => parseProfile(j, `builtin:${j.name}`));
    expect(builtinProfiles()).toEqual(validated);
    // The same keys in the same order: `capflow nic show --json` prints them.
    expect(builtinProfiles().map((p) => JSON.stringify(p))).toEqual(validated.map((p) => JSON.stringify(p)));
  });

  it('validate with no unknown feature names and full provenance', () => {
    for (const p of builtinProfiles()) {
      expect(p.warnings, p.name).toEqual([]);
      expect(p.source, p.name).not.toBe('');
      expect(p.variant, p.name).toBeTruthy();
      expect(p.mtu).toBe(1500);
      expect(p.gsoMaxSize).toBe(65536);
      expect(p.gsoMaxSegs).toBe(65535);
    }
  });

  it('round-trip through profileToJson and parseProfile', () => {
    for (const p of builtinProfiles()) {
      const again = parseProfile(JSON.parse(JSON.stringify(profileToJson(p))), 'roundtrip');
      expect(again.bits).toEqual(p.bits);
      expect(profileToJson(again)).toEqual(profileToJson(p));
    }
  });

  it('loadProfile finds them by name and returns the same derived object', () => {
    expect(loadProfile('mlx5')).toBe(loadProfile('mlx5'));
    expect(loadProfile('ice').name).toBe('ice');
  });

  it('none: no SG, so software GSO offload is dropped and noted', () => {
    const none = loadProfile('none');
    expect(none.bits.features).toBe(0);
    expect(none.notes.join('\n')).toMatch(/tx-scatter-gather.*tx-generic-segmentation/);
    // registration defaults still apply to the other sets
    expect(none.bits.hwEnc).toBe(F.SG | F.GSO_PARTIAL);
    expect(none.bits.mpls).toBe(F.SG);
  });

  it('ice has IPv4/IPv6 checksum bits but no HW_CSUM; mlx5 has HW_CSUM in mplsFeatures', () => {
    const ice = loadProfile('ice').bits;
    expect(ice.features & F.HW_CSUM).toBe(0);
    expect(ice.features & F.IP_CSUM).not.toBe(0);
    expect(loadProfile('mlx5').bits.mpls & F.HW_CSUM).not.toBe(0);
  });

  it('mangleid is on only for veth by default, and available in sets with TSO', () => {
    for (const p of builtinProfiles()) {
      expect(Boolean(p.bits.features & F.TSO_MANGLEID), p.name).toBe(p.name === 'veth');
      if (p.bits.hwEnc & F.TSO) expect(p.bits.hwEnc & F.TSO_MANGLEID, p.name).not.toBe(0);
    }
  });
});

describe('derivation rules (register_netdevice / netdev_fix_features)', () => {
  it('adds SG|GSO_PARTIAL to hwEnc, SG to mpls, MANGLEID next to TSO', () => {
    const p = parseProfile(
      {
        name: 'x',
        features: ['tx-scatter-gather', 'tx-checksum-ip-generic', 'tx-tcp-segmentation'],
        hwEncFeatures: ['tx-tcp-segmentation'],
        mplsFeatures: ['tx-tcp-segmentation'],
        vlanFeatures: ['tx-tcp-segmentation'],
      },
      'test',
    );
    expect(featureNames(p.bits.hwEnc)).toEqual([
      'tx-scatter-gather',
      'tx-tcp-segmentation',
      'tx-tcp-mangleid-segmentation',
      'tx-gso-partial',
    ]);
    expect(p.bits.mpls).toBe(F.SG | F.TSO | F.TSO_MANGLEID);
    expect(p.bits.vlan).toBe(F.TSO | F.TSO_MANGLEID);
    expect(p.bits.features & F.GSO).not.toBe(0);
  });

  it('TSO without SG or without a checksum feature is dropped, with a note', () => {
    const noSg = parseProfile({ name: 'a', features: ['tx-checksum-ip-generic', 'tx-tcp-segmentation'] }, 'test');
    expect(noSg.bits.features & (F.TSO | F.GSO)).toBe(0);
    expect(noSg.notes.some((n) => n.includes('TSO needs tx-scatter-gather'))).toBe(true);
    const noCsum = parseProfile({ name: 'b', features: ['tx-scatter-gather', 'tx-tcp-segmentation', 'tx-tcp6-segmentation'] }, 'test');
    expect(noCsum.bits.features & (F.TSO | F.TSO6)).toBe(0);
    const v4only = parseProfile({ name: 'c', features: ['tx-scatter-gather', 'tx-checksum-ipv4', 'tx-tcp-segmentation', 'tx-tcp6-segmentation'] }, 'test');
    expect(v4only.bits.features & F.TSO).not.toBe(0);
    expect(v4only.bits.features & F.TSO6).toBe(0);
  });

  it('keeps unknown names, warns, ignores them; other ethtool names are silent', () => {
    const p = parseProfile({ name: 'w', features: ['tx-scatter-gather', 'rx-gro', 'highdma', 'tx-frobnicate'] }, 'test');
    expect(p.features).toContain('tx-frobnicate');
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toContain('tx-frobnicate');
    expect(p.bits.features).toBe(F.SG | F.GSO);
  });

  it('fills contract defaults for omitted optional keys', () => {
    const p = parseProfile({ name: 'min', features: [] }, 'test');
    expect(p).toMatchObject({ mtu: 1500, gsoMaxSize: 65536, gsoMaxSegs: 65535, hwEncFeatures: [], mplsFeatures: [] });
  });
});

describe('profile files', () => {
  const good = {
    name: 'example',
    description: 'what it models',
    source: 'driver file and function',
    mtu: 1500,
    gsoMaxSize: 65536,
    gsoMaxSegs: 65535,
    features: ['tx-scatter-gather', 'tx-checksum-ip-generic', 'tx-tcp-segmentation', 'tx-tcp6-segmentation'],
    hwEncFeatures: ['tx-checksum-ip-generic', 'tx-tcp-segmentation'],
    mplsFeatures: [],
    vlanFeatures: ['tx-checksum-ip-generic', 'tx-tcp-segmentation'],
  };

  it('loads the contract example from a path', () => {
    const p = loadProfile(writeJson('good.json', good));
    expect(p.name).toBe('example');
    expect(p.bits.features & F.TSO6).not.toBe(0);
  });

  it.each([
    ['wrong type', { ...good, mtu: '1500' }, 'mtu', /number/],
    ['array element', { ...good, features: ['tx-scatter-gather', 7] }, 'features[1]', /string/],
    ['missing features', { ...good, features: undefined }, 'features', /array/],
    ['out of range', { ...good, gsoMaxSegs: 0 }, 'gsoMaxSegs', />=\s*1|too small/i],
    ['tunnel port', { ...good, tunnelPorts: [4789, 70000] }, 'tunnelPorts[1]', /65535|too big/i],
    ['unknown key', { ...good, hwEncFeature: [] }, 'hwEncFeature', /unknown key.*hwEncFeatures/],
  ])('%s: error names the file and key path', (_label, doc, keyPath, expected) => {
    const file = writeJson(`bad-${keyPath.replace(/\W/g, '_')}.json`, doc);
    const err = catchProfileError(() => loadProfile(file));
    expect(err.file).toBe(file);
    expect(err.keyPath).toBe(keyPath);
    expect(err.code).toBe('ERR_NIC_PROFILE');
    expect(err.message).toContain(file);
    expect(err.message).toContain(keyPath);
    expect(err.expected).toMatch(expected);
  });

  it('invalid JSON names the file', () => {
    const file = writeJson('broken.json', '{ "name": ');
    const err = catchProfileError(() => loadProfile(file));
    expect(err.message).toContain(file);
    expect(err.expected).toMatch(/JSON/);
  });

  it('an unknown bare name lists the built-in profiles', () => {
    const err = catchProfileError(() => loadProfile('mlx4'));
    expect(err.message).toMatch(/none, veth, virtio-net, mlx5, ixgbe, i40e, ice, bnxt/);
  });

  it('a missing file names the path', () => {
    const file = join(dir, 'absent.json');
    const err = catchProfileError(() => loadProfile(file));
    expect(err.file).toBe(file);
  });
});
