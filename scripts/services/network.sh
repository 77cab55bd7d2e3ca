#!/bin/bash
# Packages for the real-firewall tests (test/apps/nftables.test.ts builds and removes its own
# network namespaces, so start/stop have nothing to do).
set -euo pipefail
case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends nftables iproute2 iputils-ping netcat-openbsd util-linux bsdutils
    ;;
  start|stop) echo "network: nothing to $1 (the nftables tests create and remove their own namespaces)" ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
