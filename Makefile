# SPDX-License-Identifier: BSD-2-Clause
OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/riscv64/riscv/' \
			-e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

# clang -target bpf does not know the host's system include directories.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

# user/ holds main.c and the shared helpers; each folder below it one stage of the pipeline.
USER_DIRS := $(sort $(dir $(wildcard user/*/*.c)))
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_HDRS := $(wildcard user/*.h user/*/*.h)
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))

WARN := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
# The --cflags of the libraries whose headers user/ includes. The arm64 cross build sets its own:
# libcurl's are -I/usr/include/x86_64-linux-gnu here, the host's headers.
PKG_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl $(PROM_PKGS) $(NOTIFY_PKGS))
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DBPFMETER_VERSION='"$(VERSION)"' \
	-I$(OUTPUT) -Iuser $(addprefix -I,$(USER_DIRS:/=)) -Ibpf $(shell $(PKG_CONFIG) --cflags libbpf) \
	$(PKG_CFLAGS)
# The Prometheus endpoint: libmicrohttpd serves (HTTP/1.1, TLS through GnuTLS, basic auth),
# libyaml reads --web-config, libcrypt (libxcrypt) checks its bcrypt hashes.
PROM_PKGS := libmicrohttpd yaml-0.1 libcrypt
# Readiness for Type=notify: libsystemd's sd_notify (user/session/notify.c).
NOTIFY_PKGS := libsystemd
# libcap-ng: the capability sets read and dropped after the start (user/caps.c).
# libcurl, libmicrohttpd and libsystemd are not linked: user/dynlib.c loads each at its first
# call (-ldl), as a session that uses none of them had 7 MB of RSS of them.
DYN_PKGS := libcurl libmicrohttpd $(NOTIFY_PKGS)
LIBS := $(shell $(PKG_CONFIG) --libs libbpf) -lz -lcsv $(shell $(PKG_CONFIG) --libs gsl) -lm \
	$(shell $(PKG_CONFIG) --libs libcap-ng) \
	$(shell $(PKG_CONFIG) --libs $(filter-out $(DYN_PKGS),$(PROM_PKGS))) -ldl -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I vmlinux/$(ARCH) -I bpf \
	$(CLANG_BPF_SYS_INCLUDES) -Wall -Werror

UNIT_SRCS := $(wildcard tests/unit/*.c)

# --estimate's table of CPU parts, compiled in (the static binary runs where no file is).
CPU_TABLE := $(OUTPUT)/cpus_table.c

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean distclean test unit asan static static-arm64 image

all: bpfmeter

$(OUTPUT) $(OUTPUT)/asan $(OUTPUT)/static:
	$(Q)mkdir -p $@

$(OUTPUT)/bpfmeter.bpf.o: bpf/bpfmeter.bpf.c bpf/bpfmeter.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bpfmeter.skel.h: $(OUTPUT)/bpfmeter.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bpfmeter_bpf > $@

$(OUTPUT)/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/sensor/sensor.o: $(OUTPUT)/bpfmeter.skel.h

# The kernel types and members the programs' CO-RE relocations name: bpftool gen min_core_btf
# run against the programs' own BTF (vmlinux.h's types) is a template, kernel-neutral, that
# the loader fills in from the running kernel's BTF (user/sensor/kbtf.c) for libbpf to relocate
# against in place of all of it.
$(OUTPUT)/core_btf.h: $(OUTPUT)/bpfmeter.bpf.o
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) gen min_core_btf $< $(OUTPUT)/core.btf $<
	$(Q){ echo '/* Generated from $(OUTPUT)/core.btf by the Makefile. */'; \
	  echo 'static const unsigned char bm_core_btf[] = {'; \
	  od -An -v -tx1 $(OUTPUT)/core.btf | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'; \
	  echo '};'; } >$@

$(OUTPUT)/sensor/sensor.o $(OUTPUT)/asan/sensor/sensor.o $(OUTPUT)/static/sensor/sensor.o \
	$(OUTPUT)/fuzz/sensor/sensor.o: \
	$(OUTPUT)/core_btf.h

# The version (git describe) is compiled into these: they are built again when it changes.
.PHONY: FORCE
$(OUTPUT)/version: FORCE | $(OUTPUT)
	$(Q)echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
VERSION_USERS := opts session/session output/out_prom output/out_http
$(foreach u,$(VERSION_USERS),$(OUTPUT)/$(u).o $(OUTPUT)/asan/$(u).o $(OUTPUT)/static/$(u).o): $(OUTPUT)/version


$(CPU_TABLE): user/energy/cpus.csv scripts/cpus-table.awk | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)awk -f scripts/cpus-table.awk $< > $@

