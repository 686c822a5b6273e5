#!/usr/bin/env bash
# bench/replay.sh - live capture under load: darkstat-capd and darkstat 3.0.719
# capture the same veth at the same time while tcpreplay sends a synthetic
# capture into it as fast as it can.
#
# For each run it reports, side by side:
#   tcpreplay  packets sent, the rate it reached (packets/s, Mbit/s)
#   capd       kernel received / dropped / if_dropped (its --dump-json at exit:
#              totals.capture) and packets accounted (totals.packets)
#   darkstat   kernel received / dropped (pcap_stats, "pc"/"pd" of its
#              /graphs.xml) and packets accounted ("tp", total packets)
# Goal: capd drops no more than darkstat, and accounts every packet the
# kernel delivered to it (accounted = received - dropped; the capture holds
# IP packets only).
#
# Usage: bench/replay.sh [--runs N] [--packets N] [--hosts N] [--snaplen N]
#                        [--alone] [--no-build] [--keep-ns]
#
#   --runs N      replays (default 3), each with fresh captures of both programs
#   --packets N   packets in the generated capture (default 1000000)
#   --hosts N     distinct hosts (default 10000)
#   --snaplen N   generator snaplen (default 0: whole frames; the IP length
#                 fields are kept, so both programs count the same bytes)
#   --alone       each program captures on its own: per run, one replay with
#                 only capd capturing, then one with only darkstat (no
#                 competition for the CPU between the two)
#   --no-build    do not run cargo; use the existing release capd
#   --keep-ns     leave the namespaces in place after the last run (debugging)
#
# Needs root (network namespaces, capture), tcpreplay, curl, darkstat, python3.
# Everything happens inside two network namespaces made here (dsbA, dsbB,
# joined by the veth pair va/vb; no addresses, IPv6 off) and removed at exit.
# Environment: GEN_PCAP (default ../shared/bench/gen_pcap.py beside the
# checkout), DARKSTAT (default /usr/sbin/darkstat), CAPD (default
# $CARGO_TARGET_DIR or target/, then release/darkstat-capd).
#
# Outputs in bench/out/ (gitignored; never commit captures): the capture
# replay-N.pcap (reused when its .stamp matches), per run replay-runK-*.{json,log,xml},
# the table in replay-report.md and replay-runs.tsv.
set -euo pipefail

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CAPD=${CAPD:-$REL/darkstat-capd}

runs=3 packets=1000000 hosts=10000 snaplen=0 build=1 keep_ns=0 alone=0
while (($#)); do
	case $1 in
	--runs) runs=${2:?}; shift ;;
	--packets) packets=${2:?}; shift ;;
	--hosts) hosts=${2:?}; shift ;;
	--snaplen) snaplen=${2:?}; shift ;;
	--no-build) build=0 ;;
	--keep-ns) keep_ns=1 ;;
	--alone) alone=1 ;;
	-h | --help) usage "$0"; exit 0 ;;
	*) echo "replay.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in runs packets hosts; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "replay.sh: --$v wants a positive integer" >&2; exit 2; }
