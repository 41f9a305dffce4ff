#!/usr/bin/env bash
# Fuzzes every connector's verify + parse with libFuzzer for FUZZ_SECONDS each, and fails
# when one crashes, hangs or blows up its memory (the reproducer's path is printed).
#
#   FUZZ_SECONDS=15 bash Deploy/fuzz.sh            # the bounded run `make test` does
#   FUZZ_SECONDS=300 bash Deploy/fuzz.sh webhook   # longer, one connector
#
# Builds only the ConnectorFuzz product, with -sanitize=fuzzer,address, in its own scratch
# path (.build-fuzz), so the normal .build is never invalidated. The seed corpus and the
# dictionaries are in Tests/Fuzz; what the fuzzer learns goes to .build-fuzz/corpus, and
# crashes to .build-fuzz/artifacts.
set -uo pipefail
cd "$(dirname "$0")/.."

SWIFT="${SWIFT:-swift}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
SCRATCH="${FUZZ_SCRATCH:-.build-fuzz}"
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(telegram whatsapp webhook instagram messenger)

# The same flags on every call, or SwiftPM plans the build again (a minute on a busy machine).
build=("$SWIFT" build --scratch-path "$SCRATCH" -c debug --product ConnectorFuzz
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSWITCHBOARD_FUZZING)
build_started=$SECONDS
# gold warns once per ASan symbol it cannot export; nothing to act on.
"${build[@]}" 2>&1 | grep -v 'Cannot export local symbol'
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "fuzz: the fuzz build failed" >&2
    exit 1
fi
echo "fuzz: built in $((SECONDS - build_started)) s"
binary="$("${build[@]}" --show-bin-path)/ConnectorFuzz"

# The Swift runtime's backtracer would hold the crashing process for its report; libFuzzer
# must see the trap itself to save the input. Leak checks are off: the Swift runtime keeps
# caches (type metadata) that look like leaks.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}"

status=0
for target in "${TARGETS[@]}"; do
    corpus="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    # A reproducer stays until the next run of its connector.
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    log="$SCRATCH/fuzz-$target.log"
    echo "fuzz: $target for ${FUZZ_SECONDS} s (log: $log)"
    started=$SECONDS
    # New inputs go to the first folder (scratch); the seeds in git are only read.
    "$binary" "$target" \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -detect_leaks=0 -print_final_stats=1 \
        -dict="Tests/Fuzz/Dictionaries/$target.dict" \
        -artifact_prefix="$artifacts/" \
        "$corpus" "Tests/Fuzz/Corpus/$target" >"$log" 2>&1
    code=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    if [ "$code" -ne 0 ]; then
        status=1
        echo "fuzz: $target FAILED (exit $code) after $((SECONDS - started)) s; the end of its log:" >&2
        tail -n 40 "$log" >&2
        for artifact in "$artifacts"/*; do
            [ -f "$artifact" ] && echo "fuzz: reproducer: $artifact (replay: $binary $target $artifact," \
                "or swift run ConnectorFuzz $target $artifact)" >&2
        done
    else
        echo "fuzz: $target ok, ${runs:-?} inputs in $((SECONDS - started)) s"
    fi
done
exit "$status"
