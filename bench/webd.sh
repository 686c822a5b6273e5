#!/usr/bin/env bash
# bench/webd.sh - the dashboard's speed, side by side with darkstat 3 holding
# the same hosts (issue 3, "Speed"). Prints a markdown report for BENCHMARKS.md.
#
# Usage: bench/webd.sh [--only 100k|1m] [--samples N] [--wrk-secs S] [--no-build]
#
#   --only SIZE    measure one host count only (default: 100k, then 1m)
#   --samples N    timed requests per page and encoding (default 21; median reported)
#   --wrk-secs S   duration of each wrk run (default 10)
#   --no-build     do not run cargo; use the existing release binaries
#
# Needs root (it makes two network namespaces), darkstat 3, wrk, curl, python3.
#
# Per host count (100k: gen_pcap.py -n 200000 -H 100000; 1m: -n 2000000
# -H 1000000; both --duration 86400 --seed 3, the same captures and cache
# as bench/run.sh --quick and the full run):
#   1. generate the capture in bench/out/ (reused when its .stamp matches);
#   2. darkstat -r FILE --no-dns --hosts-max M --hosts-keep M/2 --ports-max 65536
#      --ports-keep 65535 --export bench/out/NAME.darkstat.db (cached too),
#      with M = hosts + hosts/4 + 64 so nothing is evicted;
#   3. namespaces dswbS<pid> (servers, 10.79.0.1 on veth vs) and dswbT<pid>
#      (traffic, 10.79.0.2 on vt); in dswbS, both programs capture LIVE on
#      vs with the filter "udp and dst port 9999" and hold the same hosts,
#      imported from that darkstat export:
#        darkstat -i vs --import DB -b 127.0.0.1 -p 8001 --no-dns --no-daemon ...
#        darkstat-capd -i vs --import DB -b 127.0.0.1 -p 8002 --no-dns --no-state ...
#      (capd reads darkstat 3 export files; it starts its darkstat-webd);
#   4. latency: for /, /hosts/ and /hosts/?full=yes, plain and with
#      "Accept-Encoding: gzip": one curl process per page and encoding
#      fetching it N+1 times over ONE keep-alive connection when the server
#      keeps it open (%{num_connects} is recorded; darkstat closes after each
#      answer, so curl reconnects); the first answer is dropped as warm-up,
#      the report gives median and min–max of %{time_total};
#   5. wrk -t 2 -c 256 -d S on /hosts/ (requests/s, non-2xx, socket errors);
#   6. capture while pages render: a UDP sender in dswbT sends 20,000
#      datagrams (20 every 10 ms) to 10.79.0.1:9999 while a client loops
#      /hosts/?full=yes (plain and gzip alternately) on the same program;
#      every 0.2 s another client reads the packet total (tp= of /graphs.xml,
#      served by both) on a fresh connection. Reported: packets counted
#      during the run vs sent, pcap drops (pd=), full=yes answers, and the
#      longest time the visible total did not move while datagrams flowed
#      (for darkstat this includes the time its answer waited behind the
#      full=yes render: its capture and its pages share one thread).
#
# Outputs (bench/out/ is gitignored): webd-report.md, webd-samples.tsv (every
# timed request), webd-NAME-{darkstat,capd}.log (stderr of the servers).
# Both programs run at the same time; each is idle while the other is
# measured (no traffic is sent outside step 6).
set -euo pipefail

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

only="" samples=21 wrk_secs=10 build=1
while (($#)); do
	case $1 in
	--only) only=${2:?--only needs 100k or 1m}; shift ;;
	--samples) samples=${2:?--samples needs a number}; shift ;;
	--wrk-secs) wrk_secs=${2:?--wrk-secs needs a number}; shift ;;
	--no-build) build=0 ;;
	-h | --help) usage "$0"; exit 0 ;;
	*) echo "webd.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ $samples =~ ^[1-9][0-9]*$ ]] || { echo "webd.sh: --samples wants a positive integer" >&2; exit 2; }
