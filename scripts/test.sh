#!/usr/bin/env bash
# The test command: bash scripts/test.sh [vitest args...]
#   - runs scripts/setup.sh (fast when everything is installed),
#   - sources $CACHE/env.sh (CORPUS_QA_PYTHON, TEMPORAL_CLI_PATH),
#   - runs vitest with the default + JSON reporters (test-output/vitest.json),
#   - prints `N passed, N failed, N skipped` as its last line
#     (scripts/summarize-tests.mjs).
# Exit code: vitest's (and 1 if vitest said 0 but no usable report was written).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="${CORPUS_QA_CACHE:-${HOME:-/root}/.cache/corpus-qa}"

if ! bash scripts/setup.sh; then
  echo "setup failed: no tests were run" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
# shellcheck source=/dev/null
source "$CACHE/env.sh"
export CORPUS_QA_CACHE CORPUS_QA_PYTHON TEMPORAL_CLI_PATH

REPORT="test-output/vitest.json"
mkdir -p test-output
rm -f "$REPORT"

set +e
npx --no-install vitest run --reporter=default --reporter=json --outputFile="$REPORT" "$@"
rc=$?
node scripts/summarize-tests.mjs "$REPORT" --exit-code "$rc"
src=$?
set -e

if [ "$rc" -eq 0 ] && [ "$src" -ne 0 ]; then
  rc=1
fi
exit "$rc"
