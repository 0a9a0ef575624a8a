#!/bin/sh
# Build tremplind and start it in the foreground on the shipped configuration
# (etc/tremplin.conf): its socket and database live under ./var.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"
mkdir -p var
exec ./tremplind -d -f etc/tremplin.conf
