#!/usr/bin/env bats
# install.bats: `make install` puts every file where it belongs, with the
# right modes, under DESTDIR and PREFIX; what it installs works; `make
# uninstall` takes every file away again.

load lib/common

# make_install TARGET: run the Makefile's TARGET into $DEST with PREFIX=/usr,
# without rebuilding the binaries (the suite runs after `make all`).
make_install() {
	run timeout 120 make -C "$ROOT" --no-print-directory \
	    -o build/roomd -o build/roomctl "$1" DESTDIR="$DEST" PREFIX=/usr
}

setup() {
	DEST=$BATS_TEST_TMPDIR/dest
	[ -x "$ROOT/build/roomd" ] && [ -x "$ROOT/build/roomctl" ] ||
	    skip "build/roomd and build/roomctl are not built"
}

# The files install must create, with their modes.
expected() {
	cat <<LIST
755 usr/sbin/roomd
755 usr/bin/roomctl
644 usr/share/man/man1/roomctl.1
644 usr/share/man/man7/roomd-backend.7
644 usr/share/man/man7/roomd-protocol.7
644 usr/share/man/man8/roomd.8
644 usr/share/bash-completion/completions/roomctl
644 usr/share/bash-completion/completions/roomd
644 usr/share/zsh/site-functions/_roomctl
644 usr/share/zsh/site-functions/_roomd
644 usr/share/fish/vendor_completions.d/roomctl.fish
644 usr/share/fish/vendor_completions.d/roomd.fish
644 usr/share/doc/roomd/roomd.conf.example
644 usr/lib/systemd/system/roomd.service
644 usr/share/roomd/roomd.js
644 usr/share/roomd/roomd.d.ts
LIST
}

@test "make install creates every file with its mode, and nothing else" {
	make_install install
	assert_success
	run bash -c "cd '$DEST' && find . -type f -printf '%m %P\n' | sort"
	assert_success
	assert_output "$(expected | sort)"
	# Installed copies are the sources, the unit apart.
	cmp "$DEST/usr/share/man/man1/roomctl.1" "$ROOT/man/roomctl.1"
	cmp "$DEST/usr/share/zsh/site-functions/_roomctl" \
	    "$ROOT/completions/_roomctl"
	cmp "$DEST/usr/sbin/roomd" "$ROOT/build/roomd"
}

@test "installed binaries, man pages and completions work" {
	make_install install
	assert_success
	run "$DEST/usr/sbin/roomd" --version
	assert_success
	assert_output --regexp '^roomd [0-9]+\.[0-9]+\.[0-9]+$'
	run "$DEST/usr/bin/roomctl" --version
	assert_success
	assert_output --partial roomctl
	run "$DEST/usr/sbin/roomd" --config \
	    "$DEST/usr/share/doc/roomd/roomd.conf.example" --check-config
	assert_success

	if command -v man >/dev/null; then
		for page in man1/roomctl.1 man7/roomd-backend.7 \
		    man7/roomd-protocol.7 man8/roomd.8; do
			run env MANPAGER=cat MANWIDTH=80 man -l \
			    "$DEST/usr/share/man/$page"
			assert_success
			assert_output --partial NAME
			assert_output --partial 'SEE ALSO'
			refute_output --partial warning
		done
	fi
	run bash -c "mandoc -Tascii '$DEST/usr/share/man/man8/roomd.8' |
	    sed 's/.\x08//g'"
	assert_success
	assert_output --partial 'EXIT STATUS'

	run bash --norc -c "source '$DEST/usr/share/bash-completion/completions/roomctl'
	    complete -p roomctl"
	assert_success
	assert_output --partial _roomctl
}

@test "the unit names the installed roomd and passes systemd-analyze verify" {
	make_install install
	assert_success
	local unit=$DEST/usr/lib/systemd/system/roomd.service
	run grep -E '^ExecStart=' "$unit"
	assert_output 'ExecStart=/usr/sbin/roomd --config /etc/roomd/roomd.conf'
	run grep -c '@SBINDIR@' "$unit"
	assert_output 0
	for k in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict \
	    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
	    MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
	    LimitNOFILE=65536 EnvironmentFile=-/etc/default/roomd \
	    Restart=on-failure; do
		grep -qxF "$k" "$unit" || {
			echo "missing: $k"
			return 1
		}
	done

	command -v systemd-analyze >/dev/null ||
	    skip "systemd-analyze is not installed"
	# Verify a copy that points at the binary in DESTDIR, which exists.
	local d=$BATS_TEST_TMPDIR/units
	mkdir -p "$d"
	sed "s|/usr/sbin/roomd|$DEST/usr/sbin/roomd|g" "$unit" \
	    >"$d/roomd.service"
	run timeout 60 systemd-analyze verify --man=no "$d/roomd.service"
	echo "$output"
	# Without a running systemd (containers) some checks cannot run;
	# what must not appear is a complaint about our unit.
	refute_output --partial 'roomd.service:'
	refute_output --partial 'Unknown key'
	refute_output --partial 'not executable'
}

@test "make uninstall removes every file it installed" {
	make_install install
	assert_success
	make_install uninstall
	assert_success
	run find "$DEST" -type f -o -type l
	assert_success
	assert_output ''
	[ ! -e "$DEST/usr/share/doc/roomd" ]
}

@test "PREFIX defaults to /usr/local" {
	run timeout 120 make -C "$ROOT" --no-print-directory \
	    -o build/roomd -o build/roomctl install DESTDIR="$DEST"
	assert_success
	[ -x "$DEST/usr/local/sbin/roomd" ]
	[ -f "$DEST/usr/local/share/man/man8/roomd.8" ]
	[ -f "$DEST/usr/local/share/bash-completion/completions/roomctl" ]
	run grep '^ExecStart=' "$DEST/usr/local/lib/systemd/system/roomd.service"
	assert_output --partial 'ExecStart=/usr/local/sbin/roomd '
	run timeout 120 make -C "$ROOT" --no-print-directory uninstall \
	    DESTDIR="$DEST"
	assert_success
	run find "$DEST" -type f
	assert_output ''
}
