#!/usr/bin/env python3
"""Tiny tc (cls_bpf, direct-action) programs for capflow's kernel reference harness, loaded with
the bpf() syscall from the python3 standard library (no clang, no bpftool).

Subcommands:
  vlan-pop PIN VID...
      Load a SCHED_CLS program standing in for VLAN subinterfaces with the given VIDs and pin
      it at PIN (a path in a mounted bpffs). On an underlay device's ingress it does what
      vlan_do_receive does for a host with one VLAN device per VID and none stacked on them:
      a priority tag (VID 0) is popped and the next tag looked at; a listed VID is popped
      (bpf_skb_vlan_pop); any other tag is left, so __netif_receive_skb_core marks the frame
      PACKET_OTHERHOST and IP drops it. Attach with
      `tc filter add dev DEV ingress bpf da pinned PIN`.
  tunnel-key PIN
      Load a SCHED_CLS program that records the packet's tunnel metadata, as
      bpf_skb_get_tunnel_key(BPF_F_TUNINFO_FLAGS) reports it (IPv4 first, then IPv6), into a
      one-entry array map, and pin it at PIN. Prints {"map_id": N}.
  tunnel-key-take MAP_ID
      Print the entry and mark it "not written" again: {"ran": false} when no packet wrote it
      since, else {"ran": true, "rc", "vni", "remote", "local", "tos", "ttl", "flags", "label",
      "ipv6"}.

Prints one JSON line.
"""
import ctypes
import ipaddress
import json
import os
import struct
import sys

NR_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM = 0, 1, 2
BPF_PROG_LOAD, BPF_OBJ_PIN = 5, 6
BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD = 14, 15
BPF_MAP_TYPE_ARRAY = 2
BPF_PROG_TYPE_SCHED_CLS = 3
FN_MAP_UPDATE_ELEM, FN_SKB_VLAN_POP, FN_SKB_GET_TUNNEL_KEY = 2, 19, 20
BPF_F_TUNINFO_IPV6, BPF_F_TUNINFO_FLAGS = 1, 16
# struct __sk_buff offsets
SKB_VLAN_PRESENT, SKB_VLAN_TCI = 20, 24
# struct bpf_tunnel_key is 44 bytes; the map value is the key, the helper's return code and the
# address family the key was read with (4 or 6).
KEY_SIZE = 44
VALUE_SIZE = 52
NOT_WRITTEN = 0x7FFFFFFF
R0, R1, R2, R3, R4, R6, R7, R10 = 0, 1, 2, 3, 4, 6, 7, 10

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(bytes(attr), 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"bpf({cmd}): {os.strerror(e)}")
    return r, buf


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def mov_reg(dst, src):
    return insn(0xBF, dst, src)


def mov_imm(dst, imm):
    return insn(0xB7, dst, imm=imm)


def add_imm(dst, imm):
    return insn(0x07, dst, imm=imm)


def and_imm(dst, imm):
    return insn(0x57, dst, imm=imm)


def ldx_w(dst, src, off):
    return insn(0x61, dst, src, off)


def stx_w(dst, off, src):
    return insn(0x63, dst, src, off)


def st_w(dst, off, imm):
    return insn(0x62, dst, off=off, imm=imm)


def jeq_imm(dst, imm, off):
    return insn(0x15, dst, off=off, imm=imm)


def jne_imm(dst, imm, off):
    return insn(0x55, dst, off=off, imm=imm)


def ja(off):
    return insn(0x05, off=off)


def call(fn):
    return insn(0x85, imm=fn)


def exit_():
    return insn(0x95)


def ld_map_fd(dst, fd):
    return insn(0x18, dst, 1, 0, fd) + insn(0, 0, 0, 0, 0)


