#!/bin/bash
# OpenLDAP (Debian slapd 2.5) for test/apps/ldap.test.ts.
#
#   install  apt packages slapd + ldap-utils (debconf told not to create a default database).
#   start    build a pristine instance under $STATE (own cn=config converted from a generated
#            slapd.conf, mdb database loaded offline with slapadd, self-signed TLS), run slapd on
#            ldap://127.0.0.1:38901 and ldaps://127.0.0.1:38951, wait until it answers.
#            Already running → ok.
#   stop     kill slapd by its PID, remove $STATE.
#   status   print slapd's PID if the instance of $STATE runs; exit 0 if it answers, 3 if not, 1 if
#            it does not run.
#   packages the Debian packages `install` installs.
#
# Directory (suffix dc=contoso,dc=example; nothing here is a secret, it is a loopback test instance):
#   cn=admin,dc=contoso,dc=example / admin-secret            rootdn (bypasses ACLs and limits)
#   cn=riposte,ou=service-accounts,… / riposte-secret        the app's account: reads all, writes
#                                                             passwords, pwdAccountLockedTime, userAccountControl
#   cn=auditor,ou=service-accounts,… / auditor-secret        read-only (insufficientAccessRights tests)
#   ou=people: jdoe, asmith, bwong, mgarcia (inetOrgPerson, password "<uid>-Passw0rd"), and
#              "Carol Carter" (AD-shaped: sAMAccountName ccarter, userPrincipalName, userAccountControl
#              66048, static memberOf) for the active-directory flavour
#   ou=groups: mobile-users, finance (groupOfNames), engineering (groupOfUniqueNames), vpn-users (posixGroup)
#   ou=bulk: bulk0001..bulk1200 and many.groups, a member of the 1200 groups in ou=bulk-groups
#   Size limit 1000 for everyone but the rootdn (like AD's MaxPageSize): more needs the paged results control.
#   ppolicy overlay with a default policy (pwdLockout TRUE): pwdAccountLockedTime 000001010000Z disables an
#   account, pwdChangedTime records password changes.
set -euo pipefail

PORT=${LDAP_PORT:-38901}
TLS_PORT=${LDAP_TLS_PORT:-38951}
STATE=${RIPOSTE_SERVICES_DIR:-/tmp/riposte-services}/ldap
SUFFIX=dc=contoso,dc=example
ADMIN_PW=admin-secret
BULK=1200
export PATH="$PATH:/usr/sbin:/sbin"
PACKAGES="slapd ldap-utils openssl"

do_install() {
  export DEBIAN_FRONTEND=noninteractive
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $PACKAGES
}

running() {
  [ -f "$STATE/slapd.pid" ] && kill -0 "$(cat "$STATE/slapd.pid")" 2>/dev/null
}

answers() {
  ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base namingContexts >/dev/null 2>&1
}

# Attribute types and an auxiliary class with real Active Directory OIDs, but WITH equality rules
# (Debian's msuser.schema has none, so equality filters on it never match).
write_adlite_schema() {
  cat > "$1" <<'SCHEMA'
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.90 NAME 'unicodePwd'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf'
  EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'adLiteUser' SUP top AUXILIARY
  MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ unicodePwd $ memberOf $ department ) )
SCHEMA
}

write_slapd_conf() {
  local svc="cn=riposte,ou=service-accounts,$SUFFIX"
  cat > "$STATE/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $STATE/adlite.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile  $STATE/slapd.pid
argsfile $STATE/slapd.args
loglevel none
password-hash {SSHA}
TLSCACertificateFile $STATE/tls/ca.pem
TLSCertificateFile $STATE/tls/server.pem
TLSCertificateKeyFile $STATE/tls/server.key

database mdb
maxsize 268435456
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw $(slappasswd -s "$ADMIN_PW")
directory $STATE/db
index objectClass eq
index uid,mail,cn,sAMAccountName,userPrincipalName eq
index member,uniqueMember,memberUid eq
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$SUFFIX"
ppolicy_hash_cleartext
ppolicy_use_lockout
access to attrs=userPassword
  by dn.exact="$svc" write
  by self write
  by anonymous auth
  by * none
access to attrs=unicodePwd
  by dn.exact="$svc" write
  by * none
access to attrs=pwdAccountLockedTime,userAccountControl
  by dn.exact="$svc" write
  by users read
  by * none
access to *
  by users read
  by * none
CONF
}

person() { # uid cn sn givenName title department manager-uid
  cat <<LDIF
dn: uid=$1,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: $1
cn: $2
sn: $3
givenName: $4
displayName: $2
mail: $1@contoso.example
title: $5
departmentNumber: $6
ou: $6
userPassword: $(slappasswd -s "$1-Passw0rd")
${7:+manager: uid=$7,ou=people,$SUFFIX}

LDIF
}

