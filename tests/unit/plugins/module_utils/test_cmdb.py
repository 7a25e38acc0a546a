# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import datetime
import decimal
import os
import sqlite3
import threading
import time
import uuid

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _queries
from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, MissingDependency, NotFound, ProfileMismatch, TransportError, VendorFault,
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


# -- SQL Server through a recording DB-API fake ----------------------------------------------------
class FakeCursor:
    """A pymssql cursor: answers the login's permission check itself and the other queries from ``answers``."""

    def __init__(self, conn):
        self.conn = conn
        self.description = None

    def execute(self, sql, params=None):
        if "HAS_PERMS_BY_NAME" in sql:
            self.conn.permission_checks.append(sql)
            if self.conn.permission_error:
                raise self.conn.permission_error
            columns = list(_cmdb.WRITE_PERMISSIONS)
            rows = [tuple(self.conn.permissions.get(p, 0) for p in columns)]
        else:
            self.conn.executed.append((sql, params))
            if self.conn.fail_with:
                raise self.conn.fail_with
            columns, rows = self.conn.answers.pop(0)
        self.description = [(c, None, None, None, None, None, None) for c in columns]
        self._rows = list(rows)

    def fetchmany(self, size=1):
        batch, self._rows = self._rows[:size], self._rows[size:]
        self.conn.fetched += len(batch)
        return batch

    def fetchall(self):
        raise AssertionError("fetchall() reads every row of a result, whatever its size; use fetchmany()")


class FakeConnection:
    def __init__(self, answers, fail_with=None, permissions=None, permission_error=None):
        self.answers = list(answers)
        self.executed = []
        self.permission_checks = []
        self.permissions = permissions or {}  # {"INSERT": 1, ...}: what HAS_PERMS_BY_NAME answers (0 otherwise)
        self.permission_error = permission_error
        self.fetched = 0
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
    assert len(conn.permission_checks) == 1
    assert conn.rollbacks == 3  # every statement's transaction is rolled back: read-only by construction
    assert client.warnings == []  # the login may not write
    client.close()
    assert conn.closed


def test_mssql_custom_sql_binds_pyformat_parameters():
    conn = FakeConnection([(["Name"], [("LT-000001",)])])
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", connect=fake_connect(conn, {}))
    client.run_sql("SELECT [Name] FROM vComputer WHERE [Name] LIKE @p AND [Name] <> '100%';", {"p": "LT-%"})
    assert conn.executed == [("SELECT [Name] FROM vComputer WHERE [Name] LIKE %(p)s AND [Name] <> '100%'",
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
    assert conn.rollbacks == 2  # the login's permission check, then the query


def test_missing_pymssql(monkeypatch):
    monkeypatch.setattr(_cmdb, "HAS_PYMSSQL", False)
    with pytest.raises(MissingDependency) as info:
        _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB")
    assert "pip install pymssql" in str(info.value)


def test_normalize_rows():
    rows = _cmdb.normalize_rows([(decimal.Decimal("1.5"), datetime.date(2026, 1, 2), b"\x00" * 16, None)])
    assert rows == [(1.5, "2026-01-02", "00000000-0000-0000-0000-000000000000", None)]


# -- SQLite files that are not a readable CMDB -------------------------------------------------------
def _small_sqlite(path):
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE vComputer (Guid TEXT, Name TEXT)")
    conn.commit()
    conn.close()
    return path


def test_sqlite_directory_is_named_a_directory(tmp_path):
    with pytest.raises(InputError) as info:
        _cmdb.CmdbClient("sqlite:///%s" % tmp_path)
    assert "%s, which is a directory" % tmp_path in str(info.value)
    assert "I/O" not in str(info.value)


def test_sqlite_fifo_is_not_read(tmp_path):
    fifo = str(tmp_path / "cmdb.sqlite")
    os.mkfifo(fifo)  # opening it for reading waits for a writer

    def release_a_waiting_reader():  # so that the test fails rather than hangs if the FIFO is opened
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody is reading it
            pass

    watchdog = threading.Timer(10, release_a_waiting_reader)
    watchdog.start()
    try:
        with pytest.raises(InputError, match="which is not a regular file"):
            _cmdb.CmdbClient("sqlite:///" + fifo)
    finally:
        watchdog.cancel()


def test_unreadable_sqlite_file(tmp_path, monkeypatch):
    path = str(_small_sqlite(tmp_path / "cmdb.sqlite"))
    os.chmod(path, 0)
    if os.geteuid() == 0:  # root reads any file: let open() answer as it does for any other user
        def refusing_open(name, *args, **kwargs):
            raise PermissionError(13, "Permission denied", name)
        monkeypatch.setattr(_cmdb, "open", refusing_open, raising=False)
    with pytest.raises(TransportError) as info:
        _cmdb.CmdbClient("sqlite:///" + path)
    assert "%s is not readable by the user running the task (permission denied)" % path in str(info.value)


@pytest.mark.parametrize("content,words", [
    (b"this is not sqlite" * 100, "is not an SQLite database"),
    (b"PK\x03\x04 a zip file", "is not an SQLite database"),
    (b"", "is empty; it is not an SQLite CMDB"),
])
def test_not_a_database(tmp_path, content, words):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(content)
    with pytest.raises(TransportError) as info:
        _cmdb.CmdbClient("sqlite:///%s" % path)
    assert "%s %s" % (path, words) in str(info.value)


# -- cmdb_timeout ------------------------------------------------------------------------------------
# Counts to 10**10: hours of work for SQLite, whose recursion has no limit of its own.
ENDLESS_COUNT = ("WITH n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) "
                 "SELECT COUNT(*) AS c FROM n")


def test_sqlite_query_is_stopped_at_cmdb_timeout(lab_db):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db, timeout=1)
    # The guard that makes this test fail instead of hang without the deadline: signal.alarm cannot do it,
    # since Python runs a signal handler only between bytecodes, never inside sqlite3_step; a thread can.
    watchdog = threading.Timer(20, client.backend.conn.interrupt)
    watchdog.start()
    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as info:
            client.run_sql(ENDLESS_COUNT)
        elapsed = time.monotonic() - started
        assert client.run_sql("SELECT COUNT(*) AS n FROM vComputer").rows == [(1000,)]  # the deadline was per query
    finally:
        watchdog.cancel()
        client.close()
    assert elapsed < 10
    assert "ran longer than cmdb_timeout (1 s)" in str(info.value)
    assert "Raise cmdb_timeout" in str(info.value)


def test_mssql_timeout_names_cmdb_timeout():
    message = "DB-Lib error message 20003, severity 6:\nAdaptive Server connection timed out\n"
    conn = FakeConnection([], fail_with=OperationalError((20003, message.encode())))
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", password=PASSWORD, timeout=7,
                              connect=fake_connect(conn, {}))
    with pytest.raises(TransportError) as info:
        client.run_sql("SELECT COUNT(*) AS n FROM vComputer")
    assert "sent no answer within cmdb_timeout (7 s)" in str(info.value)
    assert conn.rollbacks == 2


