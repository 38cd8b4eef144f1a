/**
 * A live TCP transfer, captured where a host with checksum and segmentation offload captures it,
 * replayed through capflow's wire view: every packet must come out as the kernel put it on the
 * wire. The reference is the same transfer captured at the other end, behind a bridge whose
 * egress port does neither checksums nor TSO (tcp-transfer-scenario.ts): the kernel segmented
 * those very super-packets and completed those very checksums in `validate_xmit_skb`.
 *
 * Each end's capture is both an input (its own packets: partial checksums, super-packets) and a
 * reference (the peer's packets as the wire delivered them). capflow runs as users run it: the
 * built CLI, `--view wire --nic veth`, the segment size learned from the SYNs (`mss: auto`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelGate } from '../helpers/kernel-gate.js';
import { destroyAllNetns } from './netns.js';
import { TCP_FIN, TCP_SYN, l4CsumState, macStr, parseL3, readPcap, type CsumState } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { tcpTransferReference } from './tcp-transfer-scenario.js';

const gate = kernelGate();
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = join(root, 'dist', 'cli', 'main.js');

interface Seen {
  hex: string;
  src: string;
  len: number;
  flags: number;
  payload: number;
  csum: CsumState;
}

function packets(file: string): Seen[] {
  return readPcap(file).records.map((r) => {
    const b = r.data;
    const l3 = parseL3(b, 14, b.readUInt16BE(12));
    if (!l3 || l3.proto !== 6) throw new Error(`${file}: not a TCP frame: ${b.toString('hex', 0, 64)}`);
    const doff = (b[l3.l4off + 12]! >> 4) * 4;
    return {
      hex: b.toString('hex'),
      src: macStr(b.subarray(6, 12)),
      len: b.length,
      flags: b[l3.l4off + 13]!,
      payload: l3.off + l3.totalLen - l3.l4off - doff,
      csum: l4CsumState(b, l3),
    };
  });
}

describe.skipIf(gate.skip || !existsSync(built))(`a live TCP transfer through capflow's wire view against the kernel${gate.label}`, () => {
  let dir = '';
  beforeAll(() => {
    gate.assertReady();
    if (!existsSync(built)) throw new Error('dist/ is missing: npm run build');
    dir = mkdtempSync(join(tmpdir(), 'capflow-xfer-'));
  });
  afterAll(() => {
    destroyAllNetns();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const family of [4, 6] as const) {
    it(`TCP over IPv${family}: SYN, ACKs, FIN and TSO segments equal what the kernel sent, in both directions`, async () => {
      const ref = await tcpTransferReference(join(dir, `v${family}`), { family, bytesAtoB: 300_000, bytesBtoA: 100_000 });
      expect(ref.a).toEqual({ sent: 300_000, received: 100_000 });
      expect(ref.b).toEqual({ sent: 100_000, received: 300_000 });
      expect(ref.droppedByKernel, 'tcpdump lost packets: the captures are incomplete').toBe(0);
      expect(ref.featuresA['tx-checksumming'] && ref.featuresA['tcp-segmentation-offload']).toBe(true);

      const ends = [
        { me: ref.macA, peer: ref.macB, cap: ref.capA, peerCap: ref.capB, name: 'A' },
        { me: ref.macB, peer: ref.macA, cap: ref.capB, peerCap: ref.capA, name: 'B' },
      ];
      for (const end of ends) {
        const input = packets(end.cap);
        const mine = input.filter((p) => p.src === end.me);
        // What makes the input a host capture with offloads on: every packet this end sent carries
        // the pseudo-header sum, the handshake and the close included, and some are super-packets.
        expect(mine.every((p) => p.csum === 'partial'), `${end.name}: own packets partial`).toBe(true);
        expect(mine.some((p) => p.flags & TCP_SYN)).toBe(true);
        expect(mine.some((p) => p.flags & TCP_FIN)).toBe(true);
        expect(mine.some((p) => p.payload === 0 && !(p.flags & (TCP_SYN | TCP_FIN)))).toBe(true);
        expect(mine.some((p) => p.len > 1514), `${end.name}: TSO super-packets`).toBe(true);

        // The kernel's wire bytes of those packets: what the peer received.
        const kernel = packets(end.peerCap).filter((p) => p.src === end.me);
        expect(kernel.every((p) => p.csum === 'valid' && p.len <= 1514)).toBe(true);
        expect(kernel.length).toBeGreaterThan(mine.length);

        const out = join(dir, `v${family}-${end.name}.wire.pcap`);
        const r = spawnSync(process.execPath, [built, 'run', end.cap, '-o', out, '--view', 'wire', '--nic', 'veth'], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const ours = packets(out);
        expect(ours.filter((p) => p.src === end.me).map((p) => p.hex), `${end.name}'s packets on the wire`).toEqual(kernel.map((p) => p.hex));
        // The peer's packets were captured as delivered (complete): forwarded as they are.
        expect(ours.filter((p) => p.src === end.peer).map((p) => p.hex)).toEqual(input.filter((p) => p.src === end.peer).map((p) => p.hex));

        const rep = tsharkCheck(out, CSUM_PREFS);
        expect(rep.count).toBe(ours.length);
        expect(rep.malformed).toEqual([]);
        for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);
        console.log(`IPv${family} end ${end.name}: ${mine.length} sent packets (${mine.filter((p) => p.len > 1514).length} super-packets) → ${kernel.length} on the wire, byte-equal`);
      }
    }, 120_000);
  }
});
