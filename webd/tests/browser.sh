#!/usr/bin/env bash
# Browser test: loads every page of darkstat-webd in headless Chromium
# (JavaScript on, as users have it), saves a screenshot of each as a test
# artifact, and fails on any console message — CSP violations, failed
# loads, script errors — or a page that does not answer 200.
#
# Needs the Debian package chromium. Run from the repository root:
#   webd/tests/browser.sh [ARTIFACT_DIR]     (default target/browser-artifacts)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/browser-artifacts}"
mkdir -p "$out"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "browser.sh: chromium is not installed (apt-get install chromium)" >&2
    exit 1
fi
cargo build --quiet --release -p darkstat-webd --example serve_snapshot
port=$((20000 + RANDOM % 20000))
profile="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$profile"
}
trap cleanup EXIT

serve() { # FIXTURE PORT [extra args]
    local fixture="$1" p="$2"
    shift 2
    target/release/examples/serve_snapshot "webd/tests/fixtures/$fixture.json" \
        -p "$p" -b 127.0.0.1 "$@" >"$out/server-$p.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do
        curl -fs -o /dev/null "http://127.0.0.1:$p/static/style.css" && return 0
        sleep 0.1
    done
    echo "browser.sh: server on port $p did not start" >&2
    cat "$out/server-$p.log" >&2
    exit 1
}

failures=0
shot() { # NAME URL [chromium args]
    local name="$1" url="$2"
    shift 2
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' "$url")"
    if [ "$code" != 200 ]; then
        echo "FAIL $name: HTTP $code for $url"
        failures=$((failures + 1))
        return
    fi
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        --window-size=1280,1000 --hide-scrollbars "$@" \
        --screenshot="$out/$name.png" "$url" 2>"$out/$name.log" || true
    if grep -E ':CONSOLE|Refused to|Content Security Policy|ERR_' "$out/$name.log" >"$out/$name.errors"; then
        echo "FAIL $name: console messages:"
        sed 's/^/    /' "$out/$name.errors"
        failures=$((failures + 1))
    elif [ ! -s "$out/$name.png" ]; then
        echo "FAIL $name: no screenshot"
        failures=$((failures + 1))
    else
        echo "ok   $name"
        rm -f "$out/$name.errors"
    fi
}

serve mapi "$port"
serve wikipedia "$((port + 1))" --disconnected
base="http://127.0.0.1:$port"
shot overview "$base/"
shot hosts "$base/hosts/"
shot hosts-full-by-ip "$base/hosts/?full=yes&sort=ip"
shot hosts-filter "$base/hosts/?q=192.168.0.1"
shot host "$base/hosts/192.168.0.2/"
shot ports "$base/ports/"
shot ports-full "$base/ports/?full=yes&sort=port"
shot protocols "$base/protocols/"
shot graphs "$base/graphs/"
shot refresh-off "$base/hosts/?refresh=0"
shot phone-hosts "$base/hosts/" --window-size=390,844
shot phone-overview-dark "$base/" --window-size=390,844 --force-dark-mode \
    --blink-settings=preferredColorScheme=0
shot capd-down "http://127.0.0.1:$((port + 1))/"
shot host-ipv6 "http://127.0.0.1:$((port + 1))/hosts/fe80::217:f2ff:fed7:cf65/"

if [ "$failures" -ne 0 ]; then
    echo "browser.sh: $failures page(s) failed; artifacts in $out"
    exit 1
fi
echo "browser.sh: all pages clean; screenshots in $out"
