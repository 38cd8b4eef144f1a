/**
 * A batch job runs its files through one pipeline, reset before each file (Pipeline.reset,
 * RunOptions.pipelineSlot): every file's output and summary must be what a run of that file alone
 * gives, whatever ran before it. What a pipeline learns from packets is what could leak: the
 * handshake MSS the egress keeps per flow (mss: auto), vxlan-encap's IPv4 ID counter per pair, the
 * per-file warning counts and counters.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCapture, type PipelineSlot, type RunSummary } from '../../pipeline/run.js';
import { loadPipelineConfig } from '../../pipeline/pipeline-source.js';
import { readPipelineFile, type PipelineConfig, type PipelineDocument } from '../../pipeline/config.js';
import { capflow, haveBuild, samplesDir } from '../cli/built-cli.js';
import { defineStage } from '../../stages/stage.js';
import { z } from 'zod';

const dir = mkdtempSync(join(tmpdir(), 'capflow-batch-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tsoHost = join(samplesDir, 'tso-host.pcap');
const vxlanMixed = join(samplesDir, 'vxlan-mixed.pcapng');
const reencap = join(samplesDir, 'reencap.yaml');

/** tso-host.pcap without its first two records (the SYN and SYN-ACK that carry the MSS). */
function withoutHandshake(): string {
  const b = readFileSync(tsoHost);
  let off = 24;
  for (let i = 0; i < 2; i++) off += 16 + b.readUInt32LE(off + 8);
  const out = join(dir, 'tso-no-handshake.pcap');
  writeFileSync(out, Buffer.concat([b.subarray(0, 24), b.subarray(off)]));
  return out;
}

/** A copy under another name: the same packets (the same IPv4 pairs) in a second file. */
function copyOf(file: string, name: string): string {
  const out = join(dir, name);
  copyFileSync(file, out);
  return out;
}

/** Counters of a summary, without what names the files. */
function countersOf(s: RunSummary): unknown {
  const { output: _o, inputs: _i, ...rest } = s;
  return rest;
}

/** The CLI's arguments for the library's pipeline document. */
const cases: { name: string; doc: () => PipelineDocument; args: string[]; files: () => string[] }[] = [
  {
    // Without the reset the second file is cut at the MSS of the first file's handshake (1400
    // less options) instead of the MTU's (1448).
    name: 'gso, mss auto: the handshake MSS of one file does not reach the next',
    doc: () => ({ nic: 'none', view: 'wire' }) as PipelineDocument,
    args: ['--nic', 'none', '--view', 'wire', '--stage', 'gso'],
    files: () => [tsoHost, withoutHandshake()],
  },
  {
    // Without the reset the second file's IPv4 IDs go on from the first file's.
    name: 'vxlan-encap: every file starts its IPv4 IDs anew',
    doc: () => readPipelineFile(reencap),
    args: ['--pipeline', reencap],
    files: () => [vxlanMixed, copyOf(vxlanMixed, 'again.pcapng'), tsoHost],
  },
];

function configOf(doc: PipelineDocument): Promise<PipelineConfig> {
  return loadPipelineConfig({ doc, source: 'test', overrides: {} });
}

