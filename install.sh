#!/usr/bin/env bash
# Builds docker-credential-ecr-xacct, installs it on PATH and, given registry hosts,
# maps them to it in Docker's config.json (credHelpers).
#
#   ./install.sh [--prefix DIR] [--dynamic] [HOST...]
#
# DIR defaults to /usr/local for root, else ~/.local; the binary goes to DIR/bin.
# Docker's config is $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
# On Linux with glibc the binary is linked statically (static-pie): no dynamic loading on each
# of Docker's calls. --dynamic links it dynamically, for hosts whose name service needs NSS
# modules (sss, mdns) to resolve AWS endpoints.
set -euo pipefail

name=docker-credential-ecr-xacct
if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
hosts=()
static=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
              prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --dynamic) static=0; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) hosts+=("$1"); shift ;;
  esac
done

cd "$(dirname "$0")"
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found; install Rust 1.94.1 or newer (rustup) and run again" >&2
  exit 1
fi

flags=()
if [ $static = 1 ] && rustc -vV | grep -q '^host: .*-linux-gnu$'; then
  flags=(-C target-feature=+crt-static)
fi
echo "==> building $name (release${flags:+, static})"
cargo rustc --release --locked --bin "$name" -- "${flags[@]}"
install -d "$prefix/bin"
install -m 0755 "${CARGO_TARGET_DIR:-target}/release/$name" "$prefix/bin/$name"
echo "==> installed $prefix/bin/$name ($("$prefix/bin/$name" version))"

if [ ${#hosts[@]} -gt 0 ]; then
  echo "==> wiring Docker"
  "$prefix/bin/$name" configure-docker "${hosts[@]}"
fi

found=$(command -v "$name" 2>/dev/null || true)
if [ "$found" != "$prefix/bin/$name" ]; then
  echo "note: Docker runs the helper from PATH; add $prefix/bin to PATH${found:+ (PATH finds $found first)}" >&2
fi