write_seed() {
  local p="ou=people,$SUFFIX" g="ou=groups,$SUFFIX" carol="cn=Carol Carter,ou=people,$SUFFIX"
  {
    cat <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: Contoso
dc: contoso

LDIF
    for ou in people groups service-accounts policies bulk bulk-groups; do
      printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$ou" "$SUFFIX" "$ou"
    done
    cat <<LDIF
dn: cn=default,ou=policies,$SUFFIX
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdCheckQuality: 0

dn: cn=riposte,ou=service-accounts,$SUFFIX
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: riposte
userPassword: $(slappasswd -s riposte-secret)

dn: cn=auditor,ou=service-accounts,$SUFFIX
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: auditor
userPassword: $(slappasswd -s auditor-secret)

LDIF
    person mgarcia "Maria Garcia" Garcia Maria "Finance Director" Finance
    person jdoe "John Doe" Doe John "Financial Analyst" Finance mgarcia
    person asmith "Alice Smith" Smith Alice "Site Reliability Engineer" Engineering
    person bwong "Brian Wong" Wong Brian "Account Executive" Sales
    cat <<LDIF
dn: $carol
objectClass: inetOrgPerson
objectClass: adLiteUser
cn: Carol Carter
sn: Carter
givenName: Carol
displayName: Carol Carter
sAMAccountName: ccarter
userPrincipalName: ccarter@corp.contoso.example
mail: carol.carter@contoso.example
title: Contract Accountant
department: Finance
userAccountControl: 66048
manager: uid=mgarcia,$p
memberOf: cn=finance,$g
memberOf: cn=mobile-users,$g
userPassword: $(slappasswd -s ccarter-Passw0rd)

dn: cn=mobile-users,$g
objectClass: groupOfNames
cn: mobile-users
member: uid=jdoe,$p
member: uid=asmith,$p
member: $carol

dn: cn=finance,$g
objectClass: groupOfNames
cn: finance
member: uid=jdoe,$p
member: uid=mgarcia,$p
member: $carol

dn: cn=engineering,$g
objectClass: groupOfUniqueNames
cn: engineering
uniqueMember: uid=asmith,$p

dn: cn=vpn-users,$g
objectClass: posixGroup
cn: vpn-users
gidNumber: 5001
memberUid: jdoe
memberUid: bwong

dn: uid=many.groups,ou=bulk,$SUFFIX
objectClass: inetOrgPerson
uid: many.groups
cn: Many Groups
sn: Groups

LDIF
    # Bulk entries for paging. bulk0001 and bulk0002 share a mail address (ambiguity tests).
    for i in $(seq -f '%04g' 1 "$BULK"); do
      case $i in 0001|0002) mail=shared@load.contoso.example ;; *) mail="bulk$i@load.contoso.example" ;; esac
      printf 'dn: uid=bulk%s,ou=bulk,%s\nobjectClass: inetOrgPerson\nuid: bulk%s\ncn: Bulk User %s\nsn: %s\nmail: %s\n\n' \
        "$i" "$SUFFIX" "$i" "$i" "$i" "$mail"
      printf 'dn: cn=bulk-group-%s,ou=bulk-groups,%s\nobjectClass: groupOfNames\ncn: bulk-group-%s\nmember: uid=many.groups,ou=bulk,%s\nmember: uid=bulk%s,ou=bulk,%s\n\n' \
        "$i" "$SUFFIX" "$i" "$SUFFIX" "$i" "$SUFFIX"
    done
  } > "$STATE/seed.ldif"
}

write_tls() {
  local d="$STATE/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Riposte Test LDAP CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
  chmod 600 "$d/server.key" "$d/ca.key"
}

start() {
  if running && answers; then echo "ldap.sh: slapd already running (pid $(cat "$STATE/slapd.pid"))"; return 0; fi
  command -v slapd >/dev/null || { echo "ldap.sh: slapd not installed; run: bash scripts/services/ldap.sh install" >&2; exit 1; }
  rm -rf "$STATE"
  mkdir -p "$STATE/db" "$STATE/slapd.d"
  write_adlite_schema "$STATE/adlite.schema"
  write_tls
  write_slapd_conf
  write_seed
  slapadd -f "$STATE/slapd.conf" -b "$SUFFIX" -q -l "$STATE/seed.ldif"
  # Convert to a private cn=config directory (after slapadd: slaptest must be able to open the
  # database); slapd runs from that, not from slapd.conf.
  slaptest -f "$STATE/slapd.conf" -F "$STATE/slapd.d" >/dev/null 2>&1 \
    || { rm -rf "${STATE:?}/slapd.d"/*; slaptest -f "$STATE/slapd.conf" -F "$STATE/slapd.d"; exit 1; }
  slapd -F "$STATE/slapd.d" -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$TLS_PORT/"
  for _ in $(seq 100); do answers && break; sleep 0.1; done
  answers || { echo "ldap.sh: slapd did not answer on 127.0.0.1:$PORT" >&2; exit 1; }
  echo "ldap.sh: slapd running (pid $(cat "$STATE/slapd.pid")) on ldap://127.0.0.1:$PORT and ldaps://127.0.0.1:$TLS_PORT"
}

stop() {
  if [ -f "$STATE/slapd.pid" ]; then
    local pid
    pid=$(cat "$STATE/slapd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "ldap.sh: stopped slapd (pid $pid)"
    fi
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  install) do_install ;;
  packages) echo "$PACKAGES" ;;
  start) start ;;
  status) # 0: runs and answers, 3: runs but does not answer, 1: not running; prints the PID if it runs
    running || exit 1
    cat "$STATE/slapd.pid"
    answers || exit 3 ;;
  stop) stop ;;
  *) echo "usage: $0 install|packages|start|status|stop" >&2; exit 2 ;;
esac
