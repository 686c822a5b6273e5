#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the shared capture corpus.
#
#   fuzz/seed.sh [CORPUS_DIR]     (default: ../shared/corpus/pcaps, or
#                                  /work/shared/corpus/pcaps)
#
# Writes fuzz/corpus/<target>/ (gitignored; rerun at will, it only adds):
# * capture_reader: every capture file of at most 4 KiB, a few truncated
#   copies (cut inside a header, a record, a block), and the first 4 KiB of
#   the larger pcapng files;
# * decode_<link>: one seed per distinct frame of that link type found in
#   the captures (pcap and pcapng), in the decode input format (mode byte 1,
#   u32 LE wire-minus-captured, frame: see src/checks.rs split_frame_input),
#   plus the IP packets of all captures re-wrapped in that link type's
#   header, so every target starts from IPv4/IPv6/TCP/UDP/extension-header
#   packets even where the corpus has few frames of its link type.
# Needs python3 only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-}"
if [ -z "$src" ]; then
    for d in "$here/../../shared/corpus/pcaps" /work/shared/corpus/pcaps; do
        if [ -d "$d" ]; then src="$d"; break; fi
    done
fi
[ -d "$src" ] || { echo "seed.sh: no capture corpus found (pass its directory)" >&2; exit 1; }

python3 - "$src" "$here/corpus" <<'PY'
import hashlib, os, struct, sys

src, out = sys.argv[1], sys.argv[2]
MAX_SEED = 4096          # libFuzzer's default -max_len
PER_TARGET = 400         # native frames kept per decode target
WRAPPED = 300            # re-wrapped IP packets per decode target

TARGETS = {
    "decode_ethernet": {1},
    "decode_sll": {113},
    "decode_sll2": {276},
    "decode_raw": {12, 14, 101, 228, 229},
    "decode_null": {0, 108},
    "decode_ppp": {9},
    "decode_ppp_hdlc": {50},
}

def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        return 1
    return 0

