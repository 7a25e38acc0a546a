# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB client's write path: one transaction per batch, the statement guard, SQL Server and SQLite.

``StoreConnection`` is a recording DB-API connection shaped like pymssql's (autocommit off: what a batch sends
stays pending until commit()); test_access.py uses it too.
"""
import inspect
import sqlite3
import threading

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _cmdb_write
from ansible_collections.itms.cem.plugins.module_utils._cmdb_write import MAX_PARAMETERS, Batch
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch, TransportError

PASSWORD = "S3cret-for-the-write-tests"
TABLE = "Lab_CEM_Agent_Access"
ACCESS_COLUMNS = ("Id", "AgentName", "AgentGuid", "ReportedBy", "CreatedDate", "Status", "DecidedDate")


class OperationalError(Exception):
    """Shaped like pymssql's: args[0] is (code, bytes)."""


def dropped(code=20047):
    return OperationalError((code, b"DB-Lib error message 20047, severity 9:\nDBPROCESS is dead or not enabled\n"))


class StoreCursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self.rowcount = -1
        self._rows = []

    def _answer(self, columns, rows):
        self.description = [(c, None, None, None, None, None, None) for c in columns]
        self._rows = list(rows)

    def execute(self, sql, params=None):
        conn = self.conn
        if "HAS_PERMS_BY_NAME" in sql:
            return self._answer(list(_cmdb.WRITE_PERMISSIONS), [(0,) * len(_cmdb.WRITE_PERMISSIONS)])
        conn.log.append(("execute", sql, params))
        if sql.startswith("SELECT TABLE_SCHEMA"):
            return self._answer(["s", "t", "c"], conn.schema_rows)
        if "FROM sys.objects" in sql:
            return self._answer(["found"], [(1,)] if params["name"] in conn.procedures else [])
        if sql.startswith("SELECT a.[Id], a.[Status] FROM"):
            ids = [params[k] for k in sorted(params, key=lambda k: int(k[1:]))]
            return self._answer(["Id", "Status"], [(i, conn.status[i]) for i in ids if i in conn.status])
        if sql.startswith("SELECT"):
            return self._answer(conn.select_columns, conn.select_rows)
        conn.statements += 1
        if conn.statements == conn.fail_on_statement:
            raise dropped()
        if sql.startswith("UPDATE"):
            ids = [v for k, v in params.items() if k.startswith("k")]
            changed = [i for i in ids if conn.current(i) not in (None, params["status"])]
            for i in changed:
                conn.pending.append((i, params["status"]))
            self.rowcount = len(changed)
        elif sql.startswith("EXEC"):
            conn.pending.append((params["id"], params["status"]))
            self.rowcount = -1  # a procedure with SET NOCOUNT ON
        else:
            raise AssertionError("unexpected statement %r" % sql)
        self._answer([], [])

    def fetchmany(self, size=1):
        batch, self._rows = self._rows[:size], self._rows[size:]
        return batch


class StoreConnection:
    """An access store behind a pymssql-shaped connection: ``status`` {id: value} changes only at commit().

    ``log`` records ("execute", sql, params), ("commit",) and ("rollback",) in order; ``writes`` counts, per id,
    the changes committed. ``fail_on_statement`` = k: the k-th write statement fails (the connection drops);
    ``lose_commit`` = k: the k-th commit is applied by the server but the client hears an error.
    """

    def __init__(self, status=None, fail_on_statement=None, lose_commit=None, procedures=()):
        self.status = dict(status or {})
        self.pending = []
        self.log = []
        self.writes = {}
        self.statements = 0
        self.commits = 0
        self.fail_on_statement = fail_on_statement
        self.lose_commit = lose_commit
        self.procedures = set(procedures)
        self.schema_rows = [("dbo", TABLE, c) for c in ACCESS_COLUMNS]
        self.select_columns, self.select_rows = [], []
        self.closed = False

    def current(self, key):
        for pending_key, value in reversed(self.pending):
            if pending_key == key:
                return value
        return self.status.get(key)

    def cursor(self):
        return StoreCursor(self)

    def commit(self):
        self.log.append(("commit",))
        self.commits += 1
        for key, value in self.pending:
            self.status[key] = value
            self.writes[key] = self.writes.get(key, 0) + 1
        self.pending = []
        if self.commits == self.lose_commit:
            raise dropped(20006)

    def rollback(self):
        self.log.append(("rollback",))
        self.pending = []

    def close(self):
        self.closed = True


