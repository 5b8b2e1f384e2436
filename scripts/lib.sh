# Shared by the setup scripts. Source it after setting SETUP_NAME (the log prefix) and LOGDIR.

log() { printf '[%s] %s\n' "$SETUP_NAME" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$SETUP_NAME" "$*" >&2; exit 1; }

# run_logged NAME CMD...: run CMD with its output in $LOGDIR/NAME.log; on
# failure show the log's tail and return CMD's status.
run_logged() {
  local name="$1"; shift
  local logf="$LOGDIR/$name.log"
  if "$@" >"$logf" 2>&1; then
    return 0
  else
    local rc=$?
    printf '[%s] `%s` failed (exit %d); last lines of %s:\n' "$SETUP_NAME" "$*" "$rc" "$logf" >&2
    tail -n 40 "$logf" | sed 's/^/    /' >&2
    return "$rc"
  fi
}
