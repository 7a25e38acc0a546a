# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import datetime
import decimal
import sqlite3
import uuid

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _queries
from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, NotFound, ProfileMismatch, TransportError, VendorFault,
)
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile

PASSWORD = "Tr0ub4dor&3-secret"


# -- URLs ---------------------------------------------------------------------------------------
def test_mssql_url():
    url = _cmdb.parse_cmdb_url("mssql://LAB%5Csvc_cem@sql01.corp.example.com:1533/Symantec_CMDB")
    assert (url.scheme, url.user, url.host, url.port, url.database) == \
        ("mssql", "LAB\\svc_cem", "sql01.corp.example.com", 1533, "Symantec_CMDB")
    assert _cmdb.parse_cmdb_url("mssql://sa@db/Symantec_CMDB").port == 1433


def test_sqlite_urls():
    assert _cmdb.parse_cmdb_url("sqlite:///rel/cmdb.sqlite").path == "rel/cmdb.sqlite"
    assert _cmdb.parse_cmdb_url("sqlite:////abs/cmdb.sqlite").path == "/abs/cmdb.sqlite"


@pytest.mark.parametrize("url,words", [
    ("", "empty"),
    ("postgres://db/x", "Unsupported CMDB URL scheme 'postgres'"),
    ("Symantec_CMDB", "Unsupported"),
    ("sqlite://cmdb.sqlite", "three slashes"),
    ("mssql://sa:%s@db/Symantec_CMDB" % PASSWORD, "holds a password"),
    ("mssql://sa@db", "names no database"),
    ("mssql://sa@db:notaport/x", "invalid port"),
])
def test_bad_urls(url, words):
    with pytest.raises(InputError) as info:
        _cmdb.parse_cmdb_url(url)
    assert words in str(info.value)
    assert PASSWORD not in str(info.value)


# -- SQLite, for real ----------------------------------------------------------------------------
@pytest.fixture
def client(lab_db):
    c = _cmdb.CmdbClient("sqlite:///" + lab_db)
    yield c
    c.close()


def test_catalog_counts_match_independent_sql(client, lab_db, lab_profile_path):
    raw = sqlite3.connect(lab_db)
    profile = load_cmdb_profile(lab_profile_path)
    rows = _queries.run_catalog(client, "connection_state", profile).rows
    assert len(rows) == raw.execute(
        "SELECT COUNT(*) FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
        "LEFT JOIN Inv_AeX_AC_InternetGatewayDetails g ON c.Guid = g._ResourceGuid WHERE c.IsManaged = 1").fetchone()[0]
    by_type = dict(_queries.run_catalog(client, "connection_type_distribution", profile).rows)
    assert by_type["Internet Gateway (CEM)"] == raw.execute(
        "SELECT COUNT(*) FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
        "WHERE c.IsManaged = 1 AND z.IsOnInternet = 1").fetchone()[0]
    strict = _queries.run_catalog(client, "managed_clients", profile).rows
    assert len(strict) == raw.execute(
        "SELECT COUNT(*) FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
        "WHERE c.IsManaged = 1 AND c.Guid NOT IN (SELECT _ResourceGuid FROM Lab_Resource_State WHERE Deleted = 1)"
    ).fetchone()[0]
    assert len(set(r[0] for r in strict)) == len(strict)  # one row per computer


def test_missing_table_and_column_fail_before_the_query(client):
    profile = load_cmdb_profile({"tables": {"gateway": {"name": "NoSuchTable"},
                                            "network_zone": {"columns": {"tls": "NoTLS"}}}})
    with pytest.raises(ProfileMismatch) as info:
        _queries.run_catalog(client, "connection_state", profile)
    assert info.value.details["missing"] == ["NoSuchTable (table)"]
    assert "cmdb_schema_info" in str(info.value)
    assert client.missing([("Inv_AeX_AC_Network_Zone", "NoTLS"), ("vComputer", "guid")]) == \
        ["Inv_AeX_AC_Network_Zone.NoTLS"]  # SQL Server names are case-insensitive


