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
# LOAD_KEEP=1 keeps the database, the deployment's streams and the manifest for another run;
# LOAD_REUSE=<work directory of such a run> attacks that population again without populating
# (the full population takes long to make). LOAD_REPLICAS=2 (or more) starts that many
# `serve` processes on the one database behind Debian's haproxy (round robin), and the
# attack goes through haproxy. The CPU time and peak memory of the services and of
# PostgreSQL during the attack go to <report>.resources.txt.
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
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work="target/ri-load/$mode-$stamp"
reports=load-tests/reports
mkdir -p "$work" "$reports"
if [ -n "${LOAD_REUSE:-}" ]; then
    # shellcheck disable=SC1091 # written by the kept run below
    . "$LOAD_REUSE/population.env"
    cp "$LOAD_REUSE/manifest.json" "$work/manifest.json"
    keep=1
else
    suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    database="ri_load_${mode}_${suffix}"
    deployment="load-${suffix}"
    keep=${LOAD_KEEP:-}
fi
replicas=${LOAD_REPLICAS:-1}

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
export RI_DEPLOYMENT="$deployment"
# ri-load stands in for a balancer: practitioners' addresses come in X-Forwarded-For, so the
# per-address limits of feedback links see many practitioners, as behind a real proxy.
export RI_TRUSTED_PROXIES=127.0.0.1
export RI_DRAIN_DELAY_MS=0
# The platform admin who registers the tenants and grants their users' roles (populate.rs).
export RI_PLATFORM_ADMINS=load-admin
export RUST_LOG=${RUST_LOG:-warn}
if [ "$replicas" -gt 1 ]; then
    # haproxy reaches PostgreSQL's connection limit sooner than one replica: share it.
    export RI_DB_MAX_CONNECTIONS=${RI_DB_MAX_CONNECTIONS:-16}
fi

service_pids=()
haproxy_pid=
cleanup() {
    local status=$?
    for pid in "${service_pids[@]}" $haproxy_pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "$keep" ]; then
        printf 'database=%s\ndeployment=%s\n' "$database" "$deployment" >"$work/population.env"
        say "kept database $database and deployment $deployment: LOAD_REUSE=$work attacks them again"
        exit "$status"
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
    say "services stopped, database $database dropped"
    exit "$status"
}
trap cleanup EXIT

free_port() {
    local candidate
    for _ in $(seq 1 50); do
        # Below Linux's ephemeral range (32768 and up): a port some outgoing connection holds
        # answers nothing but cannot be bound, and `serve` failed to listen on one.
        candidate=$((20000 + RANDOM % 12000))
        if ! answers "$candidate"; then echo "$candidate"; return; fi
    done
    say "no free port found"; return 1
}

ports=()
for i in $(seq 1 "$replicas"); do
    port=$(free_port) || exit 1
    ports+=("$port")
    say "starting service $i on :$port (database $database, deployment $deployment); log in $work/service-$i.log"
    RI_LISTEN="127.0.0.1:$port" "$service" serve >"$work/service-$i.log" 2>&1 &
    service_pids+=($!)
done
for i in "${!ports[@]}"; do
    for _ in $(seq 1 600); do
        if curl -sf "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null 2>&1; then break; fi
        kill -0 "${service_pids[$i]}" 2>/dev/null || { say "service $((i + 1)) exited"; tail -20 "$work/service-$((i + 1)).log" >&2; exit 1; }
        sleep 1
    done
    curl -sf "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null || { say "service $((i + 1)) never became ready"; exit 1; }
done
url="http://127.0.0.1:${ports[0]}"
if [ "$replicas" -gt 1 ]; then
    haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
    [ -x "$haproxy_bin" ] || { say "LOAD_REPLICAS needs Debian's haproxy (apt-get install haproxy)"; exit 1; }
    front=$(free_port) || exit 1
    {
        printf 'global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    timeout tunnel 1h\n'
        printf 'frontend api\n    bind 127.0.0.1:%s\n    default_backend replicas\nbackend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n' "$front"
        for i in "${!ports[@]}"; do
            printf '    server r%s 127.0.0.1:%s check inter 500ms\n' "$i" "${ports[$i]}"
        done
    } >"$work/haproxy.cfg"
    "$haproxy_bin" -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
    haproxy_pid=$!
    for _ in $(seq 1 50); do answers "$front" && break; sleep 0.2; done
    url="http://127.0.0.1:$front"
    say "haproxy on :$front in front of ${ports[*]}"
fi

if [ -z "${LOAD_REUSE:-}" ]; then
    say "populating ($mode)"
    # shellcheck disable=SC2086 # LOAD_POPULATE_ARGS is a list of options
    "$ri_load" populate --url "$url" --mode "$mode" --manifest "$work/manifest.json" \
        --token-command "$service" ${LOAD_POPULATE_ARGS:-}
fi

# CPU time (user + system, clock ticks) of a set of processes, from /proc.
ticks() {
    local total=0 pid fields
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        read -r -a fields <<<"$(sed 's/^.*) //' "/proc/$pid/stat")"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}
postgres_pids() { pgrep -x postgres || true; }
resources() {
    local file=$1 hz elapsed
    hz=$(getconf CLK_TCK)
    elapsed=$(( $(date +%s%N) / 1000000 - started_ms ))
    {
        echo "attack wall time: $((elapsed / 1000)) s; $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "services ($replicas): CPU $(( ($(ticks "${service_pids[@]}") - services_ticks) * 1000 / hz )) ms = $(( ($(ticks "${service_pids[@]}") - services_ticks) * 100000 / hz / elapsed )) % of one core"
        # shellcheck disable=SC2046 # a list of pids
        echo "postgresql (all backends): CPU $(( ($(ticks $(postgres_pids)) - pg_ticks) * 1000 / hz )) ms = $(( ($(ticks $(postgres_pids)) - pg_ticks) * 100000 / hz / elapsed )) % of one core (backends that ended during the run are not counted)"
        for i in "${!service_pids[@]}"; do
            echo "service $((i + 1)): $(grep -E '^Vm(HWM|RSS)' "/proc/${service_pids[$i]}/status" | tr -s ' \n' ' ')"
        done
        echo "postgresql: RSS of all processes (shared buffers counted once per process): $(ps -C postgres -o rss= | awk '{s+=$1} END {print s} ') kB; shared_buffers $(psql -h 127.0.0.1 -U postgres -d postgres -qAtc 'SHOW shared_buffers')"
    } >"$file"
}

if [ $# -gt 0 ]; then attack_args=("$@"); fi
say "attacking ($mode, $replicas replica(s))"
services_ticks=$(ticks "${service_pids[@]}")
# shellcheck disable=SC2046 # a list of pids
pg_ticks=$(ticks $(postgres_pids))
started_ms=$(( $(date +%s%N) / 1000000 ))
status=0
# No telnet or WebSocket controller: their fixed ports would collide between concurrent runs.
"$ri_load" attack --manifest "$work/manifest.json" --host "$url" \
    --no-telnet --no-websocket "${attack_args[@]}" \
    --report-file "$reports/$mode-$stamp.md" --report-file "$reports/$mode-$stamp.json" \
    --summary "$reports/$mode-$stamp.ri-load.json" || status=$?
resources "$reports/$mode-$stamp.resources.txt"
if [ "$status" -ne 0 ]; then
    say "FAILED: requests or subscriptions failed (see $reports/$mode-$stamp.md and $work/service.log)"
else
    say "passed: no request failed; reports in $reports/$mode-$stamp.{md,json}"
fi
exit "$status"
