#!/bin/bash
# Containers on a user network: the time to start N (default 50) detached
# containers one after the other with `berth run -d --network NET busybox
# sleep`, against the same with `--network none`; the difference per
# container is what a network attach costs a `run` (namespace, CNI bridge
# ADD, /etc/hosts and resolv.conf, DNS server kept informed). Then a
# published port (-p) for the port rules' extra cost, and the removal of
# the 2N containers (rm -f), whose difference is what detaching costs.
#
# Usage: bench/network.sh [N]       (run as root)
# Env:   BERTH (default: berth in PATH; berth-shim must sit next to it or in PATH)
#
# Peers (issue 5, measured on this kind of machine): a bridge network adds
# about 80 ms to `docker run` and 200 ms to `podman run` over --network none.
# Starting dockerd here would rewrite the host's iptables under the other
# users of the machine, so the peers are not run again by this script; see
# ../shared/peers/40-bench-compose.sh (docker-run-loop, podman-run-loop).
set -euo pipefail
N=${1:-50}
BERTH=${BERTH:-$(command -v berth)}
WORK=$(mktemp -d /tmp/berth-netbench.XXXXXX)
RUNROOT=$(mktemp -d /run/bn.XXXXXX)
NET=bench$$
export BERTH_DEFAULT_BRIDGE=bb$$
B="$BERTH --root $WORK/root --run-root $RUNROOT"
cleanup() {
  # shellcheck disable=SC2046
  $B rm -f $($B ps -aq) >/dev/null 2>&1 || true
  $B network rm "$NET" >/dev/null 2>&1 || true
  [ -f "$RUNROOT/dns/pid" ] && kill "$(cat "$RUNROOT/dns/pid")" 2>/dev/null || true
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
$B network create "$NET" >/dev/null

now() { date +%s%N; }
# The two series are interleaved (one of each in turn), so a load that
# changes during the run weighs on both alike.
none_ns=0 net_ns=0
for i in $(seq 1 "$N"); do
  t0=$(now)
  $B run -d --network none --name "none$i" busybox sleep 600 >/dev/null
  t1=$(now)
  $B run -d --network "$NET" --name "net$i" busybox sleep 600 >/dev/null
  t2=$(now)
  none_ns=$((none_ns + t1 - t0)) net_ns=$((net_ns + t2 - t1))
done
none_ms=$((none_ns / 1000000)) net_ms=$((net_ns / 1000000))
running=$($B ps -q | wc -l)
[ "$running" -eq $((2 * N)) ] || { echo "only $running of $((2 * N)) containers running" >&2; exit 1; }
# published ports: 10 containers, each with one port (portmap).
P=10
t0=$(now)
for i in $(seq 1 $P); do
  $B run -d --network "$NET" -p 80 --name "port$i" busybox sleep 600 >/dev/null
done
port_ms=$(( ($(now) - t0) / 1000000 ))

# detach: the same containers removed one by one (rm -f kills, detaches,
# removes the namespace; interleaved as above).
rmnone_ns=0 rmnet_ns=0
for i in $(seq 1 "$N"); do
  t0=$(now)
  $B rm -f "none$i" >/dev/null
  t1=$(now)
  $B rm -f "net$i" >/dev/null
  t2=$(now)
  rmnone_ns=$((rmnone_ns + t1 - t0)) rmnet_ns=$((rmnet_ns + t2 - t1))
done
rmnone_ms=$((rmnone_ns / 1000000)) rmnet_ms=$((rmnet_ns / 1000000))

echo "berth: $N containers, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-28s %6d ms total %6d ms each\n' "--network none" "$none_ms" $((none_ms / N))
printf '  %-28s %6d ms total %6d ms each\n' "--network $NET (user)" "$net_ms" $((net_ms / N))
printf '  %-28s %6d ms per container\n' "attach cost (user - none)" $(((net_ms - none_ms) / N))
printf '  %-28s %6d ms each\n' "user network + -p 80" $((port_ms / P))
printf '  %-28s %6d ms total %6d ms each\n' "rm -f, --network none" "$rmnone_ms" $((rmnone_ms / N))
printf '  %-28s %6d ms total %6d ms each\n' "rm -f, user network" "$rmnet_ms" $((rmnet_ms / N))
printf '  %-28s %6d ms per container\n' "detach cost (user - none)" $(((rmnet_ms - rmnone_ms) / N))
