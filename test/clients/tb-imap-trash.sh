#!/usr/bin/env bash
# One Thunderbird session in which a user deletes a message: start Thunderbird (real GUI under Xvfb) on
# an IMAP profile that tb-cycle.sh has already synced, click the first message of the INBOX message
# list, press the Delete key, wait until the server shows the message in Trash, quit with Ctrl+Q.
# The profile's delete model is "move to trash" (tb_profile.py: delete_model=1), so Thunderbird sends
# UID MOVE (or COPY + \Deleted) to Trash.
#
# usage: tb-imap-trash.sh WORKDIR       (the WORKDIR of tb-cycle.sh ... imap, after its first cycle)
#   WORKDIR/logs/trashN.log              Thunderbird stdout
#   WORKDIR/logs/trashN-imap.moz.moz_log IMAP MOZ_LOG, trashN-imap-commands.txt the commands sent
#   WORKDIR/shots/trashN.png             screenshot after the delete (also taken when it failed)
#   WORKDIR/shots/trashN-select.png      screenshot when the click did not select a message
# How it knows where it is (no sleeps guessed for the GUI):
#   ready    the window title starts with "Inbox" and Thunderbird has sent IDLE (INBOX sync done)
#   selected Thunderbird marks the clicked (unread) message read: "uid store U +Flags (\Seen)"
#   moved    the server's STATUS (python imaplib, imap-status.py) shows INBOX-1 and Trash+1
# env: MAIL_HOST IMAP_PORT MAIL_USER MAIL_PASS; TB_TIMEOUT (whole session, default 90 s);
#      TB_DISPLAY (use a running X display), TB_BIN; TB_CLICK_X/TB_CLICK_Y (window-relative point
#      inside the first message row; default 400,124 = first card of the default card view)
# prints: client=thunderbird action=delete inbox_before=N inbox_after=N trash_before=N trash_after=N
#         selected_uid=U moved_uid=U local_trash=N ... result=ok|FAIL
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
W="${1:?usage: tb-imap-trash.sh WORKDIR}"
W="$(cd "$W" && pwd)"
P="$W/profile"
MAIL_HOST="${MAIL_HOST:-127.0.0.1}"
case "$MAIL_HOST" in 127.*|localhost|::1) ;; *) echo "MAIL_HOST=$MAIL_HOST is not loopback" >&2; exit 2 ;; esac
TB_BIN="${TB_BIN:-/usr/lib/thunderbird/thunderbird}"
TB_TIMEOUT="${TB_TIMEOUT:-90}"
CX="${TB_CLICK_X:-400}"; CY="${TB_CLICK_Y:-124}"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "client=thunderbird action=delete error=\"$*\" result=FAIL"; exit 1; }
[ -x "$TB_BIN" ] || die "Thunderbird not found at $TB_BIN"
grep -q '"mail.server.server1.type", "imap"' "$P/user.js" 2>/dev/null || die "no IMAP profile at $P (run tb-cycle.sh first)"
command -v xdotool >/dev/null || die "xdotool not installed"
mkdir -p "$W"/{home,logs,shots,tmp}

N=$(( $(ls "$W/logs" | grep -c '^trash[0-9]*\.log$') + 1 ))
LOGF="$W/logs/trash$N.log"; ML="$W/logs/trash$N-imap.moz.moz_log"
LOCAL_TRASH="$P/ImapMail/$MAIL_HOST/Trash"
status() { python3 "$HERE/imap-status.py" INBOX Trash 2>/dev/null; }
sval() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
local_trash() { if [ -s "$LOCAL_TRASH" ]; then grep -c '^From ' "$LOCAL_TRASH" || true; else echo 0; fi; }
sent() { grep -a 'SendData: ' "$ML" 2>/dev/null | sed 's/.*SendData: //' | tr -d '\r'; }
elapsed() { echo $(( $(date +%s) - T0 )); }

s0=$(status); ib=$(sval "$s0" INBOX); tb=$(sval "$s0" Trash)
[ -n "$ib" ] && [ "$ib" -gt 0 ] || die "server INBOX not readable or empty before the test ($s0)"

# --- X display and Thunderbird (as tb-cycle.sh) -------------------------------------------------
XVFB_PID=""; TB_PID=""
cleanup() {
  if [ -n "$TB_PID" ] && kill -0 "$TB_PID" 2>/dev/null; then kill -KILL "$TB_PID" 2>/dev/null; fi
  if [ -n "$XVFB_PID" ]; then kill -TERM "$XVFB_PID" 2>/dev/null; wait "$XVFB_PID" 2>/dev/null; fi
}
trap cleanup EXIT
if [ -n "${TB_DISPLAY:-}" ]; then
  export DISPLAY="$TB_DISPLAY"
else
  rm -f "$W/.displayfd"
  Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp -nolisten unix_abstract 3>"$W/.displayfd" \
    > "$W/logs/trash$N-xvfb.log" 2>&1 &
  XVFB_PID=$!
  for _ in $(seq 1 50); do [ -s "$W/.displayfd" ] && break; sleep 0.1; done
  [ -s "$W/.displayfd" ] || die "Xvfb did not start"
  export DISPLAY=":$(head -1 "$W/.displayfd")"
fi
T0=$(date +%s)
HOME="$W/home" XDG_CACHE_HOME="$W/home/.cache" XDG_CONFIG_HOME="$W/home/.config" TMPDIR="$W/tmp" \
  MOZ_CRASHREPORTER_DISABLE=1 MOZ_DISABLE_AUTO_SAFE_MODE=1 \
  MOZ_LOG="IMAP:5,timestamp,sync" MOZ_LOG_FILE="$W/logs/trash$N-imap.moz" \
  "$TB_BIN" --profile "$P" --no-remote > "$LOGF" 2>&1 &
