#!/usr/bin/env bash
# The real mail servers the mail tests run against, from Debian's packages
# (Deploy/install-mail-deps.sh), configured and run from one private directory so any
# number of test processes can each have their own, on loopback only:
#
#   Dovecot   IMAP with STARTTLS and IMAPS (implicit TLS), IDLE; LMTP on a unix socket;
#             SASL on a unix socket for Postfix. Users from DIR/users (passwd-file, which
#             Dovecot re-checks at most once a second: adduser returns once it is seen),
#             mail in DIR/mail/<domain>/<name>/Maildir owned by nobody. Logins: PLAIN and
#             LOGIN with the password, XOAUTH2 and OAUTHBEARER with a token from 'token'.
#   Postfix   an MX-style port taking mail for any *@switchboard.test without auth, and a
#             submission port (STARTTLS required, then AUTH via Dovecot) that takes mail for
#             *@switchboard.test only. Both hand it to Dovecot over LMTP a moment after
#             answering 250 (the queue manager's turn), and IDLE sees it arrive. Nothing is
#             ever sent to another domain: those recipients are refused at RCPT.
#
# Usage:
#   mail-servers.sh start DIR                 prints KEY=VALUE lines: IMAP_PORT, IMAPS_PORT,
#                                             SMTP_PORT, SUBMISSION_PORT, CA_FILE, DIR
#   mail-servers.sh adduser DIR NAME PASSWORD adds the mailbox NAME@switchboard.test
#   mail-servers.sh token DIR NAME [SECONDS]  prints TOKEN=<an OAuth2 access token (JWT) for
#                                             NAME@switchboard.test>, for XOAUTH2/OAUTHBEARER
#   mail-servers.sh stop DIR                  stops both servers
set -euo pipefail

domain=switchboard.test

die() {
  echo "mail-servers.sh: $*" >&2
  exit 1
}

