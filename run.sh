#!/usr/bin/env bash
# The README's main command: installs libpcap if needed, builds the release
# binaries and runs darkstat-capd with the given arguments, e.g.
#   ./run.sh -r capture.pcapng -l 192.168.1.0/24 --dump-json -
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
for p in libpcap-dev pkg-config; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libpcap-dev pkg-config
        break
    fi
done
cargo build --release --locked --quiet -p darkstat-capd
exec target/release/darkstat-capd "$@"
