# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client for the CMDB (Symantec_CMDB on SQL Server, or an SQLite file).

URLs:

* ``mssql://user@host[:port]/Symantec_CMDB`` through pymssql (the password comes from
  ``cmdb_password`` / ``ITMS_CMDB_PASSWORD``, never from the URL);
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (the embedded lab).

Queries are T-SQL; on SQLite they are transpiled with sqlglot. Values are always bound
parameters. Every query is read-only: SQLite is opened with ``mode=ro`` and SQL Server work is
rolled back; on SQL Server the client also warns when the login could write. The one exception is
``write_batches`` (``_cmdb_write``): the access decisions ``_access`` builds from the profile, each
batch in one transaction; it refuses any other statement.

``timeout`` (cmdb_timeout) bounds, on SQLite, each query from its start to its last row read; on SQL
Server it is pymssql's ``login_timeout`` and ``timeout``, FreeTDS's wait for each answer of the server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import decimal
import os
import re
import sqlite3
import time
import uuid

from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, MissingDependency, NotFound, TransportError, VendorFault,
)
from ansible_collections.itms.cem.plugins.module_utils import _cmdb_write, _sqltext
from ansible_collections.itms.cem.plugins.module_utils._secrets import scrub

from urllib.parse import quote, unquote, urlsplit

try:
    import pymssql

    HAS_PYMSSQL = True
except ImportError:
    pymssql = None
    HAS_PYMSSQL = False

DEFAULT_PORT = 1433
SUPPORTED = "mssql://user@host[:port]/Symantec_CMDB or sqlite:///path/to/cmdb.sqlite"


class CmdbUrl:
    def __init__(self, scheme, path=None, user=None, host=None, port=None, database=None):
        self.scheme = scheme
        self.path = path
        self.user = user
        self.host = host
        self.port = port
        self.database = database

    def display(self):
        """The URL as safe to show (it never holds a password)."""
        if self.scheme == "sqlite":
            return "sqlite:///" + self.path
        return "mssql://%s@%s:%s/%s" % (self.user or "", self.host, self.port, self.database)


def parse_cmdb_url(url):
    """Parse and validate a CMDB URL; raise InputError that names the problem."""
    if not url or not isinstance(url, str):
        raise InputError("cmdb_url is empty.", hint="Use %s." % SUPPORTED)
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///"):
            raise InputError("The SQLite URL %r must start with sqlite:/// (three slashes)." % url,
                             hint="sqlite:///relative.db or sqlite:////absolute/path.db")
        path = unquote(url[len("sqlite:///"):])
        if not path:
            raise InputError("The SQLite URL %r names no file." % url, hint="Use sqlite:///path/to/cmdb.sqlite.")
        return CmdbUrl("sqlite", path=os.path.expanduser(path))
    parts = urlsplit(url)
    if parts.scheme != "mssql":
        raise InputError("Unsupported CMDB URL scheme %r." % (parts.scheme or url),
                         hint="Use %s." % SUPPORTED)
    if parts.password is not None:
        raise InputError("The CMDB URL holds a password; it would end up in logs and results.",
                         hint="Remove it from cmdb_url and set cmdb_password or ITMS_CMDB_PASSWORD instead.")
    if not parts.hostname:
        raise InputError("The CMDB URL names no server.", hint="Use %s." % SUPPORTED)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InputError("The CMDB URL has an invalid port.", hint="Use %s." % SUPPORTED)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise InputError("The CMDB URL names no database.", hint="Add the database name, usually /Symantec_CMDB.")
    user = unquote(parts.username) if parts.username else None
    return CmdbUrl("mssql", user=user, host=parts.hostname, port=port, database=database)


class QueryResult:
    def __init__(self, columns, rows, elapsed_ms, truncated=False):
        self.columns = columns
        self.rows = rows
        self.elapsed_ms = elapsed_ms
        self.truncated = truncated  # the query had more rows than max_rows; they were not read

    def as_dicts(self):
        cols = self.columns
        return [dict(zip(cols, row)) for row in self.rows]


