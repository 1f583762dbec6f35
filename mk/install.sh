#!/bin/sh
# install.sh: what `make install` and `make uninstall` do. One list of
# files serves both, so uninstall removes exactly what install put there.
#
#   sh mk/install.sh install|uninstall|list
#
# Paths come from the environment (the Makefile passes its variables):
# DESTDIR, PREFIX, BINDIR, SBINDIR, MANDIR, DATADIR, DOCDIR, UNITDIR,
# BASHCOMPDIR, ZSHCOMPDIR, FISHCOMPDIR.
set -eu

PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
DATADIR=${DATADIR:-$PREFIX/share}
MANDIR=${MANDIR:-$DATADIR/man}
DOCDIR=${DOCDIR:-$DATADIR/doc/roomd}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
BASHCOMPDIR=${BASHCOMPDIR:-$DATADIR/bash-completion/completions}
ZSHCOMPDIR=${ZSHCOMPDIR:-$DATADIR/zsh/site-functions}
FISHCOMPDIR=${FISHCOMPDIR:-$DATADIR/fish/vendor_completions.d}
DESTDIR=${DESTDIR:-}

# One line per file: mode, source, destination.
files() {
	cat <<LIST
0755 build/roomd $SBINDIR/roomd
0755 build/roomctl $BINDIR/roomctl
0644 man/roomctl.1 $MANDIR/man1/roomctl.1
0644 man/roomd-backend.7 $MANDIR/man7/roomd-backend.7
0644 man/roomd-protocol.7 $MANDIR/man7/roomd-protocol.7
0644 man/roomd.8 $MANDIR/man8/roomd.8
0644 completions/roomctl.bash $BASHCOMPDIR/roomctl
0644 completions/roomd.bash $BASHCOMPDIR/roomd
0644 completions/_roomctl $ZSHCOMPDIR/_roomctl
0644 completions/_roomd $ZSHCOMPDIR/_roomd
0644 completions/roomctl.fish $FISHCOMPDIR/roomctl.fish
0644 completions/roomd.fish $FISHCOMPDIR/roomd.fish
0644 dist/roomd.conf.example $DOCDIR/roomd.conf.example
0644 dist/roomd.service $UNITDIR/roomd.service
0644 daemon/www/roomd.js $DATADIR/roomd/roomd.js
0644 daemon/www/roomd.d.ts $DATADIR/roomd/roomd.d.ts
LIST
}

case ${1:-} in
install)
	files | while read -r mode src dst; do
		echo "  INSTALL $DESTDIR$dst"
		if [ "$src" = dist/roomd.service ]; then
			# The unit names the installed binary.
			tmp=$(mktemp)
			sed "s|@SBINDIR@|$SBINDIR|g" "$src" >"$tmp"
			install -D -m "$mode" "$tmp" "$DESTDIR$dst"
			rm -f "$tmp"
		else
			install -D -m "$mode" "$src" "$DESTDIR$dst"
		fi
	done
	;;
uninstall)
	files | while read -r mode src dst; do
		echo "  RM      $DESTDIR$dst"
		rm -f "$DESTDIR$dst"
	done
	rmdir "$DESTDIR$DOCDIR" 2>/dev/null || true
	rmdir "$DESTDIR$DATADIR/roomd" 2>/dev/null || true
	;;
list)
	files | while read -r mode src dst; do
		echo "$mode $dst"
	done
	;;
*)
	echo "usage: sh mk/install.sh install|uninstall|list" >&2
	exit 2
	;;
esac
