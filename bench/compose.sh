#!/bin/bash
# Stacks of N busybox `sleep 3600` services (stop_signal SIGKILL, default
# network), as ../shared/peers/40-bench-compose.sh makes them. Per round:
#   up -d from nothing | up -d again (no-op) | compose ps | down
# wall time of each (date +%s.%N around the command), medians at the end;
# no-op up and ps again with hyperfine. Then `berth ps -a` and `compose ps`
# on PS_N (500) containers: one network_mode none service scaled with
# `compose create --scale` (created, not started: nothing runs, and List
# reads the same record and state files; see bench/README.md), and the same
# on PS_RUN (100) running ones.
#
# Usage: bench/compose.sh [SIZES] [ROUNDS]      (default "10 50", 5 rounds; root)
# Env:   BIN       directory of berth and berth-shim (default: ./bin, built by make build)
#        NO_BUILD  1: do not run make build
#        PEERS     1: also run docker compose v2 / docker-compose v1 / podman-compose
#                  when installed and their daemon answers (never installs or starts them)
#        PS_N, PS_RUN  container counts of the ps steps (0 skips)
#        BERTH_UP_FLAGS  extra flags for up (e.g. "--progress quiet")
#        BERTH_RUNTIME   the OCI runtime (runc; crun); NAME labels berth's rows
#                  (default berth, berth-crun with BERTH_RUNTIME=crun)
# Everything (state root, run root, containers, networks) is made under temp
# directories and removed at exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-10 50}
ROUNDS=${2:-5}
BIN=$(realpath "${BIN:-bin}")
PS_N=${PS_N:-500}
PS_RUN=${PS_RUN:-100}
NAME=${NAME:-berth$([ "${BERTH_RUNTIME:-runc}" = runc ] || echo "-$BERTH_RUNTIME")}
IMG=localhost/busybox:latest
[ "${NO_BUILD:-}" = 1 ] || make -s build >&2
WORK=$(mktemp -d /tmp/berth-cbench.XXXXXX)
RUNROOT=$(mktemp -d /run/bcb.XXXXXX) # short: runc and CNI put sockets under it
B=("$BIN/berth" --root "$WORK/root" --run-root "$RUNROOT")
export BERTH_DEFAULT_BRIDGE=bcb$$ # not the machine's berth0
export PATH=$BIN:$PATH
CSV=$WORK/compose.csv
LOG=${LOG:-/tmp/berth-compose-bench.log}
: >"$LOG"

