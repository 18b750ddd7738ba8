#!/usr/bin/env bash
# docs/tuning.md shows what circuit_sim prints: this reruns
# docs/tuning/make_figures.sh (text only, no plots) with the circuit_sim
# built here and fails if a committed output differs from today's, or if a
# line of a ```text block in docs/tuning.md is in none of them.
set -euo pipefail

runfiles="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-circuit}"
[[ -d "$runfiles/docs" ]] || runfiles="."
sim="$runfiles/tools/sim/circuit_sim"
[[ -x "$sim" ]] || sim="bazel-bin/tools/sim/circuit_sim"
out="$(mktemp -d "${TEST_TMPDIR:-/tmp}/tuning.XXXXXX")"

CIRCUIT_SIM="$(cd "$(dirname "$sim")" && pwd)/$(basename "$sim")" PLOTS=0 \
  bash "$runfiles/docs/tuning/make_figures.sh" "$out"

failures=0
for committed in "$runfiles"/docs/tuning/*.txt; do
  name="$(basename "$committed")"
  if ! diff -u "$committed" "$out/$name"; then
    echo "FAIL: docs/tuning/$name is not what circuit_sim prints today:" \
      "rerun docs/tuning/make_figures.sh" >&2
    failures=$((failures + 1))
  fi
done
count=$(ls "$out"/*.txt | wc -l)
[[ $count -ge 9 ]] || { echo "FAIL: only $count outputs, expected one an experiment (9)" >&2; failures=$((failures + 1)); }

/usr/bin/python3 - "$runfiles/docs/tuning.md" "$out" <<'PY' || failures=$((failures + 1))
import glob, os, re, sys
md, out = sys.argv[1], sys.argv[2]
outputs = "".join(open(f).read() for f in glob.glob(os.path.join(out, "*.txt")))
lines = set(outputs.splitlines())
blocks = re.findall(r"```text\n(.*?)```", open(md).read(), re.S)
quoted = [l for b in blocks for l in b.splitlines() if l.strip()]
missing = [l for l in quoted if l not in lines]
for l in missing:
    print("FAIL: docs/tuning.md quotes a line circuit_sim no longer prints: %r" % l)
print("tuning outputs: %d blocks, %d quoted lines checked, %d missing" % (
    len(blocks), len(quoted), len(missing)))
sys.exit(1 if missing or len(quoted) < 10 else 0)
PY
rm -rf "$out"
[[ $failures -eq 0 ]]
