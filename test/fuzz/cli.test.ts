/**
 * Fuzzing the built CLI (`dist/cli/main.js`, as users run it): `run --json`, `info` and `diff` on
 * generated and damaged captures with random pipelines, and tshark on the outputs of well-formed
 * ones. CAPFLOW_FUZZ_SEED / CAPFLOW_FUZZ_SCALE as in fuzz.test.ts.
 */
import fc from 'fast-check';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCapture, captureDescArb, pipelineDescArb, validCaptureDescArb, withinSegmentBudget, type CaptureDesc, type PipelineDesc } from './arbitraries.js';
import { capflow, expectCleanFailure, expectStagesBalanced, fuzzSettings } from './harness.js';
import { toolGate } from '../cli/cli-helpers.js';
import { tsharkCheck } from '../kernel/tshark.js';

const root = mkdtempSync(join(tmpdir(), 'capflow-fuzz-cli-'));
// CAPFLOW_FUZZ_KEEP=1 keeps the failing case (input, pipeline, output) for a look in Wireshark.
afterAll(() => {
  if (process.env.CAPFLOW_FUZZ_KEEP) console.log(`fuzz cases kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
});
const tshark = toolGate('tshark');

/**
 * Dissectors tshark binds to the generated ports that parse application payloads capflow never
 * writes: CPFI owns UDP 5001 (iperf's port here) and calls a short random payload malformed.
 */
const NOT_UNDER_TEST = ['cpfi'];

/**
 * A driver-view GSO-partial UDP chunk: its IP length describes one segment and its UDP length the
 * whole chunk (__udp_gso_segment with SKB_GSO_PARTIAL), which tshark reports as a bad length and
 * nothing else. What the driver is handed, not a frame on the wire.
 */
function gsoPartialUdpChunk(experts: string): boolean {
  if (!/gso type=udp_l4\S*\+partial/.test(experts)) return false;
  const errors = experts.split(/,(?=Expert Info)/).filter((e) => /\(Error\//.test(e));
  return errors.length > 0 && errors.every((e) => /Bad length value \d+ > IP payload length/.test(e));
}

let n = 0;
/** A case in its own folder: the capture and pipeline written, `capflow run --json` run on them. */
function runCase(c: CaptureDesc, p: PipelineDesc, outName: string) {
  const dir = join(root, `c${n++}`);
  mkdirSync(dir);
  const input = join(dir, 'in.cap');
  const output = join(dir, outName);
  writeFileSync(input, buildCapture(withinSegmentBudget(c, p, 400)));
  writeFileSync(join(dir, 'p.json'), JSON.stringify(p));
  const run = capflow(['run', input, '-o', output, '--pipeline', join(dir, 'p.json'), '--json']);
  return { dir, input, output, run };
}

describe('fuzz: the capflow command', () => {
  it('run --json, info and diff: exit 0/1 (diff 0/1/2), one line naming the file, accounting balanced', { timeout: 300_000 }, () => {
    const { numRuns, seed } = fuzzSettings(6);
    console.log(`fuzz cli: ${numRuns} cases, CAPFLOW_FUZZ_SEED=${seed}`);
    fc.assert(
      fc.property(captureDescArb, pipelineDescArb, fc.constantFrom('out.pcap', 'out.pcapng', 'out.pcapng.gz'), (c, p, outName) => {
        const { dir, input, output, run } = runCase(c, p, outName);
        expect([0, 1]).toContain(run.status);
        if (run.status === 0) {
          const s = JSON.parse(run.stdout);
          expect(s.packetsIn).toBe(s.forwarded + s.dropped);
          expectStagesBalanced(s);
          expect(existsSync(output)).toBe(true);
          const again = capflow(['info', output, '--json']);
          expect(again.status).toBe(0);
          expect(JSON.parse(again.stdout).packets).toBe(s.packetsOut);
        } else {
          // An input problem names the input and its offset; a pcap output's mixed link types the output.
          expect(run.stderr).toMatch(new RegExp(`capflow: (${input}: offset \\d+: |${output}: )`));
          // Warnings about the input may come first: the error is the last line.
          const last = run.stderr.trimEnd().split('\n').at(-1) ?? '';
          expectCleanFailure(run, last.startsWith(`capflow: ${input}`) ? input : output);
          expect(readdirSync(dir).sort()).toEqual(['in.cap', 'p.json']);
        }
        const info = capflow(['info', input]);
        expect([0, 1]).toContain(info.status);
        if (info.status === 1) expectCleanFailure(info, `${input}: offset`);
        const diff = capflow(['diff', input, run.status === 0 ? output : input]);
        expect([0, 1, 2]).toContain(diff.status);
        if (diff.status === 2) expectCleanFailure(diff, `${input}: offset`);
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns, seed, endOnFailure: true },
    );
  });

  it.skipIf(tshark.skip)(`outputs of well-formed captures dissect in tshark without a malformed packet${tshark.label}`, { timeout: 300_000 }, () => {
    const { numRuns, seed } = fuzzSettings(6);
    console.log(`fuzz tshark: ${numRuns} cases, CAPFLOW_FUZZ_SEED=${seed}`);
    fc.assert(
      fc.property(validCaptureDescArb, pipelineDescArb, fc.constantFrom('out.pcap', 'out.pcapng'), (c, p, outName) => {
        const { dir, input, output, run } = runCase(c, p, outName);
        if (run.status !== 0) {
          // Only a pcap output of mixed link types may fail on valid input.
          expect(run.stderr).toMatch(/link type|does not fit/);
          return;
        }
        const before = tsharkCheck(input, [], NOT_UNDER_TEST);
        // A generated input tshark itself calls malformed says nothing about capflow's output.
        if (before.malformed.length > 0) return;
        const after = tsharkCheck(output, [], NOT_UNDER_TEST);
        expect(after.count).toBe(JSON.parse(run.stdout).packetsOut);
        expect(after.malformed.filter((i) => !gsoPartialUdpChunk(after.experts[i]!)).map((i) => `#${i + 1}: ${after.experts[i]}`)).toEqual([]);
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns, seed, endOnFailure: true },
    );
  });
});
