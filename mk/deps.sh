#!/bin/sh
# deps.sh: make sure the Debian packages roomd builds, runs and tests with are
# installed. As root it installs what is missing with apt-get; otherwise it
# prints the exact command to run and fails.
PKGS="gcc make pkg-config libwebsockets-dev libwebsockets-evlib-uv
libhiredis-dev libuv1-dev libcjson-dev libssl-dev libcurl4-openssl-dev
redis-server redis-tools python3
bats bats-support bats-assert libcmocka-dev mandoc man-db curl procps jq
zsh fish
chromium haproxy"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# The browser test runs playwright-core on Node.js: any node 20 or later on
# PATH will do, else Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
else
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