TB_PID=$!
log "trash $N: thunderbird pid=$TB_PID display=$DISPLAY; server before: $s0"

shoot() { import -window root "$1" 2>/dev/null || xwd -root -silent > "${1%.png}.xwd" 2>/dev/null; }
win=""; step=start; fail=""
# 1. ready: main window titled "Inbox - ..." and the INBOX sync finished (IDLE sent)
while :; do
  kill -0 "$TB_PID" 2>/dev/null || { fail="thunderbird-exited"; break; }
  [ "$(elapsed)" -lt "$TB_TIMEOUT" ] || { fail="timeout-waiting-for-inbox"; break; }
  if [ -z "$win" ]; then
    for c in $(xdotool search --onlyvisible --pid "$TB_PID" 2>/dev/null); do
      case "$(xdotool getwindowname "$c" 2>/dev/null)" in Inbox*) win=$c ;; esac
    done
  fi
  [ -n "$win" ] && grep -aq 'S-INBOX:SendData: [0-9]* IDLE' "$ML" 2>/dev/null && break
  sleep 0.3
done
[ -z "$fail" ] && { step=ready; sleep 1; }

# 2. select: click the first message row; Thunderbird marks it read (uid store U +Flags (\Seen))
sel_uid=""
if [ -z "$fail" ]; then
  for attempt in 1 2; do
    xdotool windowfocus --sync "$win" 2>/dev/null
    xdotool mousemove --window "$win" "$CX" "$CY" click 1
    for _ in $(seq 1 40); do
      sel_uid=$(sent | sed -n 's/^[0-9]* uid store \([0-9]*\) +Flags (\\Seen).*/\1/p' | head -1)
      [ -n "$sel_uid" ] && break 2
      sleep 0.25
    done
    shoot "$W/shots/trash$N-select.png"
    log "trash $N: click $attempt at $CX,$CY selected nothing visible (no \\Seen store); screenshot shots/trash$N-select.png"
  done
  [ -n "$sel_uid" ] && step=selected || fail="no-message-selected"
fi

# 3. delete: the Delete key, like a user; wait until the server shows the move
ia=""; ta=""; moved_uid=""
if [ -z "$fail" ]; then
  xdotool windowfocus --sync "$win" 2>/dev/null
  xdotool key --clearmodifiers Delete
  t_key=$(date +%s); t_srv=""
  while :; do
    s=$(status); ia=$(sval "$s" INBOX); ta=$(sval "$s" Trash)
    if [ -z "$t_srv" ] && [ "$ia" = $((ib - 1)) ] && [ "$ta" = $((tb + 1)) ]; then t_srv=$(date +%s); step=moved; fi
    # then give Thunderbird a moment to file its local copy in Trash (checked separately)
    if [ -n "$t_srv" ] && { [ "$(local_trash)" -ge 1 ] || [ $(( $(date +%s) - t_srv )) -ge 5 ]; }; then break; fi
    [ $(( $(date +%s) - t_key )) -lt 30 ] || { fail="server-did-not-show-the-move"; break; }
    [ "$(elapsed)" -lt "$TB_TIMEOUT" ] || { fail="timeout-after-delete"; break; }
    kill -0 "$TB_PID" 2>/dev/null || { fail="thunderbird-exited"; break; }
    sleep 0.3
  done
  sleep 1
  moved_uid=$(sent | sed -n 's/^[0-9]* uid move \([0-9,:]*\) "\{0,1\}Trash"\{0,1\}$/\1/Ip' | head -1)
  [ -n "$moved_uid" ] || moved_uid=$(sent | sed -n 's/^[0-9]* uid copy \([0-9,:]*\) "\{0,1\}Trash"\{0,1\}$/copy:\1/Ip' | head -1)
fi
shot="$W/shots/trash$N.png"; shoot "$shot"

# 4. quit like a user (Ctrl+Q), then TERM, then KILL (as tb-cycle.sh)
quit=none
if kill -0 "$TB_PID" 2>/dev/null; then
  quit=ctrl-q
  w2=$(xdotool search --onlyvisible --pid "$TB_PID" 2>/dev/null | tail -1)
  if [ -n "$w2" ]; then xdotool windowfocus --sync "$w2" 2>/dev/null; xdotool key --clearmodifiers ctrl+q; fi
  for _ in $(seq 1 40); do kill -0 "$TB_PID" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$TB_PID" 2>/dev/null; then quit=sigterm; kill -TERM "$TB_PID"; for _ in $(seq 1 40); do kill -0 "$TB_PID" 2>/dev/null || break; sleep 0.25; done; fi
  if kill -0 "$TB_PID" 2>/dev/null; then quit=sigkill; kill -KILL "$TB_PID"; fi
fi
wait "$TB_PID" 2>/dev/null
sent > "$W/logs/trash$N-imap-commands.txt"

s=$(status); ia=$(sval "$s" INBOX); ta=$(sval "$s" Trash)
res=ok
[ -z "$fail" ] || res=FAIL
[ "$ia" = $((ib - 1)) ] && [ "$ta" = $((tb + 1)) ] || res=FAIL
[ -n "$sel_uid" ] && [ "$moved_uid" = "$sel_uid" ] || res=FAIL
echo "client=thunderbird action=delete inbox_before=$ib inbox_after=$ia trash_before=$tb trash_after=$ta" \
  "selected_uid=${sel_uid:-none} moved_uid=${moved_uid:-none} local_trash=$(local_trash) step=$step fail=${fail:-none}" \
  "t_session=$(elapsed)s quit=$quit screenshot=$shot result=$res"
[ "$res" = ok ]
