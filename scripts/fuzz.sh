#!/usr/bin/env bash
# Fuzzes core's parsers of untrusted input with cargo-fuzz (libFuzzer, nightly toolchain): the
# loopback callback, the deep-link parser, Microsoft's error body, the address/CSV importer and
# the tenant/GUID/URL validators (targets in fuzz/, bodies in crates/core/tests/fuzz_targets/).
#
#   scripts/fuzz.sh [SECONDS | --runs N] [TARGET...]
#
# SECONDS per target (default 60), or N executions per target. Without the nightly toolchain it
# runs the same targets as property tests on stable (crates/core/tests/fuzz_props.rs) instead.
# New corpus entries go to fuzz/corpus/TARGET, crashes to fuzz/artifacts/TARGET (both ignored by
# git); the seeds are fuzz/seeds/TARGET. A summary of executions and exec/s per target is printed
# and written to $CARGO_TARGET_DIR/fuzz-summary.txt.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

limit=(-max_total_time=60)
seconds=60
runs=""
case "${1:-}" in
  --runs) runs="${2:?--runs needs a number}"; limit=(-runs="$runs"); shift 2
    # FUZZ_MAX_SECONDS also caps the time of each target (the count reached is reported).
    [ -n "${FUZZ_MAX_SECONDS:-}" ] && limit+=(-max_total_time="$FUZZ_MAX_SECONDS") ;;
  ''|-*) ;;
  *) seconds="$1"; limit=(-max_total_time="$1"); shift ;;
esac
all=(loopback_callback deep_link microsoft_error addresses validators)
targets=("$@")
[ $# -eq 0 ] && targets=("${all[@]}")

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "no nightly toolchain: running the fuzz targets as property tests on stable instead"
  cases="${runs:-$((seconds * 200))}"
  PROPTEST_CASES="$cases" cargo test -p mailconn-core --locked --test fuzz_props
  exit
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: run scripts/setup.sh test" >&2
  exit 1
fi

summary="$CARGO_TARGET_DIR/fuzz-summary.txt"
mkdir -p "$CARGO_TARGET_DIR"
: >>"$summary"
log "building the fuzz targets (nightly, debug assertions on)"
cargo +nightly fuzz build -s none -a --target-dir "$CARGO_TARGET_DIR/fuzz" 2>&1 | grep -v '^\s*Compiling' >&2 || true
for t in "${targets[@]}"; do
  log "fuzzing $t (${limit[*]})"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  out="$CARGO_TARGET_DIR/fuzz-$t.log"
  status=0
  cargo +nightly fuzz run -s none -a --target-dir "$CARGO_TARGET_DIR/fuzz" "$t" \
    "fuzz/corpus/$t" "fuzz/seeds/$t" -- "${limit[@]}" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$out" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)"
  printf '%-18s executions %-10s exec/s %-8s %s\n' "$t" "${execs:-?}" "${rate:-?}" \
    "$([ $status -eq 0 ] && echo ok || echo "FAILED (see $out)")" | tee -a "$summary" >&2
  if [ $status -ne 0 ]; then
    grep -E 'panicked|SUMMARY|Test unit written|ERROR' "$out" | head -20 >&2
    exit $status
  fi
done
log "fuzzing passed; summary in $summary"
