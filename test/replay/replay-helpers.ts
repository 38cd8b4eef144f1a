/** Small captures and process helpers for the replay tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETH_P_IP, TCP_ACK, TCP_PSH, eth, ipv4, tcp, udp } from '../kernel/frames.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'cli', 'main.ts');
export const MAC_A = '02:00:00:00:0a:01';
export const MAC_B = '02:00:00:00:0b:01';

/** A µs pcap with `frames`, the i-th at 1700000000 s + i * gapUs. */
export function writeTimedPcap(path: string, frames: Buffer[], gapUs = 1000): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const us = i * gapUs;
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), 0);
    rh.writeUInt32LE(us % 1e6, 4);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, f);
  });
  writeFileSync(path, Buffer.concat(parts));
}

/** `n` small UDP/IPv4 frames MAC_A → MAC_B with valid checksums. */
export function udpFrames(n: number, payloadLen = 64): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    eth(MAC_B, MAC_A, ETH_P_IP, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, id: 0x100 + i, ttl: 64 }, udp({ src: '192.0.2.1', dst: '192.0.2.2', sport: 40000, dport: 5000 + i, csum: 'valid' }, Buffer.alloc(payloadLen, i)))),
  );
}

/**
 * One TCP/IPv4 super-frame (payload `len` bytes) as a TSO host capture has it: the checksum
 * partial (the pseudo-header sum).
 */
export function tcpSuperFrame(len: number, seq = 1000): Buffer {
  const pay = Buffer.from(Array.from({ length: len }, (_, i) => (i * 7 + 3) & 0xff));
  return eth(
    MAC_B,
    MAC_A,
    ETH_P_IP,
    ipv4({ src: '192.0.2.1', dst: '192.0.2.2', proto: 6, id: 0x2000, ttl: 64 }, tcp({ src: '192.0.2.1', dst: '192.0.2.2', sport: 43000, dport: 8080, seq, ack: 1, flags: TCP_PSH | TCP_ACK, window: 1000, csum: 'partial' }, pay)),
  );
}

/** Spawn the capflow CLI from source (node --import tsx cli/main.ts ...). */
export function spawnCli(args: string[], prefix: string[] = []): ChildProcess {
  const argv = [...prefix, process.execPath, '--import', 'tsx', CLI, ...args];
  return spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (d: Buffer) => out.push(d));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err })));
}