def load(insns, name):
    code = b"".join(insns)
    prog = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("<IIQQIIQII16s", BPF_PROG_TYPE_SCHED_CLS, len(code) // 8, ctypes.addressof(prog), ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, 0, name.encode()[:15])
    try:
        fd, _ = bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        raise SystemExit(f"program load failed: {e}\n{log.value.decode(errors='replace')}")
    return fd


def pin(fd, path):
    p = ctypes.create_string_buffer(path.encode())
    bpf(BPF_OBJ_PIN, struct.pack("<QII", ctypes.addressof(p), fd, 0))


def rel(target, at):
    """Jump offset from the instruction at index `at` to index `target`."""
    return target - at - 1


def vlan_pop_program(vids):
    """Two rounds of: no tag -> done; VID 0 -> pop, next round; listed VID -> pop, done; else done."""
    # Assemble with explicit offsets: round size = 4 + 1 + len(vids) + 1 + 3 + 3
    rs = 4 + 1 + len(vids) + 1 + 3 + 3
    out = [mov_reg(R6, R1)]
    base = 1
    end = base + 2 * rs  # index of OUT: r0 = 0; exit
    for r in range(2):
        start = base + r * rs
        next_round = start + rs if r == 0 else end
        i = start
        out.append(ldx_w(R2, R6, SKB_VLAN_PRESENT)); i += 1
        out.append(jeq_imm(R2, 0, rel(end, i))); i += 1
        out.append(ldx_w(R2, R6, SKB_VLAN_TCI)); i += 1
        out.append(and_imm(R2, 0xFFF)); i += 1
        pop_next = start + 4 + 1 + len(vids) + 1
        pop_out = pop_next + 3
        out.append(jeq_imm(R2, 0, rel(pop_next, i))); i += 1
        for v in vids:
            out.append(jeq_imm(R2, v, rel(pop_out, i))); i += 1
        out.append(ja(rel(end, i))); i += 1
        assert i == pop_next
        out.append(mov_reg(R1, R6)); i += 1
        out.append(call(FN_SKB_VLAN_POP)); i += 1
        out.append(ja(rel(next_round, i))); i += 1
        out.append(mov_reg(R1, R6)); i += 1
        out.append(call(FN_SKB_VLAN_POP)); i += 1
        out.append(ja(rel(end, i))); i += 1
    assert len(out) == end
    out += [mov_imm(R0, 0), exit_()]
    return out


def tunnel_key_program(map_fd):
    def get_key(flags):
        return [mov_reg(R1, R6), mov_reg(R2, R10), add_imm(R2, -VALUE_SIZE), mov_imm(R3, KEY_SIZE), mov_imm(R4, flags), call(FN_SKB_GET_TUNNEL_KEY)]

    prog = [mov_reg(R6, R1), mov_imm(R7, 4)]
    prog += get_key(BPF_F_TUNINFO_FLAGS)
    second = [mov_imm(R7, 6)] + get_key(BPF_F_TUNINFO_IPV6 | BPF_F_TUNINFO_FLAGS)
    prog.append(jeq_imm(R0, 0, len(second)))  # IPv4 key found: skip the IPv6 attempt
    prog += second
    prog += [
        stx_w(R10, -8, R0),
        stx_w(R10, -4, R7),
        st_w(R10, -VALUE_SIZE - 8, 0),
        ld_map_fd(R1, map_fd),
        mov_reg(R2, R10),
        add_imm(R2, -VALUE_SIZE - 8),
        mov_reg(R3, R10),
        add_imm(R3, -VALUE_SIZE),
        mov_imm(R4, 0),
        call(FN_MAP_UPDATE_ELEM),
        mov_imm(R0, 0),
        exit_(),
    ]
    return prog


def map_fd_by_id(map_id):
    fd, _ = bpf(BPF_MAP_GET_FD_BY_ID, struct.pack("<III", map_id, 0, 0))
    return fd


def map_id_of(fd):
    info = ctypes.create_string_buffer(80)
    bpf(BPF_OBJ_GET_INFO_BY_FD, struct.pack("<IIQ", fd, 80, ctypes.addressof(info)))
    return struct.unpack_from("<I", info.raw, 4)[0]


def map_update(fd, value):
    k = ctypes.create_string_buffer(struct.pack("<I", 0), 4)
    v = ctypes.create_string_buffer(value, VALUE_SIZE)
    bpf(BPF_MAP_UPDATE_ELEM, struct.pack("<IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))


def map_lookup(fd):
    k = ctypes.create_string_buffer(struct.pack("<I", 0), 4)
    v = ctypes.create_string_buffer(VALUE_SIZE)
    bpf(BPF_MAP_LOOKUP_ELEM, struct.pack("<IIQQQ", fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))
    return v.raw


def decode_key(raw):
    rc, family = struct.unpack_from("<iI", raw, KEY_SIZE)
    if rc == NOT_WRITTEN:
        return {"ran": False}
    vni, = struct.unpack_from("<I", raw, 0)
    tos, ttl = raw[20], raw[21]
    flags, = struct.unpack_from(">H", raw, 22)  # __be16 TUNNEL_* bits
    label, = struct.unpack_from("<I", raw, 24)
    # IPv6 addresses are copied as they are; an IPv4 one is a u32 in host order (be32_to_cpu).
    def addr(off):
        if family == 6:
            return str(ipaddress.IPv6Address(raw[off:off + 16]))
        return str(ipaddress.IPv4Address(struct.unpack_from("<I", raw, off)[0]))
    return {"ran": True, "rc": rc, "vni": vni, "remote": addr(4), "local": addr(28), "tos": tos, "ttl": ttl, "flags": flags, "label": label, "ipv6": family == 6}


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd = argv[0]
    if cmd == "vlan-pop":
        vids = [int(v) for v in argv[2:]]
        if any(v < 1 or v > 4094 for v in vids):
            raise SystemExit("VIDs must be 1..4094")
        pin(load(vlan_pop_program(vids), "cf_vlan_pop"), argv[1])
        print(json.dumps({"pinned": argv[1], "vids": vids}))
    elif cmd == "tunnel-key":
        mfd, _ = bpf(BPF_MAP_CREATE, struct.pack("<IIIII", BPF_MAP_TYPE_ARRAY, 4, VALUE_SIZE, 1, 0))
        map_update(mfd, bytes(KEY_SIZE) + struct.pack("<iI", NOT_WRITTEN, 0))
        pin(load(tunnel_key_program(mfd), "cf_tunnel_key"), argv[1])
        print(json.dumps({"pinned": argv[1], "map_id": map_id_of(mfd)}))
    elif cmd == "tunnel-key-take":
        fd = map_fd_by_id(int(argv[1]))
        key = decode_key(map_lookup(fd))
        map_update(fd, bytes(KEY_SIZE) + struct.pack("<iI", NOT_WRITTEN, 0))
        print(json.dumps(key))
    else:
        raise SystemExit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