def mssql_client(conn, password=PASSWORD):
    return _cmdb.CmdbClient("mssql://svc@sql01/Symantec_CMDB", password=password,
                            connect=lambda **kwargs: conn)


def update(ids, status=1, table="[%s]" % TABLE):
    params = {"status": status}
    params.update(("k%d" % i, key) for i, key in enumerate(ids))
    sql = "UPDATE %s SET [Status] = @status WHERE [Id] IN (%s) AND [Status] <> @status" % (
        table, ", ".join("@k%d" % i for i in range(len(ids))))
    return sql, params


# -- SQL Server: exact T-SQL, bound values, transaction order -----------------------------------------
def test_mssql_batches_commit_in_order_and_call_back_after_each_commit():
    conn = StoreConnection(status={1: 0, 2: 0, 3: 2})
    client = mssql_client(conn)
    conn.log = []
    seen = []
    result = client.write_batches([Batch("approve-0001", [update([1, 2])], expected=2),
                                   Batch("approve-0002", [update([3])], expected=1)],
                                  on_batch=lambda key, rows: seen.append((key, rows, list(conn.log[-1]))))
    assert result == dict(batches=2, rows=3)
    assert conn.log == [
        ("execute", "UPDATE [Lab_CEM_Agent_Access] SET [Status] = %(status)s WHERE [Id] IN (%(k0)s, %(k1)s) "
                    "AND [Status] <> %(status)s", {"status": 1, "k0": 1, "k1": 2}),
        ("commit",),
        ("execute", "UPDATE [Lab_CEM_Agent_Access] SET [Status] = %(status)s WHERE [Id] IN (%(k0)s) "
                    "AND [Status] <> %(status)s", {"status": 1, "k0": 3}),
        ("commit",),
    ]
    assert seen == [("approve-0001", 2, ["commit"]), ("approve-0002", 1, ["commit"])]  # journaled after COMMIT
    assert conn.status == {1: 1, 2: 1, 3: 1}
    stats = client.stats()
    assert (stats["writes"], stats["rows_written"], stats["queries"]) == (2, 3, 0)


def test_mssql_failure_rolls_back_and_names_the_batch_and_the_committed_ones():
    conn = StoreConnection(status=dict((i, 0) for i in range(1, 7)), fail_on_statement=3)
    client = mssql_client(conn)
    conn.log = []
    batches = [Batch("approve-%04d" % n, [update([2 * n - 1, 2 * n])], expected=2) for n in (1, 2, 3)]
    with pytest.raises(TransportError) as info:
        client.write_batches(batches)
    assert [e[0] for e in conn.log] == ["execute", "commit", "execute", "commit", "execute", "rollback"]
    message = str(info.value)
    assert message.startswith("The CMDB write of batch approve-0003 failed after 2 batch(es) were committed; it was "
                              "rolled back: DBPROCESS is dead or not enabled (SQL Server at sql01:1433/Symantec_CMDB).")
    assert "Rerun with the same journal" in message
    assert info.value.details == dict(committed_batches=2, failed_batch="approve-0003")
    assert conn.status == {1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0}
    assert client.stats()["writes"] == 2 and client.stats()["rows_written"] == 4


