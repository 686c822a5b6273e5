#!/usr/bin/env python3
"""A hostile DNS server for tests/dns_hostile_ptr.sh (stdlib only).

Answers every PTR query over UDP with an attacker-style name: HTML markup,
ANSI escapes, CR/LF, NUL, a dot inside a label. Two addresses are controls:
x.x.x.200 gets the good name good-host.example, x.x.x.201 gets NXDOMAIN.
Anything that is not a PTR query gets REFUSED. Run it only inside a
network namespace; it binds the address it is given and nothing else.

    fake_dns.py --bind 198.18.53.2 [--port 53]
"""
import argparse
import socket
import struct
import sys

# Raw labels; a label may hold any byte, even "." (which then does not
# separate labels).
HOSTILE = [
    [b"<img src=x onerror=alert(1)>", b"evil"],
    [b"\x1b[31mred\x1b[0m", b"evil"],
    [b'x"><script>alert(1)</script>', b"evil"],
    [b"<svg onload=alert(1)>"],
    [b"line\r\nInjected: yes", b"evil"],
    [b"a.b<i>", b"evil"],
    [b"nul\x00byte", b"evil"],
]
GOOD = [b"good-host", b"example"]


def wire_name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def read_qname(msg):
    """Labels of the (uncompressed) question name and the offset after it."""
    pos, labels = 12, []
    while True:
        n = msg[pos]
        if n == 0:
            return labels, pos + 1
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[pos + 1 : pos + 1 + n])
        pos += 1 + n


def answer(msg):
    qid, flags, qdcount = struct.unpack(">HHH", msg[:6])
    labels, end = read_qname(msg)
    qtype, qclass = struct.unpack(">HH", msg[end : end + 4])
    question = msg[12 : end + 4]
    rd = flags & 0x0100
    if qdcount != 1 or qtype != 12 or qclass != 1:
        return struct.pack(">HHHHHH", qid, 0x8005 | rd, 1, 0, 0, 0) + question, "REFUSED"
    last = labels[0].decode("ascii", "replace") if labels else ""
    if last == "201":
        return struct.pack(">HHHHHH", qid, 0x8083 | rd, 1, 0, 0, 0) + question, "NXDOMAIN"
    if last == "200":
        target = GOOD
    elif last.isdigit():
        target = HOSTILE[int(last) % len(HOSTILE)]
    else:
        target = HOSTILE[0]
    rdata = wire_name(target)
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 300, len(rdata)) + rdata
    head = struct.pack(">HHHHHH", qid, 0x8080 | rd, 1, 1, 0, 0)
    return head + question + rr, "PTR " + repr(b".".join(target))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=53)
    args = ap.parse_args()
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    print("fake_dns: READY on %s port %d" % (args.bind, args.port), flush=True)
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            reply, what = answer(msg)
        except (IndexError, ValueError, struct.error) as e:
            print("fake_dns: bad query from %s: %s" % (peer[0], e), flush=True)
            continue
        sock.sendto(reply, peer)
        qname = b".".join(read_qname(msg)[0])
        print("fake_dns: %s %r -> %s" % (peer[0], qname, what), flush=True)


if __name__ == "__main__":
    sys.exit(main())
