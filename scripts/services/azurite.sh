#!/usr/bin/env bash
# Azurite (Azure Storage emulator), queue service only, for kombu's
# azurestoragequeues transport tests.
#
# Idempotent: installs azurite from npm under $AZURITE_PREFIX (default
# /tmp/azurite) when missing, starts `azurite-queue` on
# $AZURITE_HOST:$AZURITE_QUEUE_PORT (default 127.0.0.1:10001) in the background
# when nothing listens there, and exits 0 once the port answers (<= 60 s).
# Logs: /tmp/azurite-queue.log, npm install log: /tmp/azurite-npm.log.
# Data: $AZURITE_DATA (default /tmp/azurite-data).
set -euo pipefail

PREFIX="${AZURITE_PREFIX:-/tmp/azurite}"
HOST="${AZURITE_HOST:-127.0.0.1}"
PORT="${AZURITE_QUEUE_PORT:-10001}"
DATA="${AZURITE_DATA:-/tmp/azurite-data}"
LOG=/tmp/azurite-queue.log
VERSION="${AZURITE_VERSION:-3.37.0}"

port_open() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

if port_open; then
    echo "azurite: queue service already listening on $HOST:$PORT"
    exit 0
fi

find_bin() {
    if [ -x "$PREFIX/bin/azurite-queue" ]; then
        echo "$PREFIX/bin/azurite-queue"
    elif command -v azurite-queue >/dev/null 2>&1; then
        command -v azurite-queue
    fi
}

BIN="$(find_bin)"
if [ -z "$BIN" ]; then
    command -v npm >/dev/null 2>&1 || { echo "azurite: npm not found" >&2; exit 1; }
    echo "azurite: installing azurite@$VERSION into $PREFIX (log: /tmp/azurite-npm.log)"
    mkdir -p "$PREFIX"
    if ! npm install -g --prefix "$PREFIX" --no-audit --no-fund "azurite@$VERSION" \
            >/tmp/azurite-npm.log 2>&1; then
        echo "azurite: npm install failed, see /tmp/azurite-npm.log" >&2
        exit 1
    fi
    BIN="$(find_bin)"
    [ -n "$BIN" ] || { echo "azurite: azurite-queue missing after install" >&2; exit 1; }
fi

mkdir -p "$DATA"
echo "azurite: starting $BIN on $HOST:$PORT (log: $LOG)"
nohup "$BIN" --queueHost "$HOST" --queuePort "$PORT" --location "$DATA" \
    --skipApiVersionCheck --loose --silent >>"$LOG" 2>&1 </dev/null &

for _ in $(seq 1 120); do
    if port_open; then
        echo "azurite: queue service listening on $HOST:$PORT"
        exit 0
    fi
    sleep 0.5
done
echo "azurite: queue service did not start on $HOST:$PORT within 60 s, see $LOG" >&2
exit 1
