#!/usr/bin/env bash
# Builds the Loom image with buildah (Debian's `buildah`; `--isolation chroot` needs no daemon and
# works where podman/crun cannot run containers, e.g. on hosts with hybrid cgroups).
#
#   scripts/build-image.sh [TAG]        default TAG: loom:<package version>
#
# Environment:
#   NODE_IMAGE       base image of both stages (default: the Dockerfile's, an official Node 20 slim image)
#   BUILDAH_GLOBAL   options before `bud` (e.g. --root DIR --runroot DIR --storage-driver vfs)
#   BUILDAH_ARGS     more `bud` options (e.g. --volume $HOME/.npm:/root/.npm to reuse the npm cache)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
tag=${1:-loom:$version}
args=(--isolation chroot --build-arg "VERSION=$version" --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
if [ -n "${NODE_IMAGE:-}" ]; then args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE"); fi
# shellcheck disable=SC2086 # word splitting of the option strings is intended
buildah ${BUILDAH_GLOBAL:-} bud "${args[@]}" ${BUILDAH_ARGS:-} -f Dockerfile -t "$tag" .
echo "built $tag"
