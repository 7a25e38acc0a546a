#!/usr/bin/env bash
# ansible-test sanity, offline-safe: the copy of the collection, a private HOME, and a stand-in
# for the get-pip.py ansible-test would download from a host outside the package registries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$("$root/tests/collection-copy.sh")"
export HOME="$root/build/ansible-test-home"
pip_version="$(python -c 'import re, ansible_test, os; p = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"); print(re.search(r"pip=.([0-9.]+).", open(p).read()).group(1))')"
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/sanity/get_pip_standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
cd "$dest"
excludes=()
while IFS= read -r f; do excludes+=(--exclude "$f"); done < <(find plugins -name '*.ps1' -o -name '*.psm1' | sort)
python_version="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
exec ansible-test sanity --venv --python "$python_version" --color no "${excludes[@]}" "$@"
