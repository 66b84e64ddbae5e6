#!/usr/bin/env bash
# Start a private ZooKeeper server for kombu's zookeeper:// tests.
#
# Idempotent: installs Debian's ZooKeeper (zookeeperd) when missing, starts a
# standalone server on 127.0.0.1:$KOMBU_ZOOKEEPER_PORT (default 2181) with a
# generated zoo.cfg and its data under /tmp/kombu-zookeeper (not the system
# service), and exits 0 once the port answers.  When the port already
# answers it exits at once.  Logs: /tmp/kombu-zookeeper/zookeeper.log
set -u

PORT="${KOMBU_ZOOKEEPER_PORT:-2181}"
HOST=127.0.0.1
BASE="${KOMBU_ZOOKEEPER_DIR:-/tmp/kombu-zookeeper}"
WAIT="${KOMBU_SERVICE_WAIT:-60}"

port_open() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

zk_ok() {
    # "srvr" is on ZooKeeper's default four-letter-word whitelist.
    local reply
    reply=$( (exec 3<>"/dev/tcp/$HOST/$PORT" && printf srvr >&3 && timeout 2 cat <&3) 2>/dev/null)
    [[ "$reply" == *"Mode:"* ]]
}

if zk_ok; then
    exit 0
fi

if [ ! -r /usr/share/java/zookeeper.jar ] || ! command -v java >/dev/null 2>&1; then
    echo "zookeeper.sh: installing zookeeperd" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get -o DPkg::Lock::Timeout=180 install -y -q zookeeperd >/tmp/kombu-zookeeper-apt.log 2>&1; then
        apt-get -o DPkg::Lock::Timeout=180 update -q >>/tmp/kombu-zookeeper-apt.log 2>&1
        apt-get -o DPkg::Lock::Timeout=180 install -y -q zookeeperd >>/tmp/kombu-zookeeper-apt.log 2>&1 || {
            echo "zookeeper.sh: apt-get install zookeeperd failed," \
                 "see /tmp/kombu-zookeeper-apt.log" >&2
            exit 1
        }
    fi
fi

if port_open; then
    # give a server that is still starting a moment, then give up
    for _ in $(seq 1 25); do
        zk_ok && exit 0
        sleep 0.2
    done
    echo "zookeeper.sh: $HOST:$PORT is in use but does not answer as ZooKeeper" >&2
    exit 1
fi

mkdir -p "$BASE/data" "$BASE/conf"
cat >"$BASE/conf/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$BASE/data
clientPortAddress=$HOST
clientPort=$PORT
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,stat
EOF
cp -n /etc/zookeeper/conf/log4j.properties "$BASE/conf/" 2>/dev/null || true
CLASSPATH="$BASE/conf:/usr/share/java/zookeeper.jar"
if [ -r /usr/share/java/slf4j-simple.jar ]; then   # log to zookeeper.log
    CLASSPATH="$CLASSPATH:/usr/share/java/slf4j-simple.jar"
fi
nohup java -Xmx256m -cp "$CLASSPATH" \
    -Dzookeeper.log.dir="$BASE" \
    -Dzookeeper.root.logger=INFO,CONSOLE \
    -Dzookeeper.admin.enableServer=false \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$BASE/conf/zoo.cfg" \
    >"$BASE/zookeeper.log" 2>&1 </dev/null &
echo $! >"$BASE/zookeeper.pid"

for _ in $(seq 1 $((WAIT * 5))); do
    if zk_ok; then
        exit 0
    fi
    sleep 0.2
done
echo "zookeeper.sh: ZooKeeper did not answer on $HOST:$PORT within ${WAIT}s;" \
     "see $BASE/zookeeper.log" >&2
exit 1