def test_mssql_procedure_keeps_its_argument_names():
    conn = StoreConnection(status={"6513270e-269e-4d37-b2a7-4de452e6b438": 0})
    client = mssql_client(conn)
    conn.log = []
    statement = ("EXEC [dbo].[spSetCemAgentAccess] @AgentId = @id, @Status = @status",
                 {"id": "6513270e-269e-4d37-b2a7-4de452e6b438", "status": 2})
    assert client.write_batches([Batch("block-0001", [statement])]) == dict(batches=1, rows=0)
    assert conn.log == [("execute", "EXEC [dbo].[spSetCemAgentAccess] @AgentId = %(id)s, @Status = %(status)s",
                         statement[1]), ("commit",)]


def test_a_batch_that_changes_more_rows_than_it_names_is_rolled_back():
    conn = StoreConnection(status={1: 0, 2: 0})
    client = mssql_client(conn)
    conn.log = []
    with pytest.raises(ProfileMismatch) as info:
        client.write_batches([Batch("approve-0001", [update([1, 2])], expected=1)])
    assert conn.log[-1] == ("rollback",) and conn.status == {1: 0, 2: 0}
    assert "would change 2 rows for 1 decisions; it was rolled back" in str(info.value)
    assert "columns.id must name the store's row key" in str(info.value)
    assert info.value.details == dict(committed_batches=0, failed_batch="approve-0001")


def test_the_password_never_shows_in_a_write_failure():
    conn = StoreConnection(status={1: 0})
    client = mssql_client(conn)

    def refuse(sql, params=None):
        raise OperationalError((229, ("permission denied for %s" % PASSWORD).encode()))

    class RefusingCursor(object):
        rowcount = -1
        execute = staticmethod(refuse)

    conn.cursor = RefusingCursor
    with pytest.raises(TransportError) as info:
        client.write_batches([Batch("approve-0001", [update([1])])])
    assert PASSWORD not in str(info.value) and "permission denied for ********" in str(info.value)


# -- the guard: only the statements _access builds ------------------------------------------------------
@pytest.mark.parametrize("statement,words", [
    (("DELETE FROM [Lab_CEM_Agent_Access]", {}), "neither"),
    (("SELECT * FROM [Lab_CEM_Agent_Access]", {}), "neither"),
    (("UPDATE Lab_CEM_Agent_Access SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s", {"s": 1, "k0": 1}),
     "neither"),  # a bare table name is not what _access builds
    (("UPDATE [T] SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s; DELETE FROM [T]", {"s": 1, "k0": 1}),
     "neither"),
    (("UPDATE [T] SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s DELETE FROM [T]", {"s": 1, "k0": 1}),
     "neither"),
    (("UPDATE [T] SET [Status] = 'x' WHERE [Id] IN (@k0) AND [Status] <> @s", {"s": 1, "k0": 1}), "neither"),
    (("UPDATE [T] SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s", {"s": 1}), "placeholders and its"),
    (("UPDATE [T] SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s", {"s": 1, "k0": 1, "x": 2}),
     "placeholders and its"),
    (("UPDATE [100%] SET [Status] = @s WHERE [Id] IN (@k0) AND [Status] <> @s", {"s": 1, "k0": 1}), "'%'"),
    (("EXEC [dbo].[sp] @A = @a; EXEC [dbo].[xp_cmdshell] @c = @a", {"a": 1}), "neither"),
    (("EXEC [dbo].[sp] @A = @a EXEC [dbo].[other] @B = @a", {"a": 1}), "neither"),
    (update(list(range(MAX_PARAMETERS))), "binds 2001 parameters; at most 2000"),
    (("UPDATE [T] SET [S] = @s WHERE [Id] IN (@k0) AND [S] <> @s", ), "pair"),
])
def test_write_batches_refuses_anything_but_the_access_statements(statement, words):
    conn = StoreConnection(status={1: 0})
    client = mssql_client(conn)
    conn.log = []
    with pytest.raises(InputError) as info:
        client.write_batches([Batch("b-1", [statement if len(statement) == 2 else statement[0]])])
    assert words in str(info.value)
    assert str(info.value).startswith("The CMDB write path runs only the UPDATE or EXEC statements itms.cem builds")
    assert conn.log == [] and conn.statements == 0  # refused before anything reached the CMDB


