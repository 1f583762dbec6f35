# roomd: the room server (build/roomd) and its admin CLI (build/roomctl).
#
#   make            build both binaries
#   make run        install missing packages, start a local Redis, run roomd
#   make test       install missing packages, run every test
#   make bench      benchmark two nodes (see README)
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
PKGS := libwebsockets hiredis libuv libcjson libcrypto libcurl
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
OBJ := build/san
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else
OBJ := build/obj
SAN :=
endif

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -MMD -MP $(WARN) -Ishared -I$(OBJ)/gen \
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

SHARED_OBJ := $(SHARED_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/lua.o
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/www.o
CLI_OBJ := $(CLI_SRC:%.c=$(OBJ)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
# Unit tests link the daemon's pure modules too (config parsing, frames).
DAEMON_PURE_OBJ := $(OBJ)/daemon/config.o $(OBJ)/daemon/frame.o

# The flags stamp makes a SANITIZE switch relink the binaries.
FLAGS_STAMP := build/.flags-$(if $(SANITIZE),san,plain)

.PHONY: all run test unit bench deps clean install uninstall format
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
$(OBJ)/gen/lua.c: $(LUA_SRC) mk/lua2c.sh
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)sh mk/lua2c.sh $(LUA_SRC) > $@.tmp && mv $@.tmp $@

# The browser page ships inside roomd.
$(OBJ)/gen/www.c: $(WWW_SRC) mk/embed.sh
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)sh mk/embed.sh $(WWW_SRC) > $@.tmp && mv $@.tmp $@

$(OBJ)/gen/www.o: $(OBJ)/gen/www.c
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJ)/gen/lua.o: $(OBJ)/gen/lua.c
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/tests/%: tests/unit/%.c $(SHARED_OBJ) $(DAEMON_PURE_OBJ) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Idaemon -o $@ $< \
		$(SHARED_OBJ) $(DAEMON_PURE_OBJ) $(PKG_LIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	$(Q)sh mk/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh mk/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)bash tests/run

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tests/bench/run

format:
	clang-format -i $(SHARED_SRC) $(DAEMON_SRC) $(CLI_SRC) shared/*.h \
		daemon/*.h cli/*.h

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

-include $(shell find build/obj build/san -name '*.d' 2>/dev/null)
