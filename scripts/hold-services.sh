# shellcheck shell=bash
# Sourced by scripts/ci.sh. `hold_services CMD...` runs CMD (an apt-get install) while packaged
# services may not start: /usr/sbin/policy-rc.d answering 101 ("action forbidden") makes
# invoke-rc.d and deb-systemd-invoke leave them stopped, so a packaged Prometheus or PostgreSQL
# never runs beside the tests' own servers. The machine's own policy-rc.d, if it has one, is
# moved aside and put back afterwards, byte for byte, whether CMD succeeds, fails or is
# interrupted; without one, ours is removed. Nothing is ever killed.
# POLICY_RC_D overrides the path (for the tests).

hold_services() {
  local policy="${POLICY_RC_D:-/usr/sbin/policy-rc.d}" saved="" status=0
  if [ -e "$policy" ] || [ -L "$policy" ]; then
    saved="$(mktemp "${policy}.ci-saved.XXXXXX")"
    mv -f "$policy" "$saved"
  fi
  # shellcheck disable=SC2064  # expand now: the trap must restore these paths
  trap "_release_services '$policy' '$saved'" EXIT
  trap 'exit 130' INT TERM
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  "$@" || status=$?
  _release_services "$policy" "$saved"
  trap - EXIT INT TERM
  return "$status"
}

_release_services() {
  rm -f "$1"
  if [ -n "$2" ]; then mv -f "$2" "$1"; fi
}
