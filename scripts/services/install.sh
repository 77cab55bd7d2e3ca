#!/bin/bash
# Installs every Debian package the real-server test suites need (run as root). Idempotent: when
# every package is already installed it does not call apt at all (no update, no lock), so repeated
# runs cost a few dpkg-query calls. Otherwise only the services with a missing package install.
set -euo pipefail
cd "$(dirname "$0")"
SERVICES=(git network ldap mail syslog rt)

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

missing=()
todo=()
for s in "${SERVICES[@]}"; do
  before=${#missing[@]}
  for p in $(bash "./$s.sh" packages); do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq "$before" ] || todo+=("$s")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install.sh: every package is installed (${SERVICES[*]}); apt not needed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "scripts/services/install.sh must run as root (it uses apt-get); missing: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
for s in "${todo[@]}"; do
  echo "== $s: install"
  bash "./$s.sh" install
done
