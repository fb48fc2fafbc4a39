#!/bin/bash
# Build benchmark: a 10-instruction Dockerfile (FROM a local busybox image,
# ENV, WORKDIR, three COPYs, three RUNs, LABEL, CMD), built once, then
#   1. rebuilt unchanged: every step a cache hit (goal: under 100 ms);
#   2. rebuilt after changing late.txt, copied by the 8th instruction: that
#      COPY and the RUN after it run again.
# berth against `docker build` and `podman build` when their daemons answer
# (start them with ../shared/peers/10-daemons.sh start). Medians from
# hyperfine, and the ratios peer/berth.
# Usage: bench/build.sh [RUNS]   (default 20; needs root, runc, /bin/busybox)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
W=$(mktemp -d /var/tmp/berth-bench-build.XXXXXX)
B="$W/berth --root $W/root --run-root $W/run"
export BERTH_DEFAULT_BRIDGE=bbb$$ # RUN steps are on the default network
cleanup() {
  # the default network's bridge and rules, DNS, mounts of this root
  [ -x "$W/berth" ] && $B system reset -f >/dev/null 2>&1
  if [ -n "${DOCKER:-}" ]; then docker rmi -f localhost/bench-build:latest localhost/bench-base:build >/dev/null 2>&1 || true; fi
  if [ -n "${PODMAN:-}" ]; then podman rmi -f localhost/bench-build:latest localhost/bench-base:build >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }

go build -o "$W/berth" ./cmd/berth

# The base: busybox with an applet link each, as ../shared/peers/20-images.sh.
mkdir -p "$W/base/rootfs/bin" "$W/base/rootfs/etc" "$W/base/rootfs/tmp"
cp /bin/busybox "$W/base/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$W/base/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$W/base/rootfs/etc/passwd"
printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' > "$W/base/Dockerfile"
$B build -q -t localhost/bench-base:build "$W/base" >/dev/null
tar -C "$W/base/rootfs" -cf "$W/base.tar" .

C="$W/ctx"
mkdir -p "$C/src"
for i in $(seq 1 50); do seq 1 $((i*100)) > "$C/src/file$i.txt"; done
echo early > "$C/early.txt"
echo late > "$C/late.txt"
cat > "$C/Dockerfile" <<'DF'
FROM localhost/bench-base:build
ENV APP_HOME=/app
WORKDIR /app
COPY early.txt .
RUN echo built > /built
COPY src/ ./src/
RUN ls src | wc -l > count
LABEL org.example.bench=build
COPY late.txt .
RUN cat late.txt > late.out
CMD ["cat", "late.out"]
DF

$B build -q -t localhost/bench-build "$C" >/dev/null
CMDS=(-n "berth unchanged" "$B build -q -t localhost/bench-build $C")
CHANGED=(-n "berth late change" --prepare "date +%N > $C/late.txt" "$B build -q -t localhost/bench-build $C")

DOCKER= PODMAN=
if timeout 5 docker info >/dev/null 2>&1; then
  DOCKER=1
  docker import "$W/base.tar" localhost/bench-base:build >/dev/null
  # BuildKit needs the buildx plugin with current docker CLIs; without it
  # the daemon's legacy builder is what `docker build` is here.
  BK=0 DN="docker (legacy builder)"
  if docker buildx version >/dev/null 2>&1; then BK=1 DN=docker; fi
  env DOCKER_BUILDKIT=$BK docker build -q -t localhost/bench-build "$C" >/dev/null
  CMDS+=(-n "$DN unchanged" "env DOCKER_BUILDKIT=$BK docker build -q -t localhost/bench-build $C")
  CHANGED+=(-n "$DN late change" --prepare "date +%N > $C/late.txt" "env DOCKER_BUILDKIT=$BK docker build -q -t localhost/bench-build $C")
else
  echo "docker: no daemon answers; skipped (../shared/peers/10-daemons.sh start)" >&2
fi
if command -v podman >/dev/null && timeout 5 podman info >/dev/null 2>&1; then
  PODMAN=1
  podman import "$W/base.tar" localhost/bench-base:build >/dev/null
  podman build -q -t localhost/bench-build "$C" >/dev/null
  CMDS+=(-n "podman unchanged" "podman build -q -t localhost/bench-build $C")
  CHANGED+=(-n "podman late change" --prepare "date +%N > $C/late.txt" "podman build -q -t localhost/bench-build $C")
else
  echo "podman: not installed or not working; skipped" >&2
fi

# For scale: the same binary doing nothing (process start and package init).
CMDS+=(-n "berth help (start-up only)" "$W/berth help")
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$W/unchanged.json" "${CMDS[@]}" >&2
hyperfine --warmup 1 --runs "$RUNS" --export-json "$W/changed.json" "${CHANGED[@]}" >&2

report() {
  python3 - "$1" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
base = res[0]["median"]
for r in res:
    print(f'{r["command"]:28s} median {r["median"]*1000:8.1f} ms   x{r["median"]/base:5.2f} of berth')
PY
}
echo "== unchanged rebuild (all cache hits)"; report "$W/unchanged.json"
echo "== rebuild after changing late.txt"; report "$W/changed.json"
