#!/usr/bin/env bash
# The one test command (README and CI): peers, build, tests, lints, parser
# instruction counts, fuzz.
#
#   bash tests/run-all.sh
#
# Stages run in order; a failed build stops the run (nothing after it can
# work), any other failure is recorded and the remaining stages still run so
# one CI round reports everything. Exits non-zero if any stage failed and
# names the failed stages at the end.
#
# Env: FUZZ_SECONDS (default 20) per fuzz target; TEST_TIMEOUT (default 25m)
# caps `cargo test` so a hang cannot eat the CI budget.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
TEST_TIMEOUT="${TEST_TIMEOUT:-25m}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
TEST_LOG=""

failed=()
t_start=$(date +%s)

# stage NAME COMMAND...: runs COMMAND, prints a banner and its duration.
stage() {
  local name="$1"; shift
  local t0 rc
  t0=$(date +%s)
  echo
  echo "==> [$name] $*"
  "$@"
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "==> [$name] ok ($(( $(date +%s) - t0 ))s)"
  else
    echo "==> [$name] FAILED (exit $rc, $(( $(date +%s) - t0 ))s)"
    failed+=("$name")
  fi
  return $rc
}

# Prints what failed in the test stage (each failing test's output and the
# failure lists), so the end of a CI log names the broken tests even when
# the log is cut to its tail.
test_failures() {
  [ -s "$TEST_LOG" ] || return 0
  grep -q '^test result: FAILED' "$TEST_LOG" || return 0
  echo
  echo "==> failed tests (from $TEST_LOG):"
  awk '/^failures:$/ {on=1} on {print} /^test result: FAILED/ {on=0}' "$TEST_LOG" | tail -n 200
  [ -s "$TEST_LOG.rerun" ] && grep -E '^(FLAKY|FAILED again|rerun:)' "$TEST_LOG.rerun"
  return 0
}

summary() {
  test_failures
  echo
  if [ ${#failed[@]} -eq 0 ]; then
    echo "run-all: every stage ok in $(( $(date +%s) - t_start ))s"
  else
    echo "run-all: FAILED stages: ${failed[*]} ($(( $(date +%s) - t_start ))s)"
  fi
}

# A full build needs a few GiB; running out mid-link gives an LLVM I/O error
# that does not say why, so the run says it first.
disk_space() {
  local need_kib=$((4 * 1024 * 1024)) free_kib
  free_kib=$(df -Pk "$ROOT" | awk 'NR==2 {print $4}')
  if [ "${free_kib:-0}" -lt "$need_kib" ]; then
    echo "only $((free_kib / 1024)) MiB free on the disk holding $ROOT; the build needs 4 GiB" >&2
    return 1
  fi
  echo "$((free_kib / 1024 / 1024)) GiB free"
}

stage disk disk_space || { summary; exit 1; }
stage peers bash tests/install-peers.sh || { summary; exit 1; }
stage build cargo build --workspace --all-targets || { summary; exit 1; }
TEST_LOG="$ROOT/target/test-stage.log"
rm -f "$TEST_LOG.rerun"
# A test that fails is run once more alone (tests/rerun_failed.py): one that
# then passes is reported FLAKY by name and does not fail the stage; one that
# fails again, a doc-test, or a timeout of the whole run does.
run_tests() {
  local rc
  timeout --kill-after=30s "$TEST_TIMEOUT" cargo test --workspace --no-fail-fast 2>&1 | tee "$TEST_LOG"
  rc=$?
  [ $rc -eq 0 ] && return 0
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && { echo "cargo test timed out after $TEST_TIMEOUT"; return $rc; }
  python3 tests/rerun_failed.py "$ROOT" "$TEST_LOG" 2>&1 | tee -a "$TEST_LOG.rerun"
}
stage test run_tests
stage clippy cargo clippy --workspace --all-targets -- -D warnings
stage fmt cargo fmt --all -- --check
# Parser cost in callgrind instructions against the committed baseline.
stage instructions bash tests/parser_instructions.sh
# Never skip silently: a missing fuzz runner is a failed stage.
stage fuzz bash fuzz/run-all.sh "$FUZZ_SECONDS"

summary
[ ${#failed[@]} -eq 0 ]
