#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs to build, test and run, when missing:
# the PostgreSQL server (the embedded cluster uses its binaries), the product card's
# -dev packages, zlib for linking, for the dashboard's browser test Chromium, its driver,
# Selenium and a font, Python's venv for schemathesis (installed from PyPI into .build by
# Deploy/schemathesis.sh), and the mail servers (install-mail-deps.sh). Idempotent: does
# nothing when all are present.
set -euo pipefail

# The mail tests' real servers (Dovecot, Postfix) have their own script: the tests run it
# too when a server is missing.
bash "$(dirname "$0")/install-mail-deps.sh"

packages=(postgresql libcurl4-openssl-dev libpq-dev libssl-dev zlib1g-dev chromium chromium-driver python3-selenium fonts-dejavu-core python3-venv)
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
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "missing packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"
# Debian's package starts a system cluster of its own; Switchboard does not use it.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r version name _; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  done
fi
