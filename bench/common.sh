# bench/common.sh - sourced (not run) by the bench scripts: where the
# checkout, the outputs, the capture generator, darkstat and our release
# binaries are, and the --help text taken from the calling script's header.
#
# Environment: GEN_PCAP (default ../shared/bench/gen_pcap.py beside the
# checkout), DARKSTAT (default /usr/sbin/darkstat), CARGO_TARGET_DIR
# (default target/ in the checkout).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bench/out
GEN=${GEN_PCAP:-$ROOT/../shared/bench/gen_pcap.py}
DARKSTAT=${DARKSTAT:-/usr/sbin/darkstat}
REL=${CARGO_TARGET_DIR:-$ROOT/target}/release

# Prints the comment block at the top of script $1 (line 2 up to `set -euo`).
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$1"
}
