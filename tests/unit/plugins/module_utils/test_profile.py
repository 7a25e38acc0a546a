# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch
from ansible_collections.itms.cem.plugins.module_utils._profile import DEFAULT_CMDB_PROFILE, load_cmdb_profile


def test_builtin_profile_names_only_documented_tables():
    profile = load_cmdb_profile()
    assert profile.table("gateway") == "Inv_AeX_AC_InternetGatewayDetails"
    assert profile.column("gateway", "last_success") == "Last Success"
    assert not profile.has_table("authentication")
    assert DEFAULT_CMDB_PROFILE["tables"]["authentication"] is None  # loading never mutates the default


def test_lab_profile_file_merges_over_builtin(lab_profile_path):
    profile = load_cmdb_profile(lab_profile_path)
    assert profile.name == "itms-lab"
    assert profile.table("computer") == "vComputer"
    assert profile.table("authentication") == "Lab_CEM_Agent_Authentication"
    assert profile.value("authentication", "both") == 3


def test_missing_mapping_says_what_to_do():
    with pytest.raises(ProfileMismatch) as info:
        load_cmdb_profile().value("authentication", "permanent")
    assert "values.authentication.permanent" in str(info.value)


@pytest.mark.parametrize("spec,words", [
    ({"tables": {"gateway": {"name": ""}}}, "needs a 'name'"),
    ({"tables": {"gateway": {"name": "G", "columns": {"gateway": ""}}}}, "'columns' mapping"),
    ({"tables": {"authentication": {"name": "A", "columns": {"resource_guid": "g"}}}}, "does not map the column(s) type"),
    ({"tables": []}, "no 'tables' mapping"),
    ("/nonexistent/profile.yml", "Cannot read the CMDB profile file"),
    (["a"], "not a mapping"),
])
def test_bad_profiles(spec, words):
    with pytest.raises(InputError) as info:
        load_cmdb_profile(spec)
    assert words in str(info.value)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("tables: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_cmdb_profile(str(path))
