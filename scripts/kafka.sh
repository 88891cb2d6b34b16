#!/usr/bin/env bash
# A one-node Apache Kafka (KRaft: broker and controller in one JVM) for the
# test suite, assembled from Maven Central jars (see scripts/kafka/pom.xml and
# shared/notes/kafka-from-maven.md).
#   client listener     127.0.0.1:${METAVERSE_TEST_KAFKA_PORT:-59092}
#   controller listener 127.0.0.1:${METAVERSE_TEST_KAFKA_CONTROLLER_PORT:-59093}
#
#   scripts/kafka.sh start|stop|status
#
# Tests stop and start the broker to exercise recovery: the data dir is
# formatted once and kept, so a start after a stop is just a JVM start.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${METAVERSE_TEST_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${METAVERSE_TEST_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_DIR="$SERVICES_DIR/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_LIBS_STAMP="$KAFKA_LIBS/.pom-sha256"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j2.properties"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_CLUSTER_ID="$KAFKA_DIR/cluster.id"

START_TIMEOUT_S=90
STOP_TIMEOUT_S=20
JAVA=(java -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Djava.awt.headless=true
    -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError)

pom_hash() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }
libs_current() { [[ -f "$KAFKA_LIBS_STAMP" && "$(cat "$KAFKA_LIBS_STAMP")" == "$(pom_hash)" ]]; }

# is_kafka PID: the pid is a running kafka.Kafka JVM (guards against pid reuse).
is_kafka() {
    pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q ' kafka\.Kafka '
}

# broker_pid: our broker's pid from the pid file or, failing that (a broker
# started from another clone of the repo), the kafka.Kafka JVM on our port.
broker_pid() {
    local pid
    pid="$(read_pid "$KAFKA_PID")"
    is_kafka "$pid" || pid="$(port_owner "$KAFKA_PORT")"
    is_kafka "$pid" && echo "$pid" || true
}

# admin_ready: one real metadata round trip with confluent-kafka. Exit 3 means
# the client isn't installed (no venv yet); the open port then has to do.
admin_ready() {
    local rc=0
    "$(python_bin)" - "$KAFKA_BOOTSTRAP" >/dev/null 2>&1 <<'EOF' || rc=$?
import sys
try:
    from confluent_kafka.admin import AdminClient
except ImportError:
    sys.exit(3)
admin = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0})
sys.exit(0 if admin.list_topics(timeout=5).brokers else 1)
EOF
    ((rc == 0 || rc == 3))
}

do_status() {
    port_open "$KAFKA_PORT" && admin_ready
}

ensure_tools() {
    command -v java >/dev/null || apt_install default-jre-headless
    command -v mvn >/dev/null || apt_install maven
}

# Copy the broker's jars, only when missing or when the pom changed.
ensure_libs() {
    libs_current && return 0
    local tmp="$KAFKA_LIBS.tmp" log="$KAFKA_DIR/mvn.log"
    rm -rf "$tmp"
    if ! mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "mvn could not fetch the Kafka jars (log: $log)"
    fi
    pom_hash >"$tmp/.pom-sha256"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
}

write_config() {
    # Regenerated on every start (cheap), so port changes take effect.
    cat >"$KAFKA_PROPS" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
# One node: internal topics must not ask for more replicas than exist, or
# consumer groups and transactions never work.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.num.partitions=1
# First consumer-group join completes at once instead of after 3 s.
group.initial.rebalance.delay.ms=0
# The 128 MiB default makes a small heap die with OutOfMemoryError at start.
log.cleaner.dedupe.buffer.size=16777216
auto.create.topics.enable=true
num.partitions=3
EOF
    cat >"$KAFKA_LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
# Per-segment chatter on every topic deletion.
logger.segments.name = org.apache.kafka.storage.internals.log
logger.segments.level = WARN
EOF
}

