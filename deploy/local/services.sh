#!/usr/bin/env bash
# Makes sure PostgreSQL and NATS (with JetStream) answer on this machine, installing and
# starting them when they do not. Used by the README's two commands and by CI.
set -euo pipefail

say() { printf '[services] %s\n' "$*" >&2; }

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
fi

if ! answers 4222; then
    say "starting NATS with JetStream"
    nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
    mkdir -p /var/lib/nats-server /var/log
    start-stop-daemon --start --oknodo --background --exec "$nats_bin" -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p 5432 && answers 4222; then
        # Trust auth for local connections is how this machine is set up; check we can log in.
        psql -h 127.0.0.1 -U postgres -d postgres -qAtc 'SELECT 1' >/dev/null
        exit 0
    fi
    sleep 1
done
say "PostgreSQL or NATS did not come up"
exit 1
