#!/usr/bin/env bash
# Real mail clients against a real tegami server process — the promise of the project, checked the
# way a user would see it: a "leave a copy on the server" client downloads new mail once, and never
# again, not even after the server restarts.
#
#   deliver 20 -> every client downloads 20
#   restart the server (same data directory)
#   cycle 2    -> every client downloads 0
#   deliver 5  -> every client downloads 5
#
# Scenarios (SCENARIOS="cli curl-tls chaos imaptest imaptest-stress tb-pop3 tb-imap tb-imap-trash tb-pop3-tls tb-imap-tls" by default):
#   cli      mpop (POP3, keep + UIDLs), fetchmail (POP3, keep + UIDLs), mbsync (IMAP), then poplib and
#            imaplib consistency checks, curl pop3:// and imap://, and "the server still has everything"
#   chaos    mpop keeps polling while the server runs with injected store failures, latency and forced
#            shedding: it sees only temporary codes, and afterwards holds every message exactly once
#   imaptest Dovecot's IMAP compliance tester (built by setup.sh) against a fresh server: every test
#            group passes (RFC 3501 and extensions, SORT/THREAD included)
#   imaptest-stress  imaptest's stress mode, 10 then 50 clients (IMAPTEST_STRESS_CLIENTS) for 30 s each
#            on a 300-message mbox: no Error: line
#   tb-pop3  Thunderbird (real GUI under Xvfb), POP3 with "leave messages on server"
#   tb-imap  Thunderbird, IMAP with offline bodies
#   tb-imap-trash  Thunderbird, IMAP: a user clicks a message and presses Delete -> it moves to Trash
#            on the server; after a server restart Thunderbird downloads nothing
#   curl-tls curl --ssl-reqd: SMTP, POP3 and IMAP with STARTTLS, pop3s:// and imaps://, trusting only
#            the server's generated certificate; TLS 1.1 refused
#   tb-pop3-tls / tb-imap-tls  Thunderbird with the generated certificate trusted in its profile:
#            a cycle over STARTTLS on the plain port, then one over SSL/TLS on the implicit-TLS port
# Uses the client harness in ../shared/clients (beside the repository). Logs: $TEGAMI_CLIENT_LOGS
# (default a temp dir), printed at the end. Prints CHECK lines and a final "N passed, M failed".
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/clients}"
[ -d "$HARNESS" ] || { echo "client harness not found at $HARNESS (expected ../shared/clients beside the repo)" >&2; exit 2; }
SCENARIOS="${SCENARIOS:-cli curl-tls chaos imaptest imaptest-stress tb-pop3 tb-imap tb-imap-trash tb-pop3-tls tb-imap-tls}"
LOGS="${TEGAMI_CLIENT_LOGS:-$(mktemp -d /tmp/tegami-clients.XXXXXX)}"
mkdir -p "$LOGS"
export MAIL_HOST=127.0.0.1 MAIL_USER=testuser MAIL_PASS=testpass
passed=0; failed=0
SERVER_PID=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
check() { # name expected got [logfile]
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "CHECK $1 expected=$2 got=$3 PASS"
  else
    failed=$((failed + 1)); echo "CHECK $1 expected=$2 got=$3 FAIL"
    [ -n "${4:-}" ] && [ -f "$4" ] && { echo "---- last lines of $4"; tail -n 25 "$4"; echo "----"; }
  fi
}
sum2() { [ -n "$1" ] && [ -n "$2" ] && echo $(( $1 + $2 )) || echo error; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

free_ports() { python3 -c 'import socket
ss=[socket.socket() for _ in range(6)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))'; }

start_server() { # data dir; ports stay the same across restarts (client profiles remember them)
  local data=$1 out="$LOGS/server.out"
  : > "$out"
  node "$ROOT/bin/tegami.js" serve --data "$data" --host 127.0.0.1 --pop3-port "$POP3_PORT" --imap-port "$IMAP_PORT" \
    --smtp-port "$SMTP_PORT" --lmtp-port "$LMTP_PORT" \
    --imaps-port "$IMAPS_PORT" --pop3s-port "$POP3S_PORT" --user "$MAIL_USER:$MAIL_PASS" --log-level info ${CHAOS:-} \
    > "$out" 2>> "$LOGS/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q '^ready ' "$out" && { log "server up: $(cat "$out")"; return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "server did not start"; tail -n 20 "$LOGS/server.log" >&2; return 1
}
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
}
trap stop_server EXIT

