#!/usr/bin/env bash
# bench/run.sh - speed benchmark of darkstat-capd's offline mode (-r FILE).
#
# Times three programs on synthetic captures and prints a markdown report
# that can be pasted into BENCHMARKS.md:
#   capd      darkstat-capd -r FILE ... --dump-json /dev/null
#   darkstat  darkstat 3.0.719 -r FILE ... (the reference system)
#   floor     bench/floor.c: a bare pcap_open_offline + pcap_next_ex loop
#
# Usage: bench/run.sh [--quick] [--runs N] [--no-capd] [--no-build] [--no-verify] [--wait-idle]
#
#   (default)    full size: (a) 10M packets / 50k hosts, snaplen 96 (1.0 GB)
#                           (b) 2M packets / 1M hosts (0.93 GB)
#   --quick      (a) 1M packets / 50k hosts, snaplen 96; (b) 200k packets / 100k hosts
#   --runs N     timed runs per program and capture (default 3; the median is reported)
#   --no-capd    time darkstat and the floor only (while capd does not build yet)
#   --no-build   do not run cargo; use the existing capd binary
#   --no-verify  skip the (untimed) check that every program counts every packet
#                and host; it is slow for darkstat on 1M hosts (unbuffered export)
#   --wait-idle  on a shared machine: before timing each capture, wait (at most
#                10 min) until nothing else has been runnable for 5 s in a row
#
# Environment: GEN_PCAP (default ../shared/bench/gen_pcap.py beside the checkout), DARKSTAT
# (default /usr/sbin/darkstat), CAPD (default $CARGO_TARGET_DIR or target/,
# then release/darkstat-capd).
#
# Captures go to bench/out/ (gitignored; never commit them). A capture is
# reused when bench/out/NAME.pcap.stamp records the same generator arguments,
# the same generator script (sha256) and the file's current size.
# The report is also written to bench/out/report-{full,quick}.md and every
# single run to bench/out/runs-{full,quick}.tsv.
set -euo pipefail

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CAPD=${CAPD:-$REL/darkstat-capd}
FLOOR=$OUT/floor

mode=full runs=3 with_capd=1 build=1 verify=1 wait_idle=0
while (($#)); do
	case $1 in
	--quick) mode=quick ;;
	--full) mode=full ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--no-capd) with_capd=0 ;;
	--no-build) build=0 ;;
	--no-verify) verify=0 ;;
	--wait-idle) wait_idle=1 ;;
	-h | --help) usage "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs wants a positive integer" >&2; exit 2; }

# name | role | generator arguments. Role a = the many-packets / 50k-hosts
# capture (speed goals), role b = the many-hosts capture (memory goal).
if [[ $mode == full ]]; then
	CAPTURES=(
		"large-s96|a|-n 10000000 -H 50000 --snaplen 96 --duration 86400 --seed 2"
		"manyhosts|b|-n 2000000 -H 1000000 --duration 86400 --seed 3"
	)
else
	CAPTURES=(
		"quick-50k-s96|a|-n 1000000 -H 50000 --snaplen 96 --duration 86400 --seed 2"
		"quick-100k|b|-n 200000 -H 100000 --duration 86400 --seed 3"
	)