$(OUTPUT)/cpus_table.o: $(CPU_TABLE) user/energy/estimate.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

bpfmeter: $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS)) $(OUTPUT)/cpus_table.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# Unit tests link the pure-logic modules (no skeleton needed but sensor.o's).
$(OUTPUT)/unit-tests: $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(OUTPUT)/cpus_table.o $(wildcard tests/unit/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(OUTPUT)/cpus_table.o $(LIBS) -o $@

# The sanitizer build: the binary and the unit tests, with ASan and UBSan.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(OUTPUT)/asan/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h $(OUTPUT)/bpfmeter.skel.h | $(OUTPUT)/asan
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@

$(OUTPUT)/asan/cpus_table.o: $(CPU_TABLE) user/energy/estimate.h | $(OUTPUT)/asan
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@

bpfmeter-asan: $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(USER_SRCS)) $(OUTPUT)/asan/cpus_table.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN) $^ $(LIBS) -o $@

$(OUTPUT)/unit-tests-asan: $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS)) $(OUTPUT)/asan/cpus_table.o $(wildcard tests/unit/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -Itests/unit $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS)) $(OUTPUT)/asan/cpus_table.o $(LIBS) -o $@

# A statically linked bpfmeter that runs where nothing is installed (tests/integration/qemu.sh
# boots older kernels with it; the container image holds it alone). libbpf, libelf, zlib, GSL,
# libcsv, libyaml and libcrypt are linked from Debian's .a files. libcurl is not: Debian's
# libcurl.a needs GSSAPI (krb5 ships no static library) and, through librtmp and libldap, GnuTLS
# and p11-kit (no static library either), so this build leaves the InfluxDB HTTP sink out
# (-DBPFMETER_NO_HTTP: out_http_none.c instead of out_http.c, and -o influx+http://... is refused
# with one line). Debian's libmicrohttpd.a is built with GnuTLS too, so the Prometheus endpoint
# links a libmicrohttpd built without HTTPS from Debian's source package instead
# (scripts/build-static-mhd.sh, once per clone into $(MHD_STATIC); make clean keeps it, make
# distclean does not): the endpoint is all there but TLS, which --web-config then refuses.
# Debian ships no libsystemd.a: no readiness notifications either (-DBPFMETER_NO_SYSTEMD:
# notify_none.c instead of notify.c; such a bpfmeter runs under Type=simple).
MHD_STATIC := $(OUTPUT)/mhd
# configure's --host for it: empty for the build machine's own.
MHD_HOST :=
# The static binary's name: make static-arm64 runs this Makefile again with its own.
STATIC_BIN := bpfmeter-static
STATIC_SRCS := $(filter-out user/output/out_http.c user/session/notify.c user/dynlib.c,$(USER_SRCS))
STATIC_LIBS := $(MHD_STATIC)/lib/libmicrohttpd.a $(shell $(PKG_CONFIG) --static --libs libbpf) \
	-lcsv $(shell $(PKG_CONFIG) --static --libs gsl yaml-0.1 libcrypt libcap-ng) -lm -lpthread

$(MHD_STATIC)/lib/libmicrohttpd.a:
	$(call msg,MHD,$@)
	$(Q)scripts/build-static-mhd.sh $(MHD_STATIC) $(MHD_HOST)

