#!/usr/bin/env bash
# The README's first command: start what the service needs, then run it on 127.0.0.1:8080
# with the seed data loaded (tenants and the instruments of the SecurIT deliverable).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/local/services.sh
exec cargo run --release -p regional-invest -- serve --seed "$@"