def test_injection_in_a_parameter_is_inert(client, lab_db):
    result = client.run_sql("SELECT COUNT(*) AS n FROM vComputer WHERE [Name] = @name",
                            {"name": "x'; DROP TABLE vComputer; --"})
    assert result.rows == [(0,)]
    assert sqlite3.connect(lab_db).execute("SELECT COUNT(*) FROM vComputer").fetchone()[0] == 1000


def test_sqlite_is_opened_read_only(client):
    with pytest.raises(VendorFault, match="readonly"):
        client.backend.execute("DELETE FROM vComputer", {})


def test_custom_sql_is_checked(client):
    with pytest.raises(InputError):
        client.run_sql("DELETE FROM vComputer")
    with pytest.raises(VendorFault, match="no such table"):
        client.run_sql("SELECT * FROM NoSuchTable")


def test_schema_search(client):
    found = client.search("%Gateway%")
    assert found["Inv_AeX_AC_InternetGatewayDetails"] == ["_id", "_ResourceGuid", "Gateway", "Port", "Current",
                                                          "Last Success"]
    assert "vComputer" not in found


def test_missing_sqlite_file(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        _cmdb.CmdbClient("sqlite:///%s/none.sqlite" % tmp_path)


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TransportError, match="SQLite"):
        _cmdb.CmdbClient("sqlite:///%s" % path)


# -- SQL Server through a recording DB-API fake ----------------------------------------------------
class FakeCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None

    def execute(self, sql, params=None):
        self.conn.executed.append((sql, params))
        if self.conn.fail_with:
            raise self.conn.fail_with
        columns, rows = self.conn.answers.pop(0)
        self.description = [(c, None, None, None, None, None, None) for c in columns]
        self._rows = rows

    def fetchall(self):
        return self._rows


class FakeConnection:
    def __init__(self, answers, fail_with=None):
        self.answers = list(answers)
        self.executed = []
        self.rollbacks = 0
        self.closed = False
        self.fail_with = fail_with

    def cursor(self):
        return FakeCursor(self)

    def rollback(self):
        self.rollbacks += 1

    def close(self):
        self.closed = True


class OperationalError(Exception):
    """Shaped like pymssql's: args[0] is (code, bytes)."""


def fake_connect(conn, record):
    def connect(**kwargs):
        record.update(kwargs)
        return conn
    return connect


SCHEMA_ROWS = [("dbo", t, c) for t, c in
               [("vComputer", "Guid"), ("vComputer", "Name"), ("vComputer", "IsManaged"),
                ("Inv_AeX_AC_Network_Zone", "_ResourceGuid"), ("Inv_AeX_AC_Network_Zone", "IsOnInternet"),
                ("Inv_AeX_AC_InternetGatewayDetails", "_ResourceGuid"), ("Inv_AeX_AC_InternetGatewayDetails", "Gateway"),
                ("Inv_AeX_AC_InternetGatewayDetails", "Port"), ("Inv_AeX_AC_InternetGatewayDetails", "Current"),
                ("Inv_AeX_AC_InternetGatewayDetails", "Last Success")]]


def test_mssql_sends_the_seed_query_verbatim():
    guid = uuid.UUID("6513270e-269e-4d37-b2a7-4de452e6b438")
    row = (guid, "WKS-1", _queries.CEM_ACTIVE, "ig.example.com", decimal.Decimal(443), True,
           datetime.datetime(2026, 11, 1, 8, 30))
    conn = FakeConnection([(["TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME"], SCHEMA_ROWS),
                           (_queries.get_query("connection_state").column_names, [row])])
    record = {}
    client = _cmdb.CmdbClient("mssql://LAB%5Csvc@sql01/Symantec_CMDB", password=PASSWORD, timeout=12,
                              connect=fake_connect(conn, record))
    result = _queries.run_catalog(client, "connection_state", load_cmdb_profile())
    assert record == dict(server="sql01", port="1433", user="LAB\\svc", password=PASSWORD, database="Symantec_CMDB",
                          login_timeout=12, timeout=12, appname="itms.cem", autocommit=False, encryption="require")
    schema_sql, schema_params = conn.executed[0]
    assert schema_sql == ("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS "
                          "ORDER BY TABLE_NAME, ORDINAL_POSITION")
    assert schema_params is None
    assert conn.executed[1] == (_queries.SEED_CONNECTION_STATE_SQL, None)
    assert result.rows == [("6513270e-269e-4d37-b2a7-4de452e6b438", "WKS-1", _queries.CEM_ACTIVE, "ig.example.com",
                            443, True, "2026-11-01 08:30:00")]
    assert conn.rollbacks == 2  # every statement's transaction is rolled back: read-only by construction
    client.close()
    assert conn.closed


