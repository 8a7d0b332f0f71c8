#!/usr/bin/env bash
# Stop the private Dovecot instance started by up.sh in DIR (by the PID in DIR/run/master.pid).
# Waits until the master and all its children are gone. Deletes nothing (use --purge to remove DIR).
# usage: down.sh DIR [--purge]
set -euo pipefail
DIR="${1:?usage: down.sh DIR [--purge]}"
PIDF="$DIR/run/master.pid"
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }
if [ -f "$PIDF" ]; then
  PID="$(cat "$PIDF")"
  if kill -0 "$PID" 2>/dev/null; then
    KIDS="$(children "$PID")"
    kill -TERM "$PID"
    for i in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    # the master's children exit on their own once it is gone; make sure they did
    for k in $KIDS; do
      for i in $(seq 1 40); do kill -0 "$k" 2>/dev/null || break; sleep 0.05; done
      kill -0 "$k" 2>/dev/null && kill -KILL "$k" 2>/dev/null || true
    done
    echo "stopped pid=$PID"
  else
    echo "not running (stale pid $PID)"
  fi
else
  echo "no pid file at $PIDF"
fi
if [ "${2:-}" = "--purge" ]; then rm -rf "$DIR"; echo "removed $DIR"; fi
