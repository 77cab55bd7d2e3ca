#!/bin/bash
# Installs every Debian package the real-server test suites need (run as root). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
  echo "scripts/services/install.sh must run as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
for s in network ldap mail rt; do
  echo "== $s: install"
  bash "./$s.sh" install
done