def test_write_values_are_single_sql_values():
    conn = StoreConnection(status={1: 0})
    client = mssql_client(conn)
    with pytest.raises(InputError, match="Parameter 'status' is a list"):
        client.write_batches([Batch("b-1", [update([1], status=[1, 2])])])
    assert conn.statements == 0


def test_write_batches_takes_only_batch_objects():
    conn = StoreConnection(status={1: 0})
    client = mssql_client(conn)
    with pytest.raises(InputError, match="it takes Batch objects, not tuple"):
        client.write_batches([("approve-0001", [update([1])])])
    with pytest.raises(InputError, match="holds no statement"):
        client.write_batches([Batch("approve-0001", [])])
    assert conn.statements == 0


def test_no_public_method_writes_free_sql():
    """execute and run_sql never commit (read-only by construction); write_batches is the one write path."""
    public = sorted(name for name, _member in inspect.getmembers(_cmdb.CmdbClient, inspect.isfunction)
                    if not name.startswith("_"))
    assert public == ["close", "execute", "missing", "run_sql", "schema", "search", "stats", "write_batches"]
    assert list(inspect.signature(_cmdb.CmdbClient.write_batches).parameters) == ["self", "batches", "on_batch"]
    conn = StoreConnection(status={1: 0})
    client = mssql_client(conn)
    conn.log = []
    client.execute("SELECT 1 AS n")
    with pytest.raises(InputError):
        client.run_sql(update([1])[0], update([1])[1])
    assert ("commit",) not in conn.log and conn.log[-1] == ("rollback",)


def test_the_largest_statement_fits_the_limit():
    ids = list(range(MAX_PARAMETERS - 1))
    assert _cmdb_write.check_statement(*update(ids)) == "update"
    assert _cmdb_write.placeholders("EXEC [p] @Status = @status, @Id = @id") == ["status", "id"]


# -- SQLite, for real ---------------------------------------------------------------------------------------
def store(path, rows=10):
    conn = sqlite3.connect(path)
    conn.executescript("""
    CREATE TABLE IF NOT EXISTS Lab_CEM_Agent_Access ([Id] INTEGER PRIMARY KEY, [AgentName] TEXT NOT NULL,
        [AgentGuid] TEXT, [ReportedBy] TEXT, [CreatedDate] TEXT, [Status] INTEGER NOT NULL, [DecidedDate] TEXT);
    CREATE TABLE Test_Writes ([AccessId] INTEGER, [NewStatus] INTEGER);
    CREATE TRIGGER test_written AFTER UPDATE OF [Status] ON Lab_CEM_Agent_Access WHEN NEW.[Status] IS NOT OLD.[Status]
    BEGIN INSERT INTO Test_Writes VALUES (NEW.[Id], NEW.[Status]); END;
    CREATE TABLE Test_Fault ([After] INTEGER);
    CREATE TRIGGER test_fault BEFORE UPDATE OF [Status] ON Lab_CEM_Agent_Access
    WHEN EXISTS (SELECT 1 FROM Test_Fault f WHERE (SELECT COUNT(*) FROM Test_Writes) >= f.[After])
    BEGIN SELECT RAISE(ABORT, 'test fault: the connection dropped'); END;
    """)
    conn.execute("DELETE FROM Lab_CEM_Agent_Access")
    conn.executemany("INSERT INTO Lab_CEM_Agent_Access VALUES (?, ?, NULL, 'ig', '2026-11-01 10:00:00', 0, NULL)",
                     [(i, "PC-%03d" % i) for i in range(1, rows + 1)])
    conn.commit()
    conn.close()
    return path


def statuses(path):
    return dict(sqlite3.connect(path).execute("SELECT [Id], [Status] FROM Lab_CEM_Agent_Access").fetchall())