fi

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT"
TSV=$OUT/runs-$mode.tsv
META=$OUT/meta-$mode.tsv
REPORT=$OUT/report-$mode.md
TMP=$(mktemp -d "${TMPDIR:-/tmp}/capd-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- tools -------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
	log "installing GNU time (/usr/bin/time)"
	if [[ $(id -u) == 0 ]]; then apt-get install -y -q time >&2; else sudo apt-get install -y -q time >&2; fi
fi
/usr/bin/time -f '%e %M' true 2>/dev/null || die "/usr/bin/time is not GNU time"
[[ -x $DARKSTAT ]] || die "darkstat not found at $DARKSTAT"
[[ -f $GEN ]] || die "generator not found at $GEN (set GEN_PCAP)"

log "building bench/out/floor"
cc -O2 bench/floor.c -lpcap -o bench/out/floor

if ((with_capd)); then
	if ((build)); then
		log "building darkstat-capd (release)"
		cargo build --release -p darkstat-capd >&2 ||
			die "capd does not build; use --no-capd to measure darkstat and the floor only"
	fi
	[[ -x $CAPD ]] || die "no capd binary at $CAPD"
	# Time a private copy: target/release/darkstat-capd is replaced whenever
	# someone rebuilds, which must not happen in the middle of the runs.
	capd_rev="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	[[ -z $(git status --porcelain -- capd common Cargo.toml Cargo.lock 2>/dev/null) ]] ||
		capd_rev+=" + uncommitted changes"
	capd_rev+=", built $(date -u -r "$CAPD" '+%Y-%m-%d %H:%M UTC'), $(rustc --version)"
	cp "$CAPD" "$OUT/darkstat-capd.tmp"
	mv "$OUT/darkstat-capd.tmp" "$OUT/darkstat-capd"
	CAPD=$OUT/darkstat-capd
fi

# --- captures ----------------------------------------------------------------
gen_sha=$(sha256sum "$GEN" | cut -d' ' -f1)
: >"$META"
for spec in "${CAPTURES[@]}"; do
	IFS='|' read -r name role args <<<"$spec"
	f=$OUT/$name.pcap
	st=$f.stamp
	if [[ -f $f && -f $st ]] &&
		grep -qxF "args=$args" "$st" && grep -qxF "gen_sha256=$gen_sha" "$st" &&
		[[ $(stat -c %s "$f") == "$(sed -n 's/^size=//p' "$st")" ]]; then
		log "reusing $f"
	else
		log "generating $f ($args); this takes minutes at full size"
		rm -f "$f" "$st"
		# shellcheck disable=SC2086  # args is a word list on purpose
		python3 "$GEN" -o "$f.tmp" $args 2>"$OUT/$name.gen.log" ||
			{ cat "$OUT/$name.gen.log" >&2; die "generator failed"; }
		gp=$(sed -n 's/^wrote .*: \([0-9]*\) packets, .*/\1/p' "$OUT/$name.gen.log")
		gh=$(sed -n 's/^ *distinct hosts seen: \([0-9]*\).*/\1/p' "$OUT/$name.gen.log")
		[[ -n $gp && -n $gh ]] || die "cannot parse the generator summary in $OUT/$name.gen.log"
		mv "$f.tmp" "$f"
		printf 'args=%s\ngen_sha256=%s\nsize=%s\npackets=%s\nhosts=%s\n' \
			"$args" "$gen_sha" "$(stat -c %s "$f")" "$gp" "$gh" >"$st"
	fi
	packets=$(sed -n 's/^packets=//p' "$st")
	hosts=$(sed -n 's/^hosts=//p' "$st")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$role" "$packets" "$hosts" "$(stat -c %s "$f")" "$args" >>"$META"
done

# Host-table limits: above the host count so nothing is ever evicted
# (darkstat evicts as soon as count >= hosts-max, before each packet, and one
# packet can add two hosts).
hosts_max() { echo $(($1 + $1 / 4 + 64)); }

# set_cmd PROGRAM FILE HOSTS [JSON]: the command line, into the array CMD.
set_cmd() {
	local m; m=$(hosts_max "$3")
	case $1 in
	capd) CMD=("$CAPD" -r "$2" --hosts-max "$m" --hosts-keep $((m / 2)) --ports-max 65536
		--dump-json "${4:-/dev/null}") ;;
	darkstat) CMD=("$DARKSTAT" -r "$2" --no-dns --hosts-max "$m" --hosts-keep $((m / 2))
		--ports-max 65536 --ports-keep 65535) ;;
	floor) CMD=("$FLOOR" "$2") ;;
	esac
}

