#!/bin/bash
# GitOps push-to-answer latency: the time from `git push` to the changed
# service answering with its new configuration, under `berth gitops
# --webhook` following a file:// repository.
#
# The repository holds one stack (network_mode none) whose service writes
# its environment value V into a bind-mounted host file when it starts.
# Per round: change V in the working clone and commit (untimed), then, timed
# from just before `git push`: push to the bare repository, send a signed
# GitHub-style push webhook (X-Hub-Signature-256, HMAC-SHA256 computed with
# openssl) with curl to 127.0.0.1, and poll (bash builtins only, every ms,
# at most 20 s) until the file holds the new value, i.e. the recreated
# container runs with it. --interval is 1h, so only the webhook triggers.
# Medians, minimum and maximum at the end, split into push, webhook (curl
# until its 202) and the rest (fetch, checkout, plan, recreate, start).
#
# Usage: bench/gitops.sh [ROUNDS]     (default 5; run as root)
# Env:   BIN  directory of berth and berth-shim (default: built from this tree
#             into the temporary directory)
# Network: only 127.0.0.1 (the webhook; the repository is file://).
# Everything (state root, run root, repositories, the container, berth
# gitops) is under temporary directories or stopped and removed at exit,
# also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
WORK=$(mktemp -d /tmp/berth-gbench.XXXXXX)
RUNROOT=$(mktemp -d /run/bgb.XXXXXX) # short: sockets live under it
if [ -z "${BIN:-}" ]; then
  BIN=$WORK/bin
  go build -o "$BIN/berth" ./cmd/berth
  go build -o "$BIN/berth-shim" ./cmd/berth-shim
fi
BIN=$(realpath "$BIN")
B=("$BIN/berth" --root "$WORK/root" --run-root "$RUNROOT")
export BERTH_DEFAULT_BRIDGE=bgb$$ # not the machine's berth0
STACK=gbench$$
GITOPS_PID=
G=(git -c user.name=bench -c user.email=bench@localhost -c init.defaultBranch=main)

