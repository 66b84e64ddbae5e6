#!/usr/bin/env bash
# Start a Pyro4 name server on 127.0.0.1:${PYRO_NS_PORT:-9090} and the Kombu broker
# (python -m kombu.transport.pyro) registered in it as "kombu.broker": the pyro:// transport's server.
# Idempotent: installs Pyro4 into the project venv when missing, starts whichever of the two is not
# answering (logs: /tmp/pyro_ns.log, /tmp/pyro_broker.log), exits 0 once the broker answers through
# the name server (waits up to 60 s).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${KOMBU_VENV:-$HERE/.venv}"
PY="$VENV/bin/python"
HOST=127.0.0.1
PORT="${PYRO_NS_PORT:-9090}"
NAME="${PYRO_BROKER_NAME:-kombu.broker}"

# check ns|broker: exit 0 when the name server (or the broker, through it) answers
check() {
    "$PY" - "$1" "$HOST" "$PORT" "$NAME" <<'PY'
import sys
import Pyro4
what, host, port, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
Pyro4.config.COMMTIMEOUT = 2
try:
    ns = Pyro4.locateNS(host, port)
    if what == 'broker':
        with Pyro4.Proxy(ns.lookup(name)) as broker:
            broker.get_queue_names()
except Exception:
    sys.exit(1)
PY
}

wait_for() {
    for _ in $(seq 1 120); do
        if check "$1"; then
            return 0
        fi
        sleep 0.5
    done
    echo "pyro $1 did not answer on $HOST:$PORT within 60 s (see $2)" >&2
    return 1
}

if ! "$PY" -c 'import Pyro4' 2>/dev/null; then
    "$VENV/bin/pip" install -q Pyro4
fi
if check broker; then
    exit 0
fi
if ! check ns; then
    nohup "$PY" -m Pyro4.naming -n "$HOST" -p "$PORT" >/tmp/pyro_ns.log 2>&1 &
    wait_for ns /tmp/pyro_ns.log
fi
cd "$HERE"
PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}" nohup "$PY" -m kombu.transport.pyro \
    --host "$HOST" --ns-port "$PORT" --name "$NAME" >/tmp/pyro_broker.log 2>&1 &
wait_for broker /tmp/pyro_broker.log
