/**
 * Prototype keys (`__proto__`, `constructor`, `prototype`) are refused anywhere in a pipeline
 * (--stage specs, JSON and YAML files) with exit 2 naming the key path, and never reach
 * Object.prototype; a bad `nic:` in a pipeline file names the file and the key.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStageSpec, resolvePipeline } from '../../pipeline/config.js';
import { capflowSync, haveCli, repoRoot } from './spawn.js';

const sample = join(repoRoot, 'samples', 'tso-host.pcap');
const dir = mkdtempSync(join(tmpdir(), 'capflow-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveCli)('prototype keys', () => {
  const specs: Array<[string, string]> = [
    ['gso:__proto__.polluted=1', '__proto__.polluted'],
    ['gso:__proto__.hasOwnProperty=1', '__proto__.hasOwnProperty'],
    ['tunnel-key:rules=[{match: {prototype: 1}, drop: true}]', 'rules[0].match.prototype'],
    ['vxlan-encap:src=192.0.2.1,outerEth={__proto__: {src: "02:00:00:00:00:01"}}', 'outerEth.__proto__'],
  ];
  it.each(specs)('--stage %s: exit 2 naming %s, no output', (spec, keyPath) => {
    const out = join(dir, 'stage.pcap');
    const r = capflowSync(['run', sample, '-o', out, '--stage', spec]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`: ${keyPath}: `);
    expect(r.stderr).toMatch(/is not allowed as a key/);
    expect(r.stderr).not.toMatch(/TypeError|\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  const files: Array<[string, string, string]> = [
    ['json-stage', 'stages[0].__proto__', '{"stages": [{"stage": "gso", "__proto__": {"mss": 100}}]}'],
    ['json-top', '__proto__', '{"__proto__": {"nic": "ixgbe"}, "stages": []}'],
    ['yaml-nested', 'stages[0].outerEth.constructor', 'stages:\n  - stage: vxlan-encap\n    src: 192.0.2.1\n    outerEth:\n      constructor: {src: "02:00:00:00:00:01"}\n'],
    ['yaml-rule', 'stages[0].rules[0].set.prototype', 'stages:\n  - stage: tunnel-key\n    rules:\n      - match: {ipDst: 198.51.100.0/24}\n        set: {prototype: 1}\n'],
  ];
  it.each(files)('pipeline file (%s): exit 2 naming the file and %s', (name, keyPath, text) => {
    const file = join(dir, `${name}.${text.startsWith('{') ? 'json' : 'yaml'}`);
    writeFileSync(file, text);
    const r = capflowSync(['run', sample, '-o', join(dir, 'file.pcap'), '--pipeline', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: ${keyPath}: `);
  });

  it('never writes into Object.prototype, and option objects have no prototype', () => {
    expect(() => parseStageSpec('gso:__proto__.polluted=1')).toThrow(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const spec = parseStageSpec('vxlan-encap:outerEth.src=02:00:00:00:00:01');
    expect(Object.getPrototypeOf(spec)).toBeNull();
    expect(Object.getPrototypeOf(spec.outerEth)).toBeNull();
    const cfg = resolvePipeline({}, 'inline', { extraStages: [parseStageSpec('gso:mss=100')] });
    // The older gso stage spelling configures the egress.
    expect(cfg.egress.mss).toBe(100);
  });
});

describe.skipIf(!haveCli)('nic errors name where the profile was given', () => {
  it('a bad nic: in a pipeline file names the file and the key', () => {
    const file = join(dir, 'nic.yaml');
    writeFileSync(file, 'nic: e1000\n');
    const r = capflowSync(['run', sample, '-o', join(dir, 'nic.pcap'), '--pipeline', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^capflow: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: nic: e1000: expected a built-in profile name`));
    expect(r.stderr).not.toContain('(document)');
    expect(r.stderr).not.toContain('--nic');
  });

  it('a bad --nic names the option', () => {
    const r = capflowSync(['run', sample, '-o', join(dir, 'nic.pcap'), '--nic', 'e1000']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^capflow: --nic: e1000: expected a built-in profile name/);
  });
});

describe.skipIf(!haveCli)('a --stage value YAML cannot read', () => {
  const broken: Array<[string, string]> = [
    ['mpls-push:labels=[{label: 100, ttl: 64}', 'labels'],
    ['tunnel-key:rules=[{match: {vni: 42}, set: {vni: 4242}]', 'rules'],
    ["vxlan-encap:src='192.0.2.1", 'src'],
  ];
  it.each(broken)('--stage %s: exit 2 naming %s and the YAML error, no output', (spec, key) => {
    const out = join(dir, 'broken.pcap');
    const r = capflowSync(['run', sample, '-o', out, '--stage', spec]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--stage ${spec}: ${key}: not valid YAML: `);
    expect(r.stderr).not.toMatch(/received string|\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('a word YAML refuses is still a word (the stage judges it)', () => {
    expect(parseStageSpec('vxlan-encap:src=@host')).toMatchObject({ stage: 'vxlan-encap', src: '@host' });
  });
});
