#!/usr/bin/env bash
# bench/rounds.sh - A/B rounds against the floor on a shared machine.
#
# Times the floor (bench/out/floor) and one or more darkstat-capd builds on
# the same capture in alternating rounds, and reports per build the median
# wall time and the median of the per-round ratio to the floor. A ratio
# taken within a round is less sensitive to a slow spell of the machine
# than the ratio of two medians taken minutes apart (bench/run.sh), so this
# is how two builds are compared (BENCHMARKS.md).
#
# Usage: bench/rounds.sh [--rounds N] [--file CAPTURE] BINARY...
#   --rounds N   rounds (default 7)
#   --file F     capture (default bench/out/large-s96.pcap, made by run.sh)
#   BINARY       darkstat-capd builds, run with run.sh's arguments for the
#                50k-host capture (--hosts-max 62564 --hosts-keep 31282
#                --ports-max 65536 --dump-json /dev/null)
set -euo pipefail
source "$(dirname "$0")/common.sh"

rounds=7
file=$OUT/large-s96.pcap
bins=()
while (($#)); do
	case $1 in
	--rounds) rounds=${2:?--rounds needs a number}; shift ;;
	--file) file=${2:?--file needs a capture}; shift ;;
	-h | --help) usage "$0"; exit 0 ;;
	-*) echo "rounds.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) bins+=("$1") ;;
	esac
	shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "rounds.sh: --rounds wants a positive integer" >&2; exit 2; }
((${#bins[@]})) || { echo "rounds.sh: name at least one darkstat-capd binary" >&2; exit 2; }
[[ -r $file ]] || { echo "rounds.sh: no capture $file (bench/run.sh makes it)" >&2; exit 1; }
[[ -x $OUT/floor ]] || cc -O2 bench/floor.c -lpcap -o "$OUT/floor"
for b in "${bins[@]}"; do
	[[ -x $b ]] || { echo "rounds.sh: $b is not an executable" >&2; exit 1; }
done

table=$(mktemp)
timing=$(mktemp)
trap 'rm -f "$table" "$timing"' EXIT

# wall seconds of one run of "$@", its output discarded
wall() {
	/usr/bin/time -f %e -o "$timing" "$@" >/dev/null 2>&1
	tail -n 1 "$timing"
}

cat "$file" >/dev/null
for ((r = 1; r <= rounds; r++)); do
	line=$(wall "$OUT/floor" "$file")
	for b in "${bins[@]}"; do
		t=$(wall "$b" -r "$file" --hosts-max 62564 --hosts-keep 31282 --ports-max 65536 --dump-json /dev/null)
		line+=" $t"
	done
	echo "$line" >>"$table"
	echo "round $r: floor and builds: $line" >&2
done

python3 - "$table" "${bins[@]}" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
names = sys.argv[2:]
floor = [r[0] for r in rows]
print(f"rounds: {len(rows)}; floor median {st.median(floor):.3f} s (min {min(floor):.3f})")
for j, n in enumerate(names, 1):
    t = [r[j] for r in rows]
    ratio = [r[j] / r[0] for r in rows]
    print(f"{n}: median {st.median(t):.3f} s (min {min(t):.3f}); "
          f"ratio to the floor: median {st.median(ratio):.2f} (lowest {min(ratio):.2f})")
PY
