#!/bin/bash
# SMTP servers for test/apps/smtp.test.ts: Postfix's smtp-sink and python3-aiosmtpd.
# The suite starts its own sinks on free loopback ports (it needs a different fault-injection
# option per case) and kills them by PID, so only `install` does real work here.
set -euo pipefail
PACKAGES="postfix python3-aiosmtpd"
case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    # Postfix without any mail configuration: we only want its smtp-sink test tool, no prompt
    # and no MTA listening on port 25.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string riposte.test" | debconf-set-selections
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
    ;;
  packages)
    echo "$PACKAGES"
    ;;
  start | stop | status)
    echo "mail: nothing to $1 (test/apps/smtp.test.ts starts its own smtp-sink and aiosmtpd)"
    ;;
  *)
    echo "usage: $0 install|packages|start|status|stop" >&2
    exit 2
    ;;
esac
