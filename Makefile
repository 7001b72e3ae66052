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
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DBPFMETER_VERSION='"$(VERSION)"' \
	-I$(OUTPUT) -Iuser $(addprefix -I,$(USER_DIRS:/=)) -Ibpf $(shell $(PKG_CONFIG) --cflags libbpf) \
	$(shell $(PKG_CONFIG) --cflags libcurl $(PROM_PKGS))
# The Prometheus endpoint: libmicrohttpd serves (HTTP/1.1, TLS through GnuTLS, basic auth),
# libyaml reads --web-config, libcrypt (libxcrypt) checks its bcrypt hashes.
PROM_PKGS := libmicrohttpd yaml-0.1 libcrypt
# libcap-ng: the capability sets read and dropped after the start (user/caps.c).
LIBS := $(shell $(PKG_CONFIG) --libs libbpf) -lz -lcsv $(shell $(PKG_CONFIG) --libs gsl) -lm \
	$(shell $(PKG_CONFIG) --libs libcap-ng) \
	$(shell $(PKG_CONFIG) --libs libcurl $(PROM_PKGS)) -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I vmlinux/$(ARCH) -I bpf \
	$(CLANG_BPF_SYS_INCLUDES) -Wall -Werror

UNIT_SRCS := $(wildcard tests/unit/*.c)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean test unit asan static

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

bpfmeter: $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# Unit tests link the pure-logic modules (no skeleton needed but sensor.o's).
$(OUTPUT)/unit-tests: $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(wildcard tests/unit/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS)) $(LIBS) -o $@

# The sanitizer build: the binary and the unit tests, with ASan and UBSan.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(OUTPUT)/asan/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h $(OUTPUT)/bpfmeter.skel.h | $(OUTPUT)/asan
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@

bpfmeter-asan: $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(USER_SRCS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN) $^ $(LIBS) -o $@

$(OUTPUT)/unit-tests-asan: $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS)) $(wildcard tests/unit/*.h)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -Itests/unit $(UNIT_SRCS) $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS)) $(LIBS) -o $@

# A statically linked bpfmeter that runs where nothing is installed (tests/integration/qemu.sh
# boots older kernels with it). libbpf, libelf, zlib, GSL and libcsv are linked from Debian's .a
# files. libcurl is not: Debian's libcurl.a needs GSSAPI (krb5 ships no static library) and,
# through librtmp and libldap, GnuTLS and p11-kit (no static library either), so this build
# leaves the InfluxDB HTTP sink out (-DBPFMETER_NO_HTTP: out_http_none.c instead of out_http.c,
# and -o influx+http://... is refused with one line). Nor is libmicrohttpd: Debian ships a
# libmicrohttpd.a, but it is built with GnuTLS, whose libgnutls.a needs p11-kit (and
# libunistring), so the Prometheus endpoint is left out too (-DBPFMETER_NO_PROMETHEUS:
# prom_none.c instead of prom_server.c and prom_web.c, and -o prometheus: is refused).
STATIC_SRCS := $(filter-out user/output/out_http.c user/output/prom_server.c \
	user/output/prom_web.c,$(USER_SRCS))
STATIC_LIBS := $(shell $(PKG_CONFIG) --static --libs libbpf) -lcsv \
	$(shell $(PKG_CONFIG) --static --libs gsl) $(shell $(PKG_CONFIG) --static --libs libcap-ng) \
	-lm -lpthread

$(OUTPUT)/static/%.o: user/%.c $(USER_HDRS) bpf/bpfmeter.h $(OUTPUT)/bpfmeter.skel.h | $(OUTPUT)/static
	$(call msg,CC-STAT,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -DBPFMETER_NO_HTTP -DBPFMETER_NO_PROMETHEUS -c $< -o $@

bpfmeter-static: $(patsubst user/%.c,$(OUTPUT)/static/%.o,$(STATIC_SRCS))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ $(STATIC_LIBS) -o $@

static: bpfmeter-static
test: bpfmeter-static

unit: $(OUTPUT)/unit-tests

asan: bpfmeter-asan $(OUTPUT)/unit-tests-asan

test: bpfmeter asan $(OUTPUT)/unit-tests
	$(Q)tests/run.sh

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) bpfmeter bpfmeter-asan bpfmeter-static

# Benchmark aids for scripts/bench-overhead.sh: empty-hook attaches a sched_switch program
# that does nothing, to show the fixed cost of any hook there.
.PHONY: bench-tools
bench-tools: $(OUTPUT)/empty-hook $(OUTPUT)/bench-model-fit $(OUTPUT)/bench-prometheus

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
$(OUTPUT)/bench-prometheus: scripts/bench/prometheus.c $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LIBS) -o $@

# The RAPL simulator for the energy tests: drives copies of tests/fixtures/powercap trees with
# known power, since most test machines (VMs, CI) have no RAPL of their own.
.PHONY: sim
sim: $(OUTPUT)/rapl-sim

$(OUTPUT)/rapl-sim: tests/sim/rapl-sim.c $(OUTPUT)/util.o | $(OUTPUT)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -lm -o $@

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
