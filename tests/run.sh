#!/usr/bin/env bash
# Runs every test of darkstat-rs, installing what the tests need first.
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages the build and the tests use:
#   libpcap-dev  capd links libpcap (live capture, BPF filters)
#   python3      runs the corpus oracle (../shared/corpus/tools/check_corpus.py)
#   pkg-config   lets the pcap crate find libpcap
#   iproute2     network namespaces and veth pairs for the live tests
#   util-linux   setpriv: start capd unprivileged with only CAP_NET_RAW;
#                unshare/nsenter: a throwaway systemd for webd's unit test
#   systemd      systemd-analyze: verify and score the unit files;
#                systemd-socket-activate and systemd itself for webd's tests
#   tcpreplay    replays corpus captures into a veth (live == offline)
#   chromium     the browser test of the pages (webd/tests/browser.sh)
#   curl         the browser test waits for its servers with it; the hostile
#                PTR test fetches webd's pages with it
#   darkstat     the reference darkstat 3.0.719 writes the export files that
#                capd/tests/darkstat_real.rs imports (and bench/replay.sh races)
#   wrk          webd/tests/live_load.rs: 256 connections on /hosts/ while
#                capd captures live (also bench/webd.sh)
needed=(libpcap-dev python3 pkg-config iproute2 util-linux systemd tcpreplay tcpdump chromium curl darkstat wrk)
missing=()
for p in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "tests/run.sh: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "tests/run.sh: cargo fmt --check"
cargo fmt --all -- --check
echo "tests/run.sh: cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "tests/run.sh: cargo test"
cargo test --workspace --locked
# the sandbox tests with the test-only hooks (a forbidden system call,
# re-attaching the socket filter, opening files) compiled in
echo "tests/run.sh: sandbox tests (feature test-hooks)"
cargo test --locked -p darkstat-capd --features test-hooks --test sandbox
cargo test --locked -p darkstat-webd --features test-hooks --test sandbox
echo "tests/run.sh: browser test (headless chromium)"
webd/tests/browser.sh target/browser-artifacts
echo "tests/run.sh: hostile PTR names from a fake DNS server in a namespace"
tests/dns_hostile_ptr.sh