done
[[ $snaplen =~ ^[0-9]+$ ]] || { echo "replay.sh: --snaplen wants an integer" >&2; exit 2; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'replay.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (network namespaces and live capture)"
for t in tcpreplay curl python3 ip; do command -v "$t" >/dev/null || die "$t not found"; done
[[ -x $DARKSTAT ]] || die "darkstat not found at $DARKSTAT"
[[ -f $GEN ]] || die "generator not found at $GEN (set GEN_PCAP)"
id darkstat-rs >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin darkstat-rs

mkdir -p "$OUT"
if ((build)); then
	log "building darkstat-capd (release)"
	cargo build --release --locked -p darkstat-capd >&2
fi
[[ -x $CAPD ]] || die "no capd binary at $CAPD"
# a private copy: target/release changes whenever someone rebuilds
cp "$CAPD" "$OUT/replay-capd.tmp" && mv "$OUT/replay-capd.tmp" "$OUT/replay-capd"
capd_rev="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
[[ -z $(git status --porcelain -- capd common Cargo.toml Cargo.lock 2>/dev/null) ]] ||
	capd_rev+=" + uncommitted changes"
CAPD=$OUT/replay-capd

# --- the capture ---------------------------------------------------------------
args="-n $packets -H $hosts --duration 60 --snaplen $snaplen --seed 4"
PCAP=$OUT/replay-$packets.pcap
gen_sha=$(sha256sum "$GEN" | cut -d' ' -f1)
if [[ -f $PCAP && -f $PCAP.stamp ]] && grep -qxF "args=$args" "$PCAP.stamp" &&
	grep -qxF "gen_sha256=$gen_sha" "$PCAP.stamp" &&
	[[ $(stat -c %s "$PCAP") == "$(sed -n 's/^size=//p' "$PCAP.stamp")" ]]; then
	log "reusing $PCAP"
else
	log "generating $PCAP ($args)"
	# shellcheck disable=SC2086  # args is a word list on purpose
	python3 "$GEN" -o "$PCAP.tmp" $args 2>"$PCAP.gen.log" || { cat "$PCAP.gen.log" >&2; die "generator failed"; }
	mv "$PCAP.tmp" "$PCAP"
	printf 'args=%s\ngen_sha256=%s\nsize=%s\n' "$args" "$gen_sha" "$(stat -c %s "$PCAP")" >"$PCAP.stamp"
fi
gen_hosts=$(sed -n 's/^ *distinct hosts seen: \([0-9]*\).*/\1/p' "$PCAP.gen.log" 2>/dev/null || true)
hmax=$((hosts + hosts / 4 + 64))

# --- namespaces ------------------------------------------------------------------
NA=dsbA NB=dsbB
CAPD_PID="" DS_PID=""
# capd writes its --dump-json as its own user, after dropping root
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/capd-replay.XXXXXX")
chown darkstat-rs "$TMPD"
cleanup() {
	rm -rf "$TMPD"
	[[ -n $DS_PID ]] && kill "$DS_PID" 2>/dev/null || true
	[[ -n $CAPD_PID ]] && kill "$CAPD_PID" 2>/dev/null || true
	if ((!keep_ns)); then
		ip netns del "$NA" 2>/dev/null || true
		ip netns del "$NB" 2>/dev/null || true
	fi
}
trap cleanup EXIT
ip netns del "$NA" 2>/dev/null || true
ip netns del "$NB" 2>/dev/null || true
ip netns add "$NA"
ip netns add "$NB"
ip -n "$NA" link set lo up
ip -n "$NA" link add va type veth peer name vb netns "$NB"
for x in "$NA va" "$NB vb"; do
	read -r ns dev <<<"$x"
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
	ip -n "$ns" link set "$dev" up
done

# --- runs ----------------------------------------------------------------------------
TSV=$OUT/replay-runs.tsv
printf 'run\twho\tsent\ttcpreplay_pps\ttcpreplay_mbps\tcapd_received\tcapd_dropped\tcapd_if_dropped\tcapd_accounted\tds_received\tds_dropped\tds_accounted\tload\n' >"$TSV"
PORT=6671

# darkstat's /graphs.xml attribute NAME from FILE
xml_attr() { sed -n "s/.*<graphs[^>]* $1=\"\([0-9]*\)\".*/\1/p" "$2" | head -1; }

wait_for() { # COND-COMMAND... : up to 20 s
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
capd_capturing() { grep -q 'Seccomp:[[:space:]]*2' "/proc/$CAPD_PID/status" 2>/dev/null; }
darkstat_up() { ip netns exec "$NA" curl -sf -o /dev/null "http://127.0.0.1:$PORT/graphs.xml"; }

start_capd() { # PREFIX
	ip netns exec "$NA" "$CAPD" -i va --no-web --no-state --socket "$TMPD/capd.sock" \
		--hosts-max "$hmax" --hosts-keep $((hmax / 2)) --ports-max 65536 \
		--dump-json "$TMPD/capd.json" >/dev/null 2>"$1-capd.log" &
	CAPD_PID=$!
	wait_for capd_capturing || die "capd did not start: $(cat "$1-capd.log")"
}
stop_capd() { # PREFIX; sets c_recv c_drop c_ifdrop c_acc
	kill -TERM "$CAPD_PID"
	wait "$CAPD_PID" || die "capd failed: $(cat "$1-capd.log")"
	CAPD_PID=""
	mv "$TMPD/capd.json" "$1-capd.json"
	read -r c_recv c_drop c_ifdrop c_acc < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["totals"]["capture"]
print(c["received"], c["dropped"], c["if_dropped"], d["totals"]["packets"])' "$1-capd.json")
}
start_darkstat() { # PREFIX
	ip netns exec "$NA" "$DARKSTAT" -i va --no-daemon --no-dns -b 127.0.0.1 -p "$PORT" \
		--hosts-max "$hmax" --hosts-keep $((hmax / 2)) --ports-max 65536 --ports-keep 65535 \
		>/dev/null 2>"$1-darkstat.log" &
	DS_PID=$!
	wait_for darkstat_up || die "darkstat did not start: $(cat "$1-darkstat.log")"
}
stop_darkstat() { # PREFIX; sets ds_recv ds_drop ds_acc
	# wait until its total stops moving (it may still be reading)
	local prev=-1 tp i
	for ((i = 0; i < 120; i++)); do
		sleep 1
		ip netns exec "$NA" curl -sf -o "$1-darkstat.xml" "http://127.0.0.1:$PORT/graphs.xml" || continue
		tp=$(xml_attr tp "$1-darkstat.xml")
		[[ $tp == "$prev" ]] && break
		prev=$tp
	done
	ds_recv=$(xml_attr pc "$1-darkstat.xml")
	ds_drop=$(xml_attr pd "$1-darkstat.xml")
	ds_acc=$(xml_attr tp "$1-darkstat.xml")
	kill -TERM "$DS_PID"
	wait "$DS_PID" || true
	DS_PID=""
}
replay() { # PREFIX; sets sent pps mbps
	sleep 1
	ip netns exec "$NB" tcpreplay -i vb --topspeed --preload-pcap "$PCAP" >"$1-tcpreplay.log" 2>&1 ||
		die "tcpreplay failed: $(cat "$1-tcpreplay.log")"
	sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$1-tcpreplay.log")
	pps=$(sed -n 's/^Rated: .* \([0-9.]*\) pps.*/\1/p' "$1-tcpreplay.log")
	mbps=$(sed -n 's/^Rated: [0-9.]* Bps, \([0-9.]*\) Mbps.*/\1/p' "$1-tcpreplay.log")
}
row() { # RUN WHO
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$sent" "$pps" "$mbps" \
		"$c_recv" "$c_drop" "$c_ifdrop" "$c_acc" "$ds_recv" "$ds_drop" "$ds_acc" "$load" >>"$TSV"
	log "  [$2] tcpreplay sent $sent at $pps pps; capd recv $c_recv drop $c_drop accounted $c_acc;" \
		"darkstat recv $ds_recv drop $ds_drop accounted $ds_acc"
}

for ((r = 1; r <= runs; r++)); do
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	log "run $r/$runs (load average $load)"
	if ((alone)); then
		pre=$OUT/replay-run$r-alone
		c_recv="" c_drop="" c_ifdrop="" c_acc="" ds_recv="" ds_drop="" ds_acc=""
		start_capd "$pre"; replay "$pre-c"; stop_capd "$pre"
		row "$r" capd
		c_recv="" c_drop="" c_ifdrop="" c_acc=""
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		start_darkstat "$pre"; replay "$pre-d"; stop_darkstat "$pre"
		row "$r" darkstat
	else
		pre=$OUT/replay-run$r
		start_capd "$pre"
		start_darkstat "$pre"
		replay "$pre"
		stop_darkstat "$pre"
		stop_capd "$pre"
		row "$r" both
	fi
done

# --- report -------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
REPORT=$OUT/replay-report.md
{
	opts="--runs $runs --packets $packets --hosts $hosts --snaplen $snaplen"
	((alone)) && opts+=" --alone"
	echo "Command: \`bench/replay.sh $opts\`, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(nproc) cores, $cpu, Linux $(uname -r). capd: $capd_rev (release)." \
		"darkstat: $("$DARKSTAT" --version 2>&1 | head -1). $(tcpreplay --version 2>&1 | head -1)."
	echo
	if ((alone)); then together="one at a time (one replay each per run)"; else together="at the same time"; fi
	echo "Capture: \`gen_pcap.py $args\` ($packets packets, ${gen_hosts:-?} hosts, $(stat -c %s "$PCAP") bytes)," \
		"replayed with \`tcpreplay -i vb --topspeed --preload-pcap\` into a veth pair;" \
		"capd (\`-i va --no-web --no-state --hosts-max $hmax --ports-max 65536 --dump-json\`) and" \
		"darkstat (\`-i va --no-daemon --no-dns --hosts-max $hmax --ports-max 65536 --ports-keep 65535\`) capture va $together."
	echo
	python3 - "$TSV" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def i(x): return int(x) if x not in ("", None) else None
def f(x): return "–" if x is None else f"{x:,}"
print("| run | capturing | sent | tcpreplay rate | capd received | capd dropped | capd accounted | darkstat received | darkstat dropped | darkstat accounted | load |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
capd_drops, ds_drops, ok_acc = [], [], True
for r in rows:
    cr, ca = i(r["capd_received"]), i(r["capd_accounted"])
    cd = None if cr is None else i(r["capd_dropped"]) + i(r["capd_if_dropped"])
    dr, dd, da = i(r["ds_received"]), i(r["ds_dropped"]), i(r["ds_accounted"])
    if cr is not None:
        capd_drops.append(cd)
        ok_acc &= ca == cr - i(r["capd_dropped"])
    if dr is not None:
        ds_drops.append(dd)
    print(f"| {r['run']} | {r['who']} | {f(i(r['sent']))} | {float(r['tcpreplay_pps'] or 0)/1e3:,.0f} kpps, {float(r['tcpreplay_mbps'] or 0):,.0f} Mbit/s "
          f"| {f(cr)} | {f(cd)} | {f(ca)} | {f(dr)} | {f(dd)} | {f(da)} | {r['load']} |")
print()
print("received and dropped are the kernel's counters for each program's capture socket (received includes"
      " the dropped ones); capd's dropped adds its if_dropped. accounted = IP packets counted (the capture holds IP only).")
print()
ok_drop = max(capd_drops) <= min(ds_drops) if capd_drops and ds_drops else None
verdict = {True: "**met**", False: "**not met**", None: "not measured"}
print(f"* capd drops no more than darkstat (most capd dropped in a run: {max(capd_drops, default=0):,};"
      f" fewest darkstat dropped: {min(ds_drops, default=0):,}): {verdict[ok_drop]}")
print(f"* capd accounts every packet the kernel delivered to it (accounted = received - dropped in every run): {verdict[ok_acc]}")
EOF
} >"$REPORT"
cat "$REPORT"
log "report in $REPORT, runs in $TSV"
