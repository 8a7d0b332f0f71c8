#!/usr/bin/env bash
# Installs the real mail clients the client tests drive, and PostgreSQL 15 for the PostgreSQL
# backend's tests (npm run test:postgres), with Patroni and etcd for its failover test — Debian
# packages; run as root. Quick when everything is already there.
set -euo pipefail
PKGS=(mpop isync curl fetchmail python3 util-linux thunderbird xvfb xdotool imagemagick x11-apps libnss3-tools fonts-dejavu-core postgresql-15 patroni etcd-server)
have_all() {
  command -v mpop && command -v mbsync && command -v curl && command -v fetchmail && command -v Xvfb &&
    command -v xdotool && [ -x /usr/lib/thunderbird/thunderbird ] && [ -x /usr/lib/postgresql/15/bin/initdb ] &&
    [ -x /usr/bin/patroni ] && [ -x /usr/bin/etcd ]
}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
# Dovecot's imaptest (compliance and stress runs of run.sh), built from the source beside the
# repository; the script is idempotent and quick once installed.
IMAPTEST_BUILD="${IMAPTEST_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/tools/imaptest/build.sh}"
if [ -f "$IMAPTEST_BUILD" ]; then $SUDO bash "$IMAPTEST_BUILD"; else echo "imaptest build script not found at $IMAPTEST_BUILD" >&2; exit 1; fi
if have_all >/dev/null 2>&1; then echo "mail clients, PostgreSQL 15, Patroni and etcd already installed"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}"
# etcd-server starts a system etcd on the default ports where systemd runs; the tests start their own
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then $SUDO systemctl disable --now etcd; fi
have_all >/dev/null || { echo "some clients are still missing" >&2; exit 1; }
echo "mail clients, PostgreSQL 15, Patroni and etcd installed"
