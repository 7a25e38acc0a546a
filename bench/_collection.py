# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.itms.cem`` and the lab importable from a checkout (benchmarks only)."""
import atexit
import os
import shutil
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LAB = os.path.join(REPO, "tests", "lab")


def link_farm(root):
    """Make ``root``/ansible_collections/itms/cem -> the checkout; ``root`` is then a collections path."""
    os.makedirs(os.path.join(root, "ansible_collections", "itms"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "itms", "cem"))
    return root


def collections_root():
    """A temporary directory holding ansible_collections/itms/cem -> the checkout."""
    root = tempfile.mkdtemp(prefix="itms-cem-bench-")
    atexit.register(shutil.rmtree, root, True)
    return link_farm(root)


def install():
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[collections_root()], scan_sys_paths=True)._install()  # pylint: disable=protected-access
    if LAB not in sys.path:
        sys.path.insert(0, LAB)
