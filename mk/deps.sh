#!/bin/sh
# deps.sh: make sure the Debian packages roomd builds, runs and tests with are
# installed. As root it installs what is missing with apt-get; otherwise it
# prints the exact command to run and fails.
PKGS="gcc make pkg-config libwebsockets-dev libwebsockets-evlib-uv
libhiredis-dev libuv1-dev libcjson-dev libssl-dev libcurl4-openssl-dev
redis-server redis-tools python3
bats bats-support bats-assert libcmocka-dev mandoc man-db curl procps jq
zsh fish
chromium haproxy
clang libclang-rt-14-dev"

# cJSON before Debian's 1.7.15-1+deb12u3 over-reads a buffer by one byte on
# an unterminated object such as {"a":1, (CVE-2023-53154; upstream fixed it
# in 1.7.18, which compares as newer). roomd is not built against a cJSON
# without the fix.
CJSON_MIN=1.7.15-1+deb12u3

# cjson_ok: the installed libcjson-dev (and the libcjson1 it runs with) is
# at least CJSON_MIN; also true when not installed yet (installed below).
cjson_ok() {
	for p in libcjson-dev libcjson1; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || continue
		[ -n "$v" ] || continue
		dpkg --compare-versions "$v" ge "$CJSON_MIN" || return 1
	done
	return 0
}

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# The browser and client tests run on Node.js: any node 20 or later on
# PATH will do, else Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	missing="$missing nodejs npm"
if ! cjson_ok; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "deps: upgrading libcjson to $CJSON_MIN or later (CVE-2023-53154)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --only-upgrade \
		    libcjson-dev libcjson1 >/dev/null
	fi
	if ! cjson_ok; then
		echo "deps: libcjson is older than $CJSON_MIN, without the fix" \
		    "for CVE-2023-53154" >&2
		echo "deps: run: sudo apt-get update &&" \
		    "sudo apt-get install -y --only-upgrade libcjson-dev libcjson1" >&2
		exit 1
	fi
fi
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
