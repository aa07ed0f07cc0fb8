#!/bin/sh
# Install the programs `make test` runs when they are missing (Debian/Ubuntu): the tests use the real ones.
#
#   tools/setup-test-deps.sh            install what is missing (as root, with apt-get), else say what to install
#   tools/setup-test-deps.sh --dry-run  print the apt-get command it would run (or "nothing to install"), change nothing
#
# Exit 0: everything is there (or was installed); 2: something is missing and this cannot install it (one line).
set -eu

dry_run=0
case "${1:-}" in
  --dry-run) dry_run=1 ;;
  "") ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac

# program on PATH -> Debian package that provides it
missing=""
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  case " $missing " in *" $2 "*) ;; *) missing="$missing $2" ;; esac
}
need promtool prometheus
need prometheus prometheus
need amtool prometheus-alertmanager
need victoria-metrics victoria-metrics
need vmalert victoria-metrics
need chromium chromium
need chromedriver chromium-driver
need node nodejs
need npm npm
missing="${missing# }"

if [ -z "$missing" ]; then
  [ "$dry_run" = 1 ] && echo "setup: nothing to install"
  exit 0
fi

command="apt-get install -y -qq --no-install-recommends $missing"
if [ "$dry_run" = 1 ]; then
  echo "setup: would run: apt-get update -qq && $command"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: make test needs the Debian packages: $missing — run: sudo apt-get install --no-install-recommends $missing" >&2
  exit 2
fi
echo "setup: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # one word per package
apt-get install -y -qq --no-install-recommends $missing