new_server() { # fresh data dir and ports for a scenario
  stop_server
  read -r POP3_PORT IMAP_PORT SMTP_PORT LMTP_PORT IMAPS_PORT POP3S_PORT <<< "$(free_ports)"
  export POP3_PORT IMAP_PORT SMTP_PORT
  DATA=$(mktemp -d "$LOGS/data.XXXX")
  start_server "$DATA"
}
restart_server() { log "restarting the server on the same data"; stop_server; start_server "$DATA"; }
deliver() { python3 "$HARNESS/deliver.py" --method smtp "$1" >> "$LOGS/deliver.log" 2>&1; }
on_server() { python3 "$HARNESS/pop3-check.py" 2>/dev/null | sed -n 's/^pop3_messages=\([0-9]*\).*/\1/p'; }

fetchmail_cycle() { # workdir → downloaded count (keep on server, UIDLs in an id file)
  local w=$1
  mkdir -p "$w"; touch "$w/mail"
  cat > "$w/fetchmailrc" <<EOF
set no syslog
poll $MAIL_HOST protocol pop3 port $POP3_PORT uidl
  user "$MAIL_USER" password "$MAIL_PASS" keep sslproto '' mda "/usr/bin/tee -a $w/mail"
EOF
  chmod 600 "$w/fetchmailrc"
  local before after
  before=$(grep -ci '^Message-ID:' "$w/mail")
  HOME="$w" fetchmail -f "$w/fetchmailrc" --idfile "$w/fetchids" --nodetach --nosyslog -t 30 >> "$w/fetchmail.log" 2>&1
  local rc=$?
  after=$(grep -ci '^Message-ID:' "$w/mail")
  # exit 1 = "no new mail", which is a success for cycle 2
  [ $rc = 0 ] || [ $rc = 1 ] || echo "fetchmail exit $rc" >> "$w/fetchmail.log"
  echo $((after - before))
}

cli_client_cycle() { # client cycle expected
  local c=$1 cyc=$2 exp=$3 out got
  case $c in
    mpop) out=$("$HARNESS/pop3-mpop.sh" "$LOGS/mpop" 2>> "$LOGS/mpop.err"); got=$(field "$out" downloaded) ;;
    mbsync) out=$("$HARNESS/imap-mbsync.sh" "$LOGS/mbsync" 2>> "$LOGS/mbsync.err"); got=$(field "$out" synced) ;;
    fetchmail) got=$(fetchmail_cycle "$LOGS/fetchmail") ;;
  esac
  check "$c.cycle$cyc" "$exp" "${got:-error}" "$LOGS/$c.err"
}

