#!/bin/bash
# Git: playbook repositories are fetched with Debian's git (src/repos/git.ts; tar unpacks a pinned
# commit), and the repository tests serve their repositories with a real `git daemon` that each
# test starts and stops by PID — so start/stop have nothing to do.
set -euo pipefail
PACKAGES="git tar"
case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
    ;;
  packages) echo "$PACKAGES" ;;
  start|stop|status) echo "git: nothing to $1 (the tests start their own git daemon)" ;;
  *) echo "usage: $0 install|packages|start|status|stop" >&2; exit 2 ;;
esac
