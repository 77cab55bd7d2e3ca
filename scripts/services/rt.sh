#!/bin/bash
# Request Tracker 5 (Debian packages, SQLite, rt-server standalone) for test/apps/request-tracker.test.ts.
#
#   install  apt packages (debconf preseeded, no prompts) + a seed database built with
#            rt-setup-database: root password "password", a fixed REST2 auth token for root,
#            a queue "Incidents" and a ticket custom field "Riposte Key" applied to it.
#   start    copy the seed to a private DB (each start is pristine), run rt-server on
#            127.0.0.1:38902, wait until GET /REST/2.0/rt answers. Already running → ok.
#   stop     kill rt-server by its PID (Starlet workers exit with their master), clean up.
#   status   print rt-server's PID if the instance of $STATE runs; exit 0 if it answers, 3 if not, 1
#            if it does not run.
#   packages the Debian packages `install` installs.
#
# Credentials for tests: Basic root:password, or `Authorization: token $(cat $STATE/token)`.
# Nothing here is a secret: it is a throwaway loopback-only test instance.
set -euo pipefail

PORT=${RT_PORT:-38902}
STATE=${RIPOSTE_SERVICES_DIR:-/tmp/riposte-services}/rt
SEED_DIR=${RT_SEED_DIR:-/var/lib/riposte-services/rt}
RT_LIB=/usr/share/request-tracker5/lib
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
ROOT_PASSWORD=password
# 32 hex digits (RT::AuthToken format); the auth string is 1-<root user id>-<this>.
TOKEN_HEX=feedfacecafebeef0123456789abcdef
PACKAGES="request-tracker5 rt5-db-sqlite rt5-standalone rt5-clients curl"

# RT_SiteConfig for a config dir $1 and SQLite file $2 (mail is kept in a temp file, never sent).
write_config() {
  mkdir -p "$1/conf.d"
  : > "$1/RT_SiteConfig.pm"
  cat > "$1/conf.d/10-riposte.pm" <<CONF
Set(\$rtname, 'riposte.test');
Set(\$Organization, 'riposte.test');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$2');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$LogToSTDERR, 'warning');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$RestrictReferrer, 0);
Set(\$Timezone, 'UTC');
Set(\$MailCommand, 'testfile');
# RT checks the password/token bcrypt hash on every REST request; the default cost (12) makes
# each call take ~0.5 s. Hashes made for this throwaway instance use the minimum cost instead.
Set(\$BcryptCost, 4);
1;
CONF
}

build_seed() {
  local tmp
  tmp=$(mktemp -d)
  write_config "$tmp" "$tmp/rtdb"
  export RT_SITE_CONFIG="$tmp/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$tmp/conf.d" SEED_TMP="$tmp"
  (cd "$tmp" && /usr/sbin/rt-setup-database-5 --action init --skip-create --dba-password '' >"$tmp/setup.log" 2>&1) \
    || { cat "$tmp/setup.log" >&2; rm -rf "$tmp"; exit 1; }
  perl -I"$RT_LIB" -e '
    use strict; use warnings;
    use RT; RT::LoadConfig(); RT::Init();
    my ($password, $hex) = @ARGV;
    my $root = RT::User->new(RT->SystemUser); $root->Load("root");
    my ($ok, $msg) = $root->SetPassword($password); die "root password: $msg\n" unless $ok;
    # RT::AuthToken->Create only makes random tokens; store a known one through the base class.
    my $tok = RT::AuthToken->new(RT->SystemUser);
    ($ok, $msg) = $tok->RT::Record::Create(Token => $tok->_CryptToken($hex), Owner => $root->Id, Description => "riposte tests");
    die "auth token: $msg\n" unless $ok;
    my $q = RT::Queue->new(RT->SystemUser);
    ($ok, $msg) = $q->Create(Name => "Incidents", Description => "Riposte test queue"); die "queue: $msg\n" unless $ok;
    my $cf = RT::CustomField->new(RT->SystemUser);
    ($ok, $msg) = $cf->Create(Name => "Riposte Key", Type => "Freeform", MaxValues => 1, LookupType => RT::Ticket->CustomFieldLookupType);
    die "custom field: $msg\n" unless $ok;
    ($ok, $msg) = $cf->AddToObject($q); die "custom field on queue: $msg\n" unless $ok;
    open my $fh, ">", "$ENV{SEED_TMP}/token" or die $!; print $fh "1-" . $root->Id . "-$hex\n"; close $fh;
  ' "$ROOT_PASSWORD" "$TOKEN_HEX" 2>&1 | grep -v 'internal HTML converter' >&2 || true
  [ -s "$tmp/token" ] || { echo "rt.sh: seeding the RT database failed" >&2; rm -rf "$tmp"; exit 1; }
  mkdir -p "$SEED_DIR"
  cp "$tmp/rtdb" "$SEED_DIR/rtdb.new" && mv "$SEED_DIR/rtdb.new" "$SEED_DIR/rtdb"
  cp "$tmp/token" "$SEED_DIR/token"
  rm -rf "$tmp"
  echo "rt.sh: seed database ready in $SEED_DIR"
}