scenario_cli() {
  log "scenario cli: mpop, fetchmail, mbsync, poplib, imaplib, curl"
  new_server || { check cli.server-start ok fail; return; }
  local clients="mpop fetchmail mbsync"
  deliver 20
  for c in $clients; do cli_client_cycle "$c" 1 20; done
  restart_server
  for c in $clients; do cli_client_cycle "$c" 2 0; done
  deliver 5
  for c in $clients; do cli_client_cycle "$c" 3 5; done
  check cli.mpop.unique-messages 25 "$(grep -hi '^Message-ID:' "$LOGS/mpop/mbox" 2>/dev/null | sort -u | wc -l)"
  check cli.fetchmail.unique-messages 25 "$(grep -hi '^Message-ID:' "$LOGS/fetchmail/mail" 2>/dev/null | sort -u | wc -l)"
  check cli.mbsync.unique-messages 25 "$(grep -rhi '^Message-ID:' "$LOGS/mbsync/Maildir/INBOX" 2>/dev/null | sort -u | wc -l)"
  local out
  out=$(python3 "$HARNESS/pop3-check.py" --expect 25 2>&1); echo "$out" > "$LOGS/pop3-check.out"
  check cli.poplib-check ok "$(echo "$out" | sed -n 's/.*result=\([a-zA-Z]*\).*/\1/p')" "$LOGS/pop3-check.out"
  out=$(python3 "$HARNESS/imap-check.py" --expect 25 2>&1); echo "$out" > "$LOGS/imap-check.out"
  check cli.imaplib-check ok "$(echo "$out" | sed -n 's/.*result=\([a-zA-Z]*\).*/\1/p')" "$LOGS/imap-check.out"
  out=$(bash "$HARNESS/curl-smoke.sh" 25 2>&1); echo "$out" > "$LOGS/curl-smoke.out"
  check cli.curl-smoke ok "$(echo "$out" | sed -n 's/.*result=\([a-zA-Z]*\).*/\1/p' | tail -1)" "$LOGS/curl-smoke.out"
  check cli.server-still-has-all 25 "$(on_server)"
  scenario_mbsync_two_way
}

mbsync_two_way() { # workdir → "pulled pushed local_total" (mbsync -V counters: N = near/local side, F = far/server)
  local w=$1
  mkdir -p "$w/Maildir"
  cat > "$w/mbsyncrc" <<RC
IMAPAccount t
Host $MAIL_HOST
Port $IMAP_PORT
User $MAIL_USER
Pass "$MAIL_PASS"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account t

MaildirStore local
Path $w/Maildir/
Inbox $w/Maildir/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Near
Sync All
Expunge None
SyncState *
RC
  chmod 600 "$w/mbsyncrc"
  : > "$w/last.log"
  script -q -e -c "mbsync -V -c '$w/mbsyncrc' inbox" /dev/null < /dev/null 2>&1 | tr '\r' '\n' > "$w/last.log"
  cat "$w/last.log" >> "$w/mbsync.log"
  local summary; summary=$(grep -E '^C: .* N: \+' "$w/last.log" | tail -1)
  echo "$(echo "$summary" | sed -n 's/.* N: +\([0-9]*\).*/\1/p') $(echo "$summary" | sed -n 's/.* F: +\([0-9]*\).*/\1/p') $(find "$w/Maildir/INBOX" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)"
}

scenario_mbsync_two_way() { # on the cli server, after its 25 messages: push local mail up, then nothing moves
  local w="$LOGS/mbsync-two-way" r
  r=$(mbsync_two_way "$w"); check mbsync-two-way.first-pull 25 "$(echo "$r" | cut -d' ' -f1)" "$w/mbsync.log"
  mkdir -p "$w/Maildir/INBOX/new"
  for i in 1 2 3; do
    printf 'From: local@example.com\r\nSubject: written offline %s\r\nMessage-ID: <offline-%s@tegami.test>\r\n\r\nbody %s\r\n' "$i" "$i" "$i" \
      > "$w/Maildir/INBOX/new/$(date +%s).offline$i.localhost"
  done
  r=$(mbsync_two_way "$w"); check mbsync-two-way.pushed 3 "$(echo "$r" | cut -d' ' -f2)" "$w/mbsync.log"
  check mbsync-two-way.server-has-pushed 28 "$(on_server)"
  r=$(mbsync_two_way "$w"); check mbsync-two-way.second-run-moves-nothing "0 0 28" "$r" "$w/mbsync.log"
  restart_server
  r=$(mbsync_two_way "$w"); check mbsync-two-way.after-restart-moves-nothing "0 0 28" "$r" "$w/mbsync.log"
}

