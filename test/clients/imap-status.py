#!/usr/bin/env python3
"""Message counts of mailboxes on the server under test, with python3 imaplib (STATUS only, changes nothing).

usage: imap-status.py [MAILBOX...]          (default: INBOX Trash)
env: MAIL_HOST (127.0.0.1, loopback only) IMAP_PORT (11143) MAIL_USER (testuser) MAIL_PASS (testpass)
prints: INBOX=N Trash=M   (a mailbox that cannot be read prints -1); exit 1 if the server cannot be reached
"""
import imaplib, os, re, sys

host = os.environ.get("MAIL_HOST", "127.0.0.1")
if not host.startswith(("127.", "localhost", "::1")):
    sys.exit(f"host {host} is not loopback; refusing")
boxes = sys.argv[1:] or ["INBOX", "Trash"]
try:
    M = imaplib.IMAP4(host, int(os.environ.get("IMAP_PORT", "11143")), timeout=10)
    M.login(os.environ.get("MAIL_USER", "testuser"), os.environ.get("MAIL_PASS", "testpass"))
except (OSError, imaplib.IMAP4.error) as e:
    print(f"error={type(e).__name__}")
    sys.exit(1)
out = []
for b in boxes:
    n = -1
    try:
        typ, d = M.status(f'"{b}"', "(MESSAGES)")
        m = re.search(rb"MESSAGES (\d+)", d[0] or b"") if typ == "OK" else None
        if m:
            n = int(m.group(1))
    except imaplib.IMAP4.error:
        pass
    out.append(f"{b}={n}")
try:
    M.logout()
except Exception:
    pass
print(" ".join(out))
