#!/bin/bash
# Container start+exit: `berth run --rm --network none busybox true` against a raw
# `runc run` of a prepared bundle (and of berth's own bundle, and crun, podman,
# docker when installed), with
# hyperfine (apt-get install hyperfine jq). Prints medians and ratios to raw runc.
#
# Usage: bench/run.sh [RUNS]      (default 20 runs, 3 warm-ups; run as root)
# Env:   BERTH (default: berth in PATH; berth-shim must sit next to it or in PATH)
#        IMG   the peers' image when podman/docker are measured (localhost/busybox:local)
set -euo pipefail
RUNS=${1:-20}
BERTH=${BERTH:-$(command -v berth)}
IMG=${IMG:-localhost/busybox:local}
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
RUNROOT=$(mktemp -d /run/bb.XXXXXX)
export BERTH_DEFAULT_BRIDGE=brb$$ # not the machine's berth0
cleanup() {
  "$BERTH" --root "$WORK/root" --run-root "$RUNROOT" rm -f $("$BERTH" --root "$WORK/root" --run-root "$RUNROOT" ps -aq) >/dev/null 2>&1 || true
  for c in $(runc --root "$RUNROOT/raw" list -q 2>/dev/null); do runc --root "$RUNROOT/raw" delete -f "$c"; done
  for c in $(crun --root "$RUNROOT/crun" list -q 2>/dev/null); do crun --root "$RUNROOT/crun" delete -f "$c"; done
  "$BERTH" --root "$WORK/root" --run-root "$RUNROOT" system reset -f >/dev/null 2>&1
  rm -rf "$WORK" "$RUNROOT"
}
trap cleanup EXIT

# A busybox root filesystem, from Debian's busybox-static.
R=$WORK/rootfs
mkdir -p "$R"/{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
tar -C "$R" -cf "$WORK/busybox.tar" .

# berth: the same rootfs imported as an image.
B="$BERTH --root $WORK/root --run-root $RUNROOT"
$B import "$WORK/busybox.tar" busybox >/dev/null

# raw runc: a bundle from `runc spec` (own namespaces with only loopback), args `true`.
mkdir -p "$WORK/bundle"
cp -a "$R" "$WORK/bundle/rootfs"
(cd "$WORK/bundle" && runc spec)
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["process"]["args"] = ["true"]; s["process"]["terminal"] = False; s["root"]["readonly"] = True
json.dump(s, open(p, "w"))
PY

# raw runc of berth's own bundle: the spec berth generates (Docker's seccomp
# profile, masked paths, devices...) over a plain copy of the rootfs, which
# tells runc's share of berth's time from berth's own.
cid=$($B create --network none busybox true)
mkdir -p "$WORK/bbundle"
cp -a "$R" "$WORK/bbundle/rootfs"
python3 - "$WORK/root/containers/$cid/config.json" "$WORK/bbundle/config.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["root"] = {"path": "rootfs"}
s["linux"].pop("cgroupsPath", None)
json.dump(s, open(sys.argv[2], "w"))
PY

cmds=(-n "runc run" "runc --root $RUNROOT/raw run -b $WORK/bundle rb\$\$"
      -n "runc run, berth's bundle" "runc --root $RUNROOT/raw run -b $WORK/bbundle bb\$\$"
      -n "berth run --rm --network none" "$B run --rm --network none busybox true")
if command -v crun >/dev/null && crun --root "$RUNROOT/crun" run -b "$WORK/bundle" crtry >/dev/null 2>&1; then
  cmds+=(-n "crun run" "crun --root $RUNROOT/crun run -b $WORK/bundle cr\$\$")
  # berth with crun as its OCI runtime (BERTH_RUNTIME=crun / --runtime crun)
  cmds+=(-n "berth run --rm --network none --runtime crun" "$B run --rm --network none --runtime crun busybox true")
else
  echo "crun: not installed or refuses to run here (crun 1.8 needs a v1 hugetlb mount on a hybrid cgroup host: ../shared/peers/10-daemons.sh start makes it); skipped" >&2
fi
if command -v podman >/dev/null && podman image exists "$IMG" 2>/dev/null; then
  cmds+=(-n "podman run --rm --network none" "podman run --rm --pull never --network none $IMG true")
fi
if command -v docker >/dev/null && docker image inspect "$IMG" >/dev/null 2>&1; then
  cmds+=(-n "docker run --rm --network none" "docker run --rm --pull never --network none $IMG true")
fi
hyperfine --warmup 3 --runs "$RUNS" --style basic --export-json "$WORK/out.json" "${cmds[@]}" >&2
python3 - "$WORK/out.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
base = next(r["median"] for r in res if r["command"] == "runc run")
print(f"{'command':40} {'median_ms':>10} {'vs runc':>8}")
for r in res:
    print(f"{r['command']:40} {r['median']*1000:10.1f} {r['median']/base:7.2f}x")
PY

# hyperfine times each command in a block, so the VM's drift between blocks
# (±10% here) moves the ratios; the same pair taken in turn does not.
python3 - "$RUNS" "runc --root $RUNROOT/raw run -b $WORK/bundle" "$B run --rm --network none busybox true" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, raw, berth = int(sys.argv[1]), sys.argv[2], shlex.split(sys.argv[3])
t = {"raw": [], "berth": []}
for i in range(runs):
    for name in (("raw", "berth") if i % 2 == 0 else ("berth", "raw")):
        argv = shlex.split(raw) + [f"ri{i}"] if name == "raw" else berth
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        t[name].append((time.perf_counter() - start) * 1000)
r, b = statistics.median(t["raw"]), statistics.median(t["berth"])
print(f"in turn, {runs} pairs: runc run {r:.1f} ms, berth run --rm {b:.1f} ms: {b / r:.2f}x")
PY
