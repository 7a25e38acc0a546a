#!/usr/bin/env bash
# itms.cem.report run through ansible-runner the way AWX runs a job: a private data directory with env/envvars,
# env/extravars, env/passwords, env/settings and an inventory; checks in runner_job.py.
set -eux -o pipefail

# ansible-test runs a copy of the target; the collection itself is on ANSIBLE_COLLECTIONS_PATH.
collection_root="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/itms/cem"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python "$(pwd)/runner_job.py" "$collection_root" "$work"
