#!/usr/bin/env bash
# Build the container image with podman: `make image` (bash scripts/image.sh build).
#
# The Dockerfile's base, python:3.11-slim, comes from a registry. Where no registry is reachable
# (this project's CI machine), a local stand-in of it is made first: Debian 12 (the slim image's
# own release, with its Python 3.11) from Debian's packages with debootstrap, imported under the
# same name. podman builds in a chroot (no container runtime needed) on the vfs storage driver.
#
#   IMAGE=passport-scorer-py:local bash scripts/image.sh build    # the default image name
#   bash scripts/image.sh base                                    # only the stand-in base
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-passport-scorer-py:local}"
BASE="docker.io/library/python:3.11-slim"
PODMAN=(podman --storage-driver vfs)

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

stand_in_base() {
  "${PODMAN[@]}" image exists "$BASE" && return 0
  if "${PODMAN[@]}" pull -q "$BASE" >/dev/null 2>&1; then return 0; fi
  need debootstrap
  echo "no registry: making a stand-in for $BASE (Debian 12 and its Python 3.11)"
  local mirror root
  mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
  [ -n "$mirror" ] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' RETURN
  debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-pip,ca-certificates \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  # The slim image's python is /usr/local/bin/python; pip inside builds trusts this machine's CAs.
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python"
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python3"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$BASE" >/dev/null
}

case "${1:-build}" in
  base)
    need podman
    stand_in_base
    ;;
  build)
    need podman
    stand_in_base
    started=$(date +%s)
    "${PODMAN[@]}" build --format docker --isolation chroot --pull=never --network host -t "$IMAGE" . >&2
    echo "built $IMAGE in $(( $(date +%s) - started )) s"
    ;;
  *)
    echo "usage: $0 [build|base]" >&2
    exit 2
    ;;
esac
