/**
 * Where `-o OUT` goes and what a failure leaves: a character device is written in place (never
 * replaced by a file), a symlink's target is written atomically, a directory or a socket is
 * refused with exit 2 before any work; disk full, a read-only folder and an output folder removed
 * mid-run end with exit 1, one line naming the output and the reason, and nothing left behind.
 * Output names up to NAME_MAX work. Device nodes are made with mknod in the test's own folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPcap, frame } from '../helpers/pcap-build.js';
import { capflowSync, cliPath, haveCli, repoRoot, waitUntil, type Finished } from './spawn.js';

const dir = mkdtempSync(join(tmpdir(), 'capflow-targets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sample = join(repoRoot, 'samples', 'tso-host.pcap');
const one = frame(100, 1);
/** 2.3 MB: larger than the small tmpfs below, and than the 1 MiB a file input is read in. */
const big = Buffer.from(buildPcap({ le: true, records: Array.from({ length: 20_000 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: 0, data: one })) }));
const bigFile = join(dir, 'big.pcap');
writeFileSync(bigFile, big);

/** Root is needed for mknod and mount; outside CI its absence skips with a reason, under CI=true it fails. */
const isRoot = process.getuid?.() === 0;
const needRoot = !isRoot && process.env.CI !== 'true';
if (needRoot) console.warn('[output target tests needing root skipped] not running as root (mknod, mount)');
const rootLabel = needRoot ? ' (skipped: needs root)' : '';
const assertRoot = (): void => {
  if (!isRoot) throw new Error('device node and mount tests need root (CI=true forbids skipping)');
};

const temporaries = (d: string): string[] => readdirSync(d).filter((n) => n.includes('.capflow-'));
const noStack = (stderr: string): void => expect(stderr).not.toMatch(/\n\s+at /);

describe.skipIf(!haveCli || needRoot)(`character devices are written in place${rootLabel}`, () => {
  beforeAll(assertRoot);
  it('-o onto a null device node: exit 0, the node stays a character device', () => {
    const node = join(dir, 'null');
    expect(spawnSync('mknod', [node, 'c', '1', '3']).status).toBe(0);
    const r = capflowSync(['run', sample, '-o', node, '--format', 'pcap']);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(node).isCharacterDevice()).toBe(true);
    expect(temporaries(dir)).toEqual([]);
  });

  it('-o onto a full device node: exit 1, one line naming it, the node stays', () => {
    const node = join(dir, 'full');
    expect(spawnSync('mknod', [node, 'c', '1', '7']).status).toBe(0);
    const r = capflowSync(['run', sample, '-o', node, '--format', 'pcap']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`capflow: ${node}: cannot write: no space left on device (ENOSPC)\n`);
    expect(statSync(node).isCharacterDevice()).toBe(true);
  });
});

