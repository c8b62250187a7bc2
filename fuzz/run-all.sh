#!/usr/bin/env bash
# Runs every fuzz target for a bounded time each; exits non-zero as soon as
# one finds a crash (libFuzzer leaves the input under fuzz/artifacts/).
#
#   fuzz/run-all.sh [SECONDS_PER_TARGET]   (default 30)
#
# Uses the stable toolchain without a sanitizer (`-s none`): Rust code here is
# safe, so AddressSanitizer adds little, and stable is what CI has. Set
# FUZZ_TOOLCHAIN=nightly to run with the default AddressSanitizer instead.
set -euo pipefail

seconds="${1:-30}"
cd "$(dirname "$0")"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
    fuzz=(cargo "+${FUZZ_TOOLCHAIN}" fuzz)
    sanitizer=()
else
    fuzz=(cargo fuzz)
    sanitizer=(-s none)
fi

targets=$("${fuzz[@]}" list)
for target in $targets; do
    echo "== fuzz ${target} for ${seconds}s"
    mkdir -p "corpus/${target}"
    seeds=()
    [[ -d "seeds/${target}" ]] && seeds=("seeds/${target}")
    # The corpus folder comes first: libFuzzer adds new inputs there and
    # only reads the committed seeds.
    # libFuzzer's progress lines go to a log; the console gets the final
    # stats, or the log's tail when the target fails.
    log="logs/${target}.log"
    mkdir -p logs
    if ! "${fuzz[@]}" run "${sanitizer[@]}" "${target}" "corpus/${target}" "${seeds[@]}" -- \
        -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"${log}" 2>&1; then
        tail -n 60 "${log}"
        echo "== fuzz ${target} FAILED (full log: fuzz/${log})"
        exit 1
    fi
    grep -E '^(Done|stat::)' "${log}" || true
done
echo "== all fuzz targets ran ${seconds}s without a crash"
