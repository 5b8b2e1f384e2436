#!/usr/bin/env bash
# The main job on the embedded defaults, from a fresh clone:
#   installs what is missing (scripts/setup.sh), then exports the bundled sample corpus with the
#   built-in generator on a local Temporal dev server that it starts (and stops) for you.
#   bash scripts/demo.sh [extra corpus-qa run flags...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
# shellcheck source=/dev/null
source "${CORPUS_QA_CACHE:-${HOME:-/root}/.cache/corpus-qa}/env.sh"
export TEMPORAL_CLI_PATH
unset TEMPORAL_ADDRESS
node bin/corpus-qa.mjs run samples/corpus --out out/sample --generate-qa "$@"
echo
echo "First rows of out/sample/data/train.jsonl:"
head -n 3 out/sample/data/train.jsonl