def test_sqlite_writes_each_batch_in_its_own_transaction(lab_db_copy):
    store(lab_db_copy)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    traced = []
    client.write_batches([Batch("approve-0001", [update([1, 2])], expected=2)])
    client._writer.conn.set_trace_callback(traced.append)
    result = client.write_batches([Batch("approve-0002", [update([3, 4], status=2), update([5])], expected=3)])
    assert result == dict(batches=1, rows=3)
    statements = [t for i, t in enumerate(traced) if not i or t != traced[i - 1]]  # triggers trace their statement
    assert statements == [
        "BEGIN IMMEDIATE",
        'UPDATE "Lab_CEM_Agent_Access" SET "Status" = 2 WHERE "Id" IN (3, 4) AND "Status" <> 2',
        'UPDATE "Lab_CEM_Agent_Access" SET "Status" = 1 WHERE "Id" IN (5) AND "Status" <> 1',
        "COMMIT",
    ]
    assert statuses(lab_db_copy) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 1, 6: 0, 7: 0, 8: 0, 9: 0, 10: 0}
    assert client.stats()["writes"] == 3 and client.stats()["rows_written"] == 5
    with pytest.raises(Exception, match="readonly"):  # reads keep their read-only connection
        client.backend.conn.execute("UPDATE Lab_CEM_Agent_Access SET [Status] = 0")
    client.close()


def test_sqlite_failure_rolls_the_batch_back(lab_db_copy):
    store(lab_db_copy)
    raw = sqlite3.connect(lab_db_copy)
    raw.execute("INSERT INTO Test_Fault VALUES (3)")  # the fourth status change fails
    raw.commit()
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    done = []
    with pytest.raises(TransportError) as info:
        client.write_batches([Batch("approve-%04d" % n, [update([2 * n - 1, 2 * n])]) for n in (1, 2, 3)],
                             on_batch=lambda key, rows: done.append(key))
    assert str(info.value).startswith("The CMDB write of batch approve-0002 failed after 1 batch(es) were committed; "
                                      "it was rolled back: test fault: the connection dropped.")
    assert done == ["approve-0001"]
    assert statuses(lab_db_copy)[3] == 0  # the first row of the failed batch was rolled back with it
    assert raw.execute("SELECT COUNT(*) FROM Test_Writes").fetchone() == (2,)
    assert not client._writer.conn.in_transaction
    client.close()


def test_sqlite_write_is_stopped_at_cmdb_timeout(lab_db_copy):
    store(lab_db_copy, rows=3)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy, timeout=1)
    client.write_batches([Batch("approve-0001", [update([1])])])  # opens the writer
    # A thousand million rows for each row updated: hours of work for SQLite without the deadline.
    client._writer.conn.execute("CREATE TEMP TRIGGER slow BEFORE UPDATE ON Lab_CEM_Agent_Access BEGIN "
                                "SELECT COUNT(*) FROM vComputer a, vComputer b, vComputer c; END")
    watchdog = threading.Timer(20, client._writer.conn.interrupt)
    watchdog.start()
    try:
        with pytest.raises(TransportError) as info:
            client.write_batches([Batch("approve-0002", [update([2])])])
    finally:
        watchdog.cancel()
    assert "it ran longer than cmdb_timeout (1 s)" in str(info.value)
    assert statuses(lab_db_copy) == {1: 1, 2: 0, 3: 0}
    client.close()


def test_sqlite_has_no_procedures(lab_db_copy):
    store(lab_db_copy, rows=1)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    with pytest.raises(InputError, match="SQLite has no stored procedures"):
        client.write_batches([Batch("approve-0001", [("EXEC [dbo].[sp] @Id = @id", {"id": 1})])])
    client.close()


def test_sqlite_file_that_cannot_be_written(lab_db_copy, monkeypatch):
    store(lab_db_copy, rows=1)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr(_cmdb_write.sqlite3, "connect", refuse)
    with pytest.raises(TransportError, match="Cannot open .* for writing: attempt to write a readonly database"):
        client.write_batches([Batch("approve-0001", [update([1])])])
    client.close()
