#!/usr/bin/env bash
# berth's main job on a real example: bring the web example stack up with
# runc and CNI, show it answering on 127.0.0.1, show that a second `up`
# changes nothing and what an edit would change, then take it down again
# (KEEP=1 leaves it running). WEB_PORT picks the host port (default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
berth=$PWD/bin/berth
stack=examples/web/compose.yaml
export WEB_PORT=${WEB_PORT:-8080}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if ! "$berth" image inspect localhost/busybox:latest >/dev/null 2>&1; then
	step "import the example image (busybox-static, offline)"
	./scripts/busybox-image.sh | "$berth" import - localhost/busybox:latest
fi

step "berth up -d -f $stack"
"$berth" up -d -f "$stack"

step "berth compose ps"
"$berth" compose -f "$stack" ps

step "GET http://127.0.0.1:$WEB_PORT/"
reply=""
for _ in $(seq 1 50); do
	reply=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 2 busybox nc 127.0.0.1 "$WEB_PORT" 2>/dev/null || true)
	[ -n "$reply" ] && break
	sleep 0.1
done
if [ -z "$reply" ]; then
	echo "the web service did not answer on 127.0.0.1:$WEB_PORT" >&2
	"$berth" compose -f "$stack" logs >&2 || true
	"$berth" down -f "$stack" >/dev/null 2>&1 || true
	exit 1
fi
printf '%s\n' "$reply"

step "berth up -d again: nothing changed, nothing is touched"
"$berth" up -d -f "$stack"

step "berth plan with WEB_PORT=$((WEB_PORT + 1)): what an edit would change"
set +e
WEB_PORT=$((WEB_PORT + 1)) "$berth" plan -f "$stack"
code=$?
set -e
echo "(exit code $code: 2 = changes pending)"

if [ "${KEEP:-0}" = 1 ]; then
	step "left running; take it down with: $berth down -f $stack"
	exit 0
fi
step "berth down -f $stack"
"$berth" down -f "$stack"
