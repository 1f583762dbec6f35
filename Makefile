# roomd: the room server (build/roomd) and its admin CLI (build/roomctl).
#
#   make            build both binaries
#   make run        install missing packages, start a local Redis, run roomd
#   make test       install missing packages, run every test
#   make bench      benchmark two nodes (see README)
#   make fuzz       run every libFuzzer harness in tests/fuzz for FUZZ_SECS
#                   seconds each (60); `make test` runs each for a few
#                   seconds (FUZZ_TEST_SECS, 3)
#   make install    install binaries, man pages, completions and the systemd
#                   unit under $(DESTDIR)$(PREFIX) (/usr/local); uninstall too
#   SANITIZE=1      build with ASan and UBSan (objects in build/san/)
#   V=1             show the commands

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/roomd
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d

CC ?= cc
PKGS := libwebsockets hiredis libuv libcjson libssl libcrypto libcurl
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral
FUZZ_CC ?= clang
FUZZ_SECS ?= 60
FUZZ_TEST_SECS ?= 3

# A missing package is an error naming it, except for the targets that
# install packages or need none (`make test` runs mk/deps.sh first).
NOPKG_GOALS := deps test run bench fuzz clean uninstall
ifneq ($(filter-out $(NOPKG_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config is not installed: run `make deps` (mk/deps.sh))
endif
PKG_MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell \
	pkg-config --exists $(p) && echo y),,$(p))))
ifneq ($(PKG_MISSING),)
$(error pkg-config cannot find $(PKG_MISSING): run `make deps` (mk/deps.sh))
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
endif

# FUZZ_BUILD=1 is the sub-make of `make fuzz-build`: the same objects, by
# the same rule, built with clang's fuzzer instrumentation in build/fuzz/.
ifeq ($(FUZZ_BUILD),1)
override CC := $(FUZZ_CC)
OBJ := build/fuzz/obj
SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),1)
OBJ := build/san
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else
OBJ := build/obj
SAN :=
endif

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -MMD -MP $(WARN) -Ishared \
	$(PKG_CFLAGS) $(SAN) $(CFLAGS) $(CPPFLAGS)
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

SHARED_SRC := $(wildcard shared/*.c)
DAEMON_SRC := $(wildcard daemon/*.c)
CLI_SRC := $(wildcard cli/*.c)
LUA_SRC := $(sort $(wildcard shared/lua/*.lua))
WWW_SRC := $(sort $(wildcard daemon/www/*))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

# Generated sources live in build/gen/ and compile by the same rule as the
# rest, into $(OBJ)/build/gen/.
GEN := build/gen
SHARED_OBJ := $(SHARED_SRC:%.c=$(OBJ)/%.o) $(OBJ)/$(GEN)/lua.o
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(OBJ)/%.o) $(OBJ)/$(GEN)/www.o
CLI_OBJ := $(CLI_SRC:%.c=$(OBJ)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# Unit tests link the daemon's pure modules too (config parsing, frames).
DAEMON_PURE_OBJ := $(OBJ)/daemon/config.o $(OBJ)/daemon/config-opts.o \
	$(OBJ)/daemon/frame.o $(OBJ)/daemon/shape.o

# The flags stamp makes a SANITIZE switch relink the binaries.
FLAGS_STAMP := build/.flags-$(if $(SANITIZE),san,plain)

.PHONY: all run test unit bench deps clean install uninstall fuzz fuzz-build \
	fuzz-bins
all: build/roomd build/roomctl

build/.flags-%:
	$(Q)mkdir -p build && rm -f build/.flags-* && touch $@

build/roomd: $(DAEMON_OBJ) $(SHARED_OBJ) $(FLAGS_STAMP)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(DAEMON_OBJ) $(SHARED_OBJ) $(PKG_LIBS)

build/roomctl: $(CLI_OBJ) $(SHARED_OBJ) $(FLAGS_STAMP)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(SHARED_OBJ) $(PKG_LIBS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Lua scripts are kept as readable .lua files and compiled in as strings.
$(GEN)/lua.c: $(LUA_SRC) mk/lua2c.sh
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)sh mk/lua2c.sh $(LUA_SRC) > $@.tmp && mv $@.tmp $@

# The browser page ships inside roomd.
$(GEN)/www.c: $(WWW_SRC) mk/embed.sh
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)sh mk/embed.sh $(WWW_SRC) > $@.tmp && mv $@.tmp $@

build/tests/%: tests/unit/%.c $(SHARED_OBJ) $(DAEMON_PURE_OBJ) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Idaemon -o $@ $< \
		$(SHARED_OBJ) $(DAEMON_PURE_OBJ) $(PKG_LIBS) -lcmocka

# A fuzz harness is tests/fuzz/fuzz_NAME.c plus a seed corpus in
# tests/fuzz/corpus/NAME/ (tests/fuzz/README). It links against an archive
# of every object but the two main()s, so the linker takes what the harness
# calls, from shared/, daemon/ or cli/, and nothing else. Only the
# FUZZ_BUILD sub-make has the clang objects for it.
ifeq ($(FUZZ_BUILD),1)
FUZZ_LIB := build/fuzz/libroomd.a
FUZZ_LIB_OBJ := $(filter-out $(OBJ)/daemon/main.o $(OBJ)/cli/roomctl.o, \
	$(SHARED_OBJ) $(DAEMON_OBJ) $(CLI_OBJ))

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $(FUZZ_LIB_OBJ)

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -Idaemon \
		-Icli -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)
endif

fuzz-build:
	$(Q)$(MAKE) --no-print-directory FUZZ_BUILD=1 fuzz-bins

fuzz-bins: $(FUZZ_BIN)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)bash tests/fuzz/run --secs $(FUZZ_SECS)

unit: $(UNIT_BIN) build/tests/cluster-probe

# The cluster layer's test program (tests/cluster-layer.bats).
build/tests/cluster-probe: tests/cluster/probe.c $(SHARED_OBJ) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(SHARED_OBJ) $(PKG_LIBS)

# The fan-out floor `make bench` measures beside roomd (tests/bench/floor.c).
build/tests/bench-floor: tests/bench/floor.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

deps:
	$(Q)sh mk/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh mk/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all unit fuzz-build
	$(Q)FUZZ_TEST_SECS=$(FUZZ_TEST_SECS) bash tests/run

bench: deps
	$(Q)$(MAKE) --no-print-directory all build/tests/bench-floor
	$(Q)bash tests/bench/run

# No `make format`: clang-format cannot keep this code's layout (tabs
# before trailing comments, 4-column continuations of strings and calls),
# so it would rewrite most files. STYLE.md describes the style.

# Every path under $(DESTDIR); mk/install.sh holds the one list of files.
INSTALL_ENV := DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BINDIR='$(BINDIR)' \
	SBINDIR='$(SBINDIR)' MANDIR='$(MANDIR)' DATADIR='$(DATADIR)' \
	DOCDIR='$(DOCDIR)' UNITDIR='$(UNITDIR)' BASHCOMPDIR='$(BASHCOMPDIR)' \
	ZSHCOMPDIR='$(ZSHCOMPDIR)' FISHCOMPDIR='$(FISHCOMPDIR)'

install: all
	$(Q)$(INSTALL_ENV) sh mk/install.sh install

uninstall:
	$(Q)$(INSTALL_ENV) sh mk/install.sh uninstall

clean:
	rm -rf build

# Header dependencies of every object, unit test and fuzz harness.
-include $(shell find build -name '*.d' 2>/dev/null)
