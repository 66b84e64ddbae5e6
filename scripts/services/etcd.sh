#!/usr/bin/env bash
# Start a private etcd server (v2 API enabled) for kombu's etcd:// tests.
#
# Idempotent: installs Debian's etcd-server when missing, starts etcd with
# --enable-v2=true on http://127.0.0.1:$KOMBU_ETCD_PORT (default 2379; peer
# port $KOMBU_ETCD_PEER_PORT, default 2380) with its data under
# /tmp/kombu-etcd, and exits 0 once the v2 API answers.  When it already
# answers it exits at once.  Logs: /tmp/kombu-etcd/etcd.log
set -u

PORT="${KOMBU_ETCD_PORT:-2379}"
PEER_PORT="${KOMBU_ETCD_PEER_PORT:-2380}"
HOST=127.0.0.1
BASE="${KOMBU_ETCD_DIR:-/tmp/kombu-etcd}"
WAIT="${KOMBU_SERVICE_WAIT:-60}"

port_open() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

v2_ok() {
    # GET /v2/keys/ answers 200 only when the v2 API is enabled.
    local reply
    reply=$( (exec 3<>"/dev/tcp/$HOST/$PORT" &&
              printf 'GET /v2/keys/ HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" >&3 &&
              timeout 2 head -n1 <&3) 2>/dev/null)
    [[ "$reply" == *" 200 "* ]]
}

if v2_ok; then
    exit 0
fi

if ! command -v etcd >/dev/null 2>&1; then
    echo "etcd.sh: installing etcd-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get -o DPkg::Lock::Timeout=180 install -y -q etcd-server >/tmp/kombu-etcd-apt.log 2>&1; then
        apt-get -o DPkg::Lock::Timeout=180 update -q >>/tmp/kombu-etcd-apt.log 2>&1
        apt-get -o DPkg::Lock::Timeout=180 install -y -q etcd-server >>/tmp/kombu-etcd-apt.log 2>&1 || {
            echo "etcd.sh: apt-get install etcd-server failed, see /tmp/kombu-etcd-apt.log" >&2
            exit 1
        }
    fi
fi

if port_open "$PORT"; then
    for _ in $(seq 1 25); do      # a server still starting gets a moment
        v2_ok && exit 0
        sleep 0.2
    done
    echo "etcd.sh: $HOST:$PORT is in use but does not serve the etcd v2 API" \
         "(an etcd without --enable-v2=true?)" >&2
    exit 1
fi

mkdir -p "$BASE"
nohup etcd --name kombu-test \
    --data-dir "$BASE/data" \
    --enable-v2=true \
    --listen-client-urls "http://$HOST:$PORT" \
    --advertise-client-urls "http://$HOST:$PORT" \
    --listen-peer-urls "http://$HOST:$PEER_PORT" \
    --initial-advertise-peer-urls "http://$HOST:$PEER_PORT" \
    --initial-cluster "kombu-test=http://$HOST:$PEER_PORT" \
    >"$BASE/etcd.log" 2>&1 </dev/null &
echo $! >"$BASE/etcd.pid"

for _ in $(seq 1 $((WAIT * 5))); do
    if v2_ok; then
        exit 0
    fi
    sleep 0.2
done
echo "etcd.sh: etcd did not answer on $HOST:$PORT within ${WAIT}s; see $BASE/etcd.log" >&2
exit 1
