#!/bin/bash
# develop.watch sync latency: the time from a file save on the host to the
# file being in the container, with `berth watch` running on a one-service
# stack (network_mode none) whose develop.watch syncs ./src to /app.
#
# Per round: write a new file (create), then overwrite an existing one
# (modify), then delete one; each timed from just before the write to the
# moment the container's live root filesystem (<run-root>/<id>/rootfs, the
# overlay mount its processes see) shows the change, polled every ms with
# bash builtins only.
# Medians, minimum and maximum at the end. The watcher's debounce (100 ms:
# editors save in several steps) is part of every figure.
#
# Usage: bench/watch.sh [ROUNDS]      (default 15; run as root)
# Env:   BIN  directory of berth and berth-shim (default: built from this tree
#             into the temporary directory)
# Everything (state root, run root, the container) is under temporary
# directories and removed at exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-15}
WORK=$(mktemp -d /tmp/berth-wbench.XXXXXX)
RUNROOT=$(mktemp -d /run/bwb.XXXXXX) # short: sockets live under it
if [ -z "${BIN:-}" ]; then
  BIN=$WORK/bin
  go build -o "$BIN/berth" ./cmd/berth
  go build -o "$BIN/berth-shim" ./cmd/berth-shim
fi
BIN=$(realpath "$BIN")
B=("$BIN/berth" --root "$WORK/root" --run-root "$RUNROOT")
export BERTH_DEFAULT_BRIDGE=bwb$$ # not the machine's berth0
STACK=wbench$$
WATCH_PID=

cleanup() {
  set +e
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
  (cd "$WORK/stack" 2>/dev/null && "${B[@]}" down -v -t 0 -p "$STACK" --progress quiet >/dev/null 2>&1)
  "${B[@]}" system reset -f >/dev/null 2>&1 # bridges, rules, DNS
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/busybox-image.sh | "${B[@]}" import - localhost/busybox:latest >/dev/null
mkdir -p "$WORK/stack/src"
cd "$WORK/stack"
cat >compose.yaml <<EOF
name: $STACK
services:
  app:
    image: localhost/busybox:latest
    network_mode: none
    stop_signal: SIGKILL
    command: ["sleep", "3600"]
    develop:
      watch:
        - {path: ./src, action: sync, target: /app}
EOF
echo 0 >src/existing.txt
"${B[@]}" watch --progress quiet >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
for _ in $(seq 600); do
  grep -q 'develop.watch paths' "$WORK/watch.log" && break
  kill -0 "$WATCH_PID" 2>/dev/null || { cat "$WORK/watch.log" >&2; exit 1; }
  sleep 0.1
done
ID=$("${B[@]}" inspect -f '{{.Id}}' "$STACK-app-1")
ROOTFS=$RUNROOT/$ID/rootfs
[ -d "$ROOTFS/bin" ] || { echo "no live root filesystem at $ROOTFS" >&2; exit 1; }

# Everything in the timed loop is a bash builtin (no fork per poll):
# $EPOCHREALTIME for the clock, read for the file, read -t on a fifo that
# never has data to sleep a millisecond.
mkfifo "$WORK/tick"
exec 3<>"$WORK/tick"
now() { NOW=${EPOCHREALTIME/./}; NOW=${NOW:0:-3}; } # sets NOW, in ms
nap() { read -r -t 0.001 -u 3 _ || true; }
# until_ok CMD...: poll every millisecond, at most 5 s.
until_ok() {
  now
  local end=$((NOW + 5000))
  until "$@"; do
    now
    [ "$NOW" -lt "$end" ] || { echo "timed out: $*" >&2; cat "$WORK/watch.log" >&2; exit 1; }
    nap
  done
}
has() { local v; [ -f "$1" ] && read -r v <"$1" 2>/dev/null && [ "$v" = "$2" ]; }
gone() { [ ! -e "$1" ]; }

: >"$WORK/times"
for i in $(seq "$ROUNDS"); do
  now; t0=$NOW; echo "new $i" >"src/new$i.txt"
  until_ok has "$ROOTFS/app/new$i.txt" "new $i"
  now; echo "create $((NOW - t0))" >>"$WORK/times"
  sleep 0.3
  now; t0=$NOW; echo "$i" >src/existing.txt
  until_ok has "$ROOTFS/app/existing.txt" "$i"
  now; echo "modify $((NOW - t0))" >>"$WORK/times"
  sleep 0.3
  now; t0=$NOW; rm "src/new$i.txt"
  until_ok gone "$ROOTFS/app/new$i.txt"
  now; echo "delete $((NOW - t0))" >>"$WORK/times"
  sleep 0.3
done

echo "develop.watch sync, file save -> in the container, $ROUNDS rounds (ms):"
printf '%-8s %8s %8s %8s\n' step median min max
for step in create modify delete; do
  grep "^$step " "$WORK/times" | cut -d' ' -f2 | sort -n | awk -v s="$step" '
    { v[NR] = $1 } END { printf "%-8s %8d %8d %8d\n", s, v[int((NR + 1) / 2)], v[1], v[NR] }'
done
