#!/bin/sh
# deps.sh - install the Debian 12 packages that ulak builds and tests with.
#
#   scripts/deps.sh          install what is missing (as root), or print the
#                            one apt-get line to run (as an ordinary user)
#   scripts/deps.sh --check  exit 0 when everything is present, 1 otherwise
#
# Build: libraries found with pkg-config (Berkeley DB has no .pc file and is
# found by its header).  Test: cmocka, pytest, swaks, clang (fuzzers), and
# Debian's Postfix packages, the reference that the tests compare against;
# unbound, the tests' own DNS server (tests/e2e/dnsserver.py).
set -eu

BUILD_PKGS="build-essential pkg-config libevent-dev libssl-dev libunbound-dev
libdb5.3-dev liblmdb-dev libcdb-dev libpcre2-dev"
TEST_PKGS="libcmocka-dev python3-pytest python3-pytest-xdist clang clang-format swaks
postfix postfix-pcre postfix-lmdb postfix-cdb pflogsumm unbound postgrey python3-aiosmtpd"

missing() {
    for p in $BUILD_PKGS $TEST_PKGS; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null \
            | grep -q 'install ok installed' || printf '%s ' "$p"
    done
}

todo=$(missing)
[ -z "$todo" ] && exit 0
[ "${1:-}" = "--check" ] && exit 1

if [ "$(id -u)" != 0 ]; then
    echo "ulak needs these Debian packages; as root, run:" >&2
    echo "  apt-get install -y $todo" >&2
    exit 1
fi

echo "deps.sh: installing: $todo"
export DEBIAN_FRONTEND=noninteractive
# Postfix is a test reference only: keep its package scripts from starting a
# system instance that would hold port 25.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $todo >/dev/null
