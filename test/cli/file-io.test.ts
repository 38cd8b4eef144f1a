/**
 * How capflow reads and writes files, through the built binary with the I/O log on
 * (test/helpers/io-log.mjs): by default with synchronous calls on the command's own thread,
 * nothing handed to libuv's thread pool (run, info, diff); `run --async-io` only through the
 * thread pool. The same bytes either way; stdin stays a stream. Never by timing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { READ_CHUNK_SIZE } from '../../pipeline/pcap/reader.js';
import { generate } from '../bench/generate.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(root, 'dist', 'cli', 'main.js');
const hook = join(root, 'test', 'helpers', 'io-log.mjs');
const haveBuild = existsSync(built);
if (!haveBuild && process.env.CI === 'true') throw new Error('dist/ is missing: npm install builds it (prepare)');
if (!haveBuild) console.warn('[file I/O tests skipped] dist/ is not built (npm run build)');

const dir = mkdtempSync(join(tmpdir(), 'capflow-file-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface IoCounts {
  thread: string;
  readSync: number;
  writeSync: number;
  poolRead: number;
  poolWrite: number;
  /** File handles opened and not closed by exit. */
  unclosed: number;
}

/** Run the built CLI with the I/O log on, stdin from `stdinFile` if given. */
function runLogged(args: string[], stdinFile?: string): { status: number | null; stderr: string; io: IoCounts } {
  const log = join(dir, `io-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const stdin = stdinFile === undefined ? 'ignore' : openSync(stdinFile, 'r');
  try {
    const r = spawnSync(process.execPath, ['--import', hook, built, ...args], { encoding: 'utf8', stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, CAPFLOW_IO_LOG: log } });
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    return { status: r.status, stderr: r.stderr, io: JSON.parse(lines[0]!) as IoCounts };
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
}

// Several read chunks and a partial last one, so every read and write path is taken more than once.
const big = join(dir, 'big.pcap');
const chunks = 3.5;
generate('plain', big, chunks * READ_CHUNK_SIZE);
const reads = Math.ceil(chunks);
const MPLS = ['--stage', 'mpls-push:labels=[{label: 100, ttl: 64}]', '--stage', 'gso:mtu=9000'];

describe.skipIf(!haveBuild)('capflow run: file I/O on the run\'s own thread, or with --async-io in the thread pool', () => {
  for (const [label, extra] of [
    ['a plain copy', []],
    ['mpls-push', MPLS],
  ] as const) {
    it(`${label}: synchronous by default, thread pool only with --async-io, the same bytes`, () => {
      const syncOut = join(dir, `sync-${label}.pcap`);
      const poolOut = join(dir, `pool-${label}.pcap`);
      const a = runLogged(['run', big, '-o', syncOut, ...extra]);
      expect(a.status, a.stderr).toBe(0);
      expect(a.io.readSync).toBeGreaterThanOrEqual(reads);
      expect(a.io.writeSync).toBeGreaterThanOrEqual(1);
      expect(a.io).toMatchObject({ poolRead: 0, poolWrite: 0 });

      const b = runLogged(['run', big, '-o', poolOut, '--async-io', ...extra]);
      expect(b.status, b.stderr).toBe(0);
      expect(b.io).toMatchObject({ readSync: 0, writeSync: 0 });
      expect(b.io.poolRead).toBeGreaterThanOrEqual(reads);
      expect(b.io.poolWrite).toBeGreaterThanOrEqual(1);

      expect(b.stderr.replace(poolOut, 'OUT')).toBe(a.stderr.replace(syncOut, 'OUT'));
      expect(Buffer.compare(readFileSync(poolOut), readFileSync(syncOut))).toBe(0);
    });
  }

  it('stdin is read as a stream either way; the output file is written synchronously', () => {
    const out = join(dir, 'from-stdin.pcap');
    const r = runLogged(['run', '-', '-o', out, ...MPLS], big);
    expect(r.status, r.stderr).toBe(0);
    expect(r.io).toMatchObject({ readSync: 0, poolRead: 0, poolWrite: 0 });
    expect(r.io.writeSync).toBeGreaterThanOrEqual(1);
    expect(Buffer.compare(readFileSync(out), readFileSync(join(dir, 'sync-mpls-push.pcap')))).toBe(0);
  });

  it('a batch (--jobs 1) reads and writes each file the same way', () => {
    const second = join(dir, 'second.pcap');
    writeFileSync(second, readFileSync(big));
    const syncDir = join(dir, 'batch-sync');
    const poolDir = join(dir, 'batch-pool');
    const a = runLogged(['run', big, second, '--out-dir', syncDir, '--jobs', '1', ...MPLS]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.io.readSync).toBeGreaterThanOrEqual(2 * reads);
    expect(a.io.writeSync).toBeGreaterThanOrEqual(2);
    expect(a.io).toMatchObject({ poolRead: 0, poolWrite: 0 });
    const b = runLogged(['run', big, second, '--out-dir', poolDir, '--jobs', '1', '--async-io', ...MPLS]);
    expect(b.status, b.stderr).toBe(0);
    expect(b.io).toMatchObject({ readSync: 0, writeSync: 0 });
    expect(b.io.poolRead).toBeGreaterThanOrEqual(2 * reads);
    for (const name of readdirSync(syncDir)) expect(Buffer.compare(readFileSync(join(poolDir, name)), readFileSync(join(syncDir, name))), name).toBe(0);
  });

  it('info and diff read their files the same way (synchronously, nothing in the thread pool)', () => {
    const info = runLogged(['info', big]);
    expect(info.status, info.stderr).toBe(0);
    expect(info.io.readSync).toBeGreaterThanOrEqual(reads);
    expect(info.io).toMatchObject({ writeSync: 0, poolRead: 0, poolWrite: 0 });
    const diff = runLogged(['diff', big, big]);
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.io.readSync).toBeGreaterThanOrEqual(2 * reads);
    expect(diff.io).toMatchObject({ writeSync: 0, poolRead: 0, poolWrite: 0 });
  });

  it('every file handle is closed, also when the output cannot be created after the input was opened', () => {
    for (const io of [[], ['--async-io']]) {
      const ok = runLogged(['run', big, '-o', join(dir, 'closed.pcap'), ...io, ...MPLS]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.io.unclosed).toBe(0);
      const out = join(dir, 'no-such-dir', 'out.pcap');
      const r = runLogged(['run', big, '-o', out, ...io]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`capflow: ${out}: cannot create its temporary file: no such file or directory (ENOENT)\n`);
      expect(r.io.unclosed, io.join(' ')).toBe(0);
    }
  });

  it('diff releases EXPECTED when ACTUAL cannot be opened or read (exit 2, the file named)', () => {
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture at all');
    for (const actual of [join(dir, 'missing.pcap'), junk]) {
      const r = runLogged(['diff', big, actual]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(actual);
      expect(r.io.unclosed, actual).toBe(0);
    }
  });

  it('an input that cannot be opened or read is named with the system reason, in every command', () => {
    const missing = join(dir, 'missing.pcap');
    const spawn = (args: string[]) => spawnSync(process.execPath, [built, ...args], { encoding: 'utf8' });
    for (const io of [[], ['--async-io']]) {
      const out = join(dir, 'never.pcap');
      const m = spawn(['run', missing, '-o', out, ...io]);
      expect(m.stderr).toBe(`capflow: ${missing}: cannot open: no such file or directory (ENOENT)\n`);
      expect(m.status).toBe(1);
      const d = spawn(['run', dir, '-o', out, ...io]);
      expect(d.stderr).toBe(`capflow: ${dir}: cannot read: illegal operation on a directory (EISDIR)\n`);
      expect(d.status).toBe(1);
      expect(existsSync(out)).toBe(false);
    }
    expect(spawn(['info', missing]).stderr).toBe(`capflow: ${missing}: cannot open: no such file or directory (ENOENT)\n`);
    const diff = spawn(['diff', big, missing]);
    expect(diff.stderr).toBe(`capflow: diff: ${missing}: cannot open: no such file or directory (ENOENT)\n`);
    expect(diff.status).toBe(2);
  });

  it('--async-io is refused as a typo would be when misspelt, before any output exists', () => {
    const out = join(dir, 'typo.pcap');
    const r = spawnSync(process.execPath, [built, 'run', big, '-o', out, '--asyncio'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: asyncio/);
    expect(existsSync(out)).toBe(false);
  });
});
