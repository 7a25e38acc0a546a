#!/usr/bin/env bash
# molecule test --all from a copy of the collection at a physical ansible_collections path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$("$root/tests/collection-copy.sh")"
export ANSIBLE_COLLECTIONS_PATH="$root/build/ac"
export HOME="$root/build/molecule-home"
mkdir -p "$HOME"
cd "$dest"
exec molecule test --all "$@"