describe.skipIf(!haveCli)('symlinks, directories, sockets', () => {
  it('a symlink stays a link; its target gets the output, atomically', () => {
    const d = mkdtempSync(join(dir, 'link-'));
    writeFileSync(join(d, 'target.pcap'), 'old content');
    symlinkSync('target.pcap', join(d, 'link.pcap'));
    const r = capflowSync(['run', sample, '-o', join(d, 'link.pcap')]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(d, 'link.pcap')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(d, 'link.pcap'))).toBe('target.pcap');
    expect(readFileSync(join(d, 'target.pcap')).readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(temporaries(d)).toEqual([]);
  });

  it('a dangling symlink: the output is created where it points', () => {
    const d = mkdtempSync(join(dir, 'dangling-'));
    mkdirSync(join(d, 'sub'));
    symlinkSync('sub/new.pcap', join(d, 'link.pcap'));
    const r = capflowSync(['run', sample, '-o', join(d, 'link.pcap')]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(d, 'link.pcap')).isSymbolicLink()).toBe(true);
    expect(statSync(join(d, 'sub', 'new.pcap')).isFile()).toBe(true);
  });

  it('a directory is refused with exit 2 before any work', () => {
    const d = mkdtempSync(join(dir, 'dir-'));
    const r = capflowSync(['run', sample, '-o', d]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`capflow: ${d}: is a directory; an output is a file, a FIFO, a character device or - (stdout)\n`);
    expect(readdirSync(d)).toEqual([]);
    expect(readdirSync(dir).filter((n) => n.includes('.capflow-'))).toEqual([]);
  });

  it('a socket is refused with exit 2 and stays a socket', async () => {
    const d = mkdtempSync(join(dir, 'sock-'));
    const sock = join(d, 'out.pcap');
    const server = createServer();
    await new Promise<void>((res) => server.listen(sock, res));
    try {
      const r = await new Promise<Finished>((res) => {
        const c = spawn(process.execPath, [cliPath, 'run', sample, '-o', sock]);
        let stderr = '';
        c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        c.on('close', (status, signal) => res({ status, signal, stdout: '', stderr }));
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`capflow: ${sock}: is a socket; an output is a file, a FIFO, a character device or - (stdout)\n`);
      expect(statSync(sock).isSocket()).toBe(true);
      // replay --to: the same rule.
      const rp = await new Promise<Finished>((res) => {
        const c = spawn(process.execPath, [cliPath, 'replay', sample, '--to', sock, '--topspeed']);
        let stderr = '';
        c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        c.on('close', (status, signal) => res({ status, signal, stdout: '', stderr }));
      });
      expect(rp.status).toBe(2);
      expect(rp.stderr).toBe(`capflow: replay: --to ${sock} is a socket; a destination is -, a FIFO, a character device, a file or iface:NAME\n`);
      expect(statSync(sock).isSocket()).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe.skipIf(!haveCli)('long output names', () => {
  for (const length of [225, 255]) {
    it(`a ${length}-character name works (the temporary name is shortened)`, () => {
      const name = `${'n'.repeat(length - 5)}.pcap`;
      const r = capflowSync(['run', sample, '-o', join(dir, name)]);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(dir, name))).toBe(true);
      expect(temporaries(dir)).toEqual([]);
    });
  }
});

/** Mount a tmpfs on `at` with `options`; returns the unmount. */
function mountTmpfs(at: string, options: string): () => void {
  mkdirSync(at, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount -t tmpfs -o ${options}: ${m.stderr}`);
  return () => void spawnSync('umount', [at]);
}

describe.skipIf(!haveCli || needRoot)(`faults leave nothing behind${rootLabel}`, () => {
  beforeAll(assertRoot);
  it('disk full (a 256 KiB tmpfs): exit 1, one line naming the output and ENOSPC, no partial output', () => {
    const mnt = join(dir, 'small');
    const umount = mountTmpfs(mnt, 'size=256k');
    try {
      const out = join(mnt, 'out.pcap');
      const r = capflowSync(['run', bigFile, '-o', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`capflow: ${out}: cannot write: no space left on device (ENOSPC)\n`);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      umount();
    }
  });

  it('a read-only folder: exit 1, one line naming the output and the reason', () => {
    const mnt = join(dir, 'ro');
    const umount = mountTmpfs(mnt, 'ro,size=64k');
    try {
      const out = join(mnt, 'out.pcap');
      const r = capflowSync(['run', sample, '-o', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`capflow: ${out}: cannot create its temporary file: read-only file system (EROFS)\n`);
      noStack(r.stderr);
    } finally {
      umount();
    }
  });
});

describe.skipIf(!haveCli)('the output folder removed mid-run', () => {
  it('exit 1, one line naming the output, nothing recreated', async () => {
    const d = mkdtempSync(join(dir, 'gone-'));
    const outDir = join(d, 'out');
    mkdirSync(outDir);
    const input = join(d, 'in.fifo');
    expect(spawnSync('mkfifo', [input]).status).toBe(0);
    const out = join(outDir, 'out.pcap');
    const child = spawn(process.execPath, [cliPath, 'run', input, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const done = new Promise<number | null>((res) => child.on('close', (status) => res(status)));
    const feed = createWriteStream(input);
    feed.write(big.subarray(0, big.length >> 1));
    await waitUntil(() => temporaries(outDir).length > 0, 30_000);
    rmSync(outDir, { recursive: true });
    feed.end(big.subarray(big.length >> 1));
    const status = await done;
    expect(status).toBe(1);
    expect(stderr).toMatch(new RegExp(`^capflow: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot rename the finished temporary onto it: no such file or directory \\(ENOENT\\)\\n$`));
    expect(existsSync(outDir)).toBe(false);
  });
});