# The tail of every log, for a start that failed: the reason is nearly always in there.
show_logs() {
  local dir=$1
  for log in "$dir"/logs/*.log; do
    [ -f "$log" ] || continue
    echo "--- $log" >&2
    tail -n 40 "$log" >&2
  done
}

# A TCP port on 127.0.0.1 nothing listens on now. Random, not sequential, so parallel
# starts rarely race for the same one; a lost race fails the start loudly.
taken_ports=" "
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    case "$taken_ports" in *" $port "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken_ports+="$port "
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

# Bounded wait for a listener: the servers fork into the background and bind a moment later.
wait_for_port() {
  local port=$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

make_certificates() {
  local tls=$1
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Switchboard Test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > "$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
  # Both servers read their key as root before dropping privileges.
  chmod 600 "$tls/ca.key" "$tls/server.key"
}

write_dovecot_config() {
  local dir=$1 imap_port=$2 imaps_port=$3
  local dh=""
  [ -f /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
  cat > "$dir/dovecot/dovecot.conf" <<EOF
# Written by Deploy/mail-servers.sh for one test run; not the system's Dovecot.
instance_name = switchboard-$(basename "$dir")
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
listen = 127.0.0.1
protocols = imap lmtp
log_path = $dir/logs/dovecot.log
info_log_path = $dir/logs/dovecot.log
# Dovecot refuses to run its unprivileged processes as root.
default_internal_user = dovecot
default_login_user = dovenull

ssl = yes
ssl_cert = <$dir/tls/server.crt
ssl_key = <$dir/tls/server.key
ssl_min_protocol = TLSv1.2
$dh

auth_mechanisms = plain login xoauth2 oauthbearer
disable_plaintext_auth = yes
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%Lu $dir/users
}
# Access tokens: JWTs signed with DIR/oauth2/key.hex (HS256), checked locally; mint one
# with 'mail-servers.sh token DIR NAME'.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $dir/dovecot/oauth2.conf
}
# The same file says who exists (LMTP refuses mail for anyone else); all mail is owned
# by nobody, since Dovecot will not write mail as root.
userdb {
  driver = passwd-file
  args = username_format=%Lu $dir/users
  default_fields = uid=nobody gid=nogroup home=$dir/mail/%Ld/%Ln
}
mail_location = maildir:~/Maildir
first_valid_uid = 1

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps_port
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
protocol lmtp {
  postmaster_address = postmaster@$domain
}
EOF
}

write_oauth2_config() {
  local dir=$1
  mkdir -p "$dir/oauth2"
  openssl rand -out "$dir/oauth2/key.bin" 32
  od -An -tx1 -v "$dir/oauth2/key.bin" | tr -d ' \n' > "$dir/oauth2/key.hex"
  chmod 600 "$dir/oauth2/key.bin" "$dir/oauth2/key.hex"
  local key_b64
  key_b64=$(base64 -w0 "$dir/oauth2/key.bin")
  # Dovecot looks the key up as shared/<azp>/<alg>/<kid>; azp and kid default to "default".
  mkdir -p "$dir/oauth2/keys/shared/default/HS256" "$dir/oauth2/keys/default/HS256"
  printf '%s' "$key_b64" > "$dir/oauth2/keys/shared/default/HS256/default"
  printf '%s' "$key_b64" > "$dir/oauth2/keys/default/HS256/default"
  chmod -R a+rX "$dir/oauth2/keys"
  cat > "$dir/dovecot/oauth2.conf" <<EOF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$dir/oauth2/keys/
username_attribute = email
issuers = switchboard-test
EOF
}

write_postfix_config() {
  local dir=$1 smtp_port=$2 submission_port=$3
  local pf=$dir/postfix
  cat > "$pf/main.cf" <<EOF
# Written by Deploy/mail-servers.sh for one test run; not the system's Postfix.
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/logs/postfix.log
maillog_file_prefixes = $dir/logs
myhostname = localhost
mydomain = localhost
myorigin = localhost
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_banner = \$myhostname ESMTP switchboard test
message_size_limit = 52428800

# Every *@$domain goes to Dovecot; the mailbox's existence is Dovecot's to judge.
virtual_mailbox_domains = $domain
virtual_mailbox_maps =
virtual_transport = lmtp:unix:$dir/dovecot/run/lmtp
smtpd_reject_unlisted_recipient = no
# Nothing leaves: any other domain is refused at RCPT, and were one accepted it bounces.
relay_domains =
relayhost =
default_transport = error:5.7.1 tests send no mail outside $domain
relay_transport = error:5.7.1 tests send no mail outside $domain
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =

smtpd_tls_cert_file = $dir/tls/server.crt
smtpd_tls_key_file = $dir/tls/server.key
smtpd_tls_security_level = may
smtp_tls_security_level = none
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dir/dovecot/run/auth-postfix
smtpd_sasl_auth_enable = no
EOF
  cat > "$pf/master.cf" <<EOF
# service type private unpriv chroot wakeup maxproc command
127.0.0.1:$smtp_port inet n - n - - smtpd
127.0.0.1:$submission_port inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=reject_unauth_destination
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
}

start() {
  local dir=$1
  command -v dovecot >/dev/null 2>&1 || die "dovecot is not installed: run Deploy/install-mail-deps.sh"
  command -v postfix >/dev/null 2>&1 || die "postfix is not installed: run Deploy/install-mail-deps.sh"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # The servers' unprivileged processes (dovecot, postfix, nobody) must reach the sockets,
  # the users file and the mail below it.
  chmod 755 "$dir"
  mkdir -p "$dir/logs" "$dir/dovecot/run" "$dir/dovecot/state" "$dir/mail" \
    "$dir/postfix/queue" "$dir/postfix/data"
  chown nobody:nogroup "$dir/mail"
  chown postfix "$dir/postfix/data"
  touch "$dir/users"
  chmod 644 "$dir/users"

  local imap_port imaps_port smtp_port submission_port
  imap_port=$(free_port)
  taken_ports+="$imap_port "
  imaps_port=$(free_port)
  taken_ports+="$imaps_port "
  smtp_port=$(free_port)
  taken_ports+="$smtp_port "
  submission_port=$(free_port)

  make_certificates "$dir/tls"
  write_dovecot_config "$dir" "$imap_port" "$imaps_port"
  write_oauth2_config "$dir"
  write_postfix_config "$dir" "$smtp_port" "$submission_port"

  if ! dovecot -c "$dir/dovecot/dovecot.conf" >>"$dir/logs/dovecot.log" 2>&1; then
    show_logs "$dir"
    die "dovecot did not start"
  fi
  if ! postfix -c "$dir/postfix" start >>"$dir/logs/postfix-start.log" 2>&1; then
    show_logs "$dir"
    stop "$dir"
    die "postfix did not start"
  fi
  for port in "$imap_port" "$imaps_port" "$smtp_port" "$submission_port"; do
    if ! wait_for_port "$port"; then
      show_logs "$dir"
      stop "$dir"
      die "nothing listens on 127.0.0.1:$port"
    fi
  done
  # LMTP and SASL are sockets, not ports: without them mail is accepted but never arrives.
  for socket in lmtp auth-postfix; do
    [ -S "$dir/dovecot/run/$socket" ] || { show_logs "$dir"; stop "$dir"; die "dovecot made no $socket socket"; }
  done

  cat > "$dir/endpoints" <<EOF
IMAP_PORT=$imap_port
IMAPS_PORT=$imaps_port
SMTP_PORT=$smtp_port
SUBMISSION_PORT=$submission_port
CA_FILE=$dir/tls/ca.crt
DIR=$dir
EOF
  cat "$dir/endpoints"
}

adduser() {
  local dir=$1 name=$2 password=$3
  [ -f "$dir/users" ] || die "no servers in $dir: start them first"
  [[ "$name" =~ ^[a-z0-9][a-z0-9._-]{0,63}$ ]] || die "a mailbox name is lower-case letters, digits, '.', '_' and '-'"
  [[ "$password" =~ ^[^:[:space:]]{1,128}$ ]] || die "a password has no ':' and no white space"
  (
    # Parallel test processes add users at once: one writer at a time.
    flock 9
    if grep -q "^$name@$domain:" "$dir/users"; then die "$name@$domain exists"; fi
    echo "$name@$domain:{PLAIN}$password::::::" >> "$dir/users"
  ) 9>"$dir/users.lock"
  # Dovecot notices the file changed at most once a second, so a user added right after a
  # lookup is unknown for up to a second (seen: LMTP bounced its mail with 550). Return
  # only once both the passdb and the userdb know the user, bounded.
  local conf=$dir/dovecot/dovecot.conf
  for _ in $(seq 1 50); do
    if doveadm -c "$conf" user "$name@$domain" >/dev/null 2>&1 \
      && doveadm -c "$conf" auth test "$name@$domain" "$password" >/dev/null 2>&1; then
      echo "ADDRESS=$name@$domain"
      return 0
    fi
    sleep 0.1
  done
  die "Dovecot does not see $name@$domain after 5 s; see $dir/logs"
}

base64url() {
  base64 -w0 | tr '+/' '-_' | tr -d '='
}

# An access token for NAME@switchboard.test, valid for LIFETIME seconds (default 3600;
# negative for one already expired): a JWT signed with the servers' key.
token() {
  local dir=$1 name=$2 lifetime=${3:-3600}
  [ -f "$dir/oauth2/key.hex" ] || die "no servers in $dir: start them first"
  [[ "$name" =~ ^[a-z0-9][a-z0-9._-]{0,63}$ ]] || die "a mailbox name is lower-case letters, digits, '.', '_' and '-'"
  [[ "$lifetime" =~ ^-?[0-9]{1,7}$ ]] || die "the lifetime is a number of seconds"
  local now header payload signature
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT","kid":"default"}' | base64url)
  payload=$(printf '{"iss":"switchboard-test","sub":"%s","email":"%s","iat":%d,"nbf":%d,"exp":%d}' \
    "$name@$domain" "$name@$domain" "$((now - 60))" "$((now - 60))" "$((now + lifetime))" | base64url)
  signature=$(printf '%s' "$header.$payload" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(cat "$dir/oauth2/key.hex")" -binary | base64url)
  echo "TOKEN=$header.$payload.$signature"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/postfix/main.cf" ]; then
    postfix -c "$dir/postfix" stop >/dev/null 2>&1 || true
  fi
  local pid
  if [ -f "$dir/dovecot/run/master.pid" ]; then
    pid=$(cat "$dir/dovecot/run/master.pid")
    kill "$pid" 2>/dev/null || true
    # Bounded wait, so the caller may remove DIR once this returns.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # A master started with SIGTERM blocked (an unlucky parent's mask) ignores it.
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  adduser) [ $# -eq 4 ] || die "usage: $0 adduser DIR NAME PASSWORD"; adduser "$2" "$3" "$4" ;;
  token) [ $# -ge 3 ] && [ $# -le 4 ] || die "usage: $0 token DIR NAME [SECONDS]"; token "$2" "$3" "${4:-3600}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start DIR | adduser DIR NAME PASSWORD | stop DIR" ;;
esac
