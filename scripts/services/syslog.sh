#!/bin/bash
# rsyslog for test/audit/syslog-rsyslog.test.ts: the audit stream's real syslog receiver. The suite
# starts its own rsyslogd (own config, pid file and port on 127.0.0.1) and stops it by PID, so
# only `install` does real work here.
set -euo pipefail
PACKAGES="rsyslog"
case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
    ;;
  packages)
    echo "$PACKAGES"
    ;;
  start | stop | status)
    echo "syslog: nothing to $1 (test/audit/syslog-rsyslog.test.ts starts its own rsyslogd)"
    ;;
  *)
    echo "usage: $0 install|packages|start|status|stop" >&2
    exit 2
    ;;
esac
