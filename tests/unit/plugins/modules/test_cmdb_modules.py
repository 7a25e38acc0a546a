# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json
import types
from urllib.parse import quote

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _queries, _report, _secrets
from ansible_collections.itms.cem.plugins.modules import cem_report, cmdb_query, cmdb_schema_info


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    """What the module warns, as given to module.warn: Ansible keeps warnings in a list of its own that outlives
    the module run and would leak into the next test's result."""
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


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


# -- limit ------------------------------------------------------------------------------------------
def test_cmdb_query_limit_truncates_and_warns(run_module, lab_db, warned):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="sqlite:///" + lab_db, limit=10,
                                                      sql="SELECT [Name] FROM vComputer ORDER BY [Name]"))
    assert not failed
    assert len(result["rows"]) == result["row_count"] == 10 and result["truncated"] is True
    [warning] = warned
    assert "more than 10 rows" in warning and "Raise limit, set it to 0 for every row, or aggregate in SQL" in warning


def test_cmdb_query_default_limit_is_1000(run_module, lab_db, warned):
    exactly = dict(cmdb_url="sqlite:///" + lab_db, sql="SELECT [Name] FROM vComputer")  # the lab has 1000
    result, failed = run_module(cmdb_query.main, exactly)
    assert not failed and result["row_count"] == 1000 and result["truncated"] is False
    assert warned == []
    more = dict(cmdb_url="sqlite:///" + lab_db, sql="SELECT [Name] FROM vComputer UNION ALL SELECT 'one more'")
    result, failed = run_module(cmdb_query.main, more)
    assert not failed and result["row_count"] == 1000 and result["truncated"] is True


def test_cmdb_query_limit_0_reads_every_row(run_module, lab_db):
    result, failed = run_module(cmdb_query.main, dict(
        cmdb_url="sqlite:///" + lab_db, limit=0,
        sql="SELECT [Name] FROM vComputer UNION ALL SELECT [Name] FROM vComputer"))
    assert not failed and result["row_count"] == 2000 and result["truncated"] is False


def test_cmdb_query_limit_applies_to_catalog_queries(run_module, lab_db, lab_profile_path):
    """And select sees the rows returned, not every row of the query."""
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="sqlite:///" + lab_db, cmdb_profile=lab_profile_path,
                                                      query="connection_state", limit=3, select="length(@)"))
    assert not failed
    assert result["rows"] == 3 and result["row_count"] == 3 and result["truncated"] is True


def test_cmdb_query_negative_limit(run_module, lab_db):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="sqlite:///" + lab_db, sql="SELECT 1 AS n", limit=-1))
    assert failed and result["error_kind"] == "input" and "limit is -1" in result["msg"]


def test_documented_options_follow_the_spec():
    import yaml

    doc = yaml.safe_load(cmdb_query.DOCUMENTATION)
    assert doc["options"]["limit"] == dict(description=doc["options"]["limit"]["description"], type="int",
                                           default=1000)
    returned = yaml.safe_load(cmdb_query.RETURN)
    assert returned["truncated"]["type"] == "bool" and returned["row_count"]["type"] == "int"


# -- parameter values -------------------------------------------------------------------------------
@pytest.mark.parametrize("value,kind", [(["WKS-1", "WKS-2"], "a list"), ({"name": "WKS-1"}, "a dictionary")])
def test_cmdb_query_parameter_of_the_wrong_type_is_an_input_error(run_module, lab_db, value, kind):
    result, failed = run_module(cmdb_query.main, dict(
        cmdb_url="sqlite:///" + lab_db, sql="SELECT [Name] FROM vComputer WHERE [Name] = @name",
        parameters={"name": value}))
    assert failed and result["error_kind"] == "input"
    assert "Parameter 'name' is %s" % kind in result["msg"]
    assert "check table and column names" not in result["msg"].lower()
    assert result["cmdb_requests"]["queries"] == 0


# -- SQL Server through a fake pymssql: secrets never reach the output ----------------------------------
SECRET = "S3cr3t&p@ss-x!"


class FakeMssqlCursor:
    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=None):
        self.conn.executed.append(sql)
        if "HAS_PERMS_BY_NAME" in sql:  # the login may do everything: the task warns
            self.description = [(p, None, None, None, None, None, None) for p in _cmdb.WRITE_PERMISSIONS]
            self._rows = [tuple(1 for _p in _cmdb.WRITE_PERMISSIONS)]
        else:
            self.description = [("n", None, None, None, None, None, None)]
            self._rows = [(42,)]

    def fetchmany(self, size=1):
        batch, self._rows = self._rows[:size], self._rows[size:]
        return batch


