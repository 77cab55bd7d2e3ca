#!/bin/bash
# Packages for the real-firewall tests (test/apps/nftables.test.ts builds and removes its own
# network namespaces, so start/stop have nothing to do).
set -euo pipefail
PACKAGES="nftables iproute2 iputils-ping netcat-openbsd util-linux bsdutils"
case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
    ;;
  packages) echo "$PACKAGES" ;;
  start|stop|status) echo "network: nothing to $1 (the nftables tests create and remove their own namespaces)" ;;
  *) echo "usage: $0 install|packages|start|status|stop" >&2; exit 2 ;;
esac
