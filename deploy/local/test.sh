#!/usr/bin/env bash
# The README's second command: start what the tests need, then run the whole test suite
# against the real PostgreSQL and NATS. Each test makes its own database (ri_test_*); the
# ones left by earlier runs are dropped first.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/services.sh

# The deployment files (image, Kubernetes manifests, NATS values) are checked offline, and any
# finding fails the run (deploy/README.md#validation).
bash deploy/validate.sh

# The browser tests (crates/regional-invest/tests/web.rs) drive Debian's headless Chromium with
# playwright-core from web-tests/ (no browser download: the lock file pins playwright-core only).
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null 2>&1; then
    echo "[test] installing Chromium for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    browser_packages=(chromium chromium-driver)
    command -v node >/dev/null 2>&1 || browser_packages+=(nodejs npm)
    apt-get install -y -qq "${browser_packages[@]}" >/dev/null
fi
# The PgBouncer tests (crates/regional-invest/tests/pgbouncer.rs) start Debian's pgbouncer
# themselves on a free port; it is installed, never started as a service (RUNLEVEL=1).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "[test] installing PgBouncer for the pooler tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    RUNLEVEL=1 apt-get install -y -qq pgbouncer >/dev/null
fi
# The scale-out test (crates/regional-invest/tests/scale_out.rs) runs Debian's haproxy in the
# foreground in front of three `serve` replicas; it is installed, never started as a service.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    echo "[test] installing haproxy for the scale-out test" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    RUNLEVEL=1 apt-get install -y -qq haproxy >/dev/null
fi
if [ ! -d web-tests/node_modules/graphql-http ] || [ ! -d web-tests/node_modules/oidc-provider ] || [ ! -d web-tests/node_modules/axe-core ]; then
    echo "[test] installing web-tests/ (npm ci)" >&2
    npm ci --prefix web-tests --no-audit --no-fund >/dev/null
fi

psql -h 127.0.0.1 -U postgres -d postgres -qAt \
    -c "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE);', datname) FROM pg_database WHERE datname LIKE 'ri\_test\_%'" \
    | psql -h 127.0.0.1 -U postgres -d postgres -q >/dev/null

suite=0
if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests; run them first so that nextest's summary closes the log.
    cargo test --workspace --doc --quiet
    cargo nextest run --workspace --no-fail-fast "$@" || suite=$?
else
    cargo test --workspace --no-fail-fast "$@" || suite=$?
fi

# The load test's smoke run (load-tests/README.md): a small population and about 30 s of the
# mixed workload against a service of its own; it fails on any failed request, never on
# timing. The whole test run has just built both debug binaries, so nothing is rebuilt; a run
# narrowed by arguments may not have, and skips it.
if [ "$suite" -eq 0 ] && [ $# -eq 0 ]; then
    LOAD_NO_BUILD=1 bash load-tests/run.sh smoke
fi
exit "$suite"