$(OUTPUT)/static/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h $(OUTPUT)/bpfmeter.skel.h | $(OUTPUT)/static
	$(call msg,CC-STAT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -I$(MHD_STATIC)/include $(ALL_CFLAGS) -DBPFMETER_NO_HTTP -DBPFMETER_STATIC -DBPFMETER_NO_SYSTEMD -c $< -o $@

$(OUTPUT)/static/output/prom_server.o: $(MHD_STATIC)/lib/libmicrohttpd.a

$(OUTPUT)/static/cpus_table.o: $(CPU_TABLE) user/energy/estimate.h | $(OUTPUT)/static
	$(call msg,CC-STAT,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(STATIC_BIN): $(patsubst user/%.c,$(OUTPUT)/static/%.o,$(STATIC_SRCS)) $(OUTPUT)/static/cpus_table.o $(MHD_STATIC)/lib/libmicrohttpd.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $(filter %.o,$^) $(STATIC_LIBS) -o $@

static: bpfmeter-static

# make static-arm64: bpfmeter-static-arm64, the same static binary for aarch64. Elsewhere than
# on arm64 it is cross-built with Debian's aarch64-linux-gnu- toolchain (crossbuild-essential-arm64)
# against the arm64 -dev packages installed by multiarch (scripts/install-deps.sh), whose .pc
# files pkg-config reads from /usr/lib/aarch64-linux-gnu/pkgconfig; on arm64 with the machine's
# own compiler. All of it is kept in $(OUTPUT)/arm64 (the BPF object from vmlinux/arm64, its
# skeleton and core_btf.h template, the objects), $(OUTPUT)/mhd-arm64 (its libmicrohttpd) and
# $(OUTPUT)/arm64-dev (below), apart from the build of this machine's arch; make clean keeps
# the last two, as it does $(MHD_STATIC).
ifneq ($(STATIC_BIN),bpfmeter-static-arm64)
ifeq ($(ARCH),arm64)
ARM64_CC ?= $(CC)
ARM64_PKG_CONFIG ?= $(PKG_CONFIG)
ARM64_MHD_HOST ?=
ARM64_CLANG_TARGET ?=
ARM64_PKG_CFLAGS ?=
else
ARM64_TRIPLET ?= aarch64-linux-gnu
ARM64_CC ?= $(ARM64_TRIPLET)-gcc
# libgsl-dev:arm64 cannot be installed beside libgsl-dev:amd64 (no Multi-Arch: same): it is
# unpacked into $(ARM64_DEV) instead (scripts/fetch-cross-dev.sh), its gsl.pc found there
# first.
ARM64_FETCH := libgsl-dev
ARM64_DEV := $(OUTPUT)/arm64-dev
ARM64_PC_DIRS := $(abspath $(ARM64_DEV))/libgsl-dev/usr/lib/$(ARM64_TRIPLET)/pkgconfig \
	/usr/lib/$(ARM64_TRIPLET)/pkgconfig /usr/share/pkgconfig
empty :=
ARM64_PKG_CONFIG ?= env PKG_CONFIG_LIBDIR=$(subst $(empty) $(empty),:,$(ARM64_PC_DIRS)) $(PKG_CONFIG)
ARM64_PKG_CFLAGS ?= -I$(abspath $(ARM64_DEV))/libgsl-dev/usr/include
ARM64_MHD_HOST ?= $(ARM64_TRIPLET)
# clang's include path for the target's <asm/...>, which the BPF programs' linux/types.h reads.
ARM64_CLANG_TARGET ?= --target=$(ARM64_TRIPLET)
endif
ARM64_BPF_SYS_INCLUDES = $(shell $(CLANG) $(ARM64_CLANG_TARGET) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

.PHONY: bpfmeter-static-arm64
static-arm64 bpfmeter-static-arm64:
	$(Q)command -v $(firstword $(ARM64_CC)) >/dev/null || { echo "make static-arm64: $(firstword $(ARM64_CC)) is not installed: run scripts/install-deps.sh" >&2; exit 1; }
	$(if $(ARM64_FETCH),$(Q)scripts/fetch-cross-dev.sh $(ARM64_DEV) arm64 $(ARM64_FETCH))
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 OUTPUT=$(OUTPUT)/arm64 MHD_STATIC=$(OUTPUT)/mhd-arm64 \
		MHD_HOST='$(ARM64_MHD_HOST)' CC='$(ARM64_CC)' PKG_CONFIG='$(ARM64_PKG_CONFIG)' \
		PKG_CFLAGS='$(ARM64_PKG_CFLAGS)' \
		CLANG_BPF_SYS_INCLUDES='$(ARM64_BPF_SYS_INCLUDES)' \
		STATIC_BIN=bpfmeter-static-arm64 bpfmeter-static-arm64
endif

# The container image: scripts/deploy/Containerfile over the stripped static binary alone, built
# with podman from a context that holds nothing else.
IMAGE ?= localhost/bpfmeter:latest
PODMAN ?= podman
image: bpfmeter-static
	$(call msg,IMAGE,$(IMAGE))
	$(Q)command -v $(PODMAN) >/dev/null || { echo "make image: $(PODMAN) is not installed: run scripts/install-deps.sh" >&2; exit 1; }
	$(Q)rm -rf $(OUTPUT)/image && mkdir -p $(OUTPUT)/image
	$(Q)strip -o $(OUTPUT)/image/bpfmeter bpfmeter-static
	$(Q)$(PODMAN) build -q -f scripts/deploy/Containerfile -t $(IMAGE) $(OUTPUT)/image >/dev/null
test: bpfmeter-static
# ... and the arm64 one, for tests/integration/qemu.sh's arm64 guest (QEMU_ARCH=arm64).
test: static-arm64

# libFuzzer targets over the parsers of outside input (tests/fuzz/*.c), with ASan and UBSan:
# clang and its fuzzer runtime (libclang-rt-14-dev). scripts/fuzz.sh runs them.
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_CFLAGS := $(ALL_CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzz/%.o,$(LIB_SRCS)) $(OUTPUT)/fuzz/cpus_table.o
.PHONY: fuzz
fuzz: $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz-%,$(FUZZ_SRCS))
# Made by a pattern rule for a pattern rule: kept, not removed as intermediates.
.SECONDARY: $(FUZZ_OBJS)

$(OUTPUT)/fuzz/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h $(OUTPUT)/bpfmeter.skel.h
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/cpus_table.o: $(CPU_TABLE) user/energy/estimate.h
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz-%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(LIBS) -o $@

unit: $(OUTPUT)/unit-tests

asan: bpfmeter-asan $(OUTPUT)/unit-tests-asan

test: bpfmeter asan $(OUTPUT)/unit-tests
	$(Q)tests/run.sh

clean:
	$(call msg,CLEAN,)
	$(Q)[ ! -d $(OUTPUT) ] || find $(OUTPUT) -mindepth 1 -maxdepth 1 ! -name mhd ! -name mhd-arm64 ! -name arm64-dev -exec rm -rf {} +
	$(Q)rm -f bpfmeter bpfmeter-asan bpfmeter-static bpfmeter-static-arm64

distclean: clean
	$(Q)rm -rf $(OUTPUT)

# Benchmark aids for scripts/bench-overhead.sh: empty-hook attaches a sched_switch program
# that does nothing, to show the fixed cost of any hook there.
.PHONY: bench-tools
bench-tools: $(OUTPUT)/empty-hook $(OUTPUT)/bench-model-fit $(OUTPUT)/bench-prometheus \
	$(OUTPUT)/bench-interval $(OUTPUT)/cgload

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/empty-hook.bpf.o: scripts/bench/empty-hook.bpf.c $(VMLINUX) | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/empty-hook.skel.h: $(OUTPUT)/bench/empty-hook.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_hook_bpf > $@

$(OUTPUT)/empty-hook: scripts/bench/empty-hook.c $(OUTPUT)/bench/empty-hook.skel.h
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(OUTPUT)/bench $< $(LIBS) -o $@

$(OUTPUT)/bench-model-fit: scripts/bench/model-fit.c $(OUTPUT)/model/model.o $(OUTPUT)/util.o
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LIBS) -o $@

# scripts/bench-prometheus.sh: the endpoint's render and scrape at 1,000 targets.
$(OUTPUT)/bench-prometheus: scripts/bench/prometheus.c $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(OUTPUT)/cpus_table.o
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LIBS) -o $@

