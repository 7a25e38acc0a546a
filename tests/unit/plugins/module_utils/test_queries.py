# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import glob
import os

import pytest
import sqlglot
from sqlglot import exp

from ansible_collections.itms.cem.plugins.module_utils import _queries, _sqltext
from ansible_collections.itms.cem.plugins.module_utils._errors import NotFound, ProfileMismatch
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile, quote_identifier

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_connection_state_renders_the_seed_query_verbatim():
    rendered = _queries.render(_queries.get_query("connection_state"), load_cmdb_profile())
    assert rendered.sql == _queries.SEED_CONNECTION_STATE_SQL
    assert rendered.params == {}


def test_seed_text_is_the_kb_text():
    """The constant is the KB 440752 Part 2 query exactly as the seed article prints it."""
    seeds = os.environ.get("ITMS_SHARED_DIR", os.path.join(REPO, "..", "shared"))
    found = glob.glob(os.path.join(seeds, "seeds", "000_*.txt"))
    if not found:
        pytest.skip("the seed articles (shared/seeds) are not beside the repository")
    with open(found[0]) as handle:
        article = handle.read()
    assert _queries.SEED_CONNECTION_STATE_SQL in article


@pytest.mark.parametrize("name", sorted(_queries.CATALOG))
def test_every_catalog_query_parses_as_tsql(name, lab_profile_path):
    rendered = _queries.render(_queries.get_query(name), load_cmdb_profile(lab_profile_path))
    statements = [s for s in sqlglot.parse(rendered.sql, read="tsql") if s is not None]
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Query)
    assert "{" not in rendered.sql  # every placeholder resolved
    # The declared columns are the select list's aliases, in order.
    assert statements[0].named_selects == _queries.get_query(name).column_names


def test_profile_values_become_bound_parameters(lab_profile_path):
    rendered = _queries.render(_queries.get_query("authentication_type_distribution"),
                               load_cmdb_profile(lab_profile_path))
    assert rendered.params == {"authentication_permanent": 1, "authentication_ephemeral": 2, "authentication_both": 3}
    assert "@authentication_permanent" in rendered.sql
    assert "= 1 THEN 'Permanent'" not in rendered.sql


def test_profile_renames_are_quoted():
    profile = load_cmdb_profile({"tables": {"computer": {"name": "dbo.My Computers",
                                                         "columns": {"name": "Computer]Name"}}}})
    rendered = _queries.render(_queries.get_query("on_internet"), profile)
    assert "FROM dbo.[My Computers] vc" in rendered.sql
    assert "vc.[Computer]]Name] AS [Computer Name]" in rendered.sql
    assert ("dbo.My Computers", "Computer]Name") in rendered.requirements


def test_requirements_cover_every_column_used():
    rendered = _queries.render(_queries.get_query("connection_state"), load_cmdb_profile())
    assert set(rendered.requirements) == {
        ("vComputer", "Guid"), ("vComputer", "Name"), ("vComputer", "IsManaged"),
        ("Inv_AeX_AC_Network_Zone", "IsOnInternet"), ("Inv_AeX_AC_Network_Zone", "_ResourceGuid"),
        ("Inv_AeX_AC_InternetGatewayDetails", "Gateway"), ("Inv_AeX_AC_InternetGatewayDetails", "Port"),
        ("Inv_AeX_AC_InternetGatewayDetails", "Current"), ("Inv_AeX_AC_InternetGatewayDetails", "Last Success"),
        ("Inv_AeX_AC_InternetGatewayDetails", "_ResourceGuid"),
    }


def test_undocumented_tables_need_a_profile():
    with pytest.raises(ProfileMismatch) as info:
        _queries.render(_queries.get_query("managed_clients"), load_cmdb_profile())
    assert "resource_state" in str(info.value) and "cmdb_schema_info" in str(info.value)


def test_unknown_query_lists_the_known_ones():
    with pytest.raises(NotFound) as info:
        _queries.get_query("nope")
    assert "connection_state" in str(info.value)


def test_quote_identifier():
    assert quote_identifier("vComputer") == "vComputer"
    assert quote_identifier("Last Success", force=True) == "[Last Success]"
    assert quote_identifier("a]b") == "[a]]b]"


def test_the_seed_query_passes_the_read_only_check():
    _sqltext.check_read_only(_queries.SEED_CONNECTION_STATE_SQL)


@pytest.mark.parametrize("name", sorted(_queries.CATALOG))
def test_every_catalog_query_passes_the_read_only_check(name, lab_profile_path):
    """The catalog's own SQL is what a user copies into a custom query: the check must let it through."""
    query = _queries.get_query(name)
    try:
        renders = [_queries.render(query, load_cmdb_profile())]  # the default profile, where it maps every table
    except ProfileMismatch:
        renders = []  # the query needs a table only a site profile maps
    renders.append(_queries.render(query, load_cmdb_profile(lab_profile_path)))
    for rendered in renders:
        _sqltext.check_read_only(rendered.sql)
