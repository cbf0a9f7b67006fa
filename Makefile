# gencontrol: the PGXS build of the C++ extension, and the project's top-level commands.
#   make run    set up, build, install, start a local cluster and the HTTP shim
#   make test   the same set-up, then every test suite
#   make bench  the benchmark report (bench/results/REPORT.md)
#   make deb    the Debian packages, into build/deb
#   make installcheck  the pgTAP suite against a running server named by PGHOST, PGPORT, ...

EXTENSION = gencontrol
MODULE_big = gencontrol
DATA = $(wildcard sql/gencontrol--*.sql)
OBJS = \
	src/common/tenant_shard_id.o \
	src/extension/module.o \
	src/extension/guards.o \
	src/extension/prologue.o \
	src/extension/generation_log.o \
	src/extension/tenant_shard_id_type.o \
	src/extension/durability.o \
	src/extension/statements.o \
	src/extension/relation_oids.o \
	src/extension/table_writer.o \
	src/extension/node_lock.o \
	src/extension/subtransaction.o \
	src/extension/shard_lock.o \
	src/extension/layout.o \
	src/extension/node_epochs.o \
	src/extension/attached_shards.o \
	src/extension/attach.o \
	src/extension/shard_lookup.o \
	src/extension/read_barrier.o \
	src/extension/validate.o \
	src/extension/re_attach.o \
	src/extension/inspect.o \
	src/extension/advance_all.o \
	src/extension/guard_trigger.o \
	src/extension/v1_0/attach.o \
	src/extension/v1_0/re_attach.o \
	src/extension/v1_0/advance_all.o \
	src/extension/v1_0/generation_guard.o

# Point the build at another PostgreSQL with `make PG_CONFIG=/path/to/pg_config`; the scripts
# and tests take their server binaries from the same pg_config.
PG_CONFIG ?= pg_config
export PG_CONFIG
PG_CPPFLAGS = -Isrc/common -Isrc/extension
# -MMD -MP: each object also records the headers it read (a .d file next to it), so changing a
# header rebuilds every object that includes it; PGXS alone tracks only the .cpp files, and an
# object built against an old class layout crashes the backend.
PG_CXXFLAGS = -std=c++20 -fno-omit-frame-pointer -Wno-register -MMD -MP
SHLIB_LINK = -lstdc++
# Debian's PGXS also builds LLVM bitcode for JIT inlining; gencontrol's functions gain
# nothing from it and it would need clang at build time.
override with_llvm = no

# PGXS's installcheck runs pg_regress; gencontrol's suite is pgTAP (scripts/installcheck.sh).
NO_INSTALLCHECK = 1

# The control file lives in extension/; PGXS looks for it at the top level.
EXTRA_CLEAN = gencontrol.control $(OBJS:.o=.d)

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
all install:
	@echo "PostgreSQL 15 server headers are missing: run scripts/bootstrap.sh (make run/test do)" >&2; exit 1
endif

all: gencontrol.control
gencontrol.control: extension/gencontrol.control
	cp $< $@

.PHONY: run test bench test-long fuzz stop deb installcheck test-packages test-alerts
run:
	scripts/run.sh
test:
	scripts/test.sh
test-long:
	GENCONTROL_LONG=1 scripts/test.sh
bench:
	scripts/bench.sh
fuzz:
	scripts/fuzz.sh 300
stop:
	scripts/run.sh stop
deb:
	scripts/deb.sh
installcheck:
	scripts/installcheck.sh
test-packages:
	scripts/test-packages.sh
test-alerts:
	scripts/test-alerts.sh

-include $(OBJS:.o=.d)