scenario_chaos() { # mpop keeps polling through a period of failing storage and forced shedding
  log "scenario chaos: mpop through store failures and shedding"
  new_server || { check chaos.server-start ok fail; return; }
  local w="$LOGS/chaos-mpop" out got refused=0
  deliver 20
  out=$("$HARNESS/pop3-mpop.sh" "$w" 2>> "$LOGS/chaos-mpop.err"); check chaos.before 20 "$(field "$out" downloaded)" "$LOGS/chaos-mpop.err"
  deliver 5
  for spec in read-fail=0.5 read-latency=300,read-fail=0.3 force-shed read-fail=0.5; do
    stop_server; CHAOS="--chaos $spec" start_server "$DATA"
    for _ in 1 2 3; do
      out=$("$HARNESS/pop3-mpop.sh" "$w" 2>> "$LOGS/chaos-mpop.err")
      [ "$(field "$out" rc)" = 0 ] || refused=$((refused + 1))
    done
  done
  log "mpop runs refused during chaos: $refused of 12"
  stop_server; start_server "$DATA"
  out=$("$HARNESS/pop3-mpop.sh" "$w" 2>> "$LOGS/chaos-mpop.err")
  got=$(grep -hi '^Message-ID:' "$w/mbox" 2>/dev/null | wc -l)
  check chaos.no-duplicates-after 25 "$got" "$LOGS/chaos-mpop.err"
  check chaos.unique-after 25 "$(grep -hi '^Message-ID:' "$w/mbox" 2>/dev/null | sort -u | wc -l)"
  check chaos.server-still-has-all 25 "$(on_server)"
  grep -q 'SYS/TEMP' "$LOGS/chaos-mpop.err" && check chaos.temporary-codes-seen yes yes || check chaos.temporary-codes-seen yes no "$LOGS/chaos-mpop.err"
}

imaptest_run() { # log, imaptest arguments…
  local log=$1; shift
  LD_LIBRARY_PATH=/usr/lib/dovecot timeout 300 imaptest host=127.0.0.1 port="$IMAP_PORT" user="$MAIL_USER" pass="$MAIL_PASS" "$@" > "$log" 2>&1
}

scenario_imaptest() { # the compliance groups: "N test groups: 0 failed"
  log "scenario imaptest: Dovecot's compliance tests"
  command -v imaptest > /dev/null || { check imaptest.installed yes no; return; }
  new_server || { check imaptest.server-start ok fail; return; }
  imaptest_run "$LOGS/imaptest.log" test="${IMAPTEST_TESTS:-/usr/local/share/imaptest/tests}"
  grep -E '^(base protocol|extensions):' "$LOGS/imaptest.log" | sed 's/^/  /' >&2
  check imaptest.failed-groups 0 "$(sed -n 's/^[0-9]* test groups: \([0-9]*\) failed.*/\1/p' "$LOGS/imaptest.log")" "$LOGS/imaptest.log"
}

scenario_imaptest_stress() { # many clients, random commands, every answer checked: no "Error:" line
  command -v imaptest > /dev/null || { check imaptest-stress.installed yes no; return; }
  local mbox="$LOGS/stress.mbox" n out
  (cd "$ROOT" && npx tsx -e "import { writeMbox } from './bench/fixtures/generate-mbox.ts'; writeMbox('$mbox', { messages: 300, profile: 'small' })")
  for n in ${IMAPTEST_STRESS_CLIENTS:-10 50}; do
    log "scenario imaptest-stress: $n clients for 30 s"
    new_server || { check "imaptest-stress.$n.server-start" ok fail; continue; }
    out="$LOGS/imaptest-stress-$n.log"
    imaptest_run "$out" mbox="$mbox" clients="$n" secs=30
    check "imaptest-stress.$n.completed" yes "$(grep -q '^Totals:' "$out" && echo yes || echo no)" "$out"
    check "imaptest-stress.$n.error-lines" 0 "$(grep -c 'Error:' "$out")" "$out"
  done
}

