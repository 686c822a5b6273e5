#!/usr/bin/env python3
"""A tiny Ethernet pcap for tests/dns_hostile_ptr.sh (stdlib only).

One UDP datagram from each address whose PTR tests/fake_dns.py answers
with a hostile name (198.51.100.1-7, 2001:db8::1 and 2001:db8::2), and from
the NXDOMAIN control 198.51.100.201, all sent to the good-name control
198.51.100.200 (IPv6: 2001:db8::1 -> 2001:db8::2). So every host in the
capture has a PTR answer the test knows:

    hostile (shown as "(invalid PTR)"): 198.51.100.1-7, 2001:db8::1, 2001:db8::2
    good-host.example:                  198.51.100.200
    no name (NXDOMAIN):                 198.51.100.201

    ptr_hosts_pcap.py OUT.pcap
"""
import ipaddress
import struct
import sys

GOOD = "198.51.100.200"
V4_SOURCES = ["198.51.100.%d" % n for n in range(1, 8)] + ["198.51.100.201"]
V6_PAIR = ("2001:db8::1", "2001:db8::2")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(payload):
    return struct.pack("!HHHH", 40000, 9999, 8 + len(payload), 0) + payload


def ipv4(src, dst, payload):
    head = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 17, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + head + payload


def ipv6(src, dst, payload):
    head = struct.pack(
        "!IHBB16s16s", 0x60000000, len(payload), 17, 64,
        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed,
    )
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd" + head + payload


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    frames = [ipv4(src, GOOD, udp(b"ptr-test")) for src in V4_SOURCES]
    frames.append(ipv6(V6_PAIR[0], V6_PAIR[1], udp(b"ptr-test")))
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
