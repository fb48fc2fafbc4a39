#!/usr/bin/env bash
# berth's main job on a real example: load the web example stack from both of
# its front-ends, show they agree, and show the plan that `berth up` applies.
set -euo pipefail
cd "$(dirname "$0")/.."
berth=./bin/berth
ex=examples/web

echo "== berth config -f $ex/compose.yaml"
$berth config -f $ex/compose.yaml
echo
echo "== berth config -f $ex/stack.hcl --hash '*'  (same model from HCL)"
$berth config -f $ex/stack.hcl --hash '*'
echo
echo "== berth plan -f $ex/compose.yaml"
set +e
$berth plan -f $ex/compose.yaml
code=$?
set -e
echo "(exit code $code: 0 = nothing to do, 2 = changes pending)"
[ "$code" -eq 0 ] || [ "$code" -eq 2 ]