scenario_tb() { # pop3|imap
  local proto=$1 w="$LOGS/tb-$1" out
  log "scenario tb-$proto: Thunderbird under Xvfb"
  new_server || { check "tb-$proto.server-start" ok fail; return; }
  deliver 20
  for cyc in 1 2 3; do
    case $cyc in 2) restart_server ;; 3) deliver 5 ;; esac
    case $cyc in 1) exp=20 ;; 2) exp=0 ;; 3) exp=5 ;; esac
    out=$(TB_TIMEOUT="${TB_TIMEOUT:-120}" bash "$HARNESS/thunderbird/tb-cycle.sh" "$w" "$proto" 2>> "$LOGS/tb-$proto.err")
    echo "  $out" >&2
    check "tb-$proto.cycle$cyc.downloaded" "$exp" "$(field "$out" downloaded)" "$LOGS/tb-$proto.err"
    check "tb-$proto.cycle$cyc.result" ok "$(field "$out" result)" "$w/logs/cycle$cyc.log"
  done
  check "tb-$proto.local-total" 25 "$(field "$out" local_total)"
  [ "$proto" = pop3 ] && check tb-pop3.popstate-uidls 25 "$(field "$out" popstate_uidls)"
  check "tb-$proto.server-still-has-all" 25 "$(on_server)"
}

scenario_tb_imap_trash() { # the Delete key in Thunderbird's INBOX moves the message to Trash on the server
  local w="$LOGS/tb-imap-trash" out st sel
  log "scenario tb-imap-trash: Thunderbird deletes a message (move to Trash)"
  new_server || { check tb-imap-trash.server-start ok fail; return; }
  deliver 5
  out=$(TB_TIMEOUT="${TB_TIMEOUT:-120}" bash "$HARNESS/thunderbird/tb-cycle.sh" "$w" imap 2>> "$LOGS/tb-imap-trash.err")
  echo "  $out" >&2
  check tb-imap-trash.sync.downloaded 5 "$(field "$out" downloaded)" "$LOGS/tb-imap-trash.err"
  check tb-imap-trash.sync.result ok "$(field "$out" result)" "$w/logs/cycle1.log"
  out=$(bash "$ROOT/test/clients/tb-imap-trash.sh" "$w" 2>> "$LOGS/tb-imap-trash.err")
  echo "  $out" >&2
  check tb-imap-trash.delete.inbox "5 -> 4" "$(field "$out" inbox_before) -> $(field "$out" inbox_after)" "$LOGS/tb-imap-trash.err"
  check tb-imap-trash.delete.trash "0 -> 1" "$(field "$out" trash_before) -> $(field "$out" trash_after)" "$LOGS/tb-imap-trash.err"
  check tb-imap-trash.delete.total-unchanged 5 "$(sum2 "$(field "$out" inbox_after)" "$(field "$out" trash_after)")"
  sel=$(field "$out" selected_uid); [ "${sel:-none}" = none ] && sel=a-clicked-message
  check tb-imap-trash.delete.moved-the-clicked-message "uid=$sel" "uid=$(field "$out" moved_uid)"
  check tb-imap-trash.delete.thunderbird-trash-has-copy 1 "$(field "$out" local_trash)"
  check tb-imap-trash.delete.result ok "$(field "$out" result)" "$LOGS/tb-imap-trash.err"
  restart_server
  st=$(python3 "$ROOT/test/clients/imap-status.py" INBOX Trash)
  check tb-imap-trash.after-restart.server "INBOX=4 Trash=1" "$st"
  out=$(TB_TIMEOUT="${TB_TIMEOUT:-120}" bash "$HARNESS/thunderbird/tb-cycle.sh" "$w" imap 2>> "$LOGS/tb-imap-trash.err")
  echo "  $out" >&2
  check tb-imap-trash.after-restart.downloaded 0 "$(field "$out" downloaded)" "$LOGS/tb-imap-trash.err"
  check tb-imap-trash.after-restart.body-fetches 0 "$(field "$out" body_fetches)" "$w/logs/cycle2-imap-commands.txt"
  check tb-imap-trash.after-restart.result ok "$(field "$out" result)" "$w/logs/cycle2.log"
  st=$(python3 "$ROOT/test/clients/imap-status.py" INBOX Trash)
  check tb-imap-trash.end.total-unchanged 5 "$(sum2 "$(field "$st" INBOX)" "$(field "$st" Trash)")"
}

