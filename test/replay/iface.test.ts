/**
 * The AF_PACKET destination without the kernel: virtio_net_hdr bytes, sendmmsg batching, send
 * errors by reason, retries, and the contract's messages (addon missing, no CAP_NET_RAW).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CSUM, GSO, Packet } from '../../pipeline/packet.js';
import { writeVnetHdr, VIRTIO_NET_HDR } from '../../pipeline/replay/vnet-hdr.js';
import { IfaceDestination, PERMISSION_MESSAGE } from '../../pipeline/replay/iface-destination.js';
import { ADDON_MISSING_MESSAGE, type AfPacketAddon } from '../../pipeline/replay/addon.js';
import { CLI, REPO, tcpSuperFrame } from './replay-helpers.js';

function superPacket(type: number, size: number): Packet {
  const p = Packet.fromBytes(tcpSuperFrame(4000));
  p.macOff = p.head;
  p.netOff = p.head + 14;
  p.transOff = p.head + 34;
  p.csumMode = CSUM.PARTIAL;
  p.csumStart = p.transOff;
  p.csumOffset = 16;
  p.gsoSize = size;
  p.gsoType = type;
  return p;
}

function hdr(p: Packet): { reason: string | null; bytes: number[] } {
  const b = new Uint8Array(10).fill(0xa5);
  const reason = writeVnetHdr(p, b, 0);
  return { reason, bytes: [...b] };
}

describe('virtio_net_hdr', () => {
  it('TCPv4 super-packet: NEEDS_CSUM, gso TCPV4, hdr_len to the end of TCP, gso_size, csum_start/offset', () => {
    const { reason, bytes } = hdr(superPacket(GSO.TCPV4, 1448));
    expect(reason).toBeNull();
    // flags=1 type=1 hdr_len=54 (14+20+20) gso_size=1448 csum_start=34 csum_offset=16, little-endian
    expect(bytes).toEqual([1, 1, 54, 0, 1448 & 0xff, 1448 >> 8, 34, 0, 16, 0]);
  });

  it('ECN and TCPv6 / UDP_L4 types', () => {
    expect(hdr(superPacket(GSO.TCPV4 | GSO.TCP_ECN, 1000)).bytes[1]).toBe(VIRTIO_NET_HDR.GSO_TCPV4 | VIRTIO_NET_HDR.GSO_ECN);
    expect(hdr(superPacket(GSO.TCPV6, 1000)).bytes[1]).toBe(4);
    const u = superPacket(GSO.UDP_L4, 1400);
    u.csumOffset = 6;
    const h = hdr(u);
    expect(h.bytes[1]).toBe(5);
    expect(h.bytes.slice(2, 4)).toEqual([42, 0]); // UDP header: 34 + 8
  });

  it('non-GSO partial checksum: NEEDS_CSUM only; plain packet: all zero', () => {
    const p = superPacket(0, 0);
    expect(hdr(p).bytes).toEqual([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]);
    const q = Packet.fromBytes(new Uint8Array(60));
    expect(hdr(q).bytes).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('tunnel GSO cannot be expressed: a drop reason, not a header', () => {
    expect(hdr(superPacket(GSO.TCPV4 | GSO.UDP_TUNNEL, 1400)).reason).toBe('vnet-gso-tunnel');
  });
});

/** A fake addon: records sendv batches; `failAt` makes the message at that absolute index fail. */
function fakeAddon(o: { failAt?: Map<number, string>; busy?: number; openError?: string } = {}) {
  const calls: Array<{ frames: number[]; hdrs: number[][] | null }> = [];
  let sentSoFar = 0;
  let busy = o.busy ?? 0;
  const addon: AfPacketAddon = {
    VNET_HDR_LEN: 10,
    MAX_BATCH: 4,
    open(_ifname, _vnet) {
      if (o.openError) throw Object.assign(new Error(`socket: ${o.openError}`), { code: o.openError });
      return 7;
    },
    send: () => 0,
    sendv(_fd, frames, hdrs) {
      if (busy > 0) {
        busy--;
        throw Object.assign(new Error('sendmmsg: No buffer space available'), { code: 'ENOBUFS' });
      }
      let n = 0;
      for (; n < frames.length; n++) {
        const code = o.failAt?.get(sentSoFar + n);
        if (code) {
          if (n === 0) {
            o.failAt!.delete(sentSoFar);
            sentSoFar++; // the failing message is consumed
            throw Object.assign(new Error(`sendmmsg: ${code}`), { code });
          }
          break;
        }
      }
      calls.push({ frames: frames.slice(0, n).map((f) => f.length), hdrs: hdrs ? frames.slice(0, n).map((_, i) => [...hdrs.subarray(i * 10, i * 10 + 10)]) : null });
      sentSoFar += n;
      return n;
    },
    close: () => {},
  };
  return { addon, calls };
}

