#!/usr/bin/env bash
# Runs the arm64 checks in an emulated arm64 machine (qemu-system-aarch64 booting
# Debian's arm64 kernel with an initramfs that holds a static /init and the test
# programs). qemu-user cannot run these checks: a write through /proc/self/mem is
# invisible to its translation cache, and its signals differ from a kernel's.
#
# Usage: scripts/arm64-vm.sh [WORKDIR]    (default: build-arm64)
# Environment: CHOOK_ARM64_TIMEOUT  seconds the VM may run (default 300)
#              CHOOK_ARM64_SMP      virtual cores (default 2)
# Prints the console output, the boot and run times, and exits 0 only when every
# test program exited 0.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$src/build-arm64}
timeout_s=${CHOOK_ARM64_TIMEOUT:-300}
smp=${CHOOK_ARM64_SMP:-2}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# ---- 1. host packages ---------------------------------------------------------
want="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "arm64-vm: installing$missing" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---- 2. the arm64 kernel ------------------------------------------------------
# Downloaded with apt-get from the machine's own Debian sources, through a private
# arm64 package list under $work/apt: the host's dpkg architectures stay as
# they are.
kernel=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
if [ -z "$kernel" ]; then
  apt_dir=$work/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
            -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::archives="$apt_dir/archives"
            -o Dir::Cache::pkgcache="$apt_dir/pkgcache.bin"
            -o Dir::Cache::srcpkgcache="$apt_dir/srcpkgcache.bin")
  apt-get "${apt_opts[@]}" update -qq
  pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-arm64 |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || { echo "arm64-vm: no linux-image-*-arm64 package found" >&2; exit 1; }
  # (as root, apt warns that the download runs unsandboxed: harmless here)
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" -q download "$pkg")
  dpkg-deb -x "$apt_dir"/"$pkg"_*.deb "$work/kernel"
  rm -f "$apt_dir"/*.deb
  kernel=$(ls "$work"/kernel/boot/vmlinuz-* | head -n1)
fi

# ---- 3. the test programs and the initramfs -----------------------------------
cc="aarch64-linux-gnu-gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror"
root=$work/root
rm -rf "$root" && mkdir -p "$root/tests"
$cc "$src/tests/arm64/init.c" -o "$root/init"
$cc -I"$src/include" -I"$src/src" -I"$src/src/arch/aarch64" \
    "$src/tests/arm64/selfpatch.c" "$src"/src/arch/aarch64/*.c -o "$root/tests/selfpatch"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

# ---- 4. boot ------------------------------------------------------------------
# -cpu max emulates every feature (BTI, PAC, ...); pauth-impdef picks QEMU's cheap
# pointer-authentication algorithm, which is much faster to emulate.
log=$work/console.log
start=$(date +%s%N)
set +e
timeout "$timeout_s" qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -smp "$smp" -m 512 \
  -nographic -nic none -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" \
  -append "console=ttyAMA0 panic=-1 quiet" </dev/null >"$log" 2>&1
qemu_rc=$?
set -e
end=$(date +%s%N)
tr -d '\r' <"$log" | grep -v '^\s*$' | sed 's/^/  | /'
booted=$(tr -d '\r' <"$log" | sed -n 's/^CHOOK-ARM64-BOOTED \([0-9.]*\).*/\1/p')
done_line=$(tr -d '\r' <"$log" | sed -n 's/^CHOOK-ARM64-DONE \(-\{0,1\}[0-9]*\).*/\1/p')
ms=$(( (end - start) / 1000000 ))
printf 'arm64-vm: guest reached /init after %s s (guest clock); whole run %d.%d s (host)\n' \
  "${booted:-?}" $((ms / 1000)) $((ms % 1000 / 100))
if [ "$qemu_rc" = 124 ]; then
  echo "arm64-vm: FAILED: no power-off within ${timeout_s}s" >&2; exit 1
fi
if [ "${done_line:-x}" != 0 ]; then
  echo "arm64-vm: FAILED (failed programs: ${done_line:-no result line})" >&2; exit 1
fi
echo "arm64-vm: all arm64 checks passed"
