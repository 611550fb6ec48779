#!/usr/bin/env bash
# Installs the Debian packages chook needs to build and test, when missing.
# Usage: scripts/deps.sh [build|test|all]   (default: all)
set -eu
want_build="cmake make gcc pkg-config libzydis-dev libzycore-dev libelf-dev zlib1g-dev"
want_test="libcriterion-dev g++ clang libclang-rt-14-dev cppcheck libcmocka-dev libgtest-dev"
case "${1:-all}" in
  build) want="$want_build" ;;
  *)     want="$want_build $want_test" ;;
esac
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "chook: installing missing packages:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "chook: need root (or sudo) to install:$missing" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
