/**
 * Deep pipelines: stages hand packets to each other on the call stack, so a pipeline holds at
 * most 1,000 stages; more are refused with exit 2 (they used to end in "Maximum call stack size
 * exceeded", exit 1, naming nothing). 1,000 stages run, segmentation at the end included.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackets } from '../../pipeline/pcap/reader.js';

const root = join(import.meta.dirname, '../..');
const CLI = join(root, 'dist/cli/main.js');
const SAMPLE = join(root, 'samples/tso-host.pcap');
const dir = mkdtempSync(join(tmpdir(), 'capflow-deep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capflow(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const push = { stage: 'mpls-push', labels: [{ label: 100, ttl: 64 }] };
const pop = { stage: 'mpls-pop' };

describe('deep pipelines', () => {
  it.each([
    ['4,500 mpls-push stages', Array.from({ length: 4500 }, () => push), 4500],
    ['20,000 mpls-pop stages', Array.from({ length: 20000 }, () => pop), 20000],
  ])('%s are refused with exit 2 before any output', (_name, stages, n) => {
    const p = join(dir, `deep-${n}.json`);
    writeFileSync(p, JSON.stringify({ stages }));
    const out = join(dir, `deep-${n}.pcap`);
    const r = capflow(['run', SAMPLE, '-o', out, '--pipeline', p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`capflow: ${p}: stages: ${n} stages, at most 1000 per pipeline\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('1,000 stages run: 500 pushes, 499 pops and the egress segmenting at the bottom of the stack', async () => {
    const stages = [...Array.from({ length: 500 }, () => push), ...Array.from({ length: 499 }, () => pop), { stage: 'gso', mss: 100 }];
    const p = join(dir, 'deep-1000.json');
    writeFileSync(p, JSON.stringify({ view: 'wire', stages }));
    const out = join(dir, 'deep-1000.pcap');
    const r = capflow(['run', SAMPLE, '-o', out, '--pipeline', p, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.packetsIn).toBe(s.forwarded + s.dropped);
    expect(s.dropped).toBe(0);
    let labelled = 0;
    for await (const pkt of readPackets(out, { name: out })) {
      // One label left (500 pushed, 499 popped) on every packet: EtherType 0x8847.
      if (pkt.data[12] === 0x88 && pkt.data[13] === 0x47) labelled++;
    }
    expect(labelled).toBe(s.packetsOut);
    expect(s.packetsOut).toBeGreaterThan(s.packetsIn);
  });
});