def _to_json_value(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return str(uuid.UUID(bytes_le=bytes(value))) if len(value) == 16 else value.hex()
        except ValueError:
            return value.hex()
    return value


_PLAIN = (str, int, float, bool, type(None))


def normalize_rows(rows):
    """Make rows JSON-safe; a cheap pass when every value is already plain."""
    out = []
    for row in rows:
        if all(type(v) in _PLAIN for v in row):
            out.append(tuple(row))
        else:
            out.append(tuple(_to_json_value(v) for v in row))
    return out


FETCH_BATCH = 500  # rows per fetchmany(): a round trip on SQL Server, a bounded list in memory


def fetch_rows(cursor, max_rows=None):
    """(rows, truncated): at most ``max_rows`` rows of ``cursor`` (every row when None), read in batches.

    One row beyond ``max_rows`` is read to tell a result of exactly ``max_rows`` rows from a longer one;
    the rest is never fetched.
    """
    wanted = None if max_rows is None else max_rows + 1
    rows = []
    while wanted is None or len(rows) < wanted:
        batch = cursor.fetchmany(FETCH_BATCH if wanted is None else min(FETCH_BATCH, wanted - len(rows)))
        if not batch:
            break
        rows.extend(batch)
    if wanted is not None and len(rows) == wanted:
        return rows[:max_rows], True
    return rows, False


_TIMEOUT_HINT = "Raise cmdb_timeout, or make the query cheaper: a narrower WHERE, TOP, or an aggregate computed in SQL."


SQLITE_HEADER = b"SQLite format 3\x00"
_PROGRESS_STEPS = 10000  # SQLite virtual machine steps between two looks at the clock (well under a millisecond)


class SqliteBackend:
    def __init__(self, cmdb_url, timeout):
        self.path = cmdb_url.path
        self.timeout = timeout
        self.warnings = []
        self._check_file()
        try:
            self.conn = sqlite3.connect("file:%s?mode=ro" % quote(os.path.abspath(self.path)), uri=True,
                                        timeout=timeout)
            self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise TransportError("Cannot open %s as an SQLite CMDB: %s." % (self.path, exc),
                                 hint="Check that the file is an SQLite database.")

    def _check_file(self):
        """Name the problem with the file plainly; SQLite itself says 'disk I/O error' for a directory."""
        if not os.path.exists(self.path):
            raise NotFound("The CMDB file %s does not exist." % self.path,
                           hint="Create a lab CMDB with 'tests/lab/itms-lab cmdb --db PATH' or fix cmdb_url.")
        if os.path.isdir(self.path):
            raise InputError("cmdb_url names %s, which is a directory, not an SQLite file." % self.path,
                             hint="Point cmdb_url at the database file in it: sqlite:///%s/cmdb.sqlite."
                                  % self.path.rstrip("/"))
        if not os.path.isfile(self.path):  # a FIFO or a device: reading it could block or never end
            raise InputError("cmdb_url names %s, which is not a regular file." % self.path,
                             hint="Point cmdb_url at the SQLite CMDB file.")
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except PermissionError:
            raise TransportError("The CMDB file %s is not readable by the user running the task (permission "
                                 "denied)." % self.path,
                                 hint="Let that user read it (chmod/chown, or its group), or run the task as a user "
                                      "who may.")
        except OSError as exc:
            raise TransportError("Cannot read the CMDB file %s: %s." % (self.path, exc.strerror or exc))
        if not header:
            raise TransportError("The CMDB file %s is empty; it is not an SQLite CMDB." % self.path,
                                 hint="Point cmdb_url at the CMDB, or create a lab CMDB with "
                                      "'tests/lab/itms-lab cmdb --db PATH'.")
        if header != SQLITE_HEADER:
            raise TransportError("The CMDB file %s is not an SQLite database (it does not start with the SQLite "
                                 "header)." % self.path,
                                 hint="Point cmdb_url at the SQLite CMDB file; for SQL Server use an mssql:// URL.")

    def _run(self, sql, params, max_rows=None):
        """Run ``sql`` and read its rows, interrupted once cmdb_timeout has passed."""
        deadline = time.monotonic() + self.timeout
        expired = []

        def past_deadline():
            if time.monotonic() > deadline:
                expired.append(True)
                return 1  # non-zero: SQLite interrupts the statement
            return 0

        self.conn.set_progress_handler(past_deadline, _PROGRESS_STEPS)
        cursor = None
        try:
            cursor = self.conn.execute(sql, params or {})
            rows, truncated = fetch_rows(cursor, max_rows)
            columns = [d[0] for d in cursor.description or ()]
        except sqlite3.OperationalError:
            if expired:
                raise TransportError("The query ran longer than cmdb_timeout (%s s) on %s and was stopped."
                                     % (self.timeout, self.path), hint=_TIMEOUT_HINT)
            raise
        finally:
            self.conn.set_progress_handler(None, 0)
            if cursor is not None:
                cursor.close()
        return columns, rows, truncated

    def execute(self, tsql, params, max_rows=None):
        sql = _sqltext.to_sqlite(tsql)
        try:
            return self._run(sql, params, max_rows)
        except sqlite3.Error as exc:
            raise VendorFault("The CMDB refused the query: %s." % exc,
                              hint="Check table and column names with itms.cem.cmdb_schema_info.")

    def schema_rows(self, table_pattern=None, column_pattern=None):
        sql = ("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
               "WHERE m.type IN ('table', 'view')")
        params = {}
        if table_pattern is not None or column_pattern is not None:
            sql += " AND (m.name LIKE :t OR p.name LIKE :c)"
            params = {"t": table_pattern or "", "c": column_pattern or ""}
        _columns, rows, _truncated = self._run(sql + " ORDER BY m.name, p.cid", params)
        return [(None, t, c) for t, c in rows]

    def close(self):
        self.conn.close()


_TIMED_OUT = re.compile(r"\b20003\b|connection timed out", re.I)
_LOGIN_FAILED = re.compile(r"\b18456\b|Login failed", re.I)
_UNREACHABLE = re.compile(r"Unable to connect|unavailable or does not exist|timed out|Connection refused|"
                          r"\b20009\b|\b20002\b|\b20003\b", re.I)


# What a login that may write can do to the CMDB, checked on the database itself (db_datawriter grants the first
# three, db_ddladmin ALTER, db_owner and sysadmin all of them through CONTROL).
WRITE_PERMISSIONS = ("INSERT", "UPDATE", "DELETE", "ALTER", "EXECUTE", "CONTROL")
_WRITE_PERMISSIONS_SQL = "SELECT " + ", ".join("HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', '%s') AS [%s]" % (p, p)
                                               for p in WRITE_PERMISSIONS)


class MssqlBackend:
    def __init__(self, cmdb_url, password, timeout, encryption, connect=None):
        connect = connect or (pymssql.connect if HAS_PYMSSQL else None)
        if connect is None:
            raise MissingDependency("The Python library pymssql is required for mssql:// CMDB URLs.",
                                    hint="Install it on the controller with 'pip install pymssql'.")
        self._password = password
        self.timeout = timeout
        self.warnings = []
        self.where = "%s:%s/%s" % (cmdb_url.host, cmdb_url.port, cmdb_url.database)
        try:
            self.conn = connect(server=cmdb_url.host, port=str(cmdb_url.port), user=cmdb_url.user,
                                password=password, database=cmdb_url.database, login_timeout=int(timeout),
                                timeout=int(timeout), appname="itms.cem", autocommit=False,
                                encryption=encryption)
        except Exception as exc:  # pymssql raises its own OperationalError/InterfaceError types
            text = self._scrub(exc)
            if _LOGIN_FAILED.search(text):
                raise AuthError("SQL Server at %s refused the login for %r." % (self.where, cmdb_url.user),
                                hint="Check the user in cmdb_url and cmdb_password / ITMS_CMDB_PASSWORD; "
                                     "the login needs read access to the CMDB.")
            if _UNREACHABLE.search(text):
                raise TransportError("Cannot reach SQL Server at %s: %s." % (self.where, text.rstrip(".")),
                                     hint="Check the host, the port (1433 by default), firewalls, and that "
                                          "SQL Server accepts TCP connections.")
            raise TransportError("Cannot connect to SQL Server at %s: %s." % (self.where, text.rstrip(".")))
        self._warn_if_login_may_write(cmdb_url.user)

    def _warn_if_login_may_write(self, user):
        """Defense in depth: the read-only check and the rollbacks keep itms.cem from writing; the login should too."""
        login = "SQL Server login %r" % user if user else "SQL Server login"
        advice = "Use a login that is only in db_datareader, so that SQL Server refuses writes too."
        try:
            columns, rows, _truncated = self.execute(_WRITE_PERMISSIONS_SQL, None)
        except (VendorFault, TransportError) as exc:
            self.warnings.append("Could not check whether the %s may write to %s: %s %s"
                                 % (login, self.where, exc.msg, advice))
            return
        answers = dict(zip(columns, rows[0])) if rows else {}
        granted = [p for p in WRITE_PERMISSIONS if answers.get(p) == 1]
        unknown = [p for p in WRITE_PERMISSIONS if answers.get(p) is None]
        if granted:
            self.warnings.append("The %s may %s in %s. itms.cem only reads (custom SQL is checked and every statement "
                                 "is rolled back; only itms.cem.agent_access writes, the decisions its profile defines), but a "
                                 "login that may write turns any mistake into a change. %s"
                                 % (login, ", ".join(granted), self.where, advice))
        elif unknown:
            self.warnings.append("Could not tell whether the %s may %s in %s. %s"
                                 % (login, ", ".join(unknown), self.where, advice))

    def _scrub(self, exc):
        """The driver's message, readable and without the password."""
        args = getattr(exc, "args", None) or (exc,)
        first = args[0]
        if isinstance(first, tuple) and len(first) == 2:  # pymssql: (code, b"DB-Lib error message ...")
            first = first[1]
        if isinstance(first, bytes):
            first = first.decode("utf-8", "replace")
        lines = []
        for line in str(first).splitlines():
            line = line.strip()
            if line and not line.startswith("DB-Lib error message") and line not in lines:
                lines.append(line)
        return scrub("; ".join(lines) or exc.__class__.__name__, [self._password])

    def execute(self, tsql, params, max_rows=None):
        sql = _sqltext.to_pyformat(tsql, bool(params))
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, params or None)
            rows, truncated = fetch_rows(cursor, max_rows)
            columns = [d[0] for d in cursor.description or ()]
        except Exception as exc:  # pymssql raises its own OperationalError/ProgrammingError types
            text = self._scrub(exc)
            if _TIMED_OUT.search(text):
                raise TransportError("SQL Server at %s sent no answer within cmdb_timeout (%s s); the query was "
                                     "cancelled." % (self.where, self.timeout), hint=_TIMEOUT_HINT)
            raise VendorFault("The CMDB refused the query: %s." % text.rstrip("."),
                              hint="Check table and column names with itms.cem.cmdb_schema_info.")
        finally:
            self.conn.rollback()  # read-only by construction, and never leave a transaction open
        return columns, normalize_rows(rows), truncated

    def schema_rows(self, table_pattern=None, column_pattern=None):
        sql = "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS"
        params = {}
        if table_pattern is not None or column_pattern is not None:
            sql += " WHERE TABLE_NAME LIKE @t OR COLUMN_NAME LIKE @c"
            params = {"t": table_pattern or "", "c": column_pattern or ""}
        _cols, rows, _truncated = self.execute(sql + " ORDER BY TABLE_NAME, ORDINAL_POSITION", params)
        return [tuple(r) for r in rows]

    def close(self):
        try:
            self.conn.close()
        except Exception:  # closing a broken connection is not worth a failure
            pass


