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
 *
 * Cases: TCP over IPv4 and IPv6; the same over a classic VXLAN device at each end (the captures
 * then hold VXLAN frames with partial inner checksums and UDP-tunnel super-packets, without the
 * outer UDP checksum over IPv4 and with it over IPv6).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kernelGate } from '../helpers/kernel-gate.js';
import { builtCli, haveBuild, kernelCliSuite } from './cli-suite.js';
import { TCP_FIN, TCP_SYN, l4CsumState, macStr, parseL3, readPcap, type CsumState } from './frames.js';
import { tsharkCheck } from './tshark.js';
import { tcpTransferReference } from './tcp-transfer-scenario.js';

const gate = kernelGate();
const CSUM_PREFS = ['tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE'];

interface Seen {
  hex: string;
  src: string;
  len: number;
  /** TCP flags and payload length (of the inner segment in a VXLAN frame). */
  flags: number;
  payload: number;
  /** TCP checksum (inner in a VXLAN frame). */
  csum: CsumState;
  /** Outer UDP checksum of a VXLAN frame. */
  outerUdp?: CsumState;
}

function tcpAt(b: Buffer, off: number): { flags: number; payload: number; csum: CsumState } | undefined {
  const l3 = parseL3(b, off + 14, b.readUInt16BE(off + 12));
  if (!l3 || l3.proto !== 6) return undefined;
  const doff = (b[l3.l4off + 12]! >> 4) * 4;
  return { flags: b[l3.l4off + 13]!, payload: l3.off + l3.totalLen - l3.l4off - doff, csum: l4CsumState(b, l3) };
}

/**
 * The TCP frames of a capture (VXLAN frames with a TCP inner frame when `vxlanPort` is given).
 * Over VXLAN the overlay also carries the MLD reports IPv6 sends when the overlay addresses come
 * up; they are not part of the transfer and are left out.
 */
function packets(file: string, vxlanPort?: number): Seen[] {
  const out: Seen[] = [];
  for (const { data: b } of readPcap(file).records) {
    const base = { hex: b.toString('hex'), src: macStr(b.subarray(6, 12)), len: b.length };
    if (vxlanPort === undefined) {
      const t = tcpAt(b, 0);
      if (!t) throw new Error(`${file}: not a TCP frame: ${b.toString('hex', 0, 64)}`);
      out.push({ ...base, ...t });
      continue;
    }
    const o = parseL3(b, 14, b.readUInt16BE(12));
    if (!o || o.proto !== 17 || b.readUInt16BE(o.l4off + 2) !== vxlanPort) throw new Error(`${file}: not a VXLAN frame: ${b.toString('hex', 0, 64)}`);
    const t = tcpAt(b, o.l4off + 16);
    if (t) out.push({ ...base, ...t, outerUdp: l4CsumState(b, o) });
  }
  return out;
}