scenario_curl_tls() { # curl --ssl-reqd against every TLS path, the generated certificate as the only CA
  log "scenario curl-tls: curl over STARTTLS and implicit TLS"
  new_server || { check curl-tls.server-start ok fail; return; }
  local ca="$DATA/tls/cert.pem" err="$LOGS/curl-tls.err" i
  local C=(curl -sS --max-time 30 --cacert "$ca")
  check curl-tls.certificate-file-0600 600 "$(stat -c %a "$ca" 2>/dev/null)"
  for i in 1 2 3; do
    printf 'From: me@example.com\r\nTo: %s@example.com\r\nSubject: over STARTTLS %s\r\n\r\nbody %s\r\n' "$MAIL_USER" "$i" "$i" |
      "${C[@]}" --ssl-reqd "smtp://127.0.0.1:$SMTP_PORT" --mail-from me@example.com --mail-rcpt "$MAIL_USER@example.com" -T - 2>> "$err" ||
      echo "smtp send $i failed" >> "$err"
  done
  check curl-tls.smtp-starttls-delivered 3 "$(on_server)" "$err"
  check curl-tls.pop3-stls-list 3 "$("${C[@]}" --ssl-reqd -u "$MAIL_USER:$MAIL_PASS" "pop3://127.0.0.1:$POP3_PORT/" 2>> "$err" | grep -cE '^[0-9]+ [0-9]+')" "$err"
  check curl-tls.imap-starttls-exists 3 "$("${C[@]}" --ssl-reqd -u "$MAIL_USER:$MAIL_PASS" -X 'EXAMINE INBOX' "imap://127.0.0.1:$IMAP_PORT/" 2>> "$err" | tr -d '\r' | sed -n 's/^\* \([0-9]*\) EXISTS.*/\1/p')" "$err"
  check curl-tls.pop3s-retr "Subject: over STARTTLS 1" "$("${C[@]}" -u "$MAIL_USER:$MAIL_PASS" "pop3s://127.0.0.1:$POP3S_PORT/1" 2>> "$err" | grep -m1 '^Subject:' | tr -d '\r')" "$err"
  check curl-tls.imaps-fetch "Subject: over STARTTLS 3" "$("${C[@]}" -u "$MAIL_USER:$MAIL_PASS" "imaps://localhost:$IMAPS_PORT/INBOX;UID=3" 2>> "$err" | grep -m1 '^Subject:' | tr -d '\r')" "$err"
  "${C[@]}" --tlsv1.1 --tls-max 1.1 -u "$MAIL_USER:$MAIL_PASS" "imaps://127.0.0.1:$IMAPS_PORT/" > /dev/null 2>&1
  check curl-tls.tls1.1-refused refused "$([ $? = 0 ] && echo accepted || echo refused)"
}