class CmdbClient:
    """Runs the T-SQL it is given against one CMDB and reads the live schema; knows no report or catalog.

    ``execute`` runs trusted SQL (the catalog's, rendered from a profile); ``run_sql`` runs a user's own
    SQL after the read-only check. Both bind values as parameters and never write. ``write_batches`` runs
    only ``_cmdb_write.Batch`` objects of the statements ``_access`` builds.
    """

    def __init__(self, url, password=None, timeout=30, encryption="require", connect=None):
        self.url = parse_cmdb_url(url)
        if self.url.scheme == "sqlite":
            self.backend = SqliteBackend(self.url, timeout)
        else:
            self.backend = MssqlBackend(self.url, password, timeout, encryption, connect=connect)
        self.warnings = self.backend.warnings  # one list: what the backend found at connect time, and later
        self.queries = 0
        self.elapsed_ms = 0
        self.writes = 0  # statements committed by write_batches
        self.rows_written = 0
        self._schema = None
        self._writer = None

    def stats(self):
        """What this client did, for the task result."""
        return dict(backend=self.url.scheme, queries=self.queries, elapsed_ms=self.elapsed_ms, writes=self.writes,
                    rows_written=self.rows_written)

    # -- schema -------------------------------------------------------------------------
    def schema(self):
        """{table name lower: {column name lower: column name}} for the whole database (cached)."""
        if self._schema is None:
            schema = {}
            for owner, table, column in self.backend.schema_rows():
                for key in ([table.lower(), ("%s.%s" % (owner, table)).lower()] if owner else [table.lower()]):
                    schema.setdefault(key, {})[column.lower()] = column
            self._schema = schema
        return self._schema

    def missing(self, requirements):
        """The (table, column) pairs of ``requirements`` the CMDB does not have, as 'table.column' strings."""
        schema = self.schema()
        missing = []
        for table, column in requirements:
            columns = schema.get(table.lower())
            if columns is None:
                item = "%s (table)" % table
            elif column.lower() not in columns:
                item = "%s.%s" % (table, column)
            else:
                continue
            if item not in missing:
                missing.append(item)
        return missing

    def search(self, pattern):
        """Tables whose name, or one of whose columns, matches the LIKE ``pattern``."""
        found = {}
        for owner, table, column in self.backend.schema_rows(pattern, pattern):
            found.setdefault(table, []).append(column)
        return found

    # -- queries ------------------------------------------------------------------------
    def execute(self, tsql, params=None, max_rows=None):
        """Run trusted T-SQL (values bound from ``params``) and return a QueryResult.

        With ``max_rows``, at most that many rows are read (the result says whether there were more).
        """
        _sqltext.check_parameter_values(params)
        started = time.time()
        columns, rows, truncated = self.backend.execute(tsql, params, max_rows)
        elapsed = int(round((time.time() - started) * 1000))
        self.queries += 1
        self.elapsed_ms += elapsed
        return QueryResult(columns, rows, elapsed, truncated)

    def run_sql(self, sql, params=None, max_rows=None):
        """A user's custom SQL: one read-only SELECT with @name placeholders."""
        _sqltext.check_read_only(sql)
        params = dict(params or {})
        _sqltext.check_parameters(sql, params)
        return self.execute(sql.strip().rstrip(";").strip(), params, max_rows)

    # -- the one write path -------------------------------------------------------------
    def write_batches(self, batches, on_batch=None):
        """Run each ``_cmdb_write.Batch`` in one transaction; ``on_batch(key, rows)`` after each COMMIT.

        Returns dict(batches, rows). A failure rolls the batch back and raises TransportError naming it and how
        many batches were committed before it.
        """
        if self._writer is None:
            if self.url.scheme == "sqlite":
                self._writer = _cmdb_write.SqliteWriter(self.backend.path, self.backend.timeout)
            else:
                self._writer = _cmdb_write.MssqlWriter(self.backend.conn, self.backend._scrub, self.backend.where)
        started = time.time()
        try:
            return _cmdb_write.write_batches(self._writer, batches, on_batch, self._count_write)
        finally:
            self.elapsed_ms += int(round((time.time() - started) * 1000))

    def _count_write(self, statements, rows):
        self.writes += statements
        self.rows_written += rows

    def close(self):
        if self._writer is not None:
            self._writer.close()
        self.backend.close()