describe('iface destination (fake addon)', () => {
  it('batches frames into sendmmsg calls of at most MAX_BATCH, with a vnet header per frame', async () => {
    const { addon, calls } = fakeAddon();
    const d = new IfaceDestination({ ifname: 'veth0', vnetHdr: true, addon });
    for (let i = 0; i < 6; i++) {
      const p = Packet.fromBytes(new Uint8Array(60 + i));
      const more = d.add(p, 0);
      if (!more) await d.flush();
    }
    await d.close();
    expect(calls.map((c) => c.frames)).toEqual([[60, 61, 62, 63], [64, 65]]);
    expect(calls[0]!.hdrs![0]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(d.stats).toEqual({ packets: 6, bytes: 60 + 61 + 62 + 63 + 64 + 65, errors: {} });
  });

  it('counts a failing frame by errno and sends the rest; retries ENOBUFS', async () => {
    const { addon, calls } = fakeAddon({ failAt: new Map([[1, 'EMSGSIZE']]), busy: 2 });
    const d = new IfaceDestination({ ifname: 'veth0', vnetHdr: false, addon, sleep: async () => {} });
    for (let i = 0; i < 4; i++) d.add(Packet.fromBytes(new Uint8Array(100)), 0);
    await d.flush();
    expect(d.stats.errors).toEqual({ 'send-emsgsize': 1 });
    expect(d.stats.packets).toBe(3);
    expect(calls.map((c) => c.frames.length)).toEqual([1, 2]);
  });

  it('tunnel super-packets with --vnet-hdr are counted, not sent', async () => {
    const { addon, calls } = fakeAddon();
    const warnings: string[] = [];
    const d = new IfaceDestination({ ifname: 'veth0', vnetHdr: true, addon, onWarning: (_k, m) => warnings.push(m) });
    d.add(superPacket(GSO.TCPV4 | GSO.UDP_TUNNEL_CSUM, 1400), 0);
    d.add(superPacket(GSO.TCPV4, 1448), 0);
    await d.close();
    expect(d.stats.errors).toEqual({ 'vnet-gso-tunnel': 1 });
    expect(calls[0]!.hdrs![0]![1]).toBe(1);
    expect(warnings.join('\n')).toMatch(/--view wire/);
  });

  it('permission and missing-interface errors use the contract messages', () => {
    expect(() => new IfaceDestination({ ifname: 'veth0', vnetHdr: false, addon: fakeAddon({ openError: 'EPERM' }).addon })).toThrow(PERMISSION_MESSAGE);
    expect(PERMISSION_MESSAGE).toBe('permission denied: AF_PACKET needs CAP_NET_RAW');
    expect(() => new IfaceDestination({ ifname: 'nope0', vnetHdr: false, addon: fakeAddon({ openError: 'ENODEV' }).addon })).toThrow(/iface:nope0: no such interface/);
  });

  it('without the addon, iface: fails with the build hint (exit 1) and other destinations still work', () => {
    expect(ADDON_MISSING_MESSAGE).toBe('iface: needs the native addon (build failed or not built: run npm run build:addon)');
    const env = { ...process.env, CAPFLOW_ADDON: '/nonexistent/capflow_af_packet.node' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'replay', 'samples/vxlan-mixed.pcapng', '--to', 'iface:lo', '--topspeed'], { cwd: REPO, env, encoding: 'utf8' });
    expect(r.stderr).toContain(ADDON_MISSING_MESSAGE);
    expect(r.status).toBe(1);
    const ok = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'replay', 'samples/vxlan-mixed.pcapng', '--to', '/dev/null', '--topspeed'], { cwd: REPO, env, encoding: 'utf8' });
    expect(ok.status).toBe(0);
  });
});