[[ $wrk_secs =~ ^[1-9][0-9]*$ ]] || { echo "webd.sh: --wrk-secs wants a positive integer" >&2; exit 2; }

# name | size | generator arguments (the same as bench/run.sh's)
ALL=(
	"quick-100k|100k|-n 200000 -H 100000 --duration 86400 --seed 3"
	"manyhosts|1m|-n 2000000 -H 1000000 --duration 86400 --seed 3"
)
CAPTURES=()
for spec in "${ALL[@]}"; do
	IFS='|' read -r _ size _ <<<"$spec"
	[[ -z $only || $only == "$size" ]] && CAPTURES+=("$spec")
done
((${#CAPTURES[@]})) || { echo "webd.sh: --only wants 100k or 1m" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'webd.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (network namespaces); run it with sudo"
for c in ip curl wrk python3; do command -v "$c" >/dev/null || die "$c is missing"; done
[[ -x $DARKSTAT ]] || die "darkstat not found at $DARKSTAT"
[[ -f $GEN ]] || die "generator not found at $GEN (set GEN_PCAP)"

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/webd-bench.XXXXXX")
chmod 755 "$TMP" # darkstat imports as nobody, webd reads capd's socket as its user
NS_S=dswbS$$
NS_T=dswbT$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_T" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- binaries ----------------------------------------------------------------
if ((build)); then
	log "building darkstat-capd and darkstat-webd (release)"
	cargo build --release --locked -p darkstat-capd -p darkstat-webd >&2
fi
[[ -x $REL/darkstat-capd && -x $REL/darkstat-webd ]] || die "no release binaries in $REL"
rev="$(git rev-parse --short HEAD)"
[[ -z $(git status --porcelain -- capd webd common Cargo.toml Cargo.lock) ]] || rev+=" + uncommitted changes"
rev+=", built $(date -u -r "$REL/darkstat-webd" '+%Y-%m-%d %H:%M UTC'), $(rustc --version)"
# Private copies (capd starts the darkstat-webd beside it): target/release
# changes whenever someone rebuilds.
mkdir -p "$TMP/bin"
cp "$REL/darkstat-capd" "$REL/darkstat-webd" "$TMP/bin/"
CAPD=$TMP/bin/darkstat-capd

# --- captures and darkstat exports -------------------------------------------
gen_sha=$(sha256sum "$GEN" | cut -d' ' -f1)
hosts_max() { echo $(($1 + $1 / 4 + 64)); }
# capture NAME ARGS: generate bench/out/NAME.pcap unless its stamp matches
# (the same stamp format as bench/run.sh, so both share the files).
capture() {
	local f=$OUT/$1.pcap
	local st=$f.stamp
	if [[ -f $f && -f $st ]] && grep -qxF "args=$2" "$st" && grep -qxF "gen_sha256=$gen_sha" "$st" &&
		[[ $(stat -c %s "$f") == "$(sed -n 's/^size=//p' "$st")" ]]; then
		log "reusing $f"
		return
	fi
	log "generating $f ($2)"
	rm -f "$f" "$st"
	# shellcheck disable=SC2086  # a word list on purpose
	python3 "$GEN" -o "$f.tmp" $2 2>"$OUT/$1.gen.log" || { cat "$OUT/$1.gen.log" >&2; die "generator failed"; }
	local gp gh
	gp=$(sed -n 's/^wrote .*: \([0-9]*\) packets, .*/\1/p' "$OUT/$1.gen.log")
	gh=$(sed -n 's/^ *distinct hosts seen: \([0-9]*\).*/\1/p' "$OUT/$1.gen.log")
	[[ -n $gp && -n $gh ]] || die "cannot parse the generator summary in $OUT/$1.gen.log"
	mv "$f.tmp" "$f"
	printf 'args=%s\ngen_sha256=%s\nsize=%s\npackets=%s\nhosts=%s\n' \
		"$2" "$gen_sha" "$(stat -c %s "$f")" "$gp" "$gh" >"$st"
}
# export NAME HOSTS: bench/out/NAME.darkstat.db from darkstat -r (cached:
# its stamp is the capture's stamp plus darkstat's arguments).
export_db() {
	local f=$OUT/$1.pcap db=$OUT/$1.darkstat.db m
	m=$(hosts_max "$2")
	local args="--no-dns --hosts-max $m --hosts-keep $((m / 2)) --ports-max 65536 --ports-keep 65535"
	local want
	want="$(cat "$f.stamp")"$'\n'"darkstat=$args"
	if [[ -f $db && -f $db.stamp && $(cat "$db.stamp") == "$want" ]]; then
		log "reusing $db"
		return
	fi
	log "darkstat -r $f --export $db (slow at 1M hosts: darkstat writes unbuffered)"
	rm -f "$db" "$db.stamp"
	# shellcheck disable=SC2086
	"$DARKSTAT" -r "$f" $args --export "$ROOT/$db.tmp" 2>"$OUT/$1.darkstat-export.log" ||
		{ cat "$OUT/$1.darkstat-export.log" >&2; die "darkstat -r failed"; }
	mv "$db.tmp" "$db"
	printf '%s\n' "$want" >"$db.stamp"
}
for spec in "${CAPTURES[@]}"; do
	IFS='|' read -r name size args <<<"$spec"
	capture "$name" "$args"
	export_db "$name" "$(sed -n 's/^hosts=//p' "$OUT/$name.pcap.stamp")"
done

# --- namespaces --------------------------------------------------------------
ip netns add "$NS_S"
ip netns add "$NS_T"
ip link add vs netns "$NS_S" type veth peer name vt netns "$NS_T"
ip -n "$NS_S" addr add 10.79.0.1/24 dev vs
ip -n "$NS_T" addr add 10.79.0.2/24 dev vt
for ns in "$NS_S" "$NS_T"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set vs up
ip -n "$NS_T" link set vt up
ins() { ip netns exec "$NS_S" "$@"; }

# The helper for step 6 (runs in dswbS; starts the sender in dswbT).
cat >"$TMP/stall.py" <<'EOF'
import http.client, json, re, subprocess, sys, threading, time

port, ns_t, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
TP = re.compile(rb'tp="(\d+)"')
PD = re.compile(rb'pd="(\d+)"')

def get(path, gzip=False, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
    r = c.getresponse()
    n, head = 0, b""
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        if len(head) < 4096:
            head += b[:4096]
        n += len(b)
    c.close()
    return r.status, head, n

def totals():
    st, body, _ = get("/graphs.xml")
    assert st == 200, st
    return int(TP.search(body).group(1)), int(PD.search(body).group(1))

done = threading.Event()
renders = []
def render():
    gz = False
    while not done.is_set():
        t = time.monotonic()
        st, _, n = get("/hosts/?full=yes", gzip=gz)
        assert st == 200, st
        renders.append(time.monotonic() - t)
        gz = not gz

p0, d0 = totals()
th = threading.Thread(target=render)
th.start()
time.sleep(1.0)  # the first full=yes is under way
sender = subprocess.Popen(
    ["ip", "netns", "exec", ns_t, "python3", "-c",
     "import socket,time\n"
     "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
     f"for i in range({count // 20}):\n"
     "    for _ in range(20): s.sendto(b'x'*100,('10.79.0.1',9999))\n"
     "    time.sleep(0.01)\n"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t0 = time.monotonic()
samples = []
while sender.poll() is None:
    tp, _ = totals()
    samples.append((time.monotonic() - t0, tp))
    time.sleep(0.2)
send_s = time.monotonic() - t0
done.set()
th.join()
# wait (at most 20 s) for the rest to show
end = time.monotonic() + 20
while True:
    tp, pd = totals()
    if tp - p0 >= count or time.monotonic() > end:
        break
    time.sleep(0.2)
# longest time the total did not move while the sender ran
gap, last_change, last_tp = 0.0, 0.0, p0
for t, v in samples:
    if v != last_tp:
        gap = max(gap, t - last_change)
        last_change, last_tp = t, v
gap = max(gap, send_s - last_change)
print(json.dumps(dict(sent=count, counted=tp - p0, dropped=pd - d0, send_s=round(send_s, 2),
                      samples=len(samples), max_gap_s=round(gap, 2), renders=len(renders),
                      render_median_s=round(sorted(renders)[len(renders) // 2], 3) if renders else None)))
sys.exit(0 if sender.returncode == 0 else 1)
EOF

# wait_http PORT PATH SECS: until PATH answers 200
wait_http() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[[ $(ins curl -s -o /dev/null -w '%{http_code}' --max-time 60 "http://127.0.0.1:$1$2" || true) == 200 ]] && return 0
		sleep 0.2
	done
	return 1
}

SAMPLES_TSV=$OUT/webd-samples.tsv
printf 'capture\tprogram\tpath\tgzip\tsample\ttime_total_s\tsize_download\tnum_connects\n' >"$SAMPLES_TSV"
RESULTS=$TMP/results.tsv # capture program metric value
: >"$RESULTS"
result() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# latency CAPTURE PROGRAM PORT PATH GZIP
latency() {
	local url="http://127.0.0.1:$3$4" gz=() args=() i
	[[ $5 == 1 ]] && gz=(-H 'Accept-Encoding: gzip')
	for ((i = 0; i <= samples; i++)); do args+=(-o /dev/null "$url"); done
	ins curl -s --max-time 120 "${gz[@]}" -w '%{http_code} %{time_total} %{size_download} %{num_connects}\n' \
		"${args[@]}" >"$TMP/lat" || die "curl failed on $2 $4"
	awk -v c="$1" -v p="$2" -v path="$4" -v g="$5" '
		$1 != 200 { print "HTTP " $1 " for " p " " path > "/dev/stderr"; bad = 1 }
		NR > 1 { printf "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c, p, path, g, NR - 1, $2, $3, $4 }
		END { exit bad }' "$TMP/lat" >>"$SAMPLES_TSV" || die "error status from $2 on $4"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')
for spec in "${CAPTURES[@]}"; do
	IFS='|' read -r name size args <<<"$spec"
	hosts=$(sed -n 's/^hosts=//p' "$OUT/$name.pcap.stamp")
	m=$(hosts_max "$hosts")
	cp "$OUT/$name.darkstat.db" "$TMP/import.db"
	chmod 644 "$TMP/import.db"
	limits=(--hosts-max "$m" --hosts-keep $((m / 2)) --ports-max 65536)

	log "$name: starting darkstat (port 8001) and darkstat-rs (port 8002), both importing $hosts hosts"
	t0=$EPOCHREALTIME
	# (ip netns exec replaces itself with the program: $! is the program)
	ip netns exec "$NS_S" "$DARKSTAT" -i vs -f 'udp and dst port 9999' --import "$TMP/import.db" -b 127.0.0.1 -p 8001 \
		--no-dns --no-daemon "${limits[@]}" --ports-keep 65535 >/dev/null 2>"$OUT/webd-$name-darkstat.log" &
	ds_pid=$!
	PIDS+=("$ds_pid")
	wait_http 8001 /graphs.xml 300 || { cat "$OUT/webd-$name-darkstat.log" >&2; die "darkstat did not start"; }
	result "$name" darkstat start_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
	t0=$EPOCHREALTIME
	ip netns exec "$NS_S" "$CAPD" -i vs -f 'udp and dst port 9999' --import "$TMP/import.db" --no-state --socket "$TMP/capd.sock" \
		-b 127.0.0.1 -p 8002 --no-dns "${limits[@]}" >/dev/null 2>"$OUT/webd-$name-capd.log" &
	capd_pid=$!
	PIDS+=("$capd_pid")
	wait_http 8002 /graphs.xml 300 || { cat "$OUT/webd-$name-capd.log" >&2; die "darkstat-rs did not start"; }
	result "$name" capd start_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"

	# Both hold every host ("(1–30 of N)" on both /hosts/ pages).
	ins curl -s "http://127.0.0.1:8001/hosts/" >"$TMP/ds-hosts.html"
	ins curl -s "http://127.0.0.1:8002/hosts/" >"$TMP/rs-hosts.html"
	ds_n=$(grep -o 'of [0-9,]*' "$TMP/ds-hosts.html" | head -1 | tr -dc 0-9)
	rs_n=$(grep -o 'of [0-9,]*' "$TMP/rs-hosts.html" | head -1 | tr -dc 0-9)
	log "$name: hosts shown: darkstat $ds_n, darkstat-rs $rs_n (capture: $hosts)"
	[[ $ds_n == "$hosts" && $rs_n == "$hosts" ]] ||
		die "$name: expected $hosts hosts on both /hosts/ pages (see $OUT/webd-$name-*.log)"
	result "$name" darkstat hosts "${ds_n:-?}"
	result "$name" capd hosts "${rs_n:-?}"

	for prog in capd darkstat; do
		port=8002
		[[ $prog == darkstat ]] && port=8001
		for path in / /hosts/ '/hosts/?full=yes'; do
			for gz in 0 1; do
				log "$name: $prog $path gzip=$gz: $samples samples"
				latency "$name" "$prog" "$port" "$path" "$gz"
			done
		done
		log "$name: $prog: wrk -t 2 -c 256 -d ${wrk_secs}s /hosts/"
		ins wrk -t 2 -c 256 -d "${wrk_secs}s" "http://127.0.0.1:$port/hosts/" >"$TMP/wrk" 2>&1 || true
		cat "$TMP/wrk" >&2
		result "$name" "$prog" wrk_rps "$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk")"
		result "$name" "$prog" wrk_non2xx "$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$TMP/wrk" | tr -d ' ')"
		result "$name" "$prog" wrk_errors "$(sed -n 's/^ *Socket errors: *//p' "$TMP/wrk")"
		log "$name: $prog: capture while /hosts/?full=yes loops"
		ins python3 "$TMP/stall.py" "$port" "$NS_T" 20000 >"$TMP/stall" 2>"$TMP/stall.err" ||
			{ cat "$TMP/stall.err" >&2; die "stall check failed for $prog"; }
		cat "$TMP/stall" >&2
		result "$name" "$prog" stall "$(cat "$TMP/stall")"
	done
	kill "$ds_pid" "$capd_pid" 2>/dev/null || true
	wait "$ds_pid" "$capd_pid" 2>/dev/null || true
	PIDS=()
	# the ports are free again before the next round binds them
	for ((i = 0; i < 50; i++)); do
		ins ss -Htln 'sport = :8001 or sport = :8002' | grep -q . || break
		sleep 0.2
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
ds_ver=$("$DARKSTAT" --version 2>&1 | head -1)
opts=""
[[ -n $only ]] && opts+=" --only $only"
((samples == 21)) || opts+=" --samples $samples"
((wrk_secs == 10)) || opts+=" --wrk-secs $wrk_secs"
{
	echo "Command: \`sudo bench/webd.sh$opts\` ($date_start)."
	echo
	echo "Machine: $(nproc) cores, $cpu, $mem RAM, Linux $(uname -r);" \
		"load average $load_start at the start, $load_end at the end."
	echo "darkstat: $ds_ver. darkstat-rs: $rev."
	echo
	python3 - "$SAMPLES_TSV" "$RESULTS" "$samples" <<'EOF'
import csv, json, statistics, sys

samples_path, results_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lat, caps = {}, []
with open(samples_path) as fh:
    for r in csv.DictReader(fh, delimiter="\t"):
        key = (r["capture"], r["program"], r["path"], r["gzip"])
        lat.setdefault(key, []).append(r)
        if r["capture"] not in caps:
            caps.append(r["capture"])
res = {}
with open(results_path) as fh:
    for line in fh:
        c, p, k, v = line.rstrip("\n").split("\t", 3)
        res[(c, p, k)] = v

def ms(x):
    return f"{x * 1e3:.2f} ms" if x < 0.1 else f"{x:.3f} s"

def cell(c, p, path, gz):
    rows = lat.get((c, p, path, gz))
    if not rows:
        return "–", None
    t = [float(r["time_total_s"]) for r in rows]
    size = statistics.median(int(r["size_download"]) for r in rows)
    conns = sum(int(r["num_connects"]) for r in rows)
    med = statistics.median(t)
    kb = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
    note = "" if conns == 0 else f", {conns} conn."
    return f"{ms(med)} ({ms(min(t))}–{ms(max(t))}; {kb}{note})", med

def ratio(a, b):
    return f"{b / a:.1f}×" if a and b else "–"

print("| hosts | page | darkstat-rs median (min–max; size) | darkstat median (min–max; size) | darkstat ÷ darkstat-rs |")
print("|---|---|---|---|---:|")
for c in caps:
    hosts = res.get((c, "capd", "hosts"), "?")
    for path in ["/", "/hosts/", "/hosts/?full=yes"]:
        for gz in ["0", "1"]:
            rs, rs_m = cell(c, "capd", path, gz)
            ds, ds_m = cell(c, "darkstat", path, gz)
            label = f"`{path}`" + (" gzip" if gz == "1" else "")
            print(f"| {int(hosts):,} | {label} | {rs} | {ds} | {ratio(rs_m, ds_m)} |")
print()
print("| hosts | | darkstat-rs | darkstat | darkstat-rs ÷ darkstat |")
print("|---|---|---:|---:|---:|")
for c in caps:
    hosts = int(res.get((c, "capd", "hosts"), "0"))
    rs = res.get((c, "capd", "wrk_rps"), "")
    ds = res.get((c, "darkstat", "wrk_rps"), "")
    r = f"{float(rs) / float(ds):.0f}×" if rs and ds else "–"
    err = lambda p: ", ".join(x for x in [res.get((c, p, "wrk_non2xx")) and f"non-2xx {res[(c, p, 'wrk_non2xx')]}",
                                           res.get((c, p, "wrk_errors")) and f"socket errors: {res[(c, p, 'wrk_errors')]}"] if x)
    print(f"| {hosts:,} | wrk -c 256 `/hosts/` requests/s | {float(rs or 0):,.0f} | {float(ds or 0):,.0f} | {r} |")
    for p, name in [("capd", "darkstat-rs"), ("darkstat", "darkstat")]:
        if err(p):
            print(f"| {hosts:,} | wrk errors ({name}) | {err(p)} | | |")
    print(f"| {hosts:,} | start-up with --import (s) | {res.get((c, 'capd', 'start_s'))} | {res.get((c, 'darkstat', 'start_s'))} | |")
print()
print("Capture while `/hosts/?full=yes` loops (20,000 UDP datagrams, 20 every 10 ms, into the namespace):")
print()
print("| hosts | program | sent | counted | pcap drops | send time | full=yes answers (median) | longest time the total did not move |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for c in caps:
    hosts = int(res.get((c, "capd", "hosts"), "0"))
    for p, name in [("capd", "darkstat-rs"), ("darkstat", "darkstat")]:
        s = res.get((c, p, "stall"))
        if not s:
            continue
        s = json.loads(s)
        print(f"| {hosts:,} | {name} | {s['sent']:,} | {s['counted']:,} | {s['dropped']} | {s['send_s']} s "
              f"| {s['renders']} ({s['render_median_s']} s) | {s['max_gap_s']} s |")
EOF
} >"$OUT/webd-report.md"
cat "$OUT/webd-report.md"
log "report in $OUT/webd-report.md, every timed request in $SAMPLES_TSV"
