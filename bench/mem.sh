#!/bin/bash
# Memory of the per-container monitor: N (default 20) `sleep 3600` containers on
# the default network, RSS and PSS (from /proc/PID/smaps_rollup; PSS splits shared
# pages between the processes sharing them) of their monitors, summed and per
# container. berth-shim for berth; with PEERS=1 also conmon (podman) and
# containerd-shim-runc-v2 (docker) measured the same way, when those are
# installed and answer (../shared/peers/ installs and starts them).
# Then the same for N containers logging a line a second and N with a
# healthcheck every second (each probe starts a `berth-shim probe` helper that
# runs `runc exec`), measured after 30 and after 150 seconds.
#
# Usage: bench/mem.sh [N]        (run as root)
# Env:   BERTH (default: berth in PATH), IMG (peers' image, localhost/busybox:local)
set -euo pipefail
N=${1:-20}
BERTH=${BERTH:-$(command -v berth)}
SHIM=$(dirname "$(readlink -f "$BERTH")")/berth-shim
IMG=${IMG:-localhost/busybox:local}
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
RUNROOT=$(mktemp -d /run/bm.XXXXXX)
B="$BERTH --root $WORK/root --run-root $RUNROOT"
export BERTH_DEFAULT_BRIDGE=bm$$
cleanup() {
  $B rm -f $($B ps -aq) >/dev/null 2>&1 || true
  # the default network's bridge and rules, the DNS server, the roots
  $B system reset -f >/dev/null 2>&1 || true
  if [ "${PEERS:-0}" = 1 ]; then
    podman ps -aq --filter label=berth-bench=mem 2>/dev/null | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
    docker ps -aq --filter label=berth-bench=mem 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

pids_of() { # executable -> pids running it, of this run's berth only for berth-shim
  local d
  for d in /proc/[0-9]*; do
    [ "$(readlink "$d/exe" 2>/dev/null)" = "$1" ] || continue
    [ "$1" != "$SHIM" ] || tr '\0' ' ' <"$d/cmdline" | grep -q " $RUNROOT/" || continue
    echo "${d#/proc/}"
  done
}
measure() { # label executable [containers]
  # Summed over every process running the executable, divided by the
  # containers: a health probe's helper (`berth-shim probe`, alive for the
  # length of its probe) counts when it is caught running. n is the
  # processes.
  local pids n c
  pids=$(pids_of "$2")
  n=$(echo $pids | wc -w)
  c=${3:-$n}
  [ "$n" -gt 0 ] || { echo "$1: no $2 running" >&2; return; }
  for p in $pids; do cat "/proc/$p/smaps_rollup"; done | awk -v l="$1" -v n="$n" -v c="$c" '
    /^Rss:/ {r+=$2} /^Pss:/ {p+=$2} /^Private_Dirty:/ {d+=$2}
    END {printf "%-44s %3d  %7.2f  %7.2f  %7.2f\n", l, n, r/c/1024, p/c/1024, d/c/1024}'
}

"$(dirname "$0")/../scripts/busybox-image.sh" | $B import - busybox >/dev/null
printf '%-44s %3s  %7s  %7s  %7s\n' "monitor (MiB per container)" n RSS PSS private
for i in $(seq 1 "$N"); do $B run -d --name s$i busybox sleep 3600 >/dev/null; done
sleep 5
measure "berth-shim, sleep" "$SHIM"
$B rm -f $($B ps -aq) >/dev/null
for i in $(seq 1 "$N"); do $B run -d --network none --name l$i busybox sh -c 'while :; do echo line; sleep 1; done' >/dev/null; done
sleep 10
measure "berth-shim, a log line a second" "$SHIM"
$B rm -f $($B ps -aq) >/dev/null
for i in $(seq 1 "$N"); do $B run -d --network none --name h$i --health-cmd true --health-interval 1s busybox sleep 3600 >/dev/null; done
sleep 30
measure "berth-shim, healthcheck every second, 30 s" "$SHIM" "$N"
# Until session 7 the monitor's heap grew with each probe until its first
# collection (~50 s at one probe a second), and from then on cycled up to the
# collector's goal: measure again once that would have happened a few times.
sleep 120
measure "berth-shim, healthcheck every second, 150 s" "$SHIM" "$N"
$B rm -f $($B ps -aq) >/dev/null

if [ "${PEERS:-0}" = 1 ] && command -v podman >/dev/null && podman image exists "$IMG" 2>/dev/null; then
  for i in $(seq 1 "$N"); do podman run -d --pull never --label berth-bench=mem "$IMG" sleep 3600 >/dev/null; done
  sleep 5
  measure "podman: conmon, sleep" /usr/bin/conmon
  podman ps -aq --filter label=berth-bench=mem | xargs -r podman rm -f -t 0 >/dev/null
fi
if [ "${PEERS:-0}" = 1 ] && command -v docker >/dev/null && docker image inspect "$IMG" >/dev/null 2>&1; then
  for i in $(seq 1 "$N"); do docker run -d --pull never --label berth-bench=mem "$IMG" sleep 3600 >/dev/null; done
  sleep 5
  measure "docker: containerd-shim-runc-v2, sleep" /usr/bin/containerd-shim-runc-v2
  docker ps -aq --filter label=berth-bench=mem | xargs -r docker rm -f >/dev/null
fi
