#!/usr/bin/env bash
# corpus-qa S3 test server: SeaweedFS's `weed`, a real S3-compatible server
# (Apache-2.0) for test/s3.test.ts. Idempotent, quiet (build output goes to
# $CACHE/logs), fast when cached. Nothing else needs it: the S3 tests skip
# with a message naming this script when the binary is not there.
#
#   weed   built from the Go module github.com/seaweedfs/seaweedfs at a pinned
#          version. `go install module@version` refuses it (its go.mod has a
#          replace directive), so the module's source is copied out of the
#          module cache (read-only there), made writable and built with
#          `go build ./weed`. Installed as $CACHE/weed/weed with a stamp
#          ($CACHE/weed/.stamp) naming the version and the Go toolchain; the
#          build is skipped while the stamp matches. Several minutes on 2 cores.
#
# The tests start it on loopback ports in a temporary directory
# (test/helpers/s3Server.ts); nothing here starts it.
#
# Needs Go (the version the module's go.mod asks for, or a toolchain Go can
# download) and the Go module proxy.
# Env: CORPUS_QA_CACHE (default ~/.cache/corpus-qa), CORPUS_QA_WEED_REBUILD=1
# (ignore the stamp).
set -euo pipefail

CACHE="${CORPUS_QA_CACHE:-${HOME:-/root}/.cache/corpus-qa}"
LOGDIR="$CACHE/logs"
WEED_DIR="$CACHE/weed"
WEED="$WEED_DIR/weed"
STAMP="$WEED_DIR/.stamp"

# Pinned: the stamp check needs no network, and every machine builds the same.
SEAWEEDFS_MODULE="github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"

mkdir -p "$CACHE" "$LOGDIR"

SETUP_NAME=setup-s3
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.setup-s3.lock"
  flock 9
fi

command -v go >/dev/null 2>&1 || die "go not found: install Go to build weed"
GO_VERSION="$(go env GOVERSION)"
WANT_STAMP="$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION go=$GO_VERSION"

weed_ok() { [ -x "$WEED" ] && "$WEED" version >/dev/null 2>&1; }

if [ "${CORPUS_QA_WEED_REBUILD:-0}" != "1" ] && weed_ok \
   && [ "$(cat "$STAMP" 2>/dev/null || true)" = "$WANT_STAMP" ]; then
  log "weed: up to date ($WEED, $SEAWEEDFS_VERSION)"
  echo "WEED=$WEED"
  exit 0
fi

TMP=""
cleanup() { [ -z "$TMP" ] || { chmod -R u+w "$TMP" 2>/dev/null || true; rm -rf "$TMP"; }; }
trap cleanup EXIT
TMP="$(mktemp -d "$CACHE/.weed.XXXXXX")"

t0=$SECONDS
MODCACHE="$(go env GOMODCACHE)"
SRC="$MODCACHE/$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION"
if [ ! -d "$SRC" ]; then
  log "weed: downloading $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION (log: $LOGDIR/weed-download.log)"
  # Outside any module: `go mod download` takes module@version as it is.
  (cd "$TMP" && run_logged weed-download env GOFLAGS=-mod=mod go mod download "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION") \
    || die "go mod download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION failed"
  [ -d "$SRC" ] || die "the module is not in $SRC after go mod download"
fi
cp -r "$SRC" "$TMP/src"
chmod -R u+w "$TMP/src"
log "weed: building (several minutes on 2 cores; log: $LOGDIR/weed-build.log)"
(cd "$TMP/src" && run_logged weed-build go build -o "$TMP/weed" ./weed) || die "go build ./weed failed"
"$TMP/weed" version >"$LOGDIR/weed-version.log" 2>&1 \
  || die "the built weed does not run: $(tail -n 5 "$LOGDIR/weed-version.log")"

new="$WEED_DIR.new"
rm -rf "$new"
mkdir -p "$new"
mv "$TMP/weed" "$new/weed"
printf '%s\n' "$WANT_STAMP" >"$new/.stamp"
rm -rf "$WEED_DIR"
mv "$new" "$WEED_DIR"
log "weed: built $WEED ($((SECONDS - t0)) s)"
echo "WEED=$WEED"
