#!/usr/bin/env bash
# Start a moto server (a local AWS API emulator; used for SQS) on 127.0.0.1:${MOTO_PORT:-5055}.
# Idempotent: installs moto[server] into the project venv when missing, starts the server in the
# background when nothing listens on the port yet (log: /tmp/moto_server.log), exits 0 once the
# port answers HTTP (waits up to 60 s).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${KOMBU_VENV:-$HERE/.venv}"
PORT="${MOTO_PORT:-5055}"
HOST=127.0.0.1
LOG=/tmp/moto_server.log

answers() {
    "$VENV/bin/python" - "$HOST" "$PORT" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f'http://{sys.argv[1]}:{sys.argv[2]}/moto-api/', timeout=2).read()
except Exception:
    sys.exit(1)
PY
}

if answers; then
    exit 0
fi
if [ ! -x "$VENV/bin/moto_server" ]; then
    "$VENV/bin/pip" install -q "moto[server]" boto3
fi
nohup "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" >"$LOG" 2>&1 &
for _ in $(seq 1 120); do
    if answers; then
        exit 0
    fi
    sleep 0.5
done
echo "moto server did not answer on $HOST:$PORT within 60 s (see $LOG)" >&2
exit 1