# Format the data dir once; a formatted dir keeps its topics and offsets.
ensure_formatted() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    # 16 random bytes as URL-safe base64 without padding: 22 characters. Like Kafka's own
    # Uuid.randomUuid, never one that starts with "-": the format tool would read it as an
    # option (one id in 64 did, and formatting failed).
    while [[ ! -s "$KAFKA_CLUSTER_ID" || "$(head -c 1 "$KAFKA_CLUSTER_ID")" == "-" ]]; do
        head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$KAFKA_CLUSTER_ID"
    done
    local log="$KAFKA_DIR/format.log"
    if ! "${JAVA[@]}" -Xmx256m -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
        -t "$(cat "$KAFKA_CLUSTER_ID")" -c "$KAFKA_PROPS" --ignore-formatted >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "formatting $KAFKA_DATA failed (log: $log)"
    fi
}

launch() {
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    rm -f "$KAFKA_PID"
    # Its own session and process group, so the broker outlives this script and
    # a signal to the caller's group doesn't reach it. The inner shell writes
    # its own pid, which exec hands to java: the pid file is the JVM's pid.
    # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' launch "$KAFKA_PID" \
        "${JAVA[@]}" -Xms256m -Xmx512m -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
        >"$KAFKA_LOG" 2>&1 </dev/null &
}

fail_start() {
    tail -n 30 "$KAFKA_LOG" >&2 || true
    die "$* (log: $KAFKA_LOG)"
}

# Kafka opens the client listener only once it can serve; then one admin
# round trip proves it. Fail fast if the JVM exits.
wait_ready() {
    local pid deadline=$((SECONDS + START_TIMEOUT_S))
    until [[ -s "$KAFKA_PID" ]] || ((SECONDS >= deadline)); do sleep 0.05; done
    pid="$(read_pid "$KAFKA_PID")"
    until port_open "$KAFKA_PORT"; do
        if ! is_kafka "$pid"; then
            # Its port held a moment by someone's outgoing connection: try again (2).
            grep -q "Address already in use" "$KAFKA_LOG" 2>/dev/null && return 2
            fail_start "Kafka exited during start"
        fi
        ((SECONDS < deadline)) || fail_start "Kafka did not open $KAFKA_BOOTSTRAP in ${START_TIMEOUT_S}s"
        sleep 0.2
    done
    until admin_ready; do
        is_kafka "$pid" || fail_start "Kafka exited during start"
        ((SECONDS < deadline)) || fail_start "Kafka on $KAFKA_BOOTSTRAP does not answer metadata requests"
        sleep 0.5
    done
}

do_start() {
    if libs_current && do_status; then
        return 0
    fi
    mkdir -p "$KAFKA_DIR"
    # A pom change while a broker runs: stop it before swapping its jars.
    libs_current || do_stop
    local pid port owner
    pid="$(broker_pid)"
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        owner="$(port_owner "$port")"
        [[ -z "$owner" || "$owner" == "$pid" ]] ||
            die "port $port is taken by pid $owner ($(cat "/proc/$owner/comm" 2>/dev/null))"
    done
    # A broker of ours that is still starting: wait for it rather than start a second.
    if [[ -n "$pid" ]]; then
        echo "$pid" >"$KAFKA_PID"
        wait_ready
        return 0
    fi
    ensure_tools
    ensure_libs
    write_config
    ensure_formatted
    # Our ports lie in the kernel's range of ephemeral ports: under load, another program's
    # outgoing connection can hold one for a moment, and the broker fails to bind it.
    local attempt status
    for attempt in 1 2 3 4 5; do
        launch
        status=0
        wait_ready || status=$?
        ((status == 0)) && return 0
        warn "Kafka could not bind its port (attempt $attempt); starting it again"
        sleep 1
    done
    fail_start "Kafka could not bind its ports"
}

do_stop() {
    local pid
    pid="$(broker_pid)"
    [[ -n "$pid" ]] && stop_pid "$pid" "$STOP_TIMEOUT_S"
    rm -f "$KAFKA_PID"
}

dispatch "$@"
