#!/usr/bin/env bash
# Hostile PTR names against webd's reverse DNS (issue 3; security.md WEB-3).
#
#   tests/dns_hostile_ptr.sh        (as root; skipped otherwise)
#
# Two network namespaces joined by a veth pair, nothing in the host's:
#   dsptrS<pid>  198.18.53.2/30  tests/fake_dns.py on UDP port 53, answering
#                every PTR with markup, ANSI escapes, CR/LF, NUL bytes;
#   dsptrC<pid>  198.18.53.1/30  the client side, whose /etc/resolv.conf
#                (ip netns exec bind-mounts /etc/netns/<ns>/resolv.conf)
#                names only the fake server.
# In the client namespace it runs webd's `dns_netns` test, which reads that
# resolv.conf and checks every hostile answer becomes NameState::Invalid,
# the control names resolve, and the log holds no control bytes.
# Then, in the same client namespace, the pages end to end: darkstat-capd
# -r serves tests/ptr_hosts_pcap.py's capture (only hosts the fake server
# answers for) and starts darkstat-webd, which resolves through the fake
# server; /hosts/, /hosts/?full=yes, /, every /hosts/<ip>/ and
# /api/v1/stats must show "(invalid PTR)" for each hostile name, the good
# control name, no markup, no control bytes and no injected header, and
# webd's log must hold the refused names escaped.
# All DNS and HTTP traffic stays inside the two namespaces; no address of
# the host changes.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

