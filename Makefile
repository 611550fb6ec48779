# Thin wrapper over CMake for the common commands. See README.md.
#   make            build the library, examples, tools and benchmarks into build/
#                   (no tests: needs only the build dependencies; installs nothing)
#   make demo       install the build dependencies when missing, build, run the examples
#   make test       install every dependency when missing, then everything CI checks:
#                   tests, sanitizer build, short fuzz, cppcheck (warnings are errors),
#                   the arm64 checks in qemu-system
#   make bench      benchmarks (ARGS=--json for machine-readable output)
#   make stress     long stress runs        make fuzz   long fuzz run
#   make test-arm64 the arm64 checks in an emulated arm64 machine (qemu-system)
#   make install    cmake --install (PREFIX=/usr/local)
MAKEFLAGS += --no-print-directory
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
ARGS   ?=
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?=
# The project's own test builds: tests on, warnings are errors.
CHECK_FLAGS = -DCHOOK_TESTS=ON -DCHOOK_WERROR=ON

.PHONY: all deps build build-quiet test test-release test-asan fuzz-short cppcheck demo bench stress fuzz install clean test-arm64

all: build

# Installing packages is set-up: only demo, and the targets that build or run the
# tests (test, stress, fuzz, cppcheck) do it, through scripts/deps.sh. A plain build
# (make, make bench, make install, cmake) never installs anything.
deps:
	@scripts/deps.sh build

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHOOK_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

# The same, printing the compiler's output only when the build fails.
build-quiet:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHOOK_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS) >build/.build.log 2>&1 || { cat build/.build.log; exit 1; }

test: test-release test-asan fuzz-short cppcheck test-arm64
	@echo "chook: all checks passed"

test-release:
	@scripts/deps.sh all
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CHECK_FLAGS) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)
	@cd build && ctest --output-on-failure -j 1
	@scripts/check-install.sh build

test-asan:
	@scripts/deps.sh all
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHOOK_SANITIZE=ON \
	    -DCHOOK_BENCH=OFF $(CHECK_FLAGS) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 1

build-fuzz:
	@scripts/deps.sh all
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCHOOK_FUZZ=ON $(CHECK_FLAGS) -DCHOOK_BENCH=OFF -DCHOOK_EXAMPLES=OFF -DCHOOK_TOOLS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $$(cd tests/fuzz && ls *.c | sed 's/\.c$$//')

fuzz-short: build-fuzz
	@scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz: build-fuzz
	@scripts/fuzz.sh build-fuzz $(if $(filter 30,$(FUZZ_SECONDS)),1800,$(FUZZ_SECONDS))

# ctuuninitvar is suppressed: it reports every uninitialised struct passed as an
# out-parameter (chook__region r; chook__maps_find(addr, &r)) as a use.
cppcheck:
	@scripts/deps.sh all
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --std=c11 -D__x86_64__ -DCHOOK_BUILDING -Iinclude -Isrc $(patsubst %/,-I%,$(filter-out src/arch/,$(wildcard src/*/))) -Isrc/arch/x86_64 \
	    --suppress=missingIncludeSystem --suppress=ctuuninitvar src include
	@echo "cppcheck: clean"

# The arm64 back end's checks under qemu-system-aarch64 (scripts/arm64-vm.sh):
# boots Debian's arm64 kernel with the test programs in an initramfs.
test-arm64:
	@scripts/arm64-vm.sh build-arm64

demo: deps
	@$(MAKE) build-quiet
	@scripts/demo.sh build

bench: build-quiet
	@scripts/bench.sh build $(ARGS)

stress:
	@scripts/deps.sh all
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CHECK_FLAGS) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS) >build/.build.log 2>&1 || { cat build/.build.log; exit 1; }
	@scripts/stress.sh build

install: build
	@cmake --install build --prefix $(PREFIX)

clean:
	@rm -rf build build-asan build-fuzz build-arm64
