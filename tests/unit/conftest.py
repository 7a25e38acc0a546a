# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.itms.cem`` importable for plain pytest.

The repository root is the collection root, so a link farm in a temporary directory
gives Python the ``ansible_collections/itms/cem`` path it needs. ansible-test itself
runs from a real copy (see the Makefile).
"""

import atexit
import os
import shutil
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(REPO, "tests", "lab")


def _collections_root():
    parent = os.path.dirname(REPO)
    if os.path.basename(REPO) == "cem" and os.path.basename(parent) == "itms" and \
            os.path.basename(os.path.dirname(parent)) == "ansible_collections":
        return os.path.dirname(os.path.dirname(parent))  # already a collection tree (ansible-test copy)
    root = tempfile.mkdtemp(prefix="itms-cem-unit-")
    atexit.register(shutil.rmtree, root, True)
    os.makedirs(os.path.join(root, "ansible_collections", "itms"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "itms", "cem"))
    return root


def _install_finder():
    root = _collections_root()
    try:
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    except ImportError:  # pragma: no cover
        sys.path.insert(0, root)
        return
    # scan_sys_paths also finds the collections bundled with the ansible package in site-packages
    finder = _AnsibleCollectionFinder(paths=[root], scan_sys_paths=True)
    finder._install()  # pylint: disable=protected-access


_install_finder()
if LAB not in sys.path:
    sys.path.insert(0, LAB)


CONTRACT_NAME = "smp-8.5.5713-webservices.json"
SHARED_CONTRACTS = os.path.join(os.path.dirname(REPO), "shared", "contracts")
VENDORED_CONTRACTS = os.path.join(REPO, "tests", "contracts")


def contract_path(name=CONTRACT_NAME):
    """A contract file: $ITMS_CONTRACTS_DIR, the shared reference, or the copy in tests/contracts."""
    for folder in (os.environ.get("ITMS_CONTRACTS_DIR"), SHARED_CONTRACTS, VENDORED_CONTRACTS):
        if folder and os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    pytest.fail("The contract %s is missing from $ITMS_CONTRACTS_DIR, %s and %s." % (name, SHARED_CONTRACTS, VENDORED_CONTRACTS))


def contract_copies_of(name):
    """(shared reference, copy in tests/contracts) paths of a contract; the first may not exist."""
    return os.path.join(SHARED_CONTRACTS, name), os.path.join(VENDORED_CONTRACTS, name)


@pytest.fixture(scope="session")
def contract_copies():
    """(shared reference, copy in tests/contracts) paths of the SMP contract; the first may not exist."""
    return contract_copies_of(CONTRACT_NAME)


@pytest.fixture(scope="session")
def asdk_contract():
    """{service: {method: [(parameter, xml type), ...]}} of the contract ('<Method>Response' entries included)."""
    import json

    with open(contract_path()) as handle:
        data = json.load(handle)
    services = {}
    for service in data["webservices"]:
        services[service["name"]] = dict((m["name"], [(p["name"], p["type"]) for p in m["parameters"] or []])
                                         for m in service.get("methods") or [] if m["name"])
    return services


SEPM_CONTRACT_NAME = "sepm-rest-subset.json"


@pytest.fixture(scope="session")
def sepm_contract_copies():
    """(shared reference, copy in tests/contracts) paths of the SEPM contract; the first may not exist."""
    return contract_copies_of(SEPM_CONTRACT_NAME)


@pytest.fixture(scope="session")
def sepm_contract():
    """The SEPM REST schema subset (Swagger 2.0, basePath /sepm) as loaded JSON."""
    import json

    with open(contract_path(SEPM_CONTRACT_NAME)) as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def lab_db(tmp_path_factory):
    """A 1,000-computer lab CMDB shared by the tests of a session."""
    from itms_lab import cmdb

    path = str(tmp_path_factory.mktemp("lab") / "cmdb.sqlite")
    cmdb.write(path, 1000, 11)
    return path


@pytest.fixture
def lab_db_copy(lab_db, tmp_path):
    """A private copy of the session's lab CMDB, which a test may change or remove."""
    path = str(tmp_path / "cmdb.sqlite")
    shutil.copyfile(lab_db, path)
    return path


@pytest.fixture(scope="session")
def lab_profile_path():
    return os.path.join(LAB, "profiles", "cmdb.yml")


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with ``args``; return (result dict, failed)."""
    import json

    from ansible.module_utils.testing import patch_module_args

    def runner(main, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                main()
        out = capsys.readouterr().out
        result = json.loads(out[out.index("{"):])
        return result, exit_info.value.code != 0

    return runner
