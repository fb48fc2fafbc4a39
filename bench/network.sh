#!/bin/bash
# Containers on a user network: the time to start N (default 50) detached
# containers one after the other with `run -d --network NET busybox sleep`,
# against the same with `--network none`; the difference per container is
# what a network attach costs a `run` (namespace, bridge ADD, /etc/hosts and
# resolv.conf, DNS server kept informed). Then a published port (-p) for the
# port rules' extra cost, and the removal of the 2N containers (rm -f), whose
# difference is what detaching costs.
#
# Usage: bench/network.sh [N]       (run as root)
# Env:   BERTH  (default: berth in PATH; berth-shim must sit next to it or in PATH)
#        PEERS  1: the same with docker and podman, when installed and their
#               daemon answers (../shared/peers/10-daemons.sh start), on the
#               peers' image IMG (localhost/busybox:local, 20-images.sh). Never
#               run it while other network tests run: dockerd rewrites iptables.
#
# Peers (issue 5, measured on this kind of machine): a bridge network adds
# about 80 ms to `docker run` and 200 ms to `podman run` over --network none.
set -euo pipefail
N=${1:-50}
BERTH=${BERTH:-$(command -v berth)}
IMG=${IMG:-localhost/busybox:local}
WORK=$(mktemp -d /tmp/berth-netbench.XXXXXX)
RUNROOT=$(mktemp -d /run/bn.XXXXXX)
NET=bench$$
export BERTH_DEFAULT_BRIDGE=bb$$
B="$BERTH --root $WORK/root --run-root $RUNROOT"
ENGINES=()
cleanup() {
  set +e
  for e in "${ENGINES[@]}"; do
    # shellcheck disable=SC2046
    $e rm -f $($e ps -aq --filter "label=berth-bench=$NET") >/dev/null 2>&1
    $e network rm "$NET" >/dev/null 2>&1
  done
  if $B system reset --help >/dev/null 2>&1; then
    $B system reset -f >/dev/null 2>&1
  else
    [ -f "$RUNROOT/dns/pid" ] && kill "$(cat "$RUNROOT/dns/pid")" 2>/dev/null
  fi
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

R=$WORK/rootfs
mkdir -p "$R"/{bin,etc,tmp}
cp /bin/busybox "$R/bin/"
for a in sh sleep true; do ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
tar -C "$R" -cf "$WORK/busybox.tar" .
$B import "$WORK/busybox.tar" busybox >/dev/null

now() { date +%s%N; }

# measure NAME IMAGE ENGINE...: the runs and removals, one result line block.
measure() {
  local name=$1 img=$2; shift 2
  local e="$*" i t0 t1 t2
  ENGINES+=("$e")
  $e network create --label "berth-bench=$NET" "$NET" >/dev/null
  # SIGKILL stops: a PID-1 sleep ignores SIGTERM, and podman's rm -f waits
  # out the stop timeout (10 s) before it kills.
  local run="$e run -d --label berth-bench=$NET --stop-signal SIGKILL"
  [ "$name" = berth ] || run="$run --pull never"
  # The two series are interleaved (one of each in turn), so a load that
  # changes during the run weighs on both alike.
  local none_ns=0 net_ns=0
  for i in $(seq 1 "$N"); do
    t0=$(now)
    $run --network none --name "${NET}none$i" "$img" sleep 600 >/dev/null
    t1=$(now)
    $run --network "$NET" --name "${NET}net$i" "$img" sleep 600 >/dev/null
    t2=$(now)
    none_ns=$((none_ns + t1 - t0)) net_ns=$((net_ns + t2 - t1))
  done
  local none_ms=$((none_ns / 1000000)) net_ms=$((net_ns / 1000000))
  local running
  running=$($e ps -q --filter "label=berth-bench=$NET" | wc -l)
  [ "$running" -eq $((2 * N)) ] || { echo "$name: only $running of $((2 * N)) containers running" >&2; exit 1; }
  # published ports: 10 containers, each with one port.
  local P=10 port_ms
  t0=$(now)
  for i in $(seq 1 $P); do
    $run --network "$NET" -p 80 --name "${NET}port$i" "$img" sleep 600 >/dev/null
  done
  port_ms=$((($(now) - t0) / 1000000))
  # detach: the same containers removed one by one (interleaved as above).
  local rmnone_ns=0 rmnet_ns=0
  for i in $(seq 1 "$N"); do
    t0=$(now)
    $e rm -f "${NET}none$i" >/dev/null
    t1=$(now)
    $e rm -f "${NET}net$i" >/dev/null
    t2=$(now)
    rmnone_ns=$((rmnone_ns + t1 - t0)) rmnet_ns=$((rmnet_ns + t2 - t1))
  done
  # shellcheck disable=SC2046
  $e rm -f $($e ps -aq --filter "label=berth-bench=$NET") >/dev/null
  $e network rm "$NET" >/dev/null
  local rmnone_ms=$((rmnone_ns / 1000000)) rmnet_ms=$((rmnet_ns / 1000000))
  echo "$name: $N containers, load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '  %-28s %6d ms total %6d ms each\n' "--network none" "$none_ms" $((none_ms / N))
  printf '  %-28s %6d ms total %6d ms each\n' "--network $NET (user)" "$net_ms" $((net_ms / N))
  printf '  %-28s %6d ms per container\n' "attach cost (user - none)" $(((net_ms - none_ms) / N))
  printf '  %-28s %6d ms each\n' "user network + -p 80" $((port_ms / P))
  printf '  %-28s %6d ms total %6d ms each\n' "rm -f, --network none" "$rmnone_ms" $((rmnone_ms / N))
  printf '  %-28s %6d ms total %6d ms each\n' "rm -f, user network" "$rmnet_ms" $((rmnet_ms / N))
  printf '  %-28s %6d ms per container\n' "detach cost (user - none)" $(((rmnet_ms - rmnone_ms) / N))
}

# ONLY=docker|podman measures that peer alone (berth is skipped too).
[ -n "${ONLY:-}" ] || measure berth busybox $B
if [ "${PEERS:-0}" = 1 ] && [ "${ONLY:-docker}" = docker ]; then
  if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1 && docker image inspect "$IMG" >/dev/null 2>&1; then
    measure docker "$IMG" docker
  else
    echo "docker: no daemon or no $IMG; skipped" >&2
  fi
fi
if [ "${PEERS:-0}" = 1 ] && [ "${ONLY:-podman}" = podman ]; then
  if command -v podman >/dev/null && podman image exists "$IMG" 2>/dev/null; then
    measure podman "$IMG" podman
  else
    echo "podman: not installed or no $IMG; skipped" >&2
  fi
fi
