#!/usr/bin/env bash
# ansible-test integration on the controller (the targets start what they need from tests/lab).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$("$root/tests/collection-copy.sh")"
export HOME="$root/build/ansible-test-home"
cd "$dest"
python_version="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
exec ansible-test integration --local --python "$python_version" --color no "$@"