# scripts/bench-interval.sh: one interval's userspace cost with CSV output, at N targets.
$(OUTPUT)/bench-interval: scripts/bench/interval.c $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(OUTPUT)/cpus_table.o
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LIBS) -o $@

# scripts/bench-scale.sh and bench-churn.sh: N steady cgroups with a worker each, or a churn
# of short-lived cgroups.
$(OUTPUT)/cgload: scripts/bench/cgload.c | $(OUTPUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $< -o $@

# The RAPL simulator for the energy tests: drives copies of tests/fixtures/powercap trees with
# known power, since most test machines (VMs, CI) have no RAPL of their own.
.PHONY: sim
sim: $(OUTPUT)/rapl-sim

$(OUTPUT)/rapl-sim: tests/sim/rapl-sim.c $(OUTPUT)/util.o | $(OUTPUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -lm -o $@

# Synthetic recordings with per-cgroup ground truth, for scripts/bench-split.sh (issue 20):
# how well the model splits a socket's energy between cgroups.
.PHONY: split-scenario
split-scenario: $(OUTPUT)/split-scenario

$(OUTPUT)/split-scenario: tests/sim/split-scenario.c | $(OUTPUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -lm -o $@

# Runs a command under a seccomp filter that fails the syscalls named with EPERM, for
# tests/integration/privilege.sh: bpfmeter in a container whose profile blocks bpf().
.PHONY: seccomp-deny
seccomp-deny: $(OUTPUT)/seccomp-deny
test: seccomp-deny

$(OUTPUT)/seccomp-deny: tests/sim/seccomp-deny.c | $(OUTPUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(shell $(PKG_CONFIG) --libs libseccomp) -o $@

# Feeds line-protocol batches from stdin to the InfluxDB HTTP sink, for
# tests/integration/influx.sh: the sink on its own, against a real server.
.PHONY: http-push
http-push: $(OUTPUT)/http-push
test: http-push

$(OUTPUT)/http-push: tests/sim/http-push.c $(OUTPUT)/output/out_http.o $(OUTPUT)/output/spool.o $(OUTPUT)/util.o
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(shell $(PKG_CONFIG) --libs libcurl) -lpthread -lm -o $@

# --- Install, and the Debian package --------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR=] [MANDIR=]: the binary, bpfmeter(8), the
# systemd unit (its ExecStart pointed at BINDIR), /etc/default/bpfmeter (kept if there), the
# sysusers.d entry of the user bpfmeter, which is created when installing to this system.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
# Where systemd looks: Debian 12's /lib/systemd/system for PREFIX=/usr, else below PREFIX.
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DEPLOY := scripts/deploy
INSTALL ?= install

.PHONY: install uninstall deb
install: bpfmeter
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/bpfmeter)
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSUSERSDIR)
	$(Q)$(INSTALL) -m 755 bpfmeter $(DESTDIR)$(BINDIR)/bpfmeter
	$(Q)$(INSTALL) -m 644 $(DEPLOY)/bpfmeter.8 $(DESTDIR)$(MANDIR)/man8/bpfmeter.8
	$(Q)sed 's|^ExecStart=/usr/bin/bpfmeter|ExecStart=$(BINDIR)/bpfmeter|' $(DEPLOY)/bpfmeter.service \
		>$(DESTDIR)$(UNITDIR)/bpfmeter.service && chmod 644 $(DESTDIR)$(UNITDIR)/bpfmeter.service
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/default/bpfmeter ] || \
		$(INSTALL) -m 644 $(DEPLOY)/bpfmeter.default $(DESTDIR)$(SYSCONFDIR)/default/bpfmeter
	$(Q)$(INSTALL) -m 644 $(DEPLOY)/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/bpfmeter.conf
	$(Q)if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/bpfmeter.conf; fi

# The user, /etc/default/bpfmeter and /var/lib/bpfmeter stay: userdel bpfmeter and remove them.
uninstall:
	$(call msg,UNINST,$(DESTDIR)$(BINDIR)/bpfmeter)
	$(Q)rm -f $(DESTDIR)$(BINDIR)/bpfmeter $(DESTDIR)$(MANDIR)/man8/bpfmeter.8 \
		$(DESTDIR)$(UNITDIR)/bpfmeter.service $(DESTDIR)$(SYSUSERSDIR)/bpfmeter.conf

# make deb: bpfmeter_VERSION_ARCH.deb here, from a staged make install (PREFIX=/usr) with the
# maintainer scripts of scripts/deploy/debian; lintian on it: see README.
deb: bpfmeter
	$(call msg,DEB,bpfmeter_*.deb)
	$(Q)$(DEPLOY)/mkdeb.sh "$(OUTPUT)/deb" "$(VERSION)"
