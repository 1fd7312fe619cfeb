#!/usr/bin/env bash
# Installs every Debian package Reconnu needs to build, test and benchmark.
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libgrpc-dev protobuf-compiler-grpc grpc-proto libprotobuf-dev protobuf-compiler
  libprotobuf-c-dev protobuf-c-compiler libabsl-dev
  libjemalloc-dev liburing-dev libxxhash-dev libicu-dev libjansson-dev libcsv-dev
  libbenchmark-dev python3 python3-grpcio python3-protobuf
  clang libclang-rt-14-dev gnuplot-nox
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