class FakeMssqlConnection:
    def __init__(self):
        self.executed = []
        self.closed = False

    def cursor(self):
        return FakeMssqlCursor(self)

    def rollback(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def fake_pymssql(monkeypatch):
    """pymssql replaced in the client: ``connect`` records its arguments and returns a fake connection."""
    received = {}

    def connect(**kwargs):
        received.update(kwargs)
        received["connection"] = FakeMssqlConnection()
        return received["connection"]

    monkeypatch.setattr(_cmdb, "pymssql", types.SimpleNamespace(connect=connect), raising=False)
    monkeypatch.setattr(_cmdb, "HAS_PYMSSQL", True)
    return received


def _spellings(secret):
    return set(_secrets.variants(secret)) | {secret, quote(secret, safe=""), quote(secret)}


def test_cmdb_password_never_reaches_the_output(run_module, fake_pymssql, warned):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="mssql://sa@sql01/Symantec_CMDB", cmdb_password=SECRET,
                                                      sql="SELECT COUNT(*) AS n FROM vComputer"))
    assert not failed and result["rows"] == [{"n": 42}]
    assert fake_pymssql["password"] == SECRET  # the driver got it ...
    assert "cmdb_password" in result["invocation"]["module_args"]
    output = json.dumps(result)
    for spelling in _spellings(SECRET):  # ... and nothing shows it, invocation included
        assert spelling not in output
    # The runner passes the client's warnings on: this login may write.
    [warning] = warned
    assert "may INSERT, UPDATE, DELETE, ALTER, EXECUTE, CONTROL" in warning and "db_datareader" in warning
    assert fake_pymssql["connection"].closed


@pytest.mark.parametrize("module", [cmdb_query, cmdb_schema_info])
@pytest.mark.parametrize("url,secret", [
    ("mssql://sa:S3cr%40t-x@sql01/Symantec_CMDB", "S3cr@t-x"),
    ("mssql://sa:S3cr@t-x@sql01/Symantec_CMDB", "S3cr@t-x"),
])
def test_password_in_cmdb_url_is_refused_and_masked(run_module, fake_pymssql, module, url, secret):
    args = dict(cmdb_url=url)
    if module is cmdb_query:
        args["sql"] = "SELECT 1 AS n"
    result, failed = run_module(module.main, args)
    assert failed and result["error_kind"] == "input" and "holds a password" in result["msg"]
    assert "password" not in fake_pymssql  # refused before any connection
    output = json.dumps(result)
    for spelling in _spellings(secret) | {"S3cr%40t-x", "S3cr@t-x"}:
        assert spelling not in output


def test_connection_options_from_the_environment_and_their_defaults(run_module, fake_pymssql, warned, monkeypatch):
    """cmdb_url and cmdb_password come from ITMS_CMDB_URL / ITMS_CMDB_PASSWORD; timeout and encryption defaults."""
    monkeypatch.setenv("ITMS_CMDB_URL", "mssql://sa@sql01/Symantec_CMDB")
    monkeypatch.setenv("ITMS_CMDB_PASSWORD", SECRET)
    result, failed = run_module(cmdb_query.main, dict(sql="SELECT COUNT(*) AS n FROM vComputer"))
    assert not failed and fake_pymssql["password"] == SECRET and fake_pymssql["server"] == "sql01"
    assert fake_pymssql["timeout"] == 30 and fake_pymssql["login_timeout"] == 30
    assert fake_pymssql["encryption"] == "require"
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize("encryption", ["request", "off"])
def test_encryption_choices_reach_the_driver(run_module, fake_pymssql, warned, encryption):
    result, failed = run_module(cmdb_query.main, dict(cmdb_url="mssql://sa@sql01/Symantec_CMDB", cmdb_password=SECRET,
                                                      cmdb_encryption=encryption, sql="SELECT 1 AS n"))
    assert not failed and fake_pymssql["encryption"] == encryption


def test_cmdb_url_is_required(run_module, monkeypatch):
    monkeypatch.delenv("ITMS_CMDB_URL", raising=False)
    result, failed = run_module(cmdb_query.main, dict(sql="SELECT 1 AS n"))
    assert failed and result["msg"] == "missing required arguments: cmdb_url"