skip() { echo "dns_hostile_ptr.sh: SKIPPED: $*"; exit 0; }
fail() { echo "dns_hostile_ptr.sh: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (run it with sudo)"
command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
command -v python3 >/dev/null || skip "python3 is missing"

# Build first, so the namespaces live only as long as the check.
echo "dns_hostile_ptr.sh: building the dns_netns test, darkstat-capd and darkstat-webd"
# artifact NAME: the executable cargo reports for target NAME on stdin
artifact() {
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1"
}
bin="$(cargo test -p darkstat-webd --test dns_netns --no-run --message-format=json | artifact dns_netns)"
[ -x "$bin" ] || fail "could not build the dns_netns test binary"
built="$(cargo build -p darkstat-capd -p darkstat-webd --message-format=json)"
capd_bin="$(artifact darkstat-capd <<<"$built")"
webd_bin="$(artifact darkstat-webd <<<"$built")"
[ -x "$capd_bin" ] && [ -x "$webd_bin" ] || fail "could not build darkstat-capd and darkstat-webd"
# capd starts the darkstat-webd beside it
[ "$(dirname "$capd_bin")" = "$(dirname "$webd_bin")" ] || fail "capd and webd built in different directories"

srv_ns="dsptrS$$"
cli_ns="dsptrC$$"
srv_if="dsptrs$$"
cli_if="dsptrc$$"
srv_addr=198.18.53.2
cli_addr=198.18.53.1
work="$(mktemp -d /tmp/dns_hostile_ptr.XXXXXX)"
dns_pid=""
capd_pid=""
made_netns_dir=""

cleanup() {
    if [ -n "$capd_pid" ]; then kill "$capd_pid" 2>/dev/null || true; wait "$capd_pid" 2>/dev/null || true; fi
    if [ -n "$dns_pid" ]; then kill "$dns_pid" 2>/dev/null || true; wait "$dns_pid" 2>/dev/null || true; fi
    ip netns del "$srv_ns" 2>/dev/null || true
    ip netns del "$cli_ns" 2>/dev/null || true
    rm -rf "/etc/netns/$cli_ns"
    if [ -n "$made_netns_dir" ]; then rmdir /etc/netns 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv_ns"
ip netns add "$cli_ns"
ip link add "$srv_if" netns "$srv_ns" type veth peer name "$cli_if" netns "$cli_ns"
ip -n "$srv_ns" addr add "$srv_addr/30" dev "$srv_if"
ip -n "$cli_ns" addr add "$cli_addr/30" dev "$cli_if"
for ns in "$srv_ns" "$cli_ns"; do ip -n "$ns" link set lo up; done
ip -n "$srv_ns" link set "$srv_if" up
ip -n "$cli_ns" link set "$cli_if" up

[ -d /etc/netns ] || { mkdir /etc/netns; made_netns_dir=1; }
mkdir -p "/etc/netns/$cli_ns"
printf 'nameserver %s\n' "$srv_addr" >"/etc/netns/$cli_ns/resolv.conf"

ip netns exec "$srv_ns" python3 "$root/tests/fake_dns.py" --bind "$srv_addr" >"$work/fake_dns.log" 2>&1 &
dns_pid=$!
for _ in $(seq 50); do
    grep -q READY "$work/fake_dns.log" && break
    kill -0 "$dns_pid" 2>/dev/null || { cat "$work/fake_dns.log" >&2; fail "fake_dns.py did not start"; }
    sleep 0.1
done
grep -q READY "$work/fake_dns.log" || fail "fake_dns.py not ready"

echo "dns_hostile_ptr.sh: resolver check in $cli_ns against fake_dns.py in $srv_ns"
rc=0
ip netns exec "$cli_ns" env \
    DARKSTAT_DNS_TEST_RESOLV_CONF=/etc/resolv.conf \
    DARKSTAT_DNS_TEST_SERVER="$srv_addr" \
    "$bin" --ignored --nocapture --test-threads=1 >"$work/test.log" 2>&1 || rc=$?
cat "$work/test.log"
echo "--- fake_dns.py log"
cat "$work/fake_dns.log"
echo "---"

[ "$rc" -eq 0 ] || fail "dns_netns test failed (exit $rc)"
grep -q "dns_netns: CHECKED" "$work/test.log" || fail "dns_netns test did not run its checks"

# No control bytes (anything below 0x20 but tab and newline, or DEL) in
# what webd logged, and the refused names were logged, escaped.
if LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$work/test.log" >"$work/ctl.txt"; then
    cat -v "$work/ctl.txt" >&2
    fail "control bytes in the log"
fi
invalid_lines="$(grep -c 'invalid PTR "' "$work/test.log" || true)"
[ "$invalid_lines" -eq 8 ] || fail "expected 8 escaped invalid-PTR log lines, got $invalid_lines"
grep -qF 'invalid PTR "\x1b[31mred\x1b[0m.evil"' "$work/test.log" ||
    fail "the ANSI-escape name was not logged escaped"
grep -qF 'invalid PTR "line\r\nInjected: yes.evil"' "$work/test.log" ||
    fail "the CR/LF name was not logged escaped"
queries="$(grep -c ' -> ' "$work/fake_dns.log" || true)"
[ "$queries" -eq 10 ] || fail "expected 10 queries at fake_dns.py, got $queries"

# ---------------------------------------------------------------------------
# Page level: the real programs in the client namespace. darkstat-capd -r
# reads a capture whose every host has a PTR answer fake_dns.py knows
# (tests/ptr_hosts_pcap.py), keeps serving it and starts darkstat-webd,
# which reads the namespace's /etc/resolv.conf at start like any webd and
# so asks only the fake server. webd listens on 127.0.0.1 of the client
# namespace; curl runs there too.
echo "dns_hostile_ptr.sh: page level: capd -r + webd in $cli_ns"
python3 "$root/tests/ptr_hosts_pcap.py" "$work/ptr.pcap"
# webd runs as darkstat-rs-web and must reach the socket inside $work.
chmod 755 "$work"
ip netns exec "$cli_ns" "$capd_bin" -r "$work/ptr.pcap" --no-state --socket "$work/capd.sock" \
    -b 127.0.0.1 -p 8667 </dev/null >"$work/capd.log" 2>&1 &
capd_pid=$!

# fetch PATH NAME: GET into $work/NAME.body (headers in $work/NAME.head);
# prints the status code.
fetch() {
    ip netns exec "$cli_ns" curl -s --max-time 10 -D "$work/$2.head" -o "$work/$2.body" \
        -w '%{http_code}' "http://127.0.0.1:8667$1" || true
}

# Showing /hosts/ starts the lookups of the hosts on it; wait until no
# name is still "(resolving…)".
settled=""
for _ in $(seq 100); do
    kill -0 "$capd_pid" 2>/dev/null || { cat "$work/capd.log" >&2; fail "capd exited"; }
    if [ "$(fetch /hosts/ hosts)" = 200 ] && grep -q '198\.51\.100\.200' "$work/hosts.body" &&
        ! grep -q '(resolving' "$work/hosts.body"; then
        settled=1
        break
    fi
    sleep 0.2
done
[ -n "$settled" ] || { cat "$work/capd.log" >&2; fail "/hosts/ never showed settled names"; }

# check_clean NAME: no hostile markup, no control bytes in the body and
# well-formed headers (nothing injected by a CR/LF in a name).
check_clean() {
    local body="$work/$1.body" head="$work/$1.head"
    if LC_ALL=C grep -naiE '<img|<svg[^>]*onload|<script|onerror=|onload=|<i>|Injected' "$body"; then
        fail "$1: hostile markup injected"
    fi
    if LC_ALL=C grep -naP '[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]' "$body" | cat -v; then
        fail "$1: control bytes in the body"
    fi
    # Every header line is "Name: printable text" ending in CR; the first
    # is the status line; the head ends with an empty line.
    if LC_ALL=C sed 1d "$head" | grep -navP '^([!#-'"'"'*+.0-9A-Z^_`a-z|~-]+: [\x20-\x7e]*)?\r$' | cat -v | grep .; then
        fail "$1: malformed header line"
    fi
    if LC_ALL=C grep -qai '^Injected' "$head"; then fail "$1: injected header"; fi
}
# expect NAME COUNT TEXT: TEXT (fixed string) occurs exactly COUNT times.
expect() {
    local n
    n="$(grep -oF -- "$3" "$work/$1.body" | wc -l || true)"
    [ "$n" -eq "$2" ] || fail "$1: expected $2 × '$3', found $n"
}

pages=0
check_clean hosts
# 9 hostile hosts, one good name, the NXDOMAIN host shows no name
expect hosts 9 '(invalid PTR)'
expect hosts 1 'good-host.example'
pages=$((pages + 1))

[ "$(fetch '/hosts/?full=yes' full)" = 200 ] || fail "/hosts/?full=yes"
check_clean full
expect full 9 '(invalid PTR)'
expect full 1 'good-host.example'
pages=$((pages + 1))

[ "$(fetch / overview)" = 200 ] || fail "/"
check_clean overview
# the top 10 of 11 hosts: the good host leads (all traffic goes to it)
expect overview 1 'good-host.example'
n_inv="$(grep -oF "(invalid PTR)" "$work/overview.body" | wc -l || true)"
[ "$n_inv" -ge 8 ] || fail "/: expected at least 8 × (invalid PTR), found $n_inv"
pages=$((pages + 1))

for ip in 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.4 198.51.100.5 \
    198.51.100.6 198.51.100.7 2001:db8::1 2001:db8::2 198.51.100.200 198.51.100.201; do
    name="host-${ip//:/_}"
    [ "$(fetch "/hosts/$ip/" "$name")" = 200 ] || fail "/hosts/$ip/"
    check_clean "$name"
    case "$ip" in
    198.51.100.200) expect "$name" 1 'good-host.example'; expect "$name" 0 '(invalid PTR)' ;;
    198.51.100.201) expect "$name" 0 '(invalid PTR)'; expect "$name" 1 '(unknown)' ;;
    *) expect "$name" 1 '(invalid PTR)' ;;
    esac
    pages=$((pages + 1))
done

# The API shows the good name and none of the hostile ones.
[ "$(fetch /api/v1/stats api)" = 200 ] || fail "/api/v1/stats"
check_clean api
expect api 1 '"good-host.example"'
pages=$((pages + 1))

kill "$capd_pid" 2>/dev/null || true
wait "$capd_pid" 2>/dev/null || true
capd_pid=""

# webd (capd's child, same log) logged each refused name escaped, and the
# log holds no control bytes.
if LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$work/capd.log" | cat -v | grep .; then
    fail "control bytes in capd/webd's log"
fi
grep -qF 'invalid PTR "<img src=x onerror=alert(1)>.evil"' "$work/capd.log" ||
    { cat "$work/capd.log" >&2; fail "webd did not log the refused markup name (escaped)"; }
grep -qF 'invalid PTR "line\r\nInjected: yes.evil"' "$work/capd.log" ||
    fail "webd did not log the CR/LF name escaped"
echo "dns_hostile_ptr.sh: page level: $pages pages clean"

echo "dns_hostile_ptr.sh: PASSED"
