/**
 * The extcap as Wireshark runs it (the built CLI, a FIFO read by another process): warnings only
 * in its log, errors as one line before the capture starts with the FIFO released (nothing
 * hangs), and a pcapng capture that carries capflow's comments.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT, REPO, SLOW, buildGate, envWithHome } from './wireshark-helpers.js';

const build = buildGate();
const dir = mkdtempSync(join(tmpdir(), 'capflow-extcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MIXED = join(REPO, 'samples', 'vxlan-mixed.pcapng');
const REENCAP = join(REPO, 'samples', 'reencap.yaml');
const PCAPNG_SHB = Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]);

interface FifoCapture {
  status: number | null;
  stderr: string;
  /** What the reader of the FIFO got. */
  bytes: Buffer;
  /** The reader saw end-of-file (it was not left waiting). */
  readerEnded: boolean;
}

let n = 0;

/** Run `capflow extcap --capture --fifo F ...args` while `cat F` reads the FIFO, as dumpcap does. */
async function fifoCapture(args: string[], home: string): Promise<FifoCapture> {
  const fifo = join(dir, `fifo-${n++}`);
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks: Buffer[] = [];
  reader.stdout.on('data', (c: Buffer) => chunks.push(c));
  const readerDone = new Promise<boolean>((res) => reader.on('close', () => res(true)));
  const extcap = spawn(process.execPath, [BUILT, 'extcap', '--capture', '--extcap-interface', 'capflow', '--fifo', fifo, ...args], {
    env: envWithHome(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  extcap.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const status = await new Promise<number | null>((res) => extcap.on('close', (code) => res(code)));
  // Hang guard only: the reader must end on its own once the extcap is gone.
  const guard = setTimeout(() => reader.kill('SIGKILL'), 30_000);
  const readerEnded = await readerDone.then(() => reader.signalCode === null);
  clearTimeout(guard);
  return { status, stderr, bytes: Buffer.concat(chunks), readerEnded };
}

function home(): string {
  return mkdtempSync(join(dir, 'home-'));
}

function logOf(h: string): string {
  const p = join(h, '.local', 'state', 'capflow', 'extcap.log');
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

describe.skipIf(build.skip)(`extcap capture as Wireshark runs it${build.label}`, SLOW, () => {
  it('warnings go to the log, never to stderr', async () => {
    const h = home();
    const r = await fifoCapture(['--input', MIXED, '--pipeline', REENCAP, '--speed', '100'], h);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(logOf(h)).toMatch(/: 1 packet without tunnel metadata passed through unencapsulated \(vxlan-encap\)/);
    expect(logOf(h)).toMatch(/capture ended \(end\): 12 in, 10 forwarded, 2 dropped, 10 sent/);
    expect(r.bytes.subarray(0, 4)).toEqual(PCAPNG_SHB);
  });

  it('the capture is pcapng with the tunnel comments', async () => {
    const decap = join(dir, 'decap.yaml');
    writeFileSync(decap, 'stages:\n  - stage: vxlan-decap\n');
    const r = await fifoCapture(['--input', MIXED, '--pipeline', decap, '--speed', '100'], home());
    expect(r.status, r.stderr).toBe(0);
    expect(r.bytes.subarray(0, 4)).toEqual(PCAPNG_SHB);
    expect(r.bytes.includes('tunnel vni=42 ')).toBe(true);
  });

  it('a pcap input still gives a pcapng capture', async () => {
    const r = await fifoCapture(['--input', join(REPO, 'samples', 'tso-host.pcap'), '--nic', 'ixgbe', '--speed', '100'], home());
    expect(r.status, r.stderr).toBe(0);
    expect(r.bytes.subarray(0, 4)).toEqual(PCAPNG_SHB);
    expect(r.bytes.includes('gso type=tcpv4 size=')).toBe(true);
  });

  it('--debug also puts warnings on stderr; --log-file chooses the log', async () => {
    const log = join(dir, 'chosen.log');
    const r = await fifoCapture(['--input', MIXED, '--pipeline', REENCAP, '--speed', '100', '--debug', '--log-file', log], home());
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^capflow: .*: 1 packet without tunnel metadata passed through unencapsulated/m);
    expect(readFileSync(log, 'utf8')).toMatch(/packet without tunnel metadata/);
  });

  const refusals: Array<[string, () => string[], number, RegExp]> = [
    ['no input', () => [], 2, /no input capture given .*-o extcap\.capflow\.input:FILE/],
    ['a missing input', () => ['--input', join(dir, 'no-such.pcap')], 1, /no-such\.pcap/],
    ['an input that is not a capture', () => ['--input', join(REPO, 'README.md')], 1, /README\.md/],
    ['a bad pipeline file', () => {
      const p = join(dir, 'bad.yaml');
      writeFileSync(p, 'stages:\n  - stage: no-such-stage\n');
      return ['--input', MIXED, '--pipeline', p];
    }, 2, /bad\.yaml/],
    ['a bad view', () => ['--input', MIXED, '--view', 'sideways'], 2, /--view expects driver or wire/],
    ['an unknown NIC profile', () => ['--input', MIXED, '--nic', 'no-such-nic'], 2, /no-such-nic/],
  ];
  for (const [what, args, status, message] of refusals) {
    it(`${what}: one line on stderr, exit ${status}, the FIFO opened and closed with nothing written`, async () => {
      const h = home();
      const r = await fifoCapture(args(), h);
      expect(r.status).toBe(status);
      expect(r.stderr).toMatch(/^capflow: [^\n]+\n$/);
      expect(r.stderr).toMatch(message);
      expect(r.readerEnded).toBe(true);
      expect(r.bytes.length).toBe(0);
      expect(logOf(h)).toContain(`error: ${r.stderr.slice('capflow: '.length).trim()}`);
    });
  }
});
