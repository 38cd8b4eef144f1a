#!/usr/bin/env python3
"""Packet injectors for capflow's kernel reference harness (python3 standard library only).

Subcommands:
  send-frames IFACE FILE.pcap [--only I] [--gap-ms MS]
      Send every Ethernet frame of FILE.pcap out of IFACE via an AF_PACKET SOCK_RAW socket.
  send-vnet IFACE FILE.pcap --gso tcpv4|tcpv6|udp_l4 --size N [--csum-start S --csum-off O]
            [--ecn] [--hdr-len H] [--no-fix-csum]
      Enable PACKET_VNET_HDR and send each frame prefixed with a virtio_net_hdr
      {flags=NEEDS_CSUM, gso_type, hdr_len, gso_size, csum_start, csum_offset} (little endian).
      Unless --no-fix-csum, the L4 checksum field is overwritten with the pseudo-header sum
      (CHECKSUM_PARTIAL convention) computed over the super-frame's L4 length.
  send-ip FILE.pcap [--gap-ms MS]
      Send every IP packet of FILE.pcap (LINKTYPE_RAW, or Ethernet with the header stripped)
      through a raw IPPROTO_RAW socket (header included), so the packets take the normal
      routing path of the namespace it runs in.

Prints one JSON line per subcommand with what was sent.
"""
import argparse
import json
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_VNET_HDR = 15
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
GSO_TYPES = {"tcpv4": 1, "udp": 3, "tcpv6": 4, "udp_l4": 5}
GSO_ECN = 0x80


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit(f"{path}: too short")
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif struct.unpack(">I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        e = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    frames = []
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + incl])
        off += incl
    return linktype, frames


def csum_fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def sum16(b, init=0):
    if len(b) & 1:
        b = b + b"\0"
    s = init
    for (w,) in struct.iter_unpack("!H", b):
        s += w
    return s


def l3_info(frame):
    """(family, l3 offset, l4 proto, l4 offset, src bytes, dst bytes), skipping VLAN tags."""
    off = 12
    et = struct.unpack("!H", frame[off:off + 2])[0]
    off += 2
    while et in (0x8100, 0x88A8):
        et = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800:
        ihl = (frame[off] & 0x0F) * 4
        return 4, off, frame[off + 9], off + ihl, frame[off + 12:off + 16], frame[off + 16:off + 20]
    if et == 0x86DD:
        return 6, off, frame[off + 6], off + 40, frame[off + 8:off + 24], frame[off + 24:off + 40]
    raise SystemExit(f"unsupported ethertype 0x{et:04x}")


def set_partial_csum(frame, csum_start, csum_off):
    """Write the folded pseudo-header sum (not complemented) into the L4 checksum field."""
    fam, l3, proto, _, src, dst = l3_info(frame)
    if fam == 4:
        total = struct.unpack("!H", frame[l3 + 2:l3 + 4])[0]
        l4len = l3 + total - csum_start
    else:
        l4len = len(frame) - csum_start
        plen = struct.unpack("!H", frame[l3 + 4:l3 + 6])[0]
        if plen:
            l4len = l3 + 40 + plen - csum_start
    ps = sum16(src) + sum16(dst) + proto + (l4len >> 16) + (l4len & 0xFFFF)
    b = bytearray(frame)
    struct.pack_into("!H", b, csum_start + csum_off, csum_fold(ps))
    return bytes(b)


def packet_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((iface, 0))
    return s


def cmd_send_frames(a):
    _, frames = read_pcap(a.pcap)
    s = packet_socket(a.iface)
    sent = []
    for i, f in enumerate(frames):
        if a.only is not None and i != a.only:
            continue
        n = s.send(f)
        sent.append({"index": i, "bytes": n})
        if a.gap_ms:
            time.sleep(a.gap_ms / 1000)
    s.close()
    print(json.dumps({"sent": sent}))


def cmd_send_vnet(a):
    _, frames = read_pcap(a.pcap)
    s = packet_socket(a.iface)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    gso_type = GSO_TYPES[a.gso] | (GSO_ECN if a.ecn else 0)
    sent = []
    for i, f in enumerate(frames):
        fam, _, proto, l4off, _, _ = l3_info(f)
        cs = a.csum_start if a.csum_start is not None else l4off
        co = a.csum_off if a.csum_off is not None else (16 if proto == 6 else 6)
        if a.hdr_len is not None:
            hdr_len = a.hdr_len
        elif proto == 6:
            hdr_len = l4off + ((f[l4off + 12] >> 4) * 4)
        else:
            hdr_len = l4off + 8
        if not a.no_fix_csum:
            f = set_partial_csum(f, cs, co)
        vh = struct.pack("<BBHHHH", VIRTIO_NET_HDR_F_NEEDS_CSUM, gso_type, hdr_len, a.size, cs, co)
        try:
            n = s.send(vh + f)
            sent.append({"index": i, "bytes": n, "hdr_len": hdr_len, "csum_start": cs, "csum_offset": co,
                         "gso_type": gso_type, "gso_size": a.size})
        except OSError as e:
            sent.append({"index": i, "error": e.strerror, "errno": e.errno})
        if a.gap_ms:
            time.sleep(a.gap_ms / 1000)
    s.close()
    print(json.dumps({"sent": sent}))


def cmd_send_ip(a):
    linktype, frames = read_pcap(a.pcap)
    s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = []
    for i, f in enumerate(frames):
        if linktype == 1:
            f = f[14:]
        v = f[0] >> 4
        try:
            if v == 4:
                n = s4.sendto(f, (socket.inet_ntop(socket.AF_INET, f[16:20]), 0))
            else:
                n = s6.sendto(f, (socket.inet_ntop(socket.AF_INET6, f[24:40]), 0))
            sent.append({"index": i, "bytes": n})
        except OSError as e:
            sent.append({"index": i, "error": e.strerror, "errno": e.errno})
        if a.gap_ms:
            time.sleep(a.gap_ms / 1000)
    print(json.dumps({"sent": sent}))


def main(argv):
    p = argparse.ArgumentParser(prog="inject.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("send-frames")
    f.add_argument("iface")
    f.add_argument("pcap")
    f.add_argument("--only", type=int)
    f.add_argument("--gap-ms", type=float, default=0)
    v = sub.add_parser("send-vnet")
    v.add_argument("iface")
    v.add_argument("pcap")
    v.add_argument("--gso", choices=sorted(GSO_TYPES), required=True)
    v.add_argument("--size", type=int, required=True)
    v.add_argument("--csum-start", type=int)
    v.add_argument("--csum-off", type=int)
    v.add_argument("--hdr-len", type=int)
    v.add_argument("--ecn", action="store_true", help="add VIRTIO_NET_HDR_GSO_ECN (0x80) to gso_type")
    v.add_argument("--no-fix-csum", action="store_true")
    v.add_argument("--gap-ms", type=float, default=0)
    r = sub.add_parser("send-ip")
    r.add_argument("pcap")
    r.add_argument("--gap-ms", type=float, default=0)
    a = p.parse_args(argv)
    {"send-frames": cmd_send_frames, "send-vnet": cmd_send_vnet, "send-ip": cmd_send_ip}[a.cmd](a)


if __name__ == "__main__":
    main(sys.argv[1:])
