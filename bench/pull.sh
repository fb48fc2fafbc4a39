#!/bin/bash
# Pull benchmark: berth pull from a loopback registry into an empty store.
#   1. a one-layer image like ../shared/peers/20-images.sh's: busybox (if
#      /bin/busybox exists) + 30 MB urandom + 20 MB text, ~52 MB unpacked
#   2. a ~200 MB image of 4 layers (each 25 MB urandom + 25 MB text)
# served by bench/registry (go-containerregistry's registry, in memory, on
# 127.0.0.1 only). Reports hyperfine medians, unpack throughput in MB/s
# (uncompressed bytes / median) beside single-core gunzip of the same
# layers, and podman/docker pulls of the same images when they work here.
# Usage: bench/pull.sh [RUNS]   (default 10; env PORT, default 5055)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
PORT=${PORT:-5055}
REG=127.0.0.1:$PORT
W=$(mktemp -d /var/tmp/berth-bench-pull.XXXXXX)
cleanup() { [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

go build -o "$W/berth" ./cmd/berth
go build -o "$W/registry" ./bench/registry
"$W/registry" -addr "$REG" & RPID=$!
for _ in $(seq 50); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$W/one/data"
if [ -x /bin/busybox ]; then mkdir -p "$W/one/bin"; cp /bin/busybox "$W/one/bin/"; fi
head -c $((30*1024*1024)) /dev/urandom > "$W/one/data/random.bin"
seq 1 100000000 | head -c $((20*1024*1024)) > "$W/one/data/text.txt" || true
tar -C "$W/one" -cf "$W/one.tar" .
MANY=()
for i in 1 2 3 4; do
  d="$W/many$i/layer$i"; mkdir -p "$d"
  head -c $((25*1024*1024)) /dev/urandom > "$d/random.bin"
  seq $((i*100000000)) $((i*100000000+50000000)) | head -c $((25*1024*1024)) > "$d/text.txt" || true
  tar -C "$W/many$i" -cf "$W/many$i.tar" .
  MANY+=("$W/many$i.tar")
done
"$W/registry" -push "$REG/bench/one:v1" "$W/one.tar" | tail -1
"$W/registry" -push "$REG/bench/many:v1" "${MANY[@]}" | tail -1
rm -rf "$W"/one "$W"/many*; sync   # start every run with no dirty pages from the set-up

# Single-core gunzip of the same blobs, as the registry serves them.
gunzip_rate() { # image -> "MB/s uncompressedMB"
  local m digests bytes=0 t0 t1
  m=$(curl -fsS "http://$REG/v2/bench/$1/manifests/v1" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
  digests=$(echo "$m" | jq -r '.layers[].digest')
  for d in $digests; do curl -fsS "http://$REG/v2/bench/$1/blobs/$d" -o "$W/blob-${d#sha256:}"; done
  bytes=$(for d in $digests; do gzip -dc "$W/blob-${d#sha256:}" | wc -c; done | awk '{s+=$1} END {print s}')
  t0=$(date +%s.%N)
  for d in $digests; do gzip -dc "$W/blob-${d#sha256:}" > /dev/null; done
  t1=$(date +%s.%N)
  echo "$bytes $(echo "$t0 $t1" | awk '{print $2-$1}')"
}

export BERTH_REGISTRIES_CONFIG=$W/none.json DOCKER_CONFIG=$W/docker
mkdir -p "$W/docker" && echo '{}' >"$W/docker/config.json" # podman reads it too
for img in one many; do
  read -r BYTES GZ_S < <(gunzip_rate $img)
  CMDS=(-n "berth pull $img" --prepare "rm -rf $W/root; sync" "$W/berth --root $W/root pull -q $REG/bench/$img:v1")
  if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
    CMDS+=(-n "podman pull $img" --prepare "podman rmi -f $REG/bench/$img:v1 >/dev/null 2>&1; true" "podman pull -q --tls-verify=false $REG/bench/$img:v1")
  fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    CMDS+=(-n "docker pull $img" --prepare "docker rmi -f $REG/bench/$img:v1 >/dev/null 2>&1; true" "docker pull -q $REG/bench/$img:v1")
  fi
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 1 --runs "$RUNS" --style basic --export-json "$W/$img.json" "${CMDS[@]}" >/dev/null
    echo "== $img: $((BYTES/1000000)) MB unpacked; single-core gunzip $(awk -v b="$BYTES" -v s="$GZ_S" 'BEGIN{printf "%.0f MB/s (%.2f s)", b/1e6/s, s}')"
    jq -r --argjson b "$BYTES" '.results[] | [.command, (.median*1000|floor), ($b/1e6/.median|floor)] | @tsv' "$W/$img.json" |
      awk -F'\t' 'BEGIN{printf "%-20s %10s %12s\n", "command", "median_ms", "unpack_MB/s"} {printf "%-20s %10s %12s\n", $1, $2, $3}'
  else
    rm -rf "$W/root"; t0=$(date +%s.%N); "$W/berth" --root "$W/root" pull -q "$REG/bench/$img:v1" >/dev/null; t1=$(date +%s.%N)
    echo "== $img: berth pull $(echo "$t0 $t1" | awk '{print $2-$1}') s (install hyperfine for medians)"
  fi
done