def test_mssql_custom_sql_binds_pyformat_parameters():
    conn = FakeConnection([(["Name"], [("LT-000001",)])])
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", connect=fake_connect(conn, {}))
    client.run_sql("SELECT [Name] FROM vComputer WHERE [Name] LIKE @p AND [Name] <> '100%';", {"p": "LT-%"})
    assert conn.executed == [("SELECT [Name] FROM vComputer WHERE [Name] LIKE %(p)s AND [Name] <> '100%%'",
                              {"p": "LT-%"})]


def test_mssql_profile_values_are_bound(lab_profile_path):
    rows = SCHEMA_ROWS + [("dbo", "Lab_CEM_Agent_Authentication", "_ResourceGuid"),
                          ("dbo", "Lab_CEM_Agent_Authentication", "Authentication Type")]
    conn = FakeConnection([(["s", "t", "c"], rows), (["Authentication Type", "Computers"], [("Both", 3)])])
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", connect=fake_connect(conn, {}))
    _queries.run_catalog(client, "authentication_type_distribution", load_cmdb_profile(lab_profile_path))
    sql, params = conn.executed[1]
    assert params == {"authentication_permanent": 1, "authentication_ephemeral": 2, "authentication_both": 3}
    assert "= %(authentication_permanent)s THEN 'Permanent'" in sql


def _connect_raising(message):
    def connect(**kwargs):
        raise OperationalError((18456, message.encode()))
    return connect


def test_mssql_wrong_credentials():
    message = ("DB-Lib error message 20018, severity 14:\nGeneral SQL Server error: Check messages from the SQL Server\n"
               "DB-Lib error message 18456, severity 14:\nLogin failed for user 'LAB\\svc'.\n")
    with pytest.raises(AuthError) as info:
        _cmdb.CmdbClient("mssql://LAB%5Csvc@db/Symantec_CMDB", password=PASSWORD, connect=_connect_raising(message))
    assert "refused the login for 'LAB\\\\svc'" in str(info.value) or "refused the login" in str(info.value)
    assert "cmdb_password" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_mssql_unreachable():
    message = ("DB-Lib error message 20009, severity 9:\nUnable to connect: Adaptive Server is unavailable or does "
               "not exist (db)\nNet-Lib error during Connection refused (111)\n")
    with pytest.raises(TransportError) as info:
        _cmdb.CmdbClient("mssql://sa@db:1444/Symantec_CMDB", password=PASSWORD, connect=_connect_raising(message))
    assert "Cannot reach SQL Server at db:1444/Symantec_CMDB" in str(info.value)
    assert "Net-Lib error during Connection refused (111)" in str(info.value)


def test_mssql_error_text_never_shows_the_password():
    message = "Something odd mentioning %s" % PASSWORD
    conn = FakeConnection([], fail_with=OperationalError((102, message.encode())))
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", password=PASSWORD, connect=fake_connect(conn, {}))
    with pytest.raises(VendorFault) as info:
        client.run_sql("SELECT 1 AS a")
    assert PASSWORD not in str(info.value) and "********" in str(info.value)
    assert conn.rollbacks == 1


def test_missing_pymssql(monkeypatch):
    monkeypatch.setattr(_cmdb, "HAS_PYMSSQL", False)
    with pytest.raises(Exception) as info:
        _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB")
    assert "pip install pymssql" in str(info.value)


def test_normalize_rows():
    rows = _cmdb.normalize_rows([(decimal.Decimal("1.5"), datetime.date(2026, 1, 2), b"\x00" * 16, None)])
    assert rows == [(1.5, "2026-01-02", "00000000-0000-0000-0000-000000000000", None)]
