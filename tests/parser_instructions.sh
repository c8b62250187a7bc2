#!/usr/bin/env bash
# Parser cost in instructions per run of each bench workload, counted by
# callgrind and held against a committed baseline. Instructions, unlike
# seconds, come out the same whatever else the machine is doing, so this
# can run in CI and catch a parser getting slower.
#
#   bash tests/parser_instructions.sh            check (non-zero on a regression)
#   bash tests/parser_instructions.sh --update   rewrite the baseline
#
# A case costing more than TOLERANCE_PCT (default 3) percent over its
# baseline fails; one 10 percent under it passes with a note to update the
# baseline, so that gains are kept. Per run = (count of N runs - count of
# one run) / (N - 1): the setup every process does cancels out. N is chosen
# per case so the difference is about 2 million instructions: the setup
# varies by a few hundred (hash seeds), which must stay far below 1%.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BASELINE="parsers/benches/instructions.baseline"
TOLERANCE_PCT="${TOLERANCE_PCT:-3}"
TARGET=2000000   # instructions the N runs of a case should add up to
update=""
[ "${1:-}" = "--update" ] && update=1

command -v valgrind >/dev/null || { echo "parser_instructions: valgrind is missing (tests/install-peers.sh installs it)" >&2; exit 1; }
bin="$(cargo bench -p periscope-parsers --bench instructions --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "instructions":
        print(m["executable"])')"
[ -x "$bin" ] || { echo "parser_instructions: could not build the instructions bench" >&2; exit 1; }

# count CASE RUNS: instructions of the whole process.
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    awk '/Collected :/ {print $NF}'
}

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for id in $("$bin" --list | cut -d' ' -f1); do
  one="$(count "$id" 1)"
  runs=21
  many="$(count "$id" "$runs")"
  [ -n "$one" ] && [ -n "$many" ] || { echo "parser_instructions: callgrind gave no count for $id" >&2; exit 1; }
  per=$(( (many - one) / (runs - 1) ))
  want=$(( per > 0 ? TARGET / per + 1 : 2001 ))
  if [ "$want" -gt "$runs" ]; then
    runs=$(( want < 2001 ? want : 2001 ))
    many="$(count "$id" "$runs")"
    [ -n "$many" ] || { echo "parser_instructions: callgrind gave no count for $id" >&2; exit 1; }
    per=$(( (many - one) / (runs - 1) ))
  fi
  echo "$id $per" >>"$results"
done

if [ -n "$update" ]; then
  { echo "# Instructions per run of each parser bench case (tests/parser_instructions.sh --update)."
    cat "$results"; } >"$BASELINE"
  cat "$BASELINE"
  exit 0
fi

python3 - "$BASELINE" "$results" "$TOLERANCE_PCT" <<'PY'
import sys
baseline_path, results_path, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
def read(path):
    out = {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            case, n = line.split()
            out[case] = int(n)
    return out
base, now = read(baseline_path), read(results_path)
failed = False
print(f"{'case':52} {'baseline':>10} {'now':>10} {'change':>8}")
for case, n in now.items():
    if case not in base:
        print(f"{case:52} {'-':>10} {n:>10}   NEW: add it with --update")
        failed = True
        continue
    change = (n - base[case]) / base[case] * 100
    verdict = ""
    if change > tolerance:
        verdict, failed = "  REGRESSION", True
    elif change < -10:
        verdict = "  faster: update the baseline"
    print(f"{case:52} {base[case]:>10} {n:>10} {change:>+7.1f}%{verdict}")
for case in base.keys() - now.keys():
    print(f"{case:52} gone from the benches: update the baseline")
    failed = True
sys.exit(1 if failed else 0)
PY
