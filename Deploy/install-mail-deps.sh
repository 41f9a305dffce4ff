#!/usr/bin/env bash
# Installs the Debian packages the mail tests' real servers come from, when missing:
# Dovecot (IMAP, LMTP, and the SASL that Postfix's submission port authenticates
# against), Postfix, and openssl for the throwaway CA. Deploy/mail-servers.sh runs them
# from a private directory; the system instances the packages start are stopped so they
# hold no ports. Idempotent: does nothing when all are present.
set -euo pipefail

packages=(dovecot-imapd dovecot-lmtpd postfix openssl)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt_get=(apt-get)
  debconf=(debconf-set-selections)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
  debconf=(sudo debconf-set-selections)
else
  echo "missing packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail system this is; the tests bring their own configuration.
echo "postfix postfix/main_mailer_type select No configuration" | "${debconf[@]}"
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"
# The packages start system instances of their own; the tests do not use them.
for service in dovecot postfix; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service" || true
    systemctl disable "$service" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    service "$service" stop >/dev/null 2>&1 || true
  fi
done
