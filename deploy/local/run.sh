#!/usr/bin/env bash
# The README's first command: start what the service needs, then run it on 127.0.0.1:8080
# with the seed data loaded (tenants and the instruments of the SecurIT deliverable).
#
# Signing in on the web interface: the development sign-in is on (paste a token from
# `cargo run -p regional-invest -- token …`). With RI_LOCAL_OIDC=1 the OpenID provider of the
# browser tests (web-tests/lib/oidc-provider.mjs: any user name, any password) also runs on
# 127.0.0.1:9400 and the pages offer "Sign in with the local provider".
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/services.sh
export RI_DEV_SIGN_IN="${RI_DEV_SIGN_IN:-true}"
if [ "${RI_LOCAL_OIDC:-0}" = 1 ]; then
    [ -d web-tests/node_modules/oidc-provider ] || npm ci --prefix web-tests --no-audit --no-fund >/dev/null
    node web-tests/lib/oidc-provider.mjs --port 9400 --redirect http://127.0.0.1:8080/auth/callback \
        >/tmp/regional-invest-oidc-provider.log 2>&1 &
    trap 'kill $! 2>/dev/null || true' EXIT
    export RI_OIDC_ISSUER=http://127.0.0.1:9400
    export RI_OIDC_CLIENT_SECRET=regional-invest-development-client-secret
    export RI_OIDC_NAME="the local provider"
    cargo run --release -p regional-invest -- serve --seed "$@"
else
    exec cargo run --release -p regional-invest -- serve --seed "$@"
fi
