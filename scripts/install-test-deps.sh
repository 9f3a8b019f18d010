#!/usr/bin/env bash
# Installs the Debian packages the test suite runs as real processes (slapd for directory login,
# Chromium for the controller's browser tests, ...). Idempotent: exits at once when everything is
# present, so `make test` can always call it.
set -euo pipefail

# Each entry is "package:command-or-path that proves it is usable". Add packages here.
REQUIRED=(
  "slapd:/usr/sbin/slapd"
  "ldap-utils:ldapadd"
  # Playwright drives Debian's Chromium (never a downloaded browser); without recommends it
  # brings no fonts, so pages and failure screenshots need one.
  "chromium:/usr/bin/chromium"
  "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

is_present() {
  local package="$1" probe="$2"
  if [[ "$probe" == /* ]]; then
    [[ -e "$probe" ]] || return 1
  else
    command -v "$probe" >/dev/null 2>&1 || return 1
  fi
  dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for entry in "${REQUIRED[@]}"; do
  package="${entry%%:*}"
  probe="${entry#*:}"
  is_present "$package" "$probe" || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
else
  as_root=(sudo)
fi

echo "install-test-deps: installing ${missing[*]}" >&2
install() {
  # Non-interactive: slapd's debconf questions take their defaults. We never use the system
  # slapd it sets up; the tests run their own on a loopback port (tests/support/slapd.py).
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}
# A fresh container has no package lists yet; only then pay for `apt-get update`.
if ! install; then
  "${as_root[@]}" apt-get update
  install
fi
