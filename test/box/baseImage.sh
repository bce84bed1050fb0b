#!/usr/bin/env bash
# The box's base image without a container registry: debootstrap a minimal Debian root (the host's
# suite, bookworm by default; nodejs and python3 from Debian), trimmed and cached as a tarball in
# ~/.cache/sir-convert-a-lot-box, then `docker import`ed as sir-convert-a-lot-box-base:<suite>.
# Idempotent: an imported image or a cached tarball is reused. Run by box.sh up (root).
set -euo pipefail
CACHE="${SIR_CONVERT_A_LOT_BOX_CACHE:-$HOME/.cache/sir-convert-a-lot-box}"
SUITE="${SIR_CONVERT_A_LOT_BOX_SUITE:-$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")}"
case "$SUITE" in bookworm|trixie) ;; *) SUITE=bookworm ;; esac
MIRROR="${SIR_CONVERT_A_LOT_BOX_MIRROR:-http://deb.debian.org/debian}"
IMAGE="sir-convert-a-lot-box-base:$SUITE"
TARBALL="$CACHE/rootfs-$SUITE.tar"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  ROOT="$CACHE/rootfs-$SUITE.build"
  rm -rf "$ROOT"
  echo "box: debootstrap $SUITE (nodejs, python3) into $ROOT (about a minute, once)" >&2
  debootstrap --variant=minbase --include=nodejs,python3 "$SUITE" "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { echo "box: debootstrap failed; log: $CACHE/debootstrap.log" >&2; tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* \
    "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/* "$ROOT"/usr/share/info/*
  tar --numeric-owner -C "$ROOT" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$ROOT"
fi
echo "box: docker import $TARBALL as $IMAGE" >&2
docker import "$TARBALL" "$IMAGE" >/dev/null
