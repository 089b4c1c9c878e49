#!/usr/bin/env bash
# Start the local services the test suite talks to, if they are not already answering:
# PostgreSQL (127.0.0.1:5432, database `test`), Redis (127.0.0.1:6379) and Mosquitto
# (127.0.0.1:1883). Idempotent: with everything up it only checks and prints one line.
# Waits at most SERVICES_WAIT seconds (default 30) for each; exits non-zero, saying which
# service failed and why, if one cannot be started.
#
#   bash scripts/services.sh
set -euo pipefail

wait_seconds="${SERVICES_WAIT:-30}"
pg_host=127.0.0.1
pg_port=5432
redis_host=127.0.0.1
redis_port=6379
mqtt_host=127.0.0.1
mqtt_port=1883
pg_database=test

fail() {
    echo "services.sh: error: $*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || fail "$1 not found; $2"
}

# wait_for CHECK...: run CHECK every half second until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + wait_seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}

postgres_ready() {
    pg_isready -q -h "$pg_host" -p "$pg_port" -t 2
}

redis_ready() {
    [[ "$(timeout 2 redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" == "PONG" ]]
}

mqtt_ready() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$mqtt_host/$mqtt_port" 2>/dev/null
}

start_postgres() {
    need pg_isready "install Debian's postgresql package"
    postgres_ready && return 0
    local status=0
    pg_isready -q -h "$pg_host" -p "$pg_port" -t 2 || status=$?
    # 1 = server is starting up (just wait); 2 = no response (start it).
    if ((status == 2)); then
        need pg_ctlcluster "install Debian's postgresql package"
        local version
        version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
        [[ -n "$version" ]] || fail "PostgreSQL: no cluster in /etc/postgresql"
        echo "services.sh: starting PostgreSQL $version"
        local output
        if ! output="$(pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1)"; then
            postgres_ready || fail "PostgreSQL could not be started: $output"
        fi
    fi
    wait_for postgres_ready ||
        fail "PostgreSQL is not accepting connections on $pg_host:$pg_port after ${wait_seconds}s" \
            "(log: /var/log/postgresql/)"
}

ensure_test_database() {
    command -v psql >/dev/null 2>&1 || return 0
    local exists
    exists="$(psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$pg_database'" 2>&1)" ||
        fail "PostgreSQL answers but user postgres cannot connect: $exists"
    if [[ "$exists" != "1" ]]; then
        echo "services.sh: creating PostgreSQL database $pg_database"
        psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -qc \
            "CREATE DATABASE \"$pg_database\"" >/dev/null ||
            fail "could not create PostgreSQL database $pg_database"
    fi
}

start_redis() {
    need redis-cli "install Debian's redis-server package"
    redis_ready && return 0
    need redis-server "install Debian's redis-server package"
    echo "services.sh: starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    local output
    if ! output="$(redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log 2>&1)"; then
        redis_ready || fail "Redis could not be started: $output"
    fi
    wait_for redis_ready ||
        fail "Redis does not answer PING on $redis_host:$redis_port after ${wait_seconds}s" \
            "(log: /var/log/redis/ci.log)"
}

start_mosquitto() {
    mqtt_ready && return 0
    need mosquitto "install Debian's mosquitto package"
    echo "services.sh: starting Mosquitto"
    # /run is emptied on reboot; mosquitto drops to its own user before writing these.
    mkdir -p /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
    if id mosquitto >/dev/null 2>&1; then
        chown mosquitto: /run/mosquitto /var/log/mosquitto /var/lib/mosquitto
    fi
    local output
    if ! output="$(mosquitto -d -c /etc/mosquitto/mosquitto.conf 2>&1)"; then
        mqtt_ready || fail "Mosquitto could not be started: $output"
    fi
    wait_for mqtt_ready ||
        fail "Mosquitto is not listening on $mqtt_host:$mqtt_port after ${wait_seconds}s" \
            "(log: /var/log/mosquitto/mosquitto.log)"
}

start_postgres
ensure_test_database
start_redis
start_mosquitto
echo "services.sh: PostgreSQL $pg_host:$pg_port, Redis $redis_host:$redis_port," \
    "Mosquitto $mqtt_host:$mqtt_port are up"
