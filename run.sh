#!/usr/bin/env bash
# The README's main command: installs libpcap if needed, builds the release
# binaries, creates the two system users when run as root, and starts
# darkstat-capd (which starts darkstat-webd) with the given arguments:
#   sudo ./run.sh -i eth0 -l 192.168.1.0/24      # dashboard on 127.0.0.1:667
#   ./run.sh -r capture.pcapng --dump-json -     # analyze a file
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
cargo build --release --locked --quiet -p darkstat-capd -p darkstat-webd
if [ "$(id -u)" -eq 0 ]; then
    # the dedicated users capd and webd drop to (systemd/darkstat-rs.sysusers.conf)
    for u in darkstat-rs darkstat-rs-web; do
        id "$u" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    done
    id -nG darkstat-rs-web | grep -qw darkstat-rs || usermod -a -G darkstat-rs darkstat-rs-web
fi
exec target/release/darkstat-capd "$@"