cleanup() {
  set +e
  if [ -n "$GITOPS_PID" ]; then
    kill "$GITOPS_PID" 2>/dev/null
    # TERM lets the sync under way finish; a second signal abandons it.
    for _ in $(seq 100); do kill -0 "$GITOPS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$GITOPS_PID" 2>/dev/null && kill "$GITOPS_PID" 2>/dev/null
    wait "$GITOPS_PID" 2>/dev/null
  fi
  "${B[@]}" down -v -t 0 -p "$STACK" --progress quiet >/dev/null 2>&1
  for id in $("${B[@]}" ps -aq 2>/dev/null); do "${B[@]}" rm -f "$id" >/dev/null 2>&1; done
  "${B[@]}" system reset -f >/dev/null 2>&1 # bridges, rules, DNS
  # Nothing should be mounted any more; if anything is, take it down.
  awk -v w="$WORK" -v r="$RUNROOT" 'index($2, w) == 1 || index($2, r) == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT
# INT and TERM exit (running the EXIT trap once); a trap on them alone
# would run the cleanup and carry on with the next command.
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/busybox-image.sh | "${B[@]}" import - localhost/busybox:latest >/dev/null

# The repository: a bare one (the remote) and a working clone.
"${G[@]}" init -q --bare "$WORK/remote.git"
"${G[@]}" clone -q "file://$WORK/remote.git" "$WORK/clone" 2>/dev/null
mkdir -p "$WORK/out" "$WORK/clone/stacks/app"
stack_file() {
  cat >"$WORK/clone/stacks/app/compose.yaml" <<EOF
name: $STACK
services:
  app:
    image: localhost/busybox:latest
    network_mode: none
    stop_signal: SIGKILL
    environment: {V: "$1"}
    volumes: ["$WORK/out:/out"]
    command: ["sh", "-c", "echo \$\$V >/out/v; exec sleep 3600"]
EOF
  "${G[@]}" -C "$WORK/clone" add -A
  "${G[@]}" -C "$WORK/clone" commit -q -m "V=$1"
}
stack_file 0
"${G[@]}" -C "$WORK/clone" push -q origin HEAD:main

SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$SECRET" >"$WORK/secret"
chmod 600 "$WORK/secret"
"${B[@]}" gitops --repo "file://$WORK/remote.git" --ref main --interval 1h \
  --webhook 127.0.0.1:0 --webhook-secret-file "$WORK/secret" >"$WORK/gitops.log" 2>&1 &
GITOPS_PID=$!

# Everything in the timed loop except push and curl is a bash builtin:
# $EPOCHREALTIME for the clock, read for the file, read -t on a fifo that
# never has data to sleep a millisecond.
mkfifo "$WORK/tick"
exec 3<>"$WORK/tick"
now() { NOW=${EPOCHREALTIME/./}; NOW=${NOW:0:-3}; } # sets NOW, in ms
nap() { read -r -t 0.001 -u 3 _ || true; }
has() { local v; [ -f "$1" ] && read -r v <"$1" 2>/dev/null && [ "$v" = "$2" ]; }
# until_ok SECONDS CMD...: poll every millisecond, at most SECONDS.
until_ok() {
  now
  local end=$((NOW + $1 * 1000))
  shift
  until "$@"; do
    now
    [ "$NOW" -lt "$end" ] || { echo "timed out: $*" >&2; cat "$WORK/gitops.log" >&2; exit 1; }
    kill -0 "$GITOPS_PID" 2>/dev/null || { echo "berth gitops exited" >&2; cat "$WORK/gitops.log" >&2; exit 1; }
    nap
  done
}
hooked() { grep -q 'Webhook listening on' "$WORK/gitops.log"; }

until_ok 20 hooked
URL=$(sed -n 's|.*Webhook listening on \(http://127\.0\.0\.1:[0-9]*/\).*|\1|p' "$WORK/gitops.log")
[ -n "$URL" ] || { echo "no webhook address in the log" >&2; cat "$WORK/gitops.log" >&2; exit 1; }
until_ok 20 has "$WORK/out/v" 0 # the first sync brought the stack up

BODY='{"ref":"refs/heads/main"}'
SIG=sha256=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
hook() {
  curl -sS -o /dev/null -w '%{http_code}' --noproxy '*' -X POST \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: $SIG" --data "$BODY" "$URL"
}

: >"$WORK/times"
for i in $(seq "$ROUNDS"); do
  stack_file "$i"
  sleep 0.5
  now; t0=$NOW
  "${G[@]}" -C "$WORK/clone" push -q origin HEAD:main
  now; t1=$NOW
  code=$(hook)
  now; t2=$NOW
  [ "$code" = 202 ] || { echo "webhook answered $code" >&2; cat "$WORK/gitops.log" >&2; exit 1; }
  until_ok 20 has "$WORK/out/v" "$i"
  now
  echo "total $((NOW - t0))" >>"$WORK/times"
  echo "push $((t1 - t0))" >>"$WORK/times"
  echo "webhook $((t2 - t1))" >>"$WORK/times"
  echo "sync $((NOW - t2))" >>"$WORK/times"
done

echo "berth gitops --webhook, git push -> service answers with the new value, $ROUNDS rounds (ms), load $(cut -d' ' -f1-3 /proc/loadavg):"
printf '%-8s %8s %8s %8s\n' step median min max
for step in total push webhook sync; do
  grep "^$step " "$WORK/times" | cut -d' ' -f2 | sort -n | awk -v s="$step" '
    { v[NR] = $1 } END { printf "%-8s %8d %8d %8d\n", s, v[int((NR + 1) / 2)], v[1], v[NR] }'
done
if [ -n "${VERBOSE:-}" ]; then cat "$WORK/gitops.log"; fi
