#!/usr/bin/env python3
"""A real TCP transfer for capflow's kernel reference harness (python3 standard library only).

  serve ADDR PORT REPLY_BYTES
      Listen on ADDR:PORT, print "listening", accept one connection, read until the peer's FIN,
      send REPLY_BYTES back, close (the server's FIN). Prints one JSON line with the counts.
  send ADDR PORT BYTES
      Connect to ADDR:PORT, send BYTES, shut the write side down (the client's FIN), read the
      reply until the server's FIN, close. Prints one JSON line with the counts.

The payload is a fixed pattern, so two runs carry the same bytes (sequence numbers and TCP
timestamps still differ: the kernel randomises them).
"""
import json
import socket
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def pattern(n):
    block = bytes((i * 31 + 7) & 0xFF for i in range(65536))
    return (block * (n // len(block) + 1))[:n]


def read_all(conn):
    n = 0
    while True:
        d = conn.recv(1 << 16)
        if not d:
            return n
        n += len(d)


def serve(addr, port, reply):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(30)
    print("listening", flush=True)
    conn, _ = s.accept()
    conn.settimeout(30)
    received = read_all(conn)
    conn.sendall(pattern(reply))
    conn.close()
    s.close()
    print(json.dumps({"received": received, "sent": reply}), flush=True)


def send(addr, port, size):
    c = socket.create_connection((addr, port), timeout=30)
    c.sendall(pattern(size))
    c.shutdown(socket.SHUT_WR)
    received = read_all(c)
    c.close()
    print(json.dumps({"received": received, "sent": size}), flush=True)


def main(argv):
    cmd, addr, port, n = argv[0], argv[1], int(argv[2]), int(argv[3])
    if cmd == "serve":
        serve(addr, port, n)
    elif cmd == "send":
        send(addr, port, n)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
