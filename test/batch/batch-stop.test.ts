/**
 * A batch stopped by SIGINT/SIGTERM: files being converted (in the main thread and in a worker)
 * are stopped and their temporaries removed, finished outputs and the summary of what was done
 * stay for --skip-existing to resume from, and the process ends by the signal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPcap, frame } from '../helpers/pcap-build.js';
import { builtCli, haveBuild } from './batch-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-batch-stop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const one = frame(100, 1);
const capture = Buffer.from(buildPcap({ le: true, records: Array.from({ length: 20_000 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: 0, data: one })) }));

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!haveBuild)('a batch stopped by a signal', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig}: running files stopped and removed, finished ones kept, ends by ${sig}`, async () => {
      const d = mkdtempSync(join(dir, 'stop-'));
      const done = join(d, 'done.pcap');
      writeFileSync(done, capture);
      // Two inputs that never end: FIFOs fed half a capture and held open.
      const fifos = ['held-1.pcap', 'held-2.pcap'].map((n) => join(d, n));
      for (const f of fifos) expect(spawnSync('mkfifo', [f]).status).toBe(0);
      const out = join(d, 'out');
      const summary = join(d, 'summary.json');
      const child = spawn(process.execPath, [builtCli, 'run', done, ...fifos, '--out-dir', out, '--jobs', '2', '--summary', summary], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (status, signal) => res({ status, signal })));
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const feeds = fifos.map((f) => {
        const w = createWriteStream(f);
        w.on('error', () => {});
        w.write(capture.subarray(0, capture.length >> 1));
        return w;
      });
      const entries = () => {
        try {
          return readdirSync(out);
        } catch {
          return [];
        }
      };
      // done.pcap finished, both held files being written (one per job).
      await until(() => entries().includes('done.pcap') && entries().filter((n) => n.includes('.capflow-')).length === 2, 45_000);
      child.kill(sig);
      const r = await ended;
      clearTimeout(guard);
      for (const w of feeds) w.destroy();
      expect(r.signal, stderr).toBe(sig);
      expect(entries()).toEqual(['done.pcap']);
      expect(stderr).toContain(`capflow: stopped by ${sig}: 1 of 3 files converted; rerun with --skip-existing to convert the rest\n`);
      expect(stderr).not.toMatch(/\n\s+at /);
      const s = JSON.parse(readFileSync(summary, 'utf8'));
      expect(s.inputs.map((i: { file: string }) => i.file)).toEqual([done]);
      expect(s.packetsIn).toBe(20_000);
    });
  }
});
