#!/usr/bin/env bash
# Run by `npm test` before the suites: the verifier's SSH tests (and the hostile tunnel test) start
# a real OpenSSH server on 127.0.0.1. Installs Debian's openssh-server when it is missing and this
# is root with apt; otherwise says exactly what to install (or how to skip on purpose) and fails.
set -euo pipefail
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] && exit 0
[ "${SIR_CONVERT_A_LOT_SKIP_SSH_TESTS:-}" = "1" ] && { echo "note: $SSHD is missing; SSH suites skipped on purpose (SIR_CONVERT_A_LOT_SKIP_SSH_TESTS=1)"; exit 0; }
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing openssh-server (the SSH tests start a real sshd on 127.0.0.1)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openssh-server >/dev/null
  [ -x "$SSHD" ] && exit 0
fi
echo "error: $SSHD is missing and could not be installed here (needs root and apt)" >&2
echo "what to do: install it (Debian: sudo apt-get install -y openssh-server), or run the other suites with SIR_CONVERT_A_LOT_SKIP_SSH_TESTS=1 npm test" >&2
exit 1
