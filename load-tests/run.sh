#!/usr/bin/env bash
# The load test in one command (load-tests/README.md):
#
#   bash load-tests/run.sh [smoke|full] [more options for `ri-load attack`, e.g. --open-loop-rate 200]
#
# Makes sure PostgreSQL and NATS answer, builds the service and ri-load (debug for smoke,
# release for full), starts `regional-invest serve` on a free port against a fresh database
# with a deployment name of its own, fills it through the GraphQL API (`ri-load populate`),
# runs the goose attack, writes goose's Markdown and JSON reports to
# load-tests/reports/<mode>-<date>.{md,json} (and ri-load's own results to .ri-load.json),
# then stops the service, drops the database and deletes the deployment's NATS streams.
# Exits non-zero when any request or subscription failed; timing never fails it.
#
# LOAD_POPULATE_ARGS adds options to `ri-load populate` (e.g. "--instruments 5000").
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-smoke}
shift || true
# Options after the mode go to `ri-load attack`; when given, they replace the mode's goose
# defaults below (users, increase rate, run time, subscribers).
case "$mode" in
    smoke)
        profile=debug; build_flags=()
        attack_args=(--users 20 --increase-rate 10 --run-time 30s --subscribers 6)
        ;;
    full)
        profile=release; build_flags=(--release)
        attack_args=(--users 200 --increase-rate 20 --run-time 5m --subscribers 30)
        ;;
    *) echo "usage: bash load-tests/run.sh [smoke|full] [ri-load attack options]" >&2; exit 2 ;;
esac

say() { printf '[load] %s\n' "$*" >&2; }

bash deploy/local/services.sh

# Two builds, not one: built together, cargo would unify goose's dependency features into
# the service's and rebuild the whole service for the load test. LOAD_NO_BUILD=1 uses the
# binaries as they are (deploy/local/test.sh: its test run has just built both).
if [ "${LOAD_NO_BUILD:-}" != 1 ]; then
    say "building the service and ri-load ($profile)"
    cargo build "${build_flags[@]}" --quiet -p regional-invest
    cargo build "${build_flags[@]}" --quiet -p ri-load
fi
service=target/$profile/regional-invest
ri_load=target/$profile/ri-load
for binary in "$service" "$ri_load"; do
    [ -x "$binary" ] || { say "$binary is missing: build it, or run without LOAD_NO_BUILD"; exit 1; }
done

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! answers "$candidate"; then port=$candidate; break; fi
done
[ -n "$port" ] || { say "no free port found"; exit 1; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
database="ri_load_${mode}_${suffix}"
deployment="load-${suffix}"
work="target/ri-load/$mode-$stamp"
reports=load-tests/reports
mkdir -p "$work" "$reports"

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
export RI_LISTEN="127.0.0.1:$port"
export RI_DEPLOYMENT="$deployment"
# ri-load stands in for a balancer: practitioners' addresses come in X-Forwarded-For, so the
# per-address limits of feedback links see many practitioners, as behind a real proxy.
export RI_TRUSTED_PROXIES=127.0.0.1
export RI_DRAIN_DELAY_MS=0
export RUST_LOG=${RUST_LOG:-warn}

service_pid=
cleanup() {
    local status=$?
    if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
        kill "$service_pid" 2>/dev/null || true
        wait "$service_pid" 2>/dev/null || true
    fi
    psql -h 127.0.0.1 -U postgres -d postgres -qAtc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null || true
    # The deployment's JetStream streams, through the JetStream API over the NATS protocol.
    local upper=${deployment^^}
    if exec 4<>/dev/tcp/127.0.0.1/4222 2>/dev/null; then
        printf 'CONNECT {"verbose":false}\r\nPUB $JS.API.STREAM.DELETE.%s_EVENTS 0\r\n\r\nPUB $JS.API.STREAM.DELETE.%s_NOTIFICATIONS 0\r\n\r\nPING\r\n' \
            "$upper" "$upper" >&4 || true
        timeout 5 head -c 200 <&4 >/dev/null 2>&1 || true
        exec 4>&- || true
    fi
    say "service stopped, database $database dropped"
    exit "$status"
}
trap cleanup EXIT

say "starting the service on :$port (database $database, deployment $deployment); log in $work/service.log"
"$service" serve >"$work/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$service_pid" 2>/dev/null || { say "the service exited"; tail -20 "$work/service.log" >&2; exit 1; }
    sleep 1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { say "the service never became ready"; exit 1; }

say "populating ($mode)"
# shellcheck disable=SC2086 # LOAD_POPULATE_ARGS is a list of options
"$ri_load" populate --url "http://127.0.0.1:$port" --mode "$mode" --manifest "$work/manifest.json" \
    --token-command "$service" ${LOAD_POPULATE_ARGS:-}

if [ $# -gt 0 ]; then attack_args=("$@"); fi
say "attacking ($mode)"
status=0
# No telnet or WebSocket controller: their fixed ports would collide between concurrent runs.
"$ri_load" attack --manifest "$work/manifest.json" --host "http://127.0.0.1:$port" \
    --no-telnet --no-websocket "${attack_args[@]}" \
    --report-file "$reports/$mode-$stamp.md" --report-file "$reports/$mode-$stamp.json" \
    --summary "$reports/$mode-$stamp.ri-load.json" || status=$?
if [ "$status" -ne 0 ]; then
    say "FAILED: requests or subscriptions failed (see $reports/$mode-$stamp.md and $work/service.log)"
else
    say "passed: no request failed; reports in $reports/$mode-$stamp.{md,json}"
fi
exit "$status"
