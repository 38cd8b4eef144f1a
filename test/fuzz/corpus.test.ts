/**
 * The committed fuzz corpus (test/fuzz/corpus/, written by make-corpus.ts) as plain regression
 * tests: each file through `capflow run`, `info` and `diff`, and through the in-memory chain with
 * several chunkings and both output formats, with the fuzz properties' checks.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/cli-helpers.js';
import type { CorpusEntry } from './make-corpus.js';
import { expectStagesBalanced, fuzzFiles, fuzzInProcess } from './harness.js';

const corpusDir = join(import.meta.dirname, 'corpus');
const entries = JSON.parse(readFileSync(join(corpusDir, 'corpus.json'), 'utf8')) as CorpusEntry[];
const tmp = mkdtempSync(join(tmpdir(), 'capflow-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fuzz corpus', () => {
  it('holds the nastiest inputs', () => {
    expect(entries.length).toBeGreaterThanOrEqual(12);
  });

  for (const [i, e] of entries.entries()) {
    it(`${e.file}: ${e.why}`, async () => {
      const file = join(corpusDir, e.file);
      const dir = join(tmp, `e${i}`);
      mkdirSync(dir);
      const pipelineFile = join(dir, 'p.json');
      writeFileSync(pipelineFile, JSON.stringify(e.pipeline));
      const out = join(dir, 'out.pcapng');
      const run = await runCli(['run', file, '-o', out, '--pipeline', pipelineFile, '--json']);
      expect({ status: run.status, stderr: run.stderr.split('\n')[0] }).toMatchObject({ status: e.exit });
      if (e.exit === 0) {
        const s = JSON.parse(run.stdout);
        expect(s.packetsIn).toBe(s.forwarded + s.dropped);
        expectStagesBalanced(s);
        const again = await runCli(['info', out, '--json']);
        expect(again.status).toBe(0);
        expect(JSON.parse(again.stdout).packets).toBe(s.packetsOut);
      } else {
        expect(run.stderr).toMatch(new RegExp(`^capflow: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: offset \\d+: `));
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
      }
      const info = await runCli(['info', file]);
      expect(info.status).toBe(e.exit);
      const diff = await runCli(['diff', file, file]);
      expect(diff.status).toBe(e.exit === 0 ? 0 : 2);

      for (const sizes of [undefined, [1], [7, 64]]) {
        for (const outFormat of ['pcap', 'pcapng'] as const) {
          const r = await fuzzInProcess(readFileSync(file), e.pipeline, { outFormat, ...(sizes ? { sizes } : {}), name: e.file });
          if (e.code) expect((r.error as { code?: string } | null)?.code).toBe(e.code);
        }
      }
      rmSync(dir, { recursive: true });
      mkdirSync(dir);
      await fuzzFiles(dir, readFileSync(file), e.pipeline, 'out.pcap');
    });
  }

  it('info prints a timestamp beyond the calendar instead of failing', async () => {
    const r = await runCli(['info', join(corpusDir, 'pcapng-ms-resolution-far-future.pcapng')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('outside the calendar range');
  });
});
