#!/usr/bin/env bash
# Runs the built test suite and, when it fails, repeats every recorded issue at the end of
# the output: CI keeps only the tail of a run, and a failure in the middle of 300 tests
# must still be readable there.
set -uo pipefail
log="${TEST_LOG:-.build/test-output.log}"
mkdir -p "$(dirname "$log")"
"${SWIFT:-swift}" test --skip-build --disable-xctest "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The dashboard's browser test leaves its screenshots here.
for shot in .build/screenshots/*.png; do
    [ -f "$shot" ] && echo "screenshot: $shot"
done
if [ "$status" -ne 0 ]; then
    echo
    echo "=== the failures of this run (full output in $log) ==="
    grep -n -A6 -E '✘|error:|Fatal error|Expectation failed|Signal' "$log" | grep -v '^--$' | tail -n 120
fi
exit "$status"
