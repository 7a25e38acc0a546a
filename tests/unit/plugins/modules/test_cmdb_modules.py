# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from ansible_collections.itms.cem.plugins.module_utils import _queries, _report
from ansible_collections.itms.cem.plugins.modules import cem_report, cmdb_query, cmdb_schema_info


def test_documented_choices_follow_the_catalog():
    assert cmdb_query.QUERY_NAMES == sorted(_queries.CATALOG)
    for module, names in ((cmdb_query, _queries.QUERY_NAMES), (cem_report, _report.REPORT_NAMES)):
        for name in names:
            assert "      - %s\n" % name in module.DOCUMENTATION


def test_cmdb_query_catalog(run_module, lab_db, lab_profile_path):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="sqlite:///" + lab_db, cmdb_profile=lab_profile_path,
                                                      query="configured_vs_connected"))
    assert not failed and result["changed"] is False
    assert result["columns"] == ["CEM State", "Computers"]
    assert sum(r["Computers"] for r in result["rows"]) > 0


def test_cmdb_query_select_and_parameters(run_module, lab_db):
    result, failed = run_module(cmdb_query.main, dict(
        cmdb_url="sqlite:///" + lab_db, sql="SELECT TOP 2 [Name] FROM vComputer WHERE [Name] LIKE @p ORDER BY [Name]",
        parameters={"p": "WKS-%"}, select="[].Name"))
    assert not failed
    assert result["rows"] == sorted(result["rows"]) and len(result["rows"]) == 2
    assert result["row_count"] == 2


def test_cmdb_query_refuses_parameters_for_catalog(run_module, lab_db):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="sqlite:///" + lab_db, query="on_internet",
                                                      parameters={"a": 1}))
    assert failed and "take no parameters" in result["msg"]


def test_cmdb_query_env_fallback(run_module, lab_db, monkeypatch):
    monkeypatch.setenv("ITMS_CMDB_URL", "sqlite:///" + lab_db)
    result, failed = run_module(cmdb_query.main, dict(sql="SELECT COUNT(*) AS n FROM vComputer"))
    assert not failed and result["rows"] == [{"n": 1000}]


def test_schema_info(run_module, lab_db, lab_profile_path):
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="sqlite:///" + lab_db,
                                                            cmdb_profile=lab_profile_path, search="%Deleted%"))
    assert not failed and result["profile_ok"] and result["unmapped"] == {}
    assert result["matches"] == {"Lab_Resource_State": ["Deleted"]}
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="sqlite:///" + lab_db))
    assert sorted(result["unmapped"]) == ["authentication", "resource_state"]