describe('one pipeline for all the files of a batch job (library)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const config = await configOf(c.doc());
      const files = c.files();
      const slot: PipelineSlot = { pipeline: null };
      let first: PipelineSlot['pipeline'] = null;
      for (const [i, file] of files.entries()) {
        const alone: string[] = [];
        const shared: string[] = [];
        const outAlone = join(dir, `alone-${i}${file.endsWith('.pcapng') ? '.pcapng' : '.pcap'}`);
        const outShared = join(dir, `shared-${i}${file.endsWith('.pcapng') ? '.pcapng' : '.pcap'}`);
        const a = await runCapture({ inputs: [file], output: outAlone, config, onWarning: (m) => alone.push(m) });
        const s = await runCapture({ inputs: [file], output: outShared, config, onWarning: (m) => shared.push(m), pipelineSlot: slot });
        // The slot keeps the one pipeline: reused, not built again.
        if (i === 0) first = slot.pipeline;
        expect(slot.pipeline).not.toBeNull();
        expect(slot.pipeline).toBe(first);
        expect(readFileSync(outShared).equals(readFileSync(outAlone))).toBe(true);
        expect(countersOf(s)).toEqual(countersOf(a));
        expect(shared.map((m) => m.replace(outShared, 'OUT'))).toEqual(alone.map((m) => m.replace(outAlone, 'OUT')));
      }
    });
  }

  it('a stage of your own without reset: each file gets a new pipeline, and its state starts anew', async () => {
    // Sets each packet's IPv4 TTL to its position in the run: what it keeps is what a reset would forget.
    const numbering = defineStage({
      name: 'ttl-numbering',
      summary: 'a stage with state and no reset',
      options: z.object({}),
      create: () => {
        let n = 0;
        return {
          name: 'ttl-numbering',
          process(p, ctx) {
            const net = p.layers?.outer.netOff ?? -1;
            if (net >= 0 && p.layers!.outer.netProto === 0x0800) p.buf[net + 8] = ++n & 0xff;
            ctx.emit(p);
          },
        };
      },
    });
    const config = await configOf({ nic: 'none', view: 'wire' } as PipelineDocument);
    config.stages.push({ name: 'ttl-numbering', definition: numbering, options: {} });
    const slot: PipelineSlot = { pipeline: null };
    const seen = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      await runCapture({ inputs: [vxlanMixed], output: join(dir, `own-${i}.pcapng`), config, pipelineSlot: slot });
      expect(slot.pipeline).not.toBeNull();
      seen.add(slot.pipeline);
    }
    expect(seen.size).toBe(3);
    expect(readFileSync(join(dir, 'own-2.pcapng')).equals(readFileSync(join(dir, 'own-0.pcapng')))).toBe(true);
  });

  it('a run that fails leaves the slot empty, and the next file gets a new pipeline', async () => {
    const config = await configOf(cases[1]!.doc());
    const slot: PipelineSlot = { pipeline: null };
    await runCapture({ inputs: [vxlanMixed], output: join(dir, 'ok.pcapng'), config, pipelineSlot: slot });
    const used = slot.pipeline;
    expect(used).not.toBeNull();
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, Buffer.concat([readFileSync(tsoHost).subarray(0, 24 + 16 + 70), Buffer.alloc(30, 0xff)]));
    await expect(runCapture({ inputs: [bad], output: join(dir, 'bad-out.pcap'), config, pipelineSlot: slot, strict: true })).rejects.toThrow();
    expect(slot.pipeline).toBeNull();
    await runCapture({ inputs: [vxlanMixed], output: join(dir, 'ok2.pcapng'), config, pipelineSlot: slot });
    expect(slot.pipeline).not.toBe(used);
    expect(readFileSync(join(dir, 'ok2.pcapng')).equals(readFileSync(join(dir, 'ok.pcapng')))).toBe(true);
  });
});

describe.skipIf(!haveBuild)('one pipeline for all the files of a batch job (the capflow binary)', () => {
  for (const c of cases) {
    for (const jobs of ['1', '2']) {
      it(`${c.name} (--jobs ${jobs})`, () => {
        const files = c.files();
        const outDir = join(dir, `cli-${jobs}-${cases.indexOf(c)}`);
        const batch = capflow(['run', ...files, '--out-dir', outDir, '--jobs', jobs, '--no-progress', '--json', ...c.args]);
        expect(batch.stderr).not.toMatch(/internal error/);
        expect(batch.status).toBe(0);
        const summary = JSON.parse(batch.stdout) as { inputs: { packetsIn: number; packetsOut: number; output: string }[] };
        for (const [i, file] of files.entries()) {
          const alone = join(dir, `cli-alone-${i}-${jobs}${file.endsWith('.pcapng') ? '.pcapng' : '.pcap'}`);
          const r = capflow(['run', file, '-o', alone, '--json', ...c.args]);
          expect(r.status).toBe(0);
          const one = JSON.parse(r.stdout) as { packetsIn: number; packetsOut: number };
          expect(readFileSync(summary.inputs[i]!.output).equals(readFileSync(alone))).toBe(true);
          expect([summary.inputs[i]!.packetsIn, summary.inputs[i]!.packetsOut]).toEqual([one.packetsIn, one.packetsOut]);
        }
      });
    }
  }
});