# Streamed scan of a --dump-json document: prints totals.packets and the
# number of hosts. A 1M-host document is too big to json.load cheaply;
# "totals" comes before "hosts" and "ip" keys only occur in host entries.
cat >"$TMP/jsonscan.py" <<'EOF'
import re, sys
head = re.compile(rb'"totals"\s*:\s*\{\s*"packets"\s*:\s*(\d+)')
ipkey = re.compile(rb'"ip"\s*:')
packets, n, tail = None, 0, b""
with open(sys.argv[1], "rb") as fh:
    while True:
        chunk = fh.read(1 << 22)
        if not chunk:
            break
        buf = tail + chunk
        if packets is None:
            m = head.search(buf)
            if m:
                packets = m.group(1).decode()
        # count matches that end in the new part only (tail is < 16 bytes)
        n += sum(1 for m in ipkey.finditer(buf) if m.end() > len(tail))
        tail = buf[-16:]
print(packets if packets is not None else "?", n)
EOF

# --- check: every program counts every packet (and keeps every host) ---------
checks_failed=0
CHECKS=$TMP/checks.md
: >"$CHECKS"
check() { # NAME PROGRAM WHAT EXPECTED GOT
	local ok=ok
	[[ $4 == "$5" ]] || { ok=MISMATCH; checks_failed=1; }
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$ok" >>"$CHECKS"
	[[ $ok == ok ]] || log "CHECK FAILED: $2 on $1: $3 expected $4, got $5"
}
if ((verify)); then
	while IFS=$'\t' read -r name role packets hosts size args <&3; do
		f=$OUT/$name.pcap
		log "checking counts on $name (untimed)"
		got=$("$FLOOR" "$f" | sed -n 's/^packets \([0-9]*\) .*/\1/p')
		check "$name" floor "packets read" "$packets" "$got"

		db=$TMP/$name.darkstat.db
		set_cmd darkstat "$f" "$hosts"
		"${CMD[@]}" --verbose --export "$db" 2>"$TMP/ds.err" ||
			{ cat "$TMP/ds.err" >&2; die "darkstat failed on $f"; }
		got=$(sed -n 's/.*Total packets: \([0-9]*\),.*/\1/p' "$TMP/ds.err")
		check "$name" darkstat "Total packets (--verbose)" "$packets" "$got"
		got=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(12); assert d[:8]==b"\xda\x31\x41\x59\xdaHS\x01"; print(struct.unpack(">I",d[8:12])[0])' "$db")
		check "$name" darkstat "hosts in --export" "$hosts" "$got"
		got=$(grep -c 'hashtable_reduce' "$TMP/ds.err" || true)
		check "$name" darkstat "evictions (verbose hashtable_reduce)" 0 "$got"
		rm -f "$db"

		if ((with_capd)); then
			js=$TMP/$name.capd.json
			set_cmd capd "$f" "$hosts" "$js"
			"${CMD[@]}" >/dev/null 2>"$TMP/capd.err" ||
				{ cat "$TMP/capd.err" >&2; die "capd failed on $f"; }
			read -r got_p got_h < <(python3 "$TMP/jsonscan.py" "$js")
			check "$name" capd "totals.packets (--dump-json)" "$packets" "$got_p"
			check "$name" capd "hosts in --dump-json" "$hosts" "$got_h"
			rm -f "$js"
		fi
	done 3<"$META"
fi

