# ulak - build, test and run.
#
#   make             build build/ulak and the build/bin/ links
#   make run         set up an unprivileged instance under ./run and check it
#   make check       every test: format, unit, unit under ASan+UBSan, e2e, fuzz
#   make bench       throughput against Postfix 3.7 (root; bench/run --help)
#
# B selects the build folder; SAN=1 builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (make check does that in build/asan).

B      ?= build
SAN    ?=
CC     ?= cc
# Debian's python3-pytest lives with /usr/bin/python3, not a pyenv python.
PYTEST ?= /usr/bin/python3 -m pytest

PKGS := libpcre2-8 lmdb libcdb libevent libunbound

WARN := -std=c17 -Wall -Wextra -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wshadow -Wvla -Wswitch-enum -Wimplicit-fallthrough \
	-fno-common -Werror
ifeq ($(SAN),fuzz)
CC  := clang
OPT := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined
else ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
else
OPT := -O2 -g -D_FORTIFY_SOURCE=3
endif
CPPFLAGS += -D_GNU_SOURCE -Isrc
CFLAGS   += $(WARN) $(OPT) -fstack-protector-strong -fPIE -MMD -MP \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pie -Wl,-z,relro,-z,now $(filter -fsanitize%,$(OPT))
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldb

ALL_SRC  := $(shell find src -name '*.c' | sort)
TEST_SRC := $(filter %_test.c,$(ALL_SRC))
MAIN_SRC := src/ulak.c
LIB_SRC  := $(filter-out $(TEST_SRC) $(MAIN_SRC),$(ALL_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
TESTS    := $(TEST_SRC:src/%.c=$(B)/test/%)
FUZZERS  := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/*.c))

PROGS := postfix postconf postmap postalias newaliases postqueue mailq \
	postsuper postcat sendmail

.PHONY: all deps run check unit asan e2e format format-check lint fuzz fuzzers clean \
	bench
all: $(B)/ulak $(PROGS:%=$(B)/bin/%)

# The dependency script installs what is missing (root) or says what to run.
deps: $(B)/.deps-ok
$(B)/.deps-ok: scripts/deps.sh
	@scripts/deps.sh --check || scripts/deps.sh
	@mkdir -p $(B) && touch $@

$(B)/obj/%.o: %.c | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libulak.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/ulak: $(B)/obj/src/ulak.o $(B)/libulak.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/%: | $(B)/ulak
	@mkdir -p $(B)/bin
	ln -sf ../ulak $@

$(B)/test/%: $(B)/obj/src/%.o $(B)/libulak.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# libFuzzer drivers (build with SAN=fuzz; scripts/fuzz.sh does).
fuzzers: $(FUZZERS)
$(B)/fuzz/%: tests/fuzz/%.c $(B)/libulak.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $^ $(LDLIBS)

# Each unit test binary runs in its own process with a time limit.
unit: $(TESTS)
	@pass=0; fail=0; for t in $(TESTS); do \
	  if timeout 120 $$t >$$t.log 2>&1; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); echo "FAIL: $$t"; cat $$t.log; fi; \
	done; echo "unit ($(B)): $$pass test programs passed, $$fail failed"; \
	[ $$fail = 0 ]

asan:
	@$(MAKE) --no-print-directory B=build/asan SAN=1 unit

# Many cases wait on Postfix's reference commands (its fatal errors sleep a
# second), so the tests run in E2E_JOBS processes (pytest-xdist).
E2E_JOBS ?= 4
e2e: all
	@$(PYTEST) -q -p no:cacheprovider -n $(E2E_JOBS) tests/e2e 2>&1 | \
	  tail -n 30; \
	exit $${PIPESTATUS[0]}

FORMAT_SRC = $(shell find src tests -name '*.[ch]' | sort)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && \
	echo "format-check: $(words $(FORMAT_SRC)) files formatted"

# STYLE.md bans unbounded calls; the poison pragmas catch them at compile
# time, this catches a file that forgot to include sys_defs.h.
lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strncpy|strtok|atoi|atol|gets|alloca)[[:space:]]*\(' \
	  $(FORMAT_SRC) | grep -v 'poison' || { echo "lint: banned call"; exit 1; }
	@echo "lint: no banned calls"

fuzz:
	@scripts/fuzz.sh smoke

check: all format-check lint unit asan e2e fuzz

run: all
	@scripts/run.sh

# Not part of check: needs root and Debian's postfix (docs/PERFORMANCE.md).
bench: all
	@bench/run $(BENCH_ARGS)

clean:
	rm -rf build

SHELL := /bin/bash
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