cleanup() {
  set +e
  for f in "$WORK"/*.yml; do
    [ -e "$f" ] || continue
    p=$(basename "$f" .yml)
    "${B[@]}" compose -p "$p" -f "$f" down -t 0 --progress quiet >>"$LOG" 2>&1
  done
  ids=$("${B[@]}" ps -aq 2>/dev/null)
  [ -z "$ids" ] || "${B[@]}" rm -f $ids >>"$LOG" 2>&1
  # Stack networks go with down. No `network ls` here: it would create this
  # root's default network (berth0 rules that outlive the temp root).
  for p in $PEER_PROJECTS; do peer_clean "$p"; done
  "${B[@]}" system reset -f >>"$LOG" 2>&1 # bridges, rules, DNS, mounts
  umount -R "$RUNROOT" 2>/dev/null
  rm -rf "$WORK" "$RUNROOT"
}
PEER_PROJECTS=""
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$*" >&2; }

gen() { # N [scale] -> compose file with N services
  local n=$1 f=$WORK/bench$1.yml i
  { echo "services:"
    for i in $(seq 1 "$n"); do
      printf '  s%d:\n    image: %s\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n' "$i" "$IMG"
    done; } >"$f"
  echo "$f"
}

timed() { # command... -> seconds on stdout, output to the log
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$@" >>"$LOG" 2>&1 && rc=0 || rc=$?
  t1=$(date +%s.%N)
  [ $rc -eq 0 ] || log "  WARN: exit $rc: $*"
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}'
}

running() { "${B[@]}" ps -q --filter "label=io.berth.stack=$1" | wc -l; }

hf() { # name runs command... -> median seconds (hyperfine), or "" without it
  command -v hyperfine >/dev/null || return 0
  local name=$1 runs=$2; shift 2
  hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$WORK/hf-$name.json" "$*" >>"$LOG" 2>&1 || return 0
  python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$WORK/hf-$name.json"
}

echo "tool,n,round,phase,seconds,running_after" >"$CSV"

# berth: image, then the rounds.
scripts/busybox-image.sh | "${B[@]}" import - "$IMG" >>"$LOG"
for n in $SIZES; do
  f=$(gen "$n"); p=bench$n
  c=("${B[@]}" compose -p "$p" -f "$f")
  for r in $(seq 1 "$ROUNDS"); do
    s=$(timed "${c[@]}" up -d ${BERTH_UP_FLAGS:-}); echo "$NAME,$n,$r,up,$s,$(running "$p")" >>"$CSV"
    s=$(timed "${c[@]}" up -d ${BERTH_UP_FLAGS:-}); echo "$NAME,$n,$r,noop-up,$s,$(running "$p")" >>"$CSV"
    s=$(timed "${c[@]}" ps); echo "$NAME,$n,$r,ps,$s,$(running "$p")" >>"$CSV"
    s=$(timed "${c[@]}" down); echo "$NAME,$n,$r,down,$s,$(running "$p")" >>"$CSV"
    log "$NAME N=$n round $r: $(tail -4 "$CSV" | cut -d, -f4,5,6 | tr '\n' ' ')"
  done
  # hyperfine: the fast steps on a stack that is up
  "${c[@]}" up -d --progress quiet >>"$LOG" 2>&1
  echo "$NAME-hf,$n,1,noop-up,$(hf "noop$n" 20 "${c[*]} up -d --progress quiet"),$n" >>"$CSV"
  echo "$NAME-hf,$n,1,ps,$(hf "ps$n" 20 "${c[*]} ps"),$n" >>"$CSV"
  "${c[@]}" down -t 0 --progress quiet >>"$LOG" 2>&1
done

# ps on many containers: one service, network_mode none, scaled.
psbench() { # count start(0|1) label
  local n=$1 start=$2 label=$3 f=$WORK/many$1.yml p=many$1
  printf 'services:\n  s:\n    image: %s\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n    network_mode: none\n' "$IMG" >"$f"
  local verb=create
  [ "$start" = 1 ] && verb="up -d"
  s=$(timed "${B[@]}" compose -p "$p" -f "$f" $verb --scale "s=$n" --progress quiet)
  log "$label: $verb of $n containers took $s s"
  echo "$NAME,$n,1,$label-$verb,$s,$(running "$p")" >>"$CSV"
  echo "$NAME-hf,$n,1,$label-ps-a,$(hf "psa$label" 10 "${B[*]} ps -a"),$n" >>"$CSV"
  echo "$NAME-hf,$n,1,$label-compose-ps-a,$(hf "cpsa$label" 10 "${B[*]} compose -p $p -f $f ps -a"),$n" >>"$CSV"
  s=$(timed "${B[@]}" compose -p "$p" -f "$f" down -t 0 --progress quiet)
  echo "$NAME,$n,1,$label-down,$s,$(running "$p")" >>"$CSV"
}
[ "$PS_N" -gt 0 ] && psbench "$PS_N" 0 created
[ "$PS_RUN" -gt 0 ] && psbench "$PS_RUN" 1 running

# peers, only when asked and already running here.
peer_clean() { :; }
if [ "${PEERS:-}" = 1 ]; then
  PEERS_SH=${PEERS_SH:-/work/shared/peers/40-bench-compose.sh}
  tools=""
  if docker info >/dev/null 2>&1; then
    docker compose version >/dev/null 2>&1 && tools="$tools docker-compose-v2"
    command -v docker-compose >/dev/null && tools="$tools docker-compose-v1"
  fi
  command -v podman-compose >/dev/null && podman info >/dev/null 2>&1 && tools="$tools podman-compose"
  if [ -n "$tools" ] && [ -x "$PEERS_SH" ]; then
    OUT=$WORK/peers "$PEERS_SH" "$tools" "$SIZES" "$ROUNDS" | tail -n +2 |
      awk -F, '{print $1","$2",1,"$3","$4",-"}' >>"$CSV" || log "peers failed"
  else
    log "peers: none running here (docker/podman daemons are not started by this script)"
  fi
fi

# medians
echo "tool,n,phase,median_s,min_s,max_s,runs"
tail -n +2 "$CSV" | grep -v ',,' | sort -t, -k1,1 -k2,2n -k4,4 -k5,5n | awk -F, '
  { k=$1","$2","$4; v[k]=v[k]" "$5; c[k]++ }
  END { for (k in v) { n=split(substr(v[k],2),a," "); m=(n%2)?a[(n+1)/2]:(a[n/2]+a[n/2+1])/2;
        printf "%s,%.3f,%.3f,%.3f,%d\n", k, m, a[1], a[n], n } }' | sort