# --- timing ------------------------------------------------------------------
# wait_idle: until the runnable count of /proc/loadavg (which includes this
# shell) has been 1 for 5 one-second samples in a row; at most 600 s.
wait_idle() {
	local quiet=0 t=0 a b c rt rest
	while ((quiet < 5 && t < 600)); do
		read -r a b c rt rest </proc/loadavg
		if ((${rt%/*} <= 1)); then quiet=$((quiet + 1)); else quiet=0; fi
		sleep 1
		t=$((t + 1))
	done
	((quiet >= 5)) || log "machine still busy after 600 s; timing anyway"
}
# Wall time: bash $EPOCHREALTIME around the /usr/bin/time call (microsecond
# resolution; /usr/bin/time's own %e has 10 ms resolution and is logged next
# to it). Peak RSS: %M (KiB). CPU time: %U + %S.
printf 'capture\tprogram\trun\twall_s\ttime_e_s\tmaxrss_kib\tuser_s\tsys_s\n' >"$TSV"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
programs=(capd darkstat floor)
((with_capd)) || programs=(darkstat floor)
while IFS=$'\t' read -r name role packets hosts size args <&3; do
	f=$OUT/$name.pcap
	if ((wait_idle)); then log "waiting for the machine to be idle"; wait_idle; fi
	log "timing on $name: $runs rounds of: ${programs[*]} (each after a read of the file)"
	for ((r = 1; r <= runs; r++)); do
		for p in "${programs[@]}"; do
			# read the file back into the page cache before each timed run:
			# the kernel's proactive reclaim (kdamond) drops cold pages of
			# these 1 GB files between runs, and a run that reads from disk
			# measures the disk (seen: sys time 4x, wall time 3x)
			cat "$f" >/dev/null
			set_cmd "$p" "$f" "$hosts"
			t0=$EPOCHREALTIME
			if ! /usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "${CMD[@]}" >/dev/null 2>"$TMP/err"; then
				cat "$TMP/err" "$TMP/time" >&2
				die "$p failed on $f: ${CMD[*]}"
			fi
			t1=$EPOCHREALTIME
			read -r e m us sy <"$TMP/time"
			w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
			printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$name" "$p" "$r" "$w" "$e" "$m" "$us" "$sy" >>"$TSV"
			log "  $name $p run $r: ${w} s wall, ${us}+${sy} s CPU, ${m} KiB"
		done
	done
done 3<"$META"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
ds_ver=$("$DARKSTAT" --version 2>&1 | head -1)
((with_capd)) || capd_rev="not measured"
# Example commands, as run on the first capture.
IFS=$'\t' read -r n1 _ _ h1 _ _ <"$META"
set_cmd capd "$OUT/$n1.pcap" "$h1"
ex_capd=${CMD[*]}
set_cmd darkstat "$OUT/$n1.pcap" "$h1"
ex_ds=${CMD[*]}

{
	opts=""
	[[ $mode == quick ]] && opts+=" --quick"
	((with_capd)) || opts+=" --no-capd"
	((verify)) || opts+=" --no-verify"
	((runs == 3)) || opts+=" --runs $runs"
	((wait_idle)) && opts+=" --wait-idle"
	echo "Command: \`bench/run.sh$opts\`"
	echo
	echo "Machine: $(nproc) cores, $cpu, $mem RAM, Linux $(uname -r);" \
		"load average $load_start at the start of timing, $load_end at the end."
	echo "darkstat: $ds_ver. capd: $capd_rev."
	echo
	echo "Each program was run $runs times per capture, each run right after a read of the file"
	echo "(\`cat FILE >/dev/null\`, so it is in the page cache), in rounds of $(IFS=,; echo "${programs[*]}" | sed 's/,/, /g');"
	echo "the table gives the median, and the range of the wall times."
	echo "Wall time comes from bash \`\$EPOCHREALTIME\` around \`/usr/bin/time -f '%e %M %U %S'\`"
	echo "(whose %e has only 10 ms resolution), peak RSS from its \`%M\`, CPU time from \`%U\` + \`%S\`"
	echo "(less sensitive than wall time to other load on the machine)."
	echo "RSS/host = peak RSS ÷ distinct hosts in the capture."
	echo "hosts-max = hosts + hosts/4 + 64 (nothing is evicted), hosts-keep = hosts-max/2."
	echo
	echo "Programs, as run on \`$n1\`:"
	echo
	echo "* capd: \`$ex_capd\` (a copy of target/release/darkstat-capd taken right after the build)"
	echo "* darkstat: \`$ex_ds\`"
	echo "* floor: \`bench/out/floor $OUT/$n1.pcap\` (bench/floor.c: pcap_open_offline + pcap_next_ex, counting)"
	echo
	python3 - "$META" "$TSV" "$with_capd" <<'EOF'
import csv, statistics, sys

meta_path, tsv_path, with_capd = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
caps = []
with open(meta_path) as fh:
    for line in fh:
        name, role, packets, hosts, size, args = line.rstrip("\n").split("\t")
        caps.append(dict(name=name, role=role, packets=int(packets), hosts=int(hosts),
                         size=int(size), args=args))
runs = {}
with open(tsv_path) as fh:
    for row in csv.DictReader(fh, delimiter="\t"):
        runs.setdefault((row["capture"], row["program"]), []).append(row)

def med(key, name, prog):
    return statistics.median(float(r[key]) for r in runs[(name, prog)])

def si(x):
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"

progs = ["capd", "darkstat", "floor"] if with_capd else ["darkstat", "floor"]
print("| capture | packets | hosts | size | program | wall s | (min–max) | CPU s | packets/s | peak RSS | RSS/host |")
print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
res = {}
for c in caps:
    for p in progs:
        w = med("wall_s", c["name"], p)
        rss = med("maxrss_kib", c["name"], p)
        pps = c["packets"] / w
        per_host = rss * 1024 / c["hosts"]
        res[(c["name"], p)] = (w, pps, rss, per_host)
        host_col = "–" if p == "floor" else f"{per_host:.0f} B"
        ws = [float(r["wall_s"]) for r in runs[(c["name"], p)]]
        cpu = statistics.median(float(r["user_s"]) + float(r["sys_s"]) for r in runs[(c["name"], p)])
        print(f"| {c['name']} | {c['packets']:,} | {c['hosts']:,} | {c['size'] / 1e9:.2f} GB "
              f"| {p} | {w:.3f} | {min(ws):.3f}–{max(ws):.3f} | {cpu:.2f} | {si(pps)} | {rss / 1024:.1f} MiB | {host_col} |")

print()
print("Generator arguments: " + "; ".join(f"{c['name']}: `{c['args']}`" for c in caps) + ".")
if not with_capd:
    print()
    print("**darkstat and floor only: capd was not measured in this run.**")
    sys.exit(0)

print()
print("| capture | capd ÷ darkstat packets/s | capd time ÷ floor time | capd RSS/host ÷ darkstat RSS/host |")
print("|---|---:|---:|---:|")
def verdict(ok):
    return "met" if ok else "**not met**"
for c in caps:
    cw, cpps, crss, cph = res[(c["name"], "capd")]
    dw, dpps, drss, dph = res[(c["name"], "darkstat")]
    fw = res[(c["name"], "floor")][0]
    sp, fl, mem = cpps / dpps, cw / fw, cph / dph
    sp_s = f"{sp:.2f}×" + (f" (goal ≥ 4×: {verdict(sp >= 4)})" if c["role"] == "a" else "")
    fl_s = f"{fl:.2f}×" + f" (goal ≤ 1.5×: {verdict(fl <= 1.5)})"
    mem_s = f"{mem:.2f}×" + (f" (goal ≤ 0.5×: {verdict(mem <= 0.5)})" if c["role"] == "b" else "")
    print(f"| {c['name']} | {sp_s} | {fl_s} | {mem_s} |")
print()
print("Goals: ≥ 4× darkstat's packets/s on the 50k-host capture; ≤ 1.5× the floor's time; "
      "RSS/host ≤ 0.5× darkstat's on the many-host capture.")
EOF
	if [[ -s $CHECKS ]]; then
		echo
		echo "Counting checks (untimed runs; darkstat with \`--verbose --export\`, capd with \`--dump-json FILE\`):"
		echo
		echo "| capture | program | what | expected | got | |"
		echo "|---|---|---|---:|---:|---|"
		cat "$CHECKS"
	fi
} >"$REPORT"

cat "$REPORT"
log "report written to $REPORT, single runs in $TSV"
if ((checks_failed)); then
	log "some counting checks failed (see the table above)"
	exit 1
fi