running() {
  [ -f "$STATE/rt.pid" ] && kill -0 "$(cat "$STATE/rt.pid")" 2>/dev/null
}

answers() {
  curl -fs -o /dev/null -m 5 -u "root:$ROOT_PASSWORD" "http://127.0.0.1:$PORT/REST/2.0/rt"
}

case "${1:-}" in
  install)
    export DEBIAN_FRONTEND=noninteractive
    debconf-set-selections <<'SEL'
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/rtname string riposte.test
request-tracker5 request-tracker5/organization string riposte.test
request-tracker5 request-tracker5/initial-root-password password rtrootpw
request-tracker5 request-tracker5/install-cronjobs boolean false
SEL
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
    build_seed
    ;;
  packages)
    echo "$PACKAGES"
    ;;
  status) # 0: runs and answers, 3: runs but does not answer, 1: not running; prints the PID if it runs
    running || exit 1
    cat "$STATE/rt.pid"
    answers || exit 3
    ;;
  start)
    if running; then
      answers && { echo "rt.sh: already running (pid $(cat "$STATE/rt.pid")) on 127.0.0.1:$PORT"; exit 0; }
      echo "rt.sh: pid $(cat "$STATE/rt.pid") is alive but RT does not answer; restarting" >&2
      bash "$0" stop
    fi
    [ -x "$RT_SERVER" ] || { echo "rt.sh: $RT_SERVER missing; run: bash $0 install" >&2; exit 1; }
    [ -s "$SEED_DIR/rtdb" ] || build_seed
    rm -rf "$STATE"; mkdir -p "$STATE"
    cp "$SEED_DIR/rtdb" "$STATE/rtdb"
    cp "$SEED_DIR/token" "$STATE/token"
    write_config "$STATE" "$STATE/rtdb"
    export RT_SITE_CONFIG="$STATE/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$STATE/conf.d"
    # Own session so the caller's process group can end without taking RT with it.
    setsid perl "$RT_SERVER" --host 127.0.0.1 --port "$PORT" --max-workers 4 >"$STATE/rt.log" 2>&1 < /dev/null &
    echo $! > "$STATE/rt.pid"
    for _ in $(seq 120); do
      answers && { echo "rt.sh: RT answering on http://127.0.0.1:$PORT (pid $(cat "$STATE/rt.pid"))"; exit 0; }
      kill -0 "$(cat "$STATE/rt.pid")" 2>/dev/null || { echo "rt.sh: rt-server exited:" >&2; tail -20 "$STATE/rt.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "rt.sh: RT did not answer within 60 s; log: $STATE/rt.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$STATE/rt.pid" ]; then
      pid=$(cat "$STATE/rt.pid")
      if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "rt.sh: stopped"
    fi
    rm -rf "$STATE"
    ;;
  *)
    echo "usage: $0 install|packages|start|status|stop" >&2
    exit 2
    ;;
esac