def records(buf):
    """(dlt, data, wire_len) of every record of a pcap or pcapng file."""
    if len(buf) < 24:
        return
    magic = buf[:4]
    for endian in "<>":
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34):
            hl = 24 if m == 0xA1B2CD34 else 16
            dlt = struct.unpack(endian + "I", buf[20:24])[0] & 0xFFFF
            off = 24
            while off + hl <= len(buf):
                cap, wire = struct.unpack(endian + "II", buf[off + 8:off + 16])
                if cap > wire:
                    cap, wire = wire, cap
                data = buf[off + hl:off + hl + cap]
                if len(data) < cap:
                    return
                yield dlt, data, wire
                off += hl + cap
            return
    if magic != b"\x0a\x0d\x0d\x0a":
        return
    off, endian, ifaces = 0, "<", []
    while off + 12 <= len(buf):
        if buf[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if buf[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(endian + "II", buf[off:off + 8])
        if blen < 12 or off + blen > len(buf):
            return
        body = buf[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:
            ifaces.append(struct.unpack(endian + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            i, _, _, cap, wire = struct.unpack(endian + "IIIII", body[:20])
            if i < len(ifaces):
                yield ifaces[i], body[20:20 + cap], wire
        elif btype == 3 and len(body) >= 4 and ifaces:
            wire = struct.unpack(endian + "I", body[:4])[0]
            yield ifaces[0], body[4:4 + wire], wire
        off += blen

def ip_of(dlt, f):
    """The IP packet of a frame, when its link header is a plain one."""
    if dlt == 1 and len(f) > 14:
        off, et = 14, f[12:14]
        while et in (b"\x81\x00", b"\x88\xa8", b"\x91\x00") and len(f) >= off + 4:
            et, off = f[off + 2:off + 4], off + 4
        if et in (b"\x08\x00", b"\x86\xdd"):
            return f[off:]
    elif dlt == 113 and len(f) > 16 and f[14:16] in (b"\x08\x00", b"\x86\xdd"):
        return f[16:]
    elif dlt in (12, 14, 101, 228, 229):
        return f
    elif dlt in (0, 108) and len(f) > 4:
        return f[4:]
    return None

MAC_D, MAC_S = bytes.fromhex("020000000002"), bytes.fromhex("020000000001")

def wrap(target, ip):
    v6 = bool(ip) and ip[0] >> 4 == 6
    et = b"\x86\xdd" if v6 else b"\x08\x00"
    ppp = b"\x00\x57" if v6 else b"\x00\x21"
    h = hashlib.sha1(ip).digest()[0]
    if target == "decode_ethernet":
        tags = [b"\x81\x00\x00\x0a", b"\x88\xa8\x00\x14\x81\x00\x00\x1e"][h % 2] if h % 3 == 0 else b""
        if h % 5 == 0:
            return MAC_D + MAC_S + tags + b"\x88\x64\x11\x00\x00\x01" + struct.pack(">H", len(ip) + 2) + ppp + ip
        return MAC_D + MAC_S + tags + et + ip
    if target == "decode_sll":
        return struct.pack(">HHH", 0, 1, 6) + MAC_S + b"\0\0" + et + ip
    if target == "decode_sll2":
        return et + b"\0\0" + struct.pack(">IHBB", 2, 1, 0, 6) + MAC_S + b"\0\0" + ip
    if target == "decode_raw":
        return ip
    if target == "decode_null":
        fam = 30 if v6 else 2
        return struct.pack("<I" if h % 2 else ">I", fam) + ip
    if target == "decode_ppp":
        return (b"\xff\x03" if h % 2 else b"") + ppp + ip
    if target == "decode_ppp_hdlc":
        return b"\xff\x03" + ppp + ip

def frame_seed(frame, wire):
    frame = frame[:MAX_SEED - 5]
    extra = max(0, wire - len(frame))
    return bytes([1]) + struct.pack("<I", extra % 65536) + frame

names = sorted(os.listdir(src))
count = {}
native = {t: [] for t in TARGETS}
ips, seen_ip = [], set()
for name in names:
    path = os.path.join(src, name)
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) <= MAX_SEED:
        count["capture_reader"] = count.get("capture_reader", 0) + put("capture_reader", buf)
    elif name.endswith(".pcapng"):
        count["capture_reader"] = count.get("capture_reader", 0) + put("capture_reader", buf[:MAX_SEED])
    try:
        for dlt, data, wire in records(buf):
            for t, dlts in TARGETS.items():
                if dlt in dlts and len(native[t]) < PER_TARGET:
                    native[t].append((data, wire))
            ip = ip_of(dlt, data)
            if ip and len(ip) >= 20:
                key = hashlib.sha1(ip[:64]).digest()
                if key not in seen_ip and len(ips) < 5000:
                    seen_ip.add(key)
                    ips.append((ip, wire - (len(data) - len(ip))))
    except struct.error:
        pass

# truncated copies of a few small captures for the reader
small = [n for n in names if os.path.getsize(os.path.join(src, n)) <= MAX_SEED][:40]
for n in small[::4]:
    with open(os.path.join(src, n), "rb") as f:
        buf = f.read()
    for cut in (20, 30, 40, len(buf) // 2, len(buf) - 1):
        if 0 < cut < len(buf):
            count["capture_reader"] += put("capture_reader", buf[:cut])

# IP packets spread over the corpus: every n-th, to mix files
step = max(1, len(ips) // WRAPPED)
sample = ips[::step][:WRAPPED]
for t in TARGETS:
    n = 0
    for data, wire in native[t]:
        n += put(t, frame_seed(data, wire))
    for ip, wire in sample:
        fr = wrap(t, ip)
        n += put(t, frame_seed(fr, wire + (len(fr) - len(ip))))
    count[t] = n

for t in sorted(count):
    print(f"{t}: {count[t]} new seeds")
PY