# -- the login's permissions (SQL Server) ------------------------------------------------------------
@pytest.mark.parametrize("permissions,named", [
    ({"INSERT": 1, "UPDATE": 1, "DELETE": 1}, "INSERT, UPDATE, DELETE"),  # db_datawriter
    ({"ALTER": 1}, "ALTER"),  # db_ddladmin
    ({"EXECUTE": 1}, "EXECUTE"),
    (dict.fromkeys(_cmdb.WRITE_PERMISSIONS, 1), "INSERT, UPDATE, DELETE, ALTER, EXECUTE, CONTROL"),  # db_owner
])
def test_mssql_warns_when_the_login_may_write(permissions, named):
    conn = FakeConnection([], permissions=permissions)
    client = _cmdb.CmdbClient("mssql://LAB%5Csvc_cem@sql01/Symantec_CMDB", password=PASSWORD,
                              connect=fake_connect(conn, {}))
    [warning] = client.warnings
    assert "The SQL Server login 'LAB\\\\svc_cem' may %s in sql01:1433/Symantec_CMDB." % named in warning
    assert "only in db_datareader" in warning
    assert PASSWORD not in warning
    [sql] = conn.permission_checks
    for permission in _cmdb.WRITE_PERMISSIONS:
        assert "HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', '%s')" % permission in sql
    assert conn.rollbacks == 1 and conn.executed == []


def test_mssql_reader_login_gets_no_warning():
    conn = FakeConnection([], permissions={"SELECT": 1})
    client = _cmdb.CmdbClient("mssql://svc_read@sql01/Symantec_CMDB", connect=fake_connect(conn, {}))
    assert client.warnings == []


def test_mssql_permission_check_that_fails_is_a_warning():
    refusal = OperationalError((229, ("The SELECT permission was denied (password %s)." % PASSWORD).encode()))
    conn = FakeConnection([(["n"], [(1,)])], permission_error=refusal)
    client = _cmdb.CmdbClient("mssql://svc@sql01/Symantec_CMDB", password=PASSWORD, connect=fake_connect(conn, {}))
    [warning] = client.warnings
    assert warning.startswith("Could not check whether the SQL Server login 'svc' may write to "
                              "sql01:1433/Symantec_CMDB")
    assert "permission was denied" in warning and "db_datareader" in warning
    assert PASSWORD not in warning
    assert client.run_sql("SELECT 1 AS n").rows == [(1,)]  # the client works all the same


def test_mssql_permission_check_without_an_answer_is_a_warning():
    conn = FakeConnection([], permissions=dict.fromkeys(_cmdb.WRITE_PERMISSIONS))  # HAS_PERMS_BY_NAME: NULL
    client = _cmdb.CmdbClient("mssql://svc@sql01/Symantec_CMDB", connect=fake_connect(conn, {}))
    [warning] = client.warnings
    assert warning.startswith("Could not tell whether the SQL Server login 'svc' may INSERT, UPDATE")