scenario_tb_tls() { # pop3|imap: cycle 1 over STARTTLS on the plain port, cycle 2 over SSL/TLS on the TLS port
  local proto=$1 w="$LOGS/tb-$1-tls" out P plain_port tls_port
  log "scenario tb-$proto-tls: Thunderbird over STARTTLS, then SSL/TLS"
  new_server || { check "tb-$proto-tls.server-start" ok fail; return; }
  P="$w/profile"
  if [ "$proto" = pop3 ]; then plain_port=$POP3_PORT tls_port=$POP3S_PORT; else plain_port=$IMAP_PORT tls_port=$IMAPS_PORT; fi
  mkdir -p "$w"
  python3 "$HARNESS/thunderbird/tb_profile.py" "$P" --type "$proto" --port "$plain_port" > "$w/profile.log" 2>&1
  # what "Confirm Security Exception" amounts to, done ahead: the server's certificate is trusted in
  # the profile's NSS database (cert9.db, made by tb_profile.py). As a trust anchor ("C"): Gecko
  # ignores the "trusted peer" flag ("P") for a server's own certificate (SELF_SIGNED_CERT); it takes
  # a self-signed one as its own anchor because it is not a CA (basicConstraints cA:false)
  certutil -A -d "sql:$P" -n tegami-localhost -t "C,," -i "$DATA/tls/cert.pem" >> "$w/profile.log" 2>&1
  check "tb-$proto-tls.certificate-in-profile" yes "$(certutil -L -d "sql:$P" -n tegami-localhost > /dev/null 2>&1 && echo yes || echo no)" "$w/profile.log"
  tb_tls_cycle() { # socketType port expected
    echo "user_pref(\"mail.server.server1.socketType\", $1);" >> "$P/user.js"
    echo "user_pref(\"mail.server.server1.port\", $2);" >> "$P/user.js"
    out=$(TB_TIMEOUT="${TB_TIMEOUT:-120}" bash "$HARNESS/thunderbird/tb-cycle.sh" "$w" "$proto" 2>> "$LOGS/tb-$proto-tls.err")
    echo "  $out" >&2
  }
  deliver 5
  tb_tls_cycle 2 "$plain_port"   # 2 = STARTTLS, 3 = SSL/TLS (nsMsgSocketType)
  check "tb-$proto-tls.starttls.downloaded" 5 "$(field "$out" downloaded)" "$LOGS/tb-$proto-tls.err"
  check "tb-$proto-tls.starttls.result" ok "$(field "$out" result)" "$w/logs/cycle1.log"
  if [ "$proto" = pop3 ]; then
    check tb-pop3-tls.starttls.sent-stls yes "$(grep -q 'C: STLS' "$w/logs/cycle1.log" && echo yes || echo no)" "$w/logs/cycle1.log"
  else
    check tb-imap-tls.starttls.sent-starttls yes "$(grep -qi '^[^ ]* starttls' "$w/logs/cycle1-imap-commands.txt" && echo yes || echo no)" "$w/logs/cycle1-imap-commands.txt"
  fi
  deliver 3
  tb_tls_cycle 3 "$tls_port"
  check "tb-$proto-tls.ssl-tls.downloaded" 3 "$(field "$out" downloaded)" "$LOGS/tb-$proto-tls.err"
  check "tb-$proto-tls.ssl-tls.result" ok "$(field "$out" result)" "$w/logs/cycle2.log"
  check "tb-$proto-tls.local-total" 8 "$(field "$out" local_total)"
  check "tb-$proto-tls.server-still-has-all" 8 "$(on_server)"
}

t0=$(date +%s)
for s in $SCENARIOS; do
  case $s in
    cli) scenario_cli ;;
    chaos) scenario_chaos ;;
    imaptest) scenario_imaptest ;;
    imaptest-stress) scenario_imaptest_stress ;;
    tb-pop3) scenario_tb pop3 ;;
    tb-imap) scenario_tb imap ;;
    tb-imap-trash) scenario_tb_imap_trash ;;
    curl-tls) scenario_curl_tls ;;
    tb-pop3-tls) scenario_tb_tls pop3 ;;
    tb-imap-tls) scenario_tb_tls imap ;;
    *) echo "unknown scenario $s" >&2; failed=$((failed + 1)) ;;
  esac
done
stop_server
echo "client logs: $LOGS ($(( $(date +%s) - t0 )) s)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
