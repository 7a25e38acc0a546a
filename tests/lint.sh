#!/usr/bin/env bash
# ansible-lint --profile production from a copy at ansible_collections/itms/cem, so that the
# collection's own roles and modules resolve (as galaxy-importer does).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$("$root/tests/collection-copy.sh")"
export ANSIBLE_COLLECTIONS_PATH="$root/build/ac"
export HOME="$root/build/lint-home"
mkdir -p "$HOME"
cd "$dest"
exec ansible-lint --offline --profile production --nocolor "$@"