# -- how many rows are read --------------------------------------------------------------------------
class ListCursor:
    def __init__(self, count):
        self.rows = [(i,) for i in range(count)]
        self.fetched = 0

    def fetchmany(self, size):
        batch = self.rows[self.fetched:self.fetched + size]
        self.fetched += len(batch)
        return batch


@pytest.mark.parametrize("count,max_rows,returned,truncated,fetched", [
    (0, 10, 0, False, 0),
    (10, 10, 10, False, 10),
    (11, 10, 10, True, 11),
    (5000, 10, 10, True, 11),
    (5000, 0, 0, True, 1),
    (5000, None, 5000, False, 5000),
    (1501, 1500, 1500, True, 1501),
])
def test_fetch_rows_reads_one_row_past_the_limit_at_most(count, max_rows, returned, truncated, fetched):
    cursor = ListCursor(count)
    rows, was_truncated = _cmdb.fetch_rows(cursor, max_rows)
    assert (len(rows), was_truncated, cursor.fetched) == (returned, truncated, fetched)
    assert rows == cursor.rows[:returned]


def test_mssql_reads_at_most_max_rows_plus_one():
    rows = [("WKS-%05d" % i,) for i in range(20000)]
    conn = FakeConnection([(["Name"], rows), (["Name"], rows)])
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", connect=fake_connect(conn, {}))
    fetched_at_connect = conn.fetched  # the login's permission check
    result = client.run_sql("SELECT [Name] FROM vComputer", max_rows=5)
    assert result.rows == rows[:5] and result.truncated
    assert conn.fetched - fetched_at_connect == 6
    everything = client.run_sql("SELECT [Name] FROM vComputer")  # no limit: every row, still through fetchmany
    assert len(everything.rows) == 20000 and not everything.truncated


def test_sqlite_reads_at_most_max_rows_plus_one(client):
    # Without a limit this would count to 10**10; with one, three rows (and a fourth to know there are more).
    result = client.run_sql("WITH n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) "
                            "SELECT i FROM n", max_rows=3)
    assert result.rows == [(1,), (2,), (3,)] and result.truncated
    exact = client.run_sql("SELECT TOP 3 [Name] FROM vComputer ORDER BY [Name]", max_rows=3)
    assert len(exact.rows) == 3 and not exact.truncated


# -- parameter values --------------------------------------------------------------------------------
BAD_VALUES = [([1, 2], "a list"), ((1, 2), "a list"), ({"a": 1}, "a dictionary"), ({1, 2}, "a set"),
              (b"x", "bytes"), (object(), "object")]


@pytest.mark.parametrize("value,kind", BAD_VALUES)
def test_sqlite_parameter_values_are_single_sql_values(client, value, kind):
    with pytest.raises(InputError) as info:
        client.run_sql("SELECT COUNT(*) AS n FROM vComputer WHERE [Name] = @name", {"name": value})
    assert "Parameter 'name' is %s; a parameter value must be a string, number, boolean or null." % kind \
        in str(info.value)
    assert client.queries == 0


@pytest.mark.parametrize("value,kind", BAD_VALUES)
def test_mssql_parameter_values_are_single_sql_values(value, kind):
    conn = FakeConnection([])
    client = _cmdb.CmdbClient("mssql://sa@db/Symantec_CMDB", connect=fake_connect(conn, {}))
    with pytest.raises(InputError) as info:
        client.run_sql("SELECT [Name] FROM vComputer WHERE [Name] IN (@names)", {"names": value})
    assert "Parameter 'names' is %s" % kind in str(info.value)
    assert conn.executed == []  # refused before the CMDB sees the query


def test_single_parameter_values_are_bound(client):
    values = {"s": "x'; DROP TABLE vComputer; --", "i": 7, "f": 1.5, "b": True, "n": None}
    result = client.run_sql("SELECT @s AS s, @i AS i, @f AS f, @b AS b, @n AS n", values)
    assert result.rows == [("x'; DROP TABLE vComputer; --", 7, 1.5, 1, None)]


@pytest.mark.parametrize("tsql, expected", [
    ("SELECT '100%' WHERE [a] = @p", "SELECT '100%' WHERE [a] = 7"),
    ("SELECT [a] % 2 WHERE [a] = @p", "SELECT [a] % 2 WHERE [a] = 7"),
    ("SELECT '%(p)s' WHERE [a] = @p", "SELECT '%' + '(p)s' WHERE [a] = 7"),
    ("SELECT N'x%(p)s%' WHERE [a] = @p", "SELECT N'x%' + N'(p)s%' WHERE [a] = 7"),
    ("SELECT [a] FROM t WHERE [n] LIKE 'PC-%' AND [a] = @p", "SELECT [a] FROM t WHERE [n] LIKE 'PC-%' AND [a] = 7"),
])
def test_pyformat_text_reaches_sql_server_as_written(tsql, expected):
    """What pymssql itself sends: literals keep their value, only the placeholders are replaced."""
    mssql = pytest.importorskip("pymssql._mssql")
    from ansible_collections.itms.cem.plugins.module_utils import _sqltext
    sent = mssql.substitute_params(_sqltext.to_pyformat(tsql, True), {"p": 7})
    assert sent.decode() == expected