describe.skipIf(gate.skip || !haveBuild)(`a live TCP transfer through capflow's wire view against the kernel${gate.label}`, () => {
  const suite = kernelCliSuite(gate, 'capflow-xfer-');

  const cases = [
    { family: 4, vxlan: false, name: 'TCP over IPv4' },
    { family: 6, vxlan: false, name: 'TCP over IPv6' },
    { family: 4, vxlan: true, name: 'TCP/IPv4 over VXLAN over IPv4' },
    { family: 6, vxlan: true, name: 'TCP/IPv6 over VXLAN over IPv6' },
  ] as const;
  for (const c of cases) {
    const tag = `${c.vxlan ? 'vxlan' : 'tcp'}${c.family}`;
    it(`${c.name}: SYN, ACKs, FIN and TSO segments equal what the kernel sent, in both directions`, async () => {
      const ref = await tcpTransferReference(suite.at(tag), { family: c.family, vxlan: c.vxlan, bytesAtoB: 300_000, bytesBtoA: 100_000 });
      expect(ref.a).toEqual({ sent: 300_000, received: 100_000 });
      expect(ref.b).toEqual({ sent: 100_000, received: 300_000 });
      expect(ref.droppedByKernel, 'tcpdump lost packets: the captures are incomplete').toBe(0);
      expect(ref.featuresA['tx-checksumming'] && ref.featuresA['tcp-segmentation-offload']).toBe(true);

      const ends = [
        { me: ref.macA, peer: ref.macB, cap: ref.capA, peerCap: ref.capB, name: 'A' },
        { me: ref.macB, peer: ref.macA, cap: ref.capB, peerCap: ref.capA, name: 'B' },
      ];
      for (const end of ends) {
        const input = packets(end.cap, ref.vxlanPort);
        const mine = input.filter((p) => p.src === end.me);
        // What makes the input a host capture with offloads on: what this end's socket sent carries
        // the pseudo-header sum, the handshake and the close included, and some are super-packets.
        // A bare ACK may come with a complete checksum instead (seen once in IPv6 on a loaded
        // machine: an ACK not sent by the socket's own transmit path, e.g. from TIME_WAIT, whose
        // timing varies); capflow must then pass it unchanged, which the byte comparison checks.
        expect(mine.every((p) => p.csum === 'partial' || (p.csum === 'valid' && p.payload === 0)), `${end.name}: own packets partial`).toBe(true);
        expect(mine.filter((p) => p.flags & (TCP_SYN | TCP_FIN) || p.payload > 0).every((p) => p.csum === 'partial'), `${end.name}: SYN, FIN and data partial`).toBe(true);
        expect(mine.some((p) => p.flags & TCP_SYN)).toBe(true);
        expect(mine.some((p) => p.flags & TCP_FIN)).toBe(true);
        expect(mine.some((p) => p.payload === 0 && !(p.flags & (TCP_SYN | TCP_FIN)))).toBe(true);
        expect(mine.some((p) => p.len > 1514), `${end.name}: TSO super-packets`).toBe(true);

        // The kernel's wire bytes of those packets: what the peer received.
        const kernel = packets(end.peerCap, ref.vxlanPort).filter((p) => p.src === end.me);
        expect(kernel.every((p) => p.csum === 'valid' && p.len <= 1514)).toBe(true);
        if (c.vxlan) expect(new Set(kernel.map((p) => p.outerUdp))).toEqual(new Set([c.family === 4 ? 'zero' : 'valid']));
        expect(kernel.length).toBeGreaterThan(mine.length);

        const out = suite.at(`${tag}-${end.name}.wire.pcap`);
        const r = spawnSync(process.execPath, [builtCli, 'run', end.cap, '-o', out, '--view', 'wire', '--nic', 'veth'], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const ours = packets(out, ref.vxlanPort);
        // Compared as sorted lists: the bridge takes A's frames in through netif_rx, whose backlog
        // is per CPU, so a pure ACK sent from softirq on one CPU may pass a data segment sent by
        // the process on another. Sorted, the comparison stays byte for byte and one for one, and
        // counts repeats: a frame the kernel sent twice as the same bytes must leave twice, and
        // no other. Frames are not always unique: in one full run on a loaded machine 7 of 241
        // frames of the IPv6-over-VXLAN case repeated (where no IP ID tells two sends apart;
        // which frames they were was not seen).
        const sent = ours.filter((p) => p.src === end.me).map((p) => p.hex);
        const wire = kernel.map((p) => p.hex);
        const moved = sent.filter((h, i) => h !== wire[i]).length;
        if (moved) console.log(`${c.name}, end ${end.name}: ${moved} frames in another order on the peer`);
        const repeats = sent.length - new Set(sent).size;
        if (repeats) console.log(`${c.name}, end ${end.name}: ${repeats} frames sent again as the same bytes`);
        expect(repeats, `${end.name}: frames repeated as often as the kernel repeated them`).toBe(wire.length - new Set(wire).size);
        expect([...sent].sort(), `${end.name}'s packets on the wire`).toEqual([...wire].sort());
        // The peer's packets were captured as delivered (complete): forwarded as they are.
        expect(ours.filter((p) => p.src === end.peer).map((p) => p.hex)).toEqual(input.filter((p) => p.src === end.peer).map((p) => p.hex));

        const rep = tsharkCheck(out, CSUM_PREFS);
        expect(rep.count).toBe(readPcap(out).records.length);
        expect(rep.malformed).toEqual([]);
        for (const e of rep.experts) expect(e).not.toMatch(/bad|incorrect/i);
        console.log(`${c.name}, end ${end.name}: ${mine.length} sent packets (${mine.filter((p) => p.len > 1514).length} super-packets) → ${kernel.length} on the wire, byte-equal`);
      }
    }, 120_000);
  }
});
