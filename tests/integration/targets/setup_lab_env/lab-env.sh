# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # $here and $work come from the runme.sh that sources this; it uses what this sets
# Sourced by the runme.sh of the targets that drive the lab: sets collection_root and lab_cli, the collection on
# ANSIBLE_COLLECTIONS_PATH, and the environment of ansible-playbook. Needs $here (the target) and $work (a temp dir).
# ansible-test puts the collection on ANSIBLE_COLLECTIONS_PATH; run by hand, link the repository into a temp tree.
first_path="${ANSIBLE_COLLECTIONS_PATH:-}"
first_path="${first_path%%:*}"
if [ -n "$first_path" ] && [ -d "$first_path/ansible_collections/itms/cem" ]; then
  collection_root="$first_path/ansible_collections/itms/cem"
else
  collection_root="$(cd "$here/../../../.." && pwd)"
  mkdir -p "$work/collections/ansible_collections/itms"
  ln -s "$collection_root" "$work/collections/ansible_collections/itms/cem"
  export ANSIBLE_COLLECTIONS_PATH="$work/collections"
fi
lab_cli="$collection_root/tests/lab/itms-lab"
export ITMS_LAB_PYTHON="${ITMS_LAB_PYTHON:-python}"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
