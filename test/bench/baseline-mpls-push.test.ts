/**
 * The bench's floor under mpls-push (baseline-mpls-push.mjs) does the same job as capflow: on the
 * bench's plain input, its output is byte for byte what the built binary writes in the bench's
 * mpls case. A floor that wrote less (or other) bytes would make capflow's distance to it
 * meaningless.
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from './generate.js';
import { workload } from './workloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', '..', 'dist', 'cli', 'main.js');
const FLOOR = join(here, 'baseline-mpls-push.mjs');

const dir = mkdtempSync(join(tmpdir(), 'capflow-floor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mpls-push floor (bench reference)', () => {
  it('writes the bytes capflow writes, across read and batch boundaries', () => {
    const input = join(dir, 'plain.pcap');
    // Over 8 MiB: records cut at the end of the floor's first read carry into the second.
    const g = generate('plain', input, 12_000_000);
    const floorOut = join(dir, 'floor.pcap');
    const capflowOut = join(dir, 'capflow.pcap');
    const f = spawnSync(process.execPath, [FLOOR, input, floorOut], { encoding: 'utf8' });
    expect(f.status, f.stderr).toBe(0);
    // The bench's mpls case (workloads.ts): MTU 9000, as the 1518-byte labelled frames would be segmented at 1500.
    const stages = workload('mpls').args;
    const c = spawnSync(process.execPath, [CLI, 'run', input, '-o', capflowOut, ...stages], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    const a = readFileSync(floorOut);
    const b = readFileSync(capflowOut);
    expect(a.length).toBe(g.bytes + 4 * g.packets);
    expect(a.equals(b)).toBe(true);
  });

  it('writes a FIFO in place: renaming a temporary file over it would replace it (as it replaced /dev/null)', async () => {
    const input = join(dir, 'small.pcap');
    generate('plain', input, 200_000);
    const fifo = join(dir, 'out.fifo');
    const viaFifo = join(dir, 'via-fifo.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // The reader is a process of its own: one that never gets a writer is killed, not left blocked in open().
    const reader = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', fifo, viaFifo], { stdio: 'ignore' });
    const readerDone = new Promise<void>((res) => reader.on('close', () => res()));
    const floor = spawn(process.execPath, [FLOOR, input, fifo], { stdio: 'ignore' });
    const status = await new Promise<number | null>((res) => floor.on('close', res));
    const stillFifo = lstatSync(fifo).isFIFO();
    if (!stillFifo) reader.kill();
    await readerDone;
    expect(status).toBe(0);
    expect(stillFifo).toBe(true);
    const toFile = join(dir, 'small-floor.pcap');
    expect(spawnSync(process.execPath, [FLOOR, input, toFile]).status).toBe(0);
    expect(readFileSync(viaFifo).equals(readFileSync(toFile))).toBe(true);
  });
});
