#!/usr/bin/env bash
# Copy the collection to build/ac/ansible_collections/itms/cem and print that path.
# ansible-test and molecule need the tree at a physical ansible_collections/<ns>/<name>/ path
# (a symlink is resolved and rejected), and the repository root is the collection root.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/build/ac/ansible_collections/itms/cem"
mkdir -p "$dest"
# Start clean but keep ansible-test's output (and its caches) between runs.
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[ -d "$dest/tests" ] && find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
tar -C "$root" \
  --exclude=./.venv --exclude=./build --exclude=./dist --exclude=./reports --exclude=./collections \
  --exclude=./tests/output --exclude=./.pytest_cache --exclude=./.cache --exclude='__pycache__' \
  --exclude=./importer_result.json --exclude=./ansible.cfg -cf - . | tar -C "$dest" -xf -
echo "$dest"
