# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client for the CMDB (Symantec_CMDB on SQL Server, or an SQLite file).

URLs:

* ``mssql://user@host[:port]/Symantec_CMDB`` through pymssql (the password comes from
  ``cmdb_password`` / ``ITMS_CMDB_PASSWORD``, never from the URL);
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (the embedded lab).

Queries are T-SQL; on SQLite they are transpiled with sqlglot. Values are always bound
parameters. Every connection is used read-only: SQLite is opened with ``mode=ro`` and
SQL Server work is rolled back.
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
from ansible_collections.itms.cem.plugins.module_utils import _sqltext

try:
    from urllib.parse import quote, unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported on the controller
    from urllib import quote, unquote  # type: ignore
    from urlparse import urlsplit  # type: ignore

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
    def __init__(self, columns, rows, elapsed_ms):
        self.columns = columns
        self.rows = rows
        self.elapsed_ms = elapsed_ms

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


class SqliteBackend:
    dialect = "sqlite"

    def __init__(self, cmdb_url, timeout):
        self.path = cmdb_url.path
        if not os.path.exists(self.path):
            raise NotFound("The CMDB file %s does not exist." % self.path,
                           hint="Create a lab CMDB with 'tests/lab/itms-lab cmdb --db PATH' or fix cmdb_url.")
        try:
            self.conn = sqlite3.connect("file:%s?mode=ro" % quote(os.path.abspath(self.path)), uri=True,
                                        timeout=timeout)
            self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise TransportError("Cannot open %s as an SQLite CMDB: %s." % (self.path, exc),
                                 hint="Check that the file is an SQLite database.")

    def execute(self, tsql, params):
        sql = _sqltext.to_sqlite(tsql)
        try:
            cursor = self.conn.execute(sql, params or {})
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise VendorFault("The CMDB refused the query: %s." % exc,
                              hint="Check table and column names with itms.cem.cmdb_schema_info.")
        columns = [d[0] for d in cursor.description or ()]
        return columns, rows

    def schema_rows(self, table_pattern=None, column_pattern=None):
        sql = ("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
               "WHERE m.type IN ('table', 'view')")
        params = {}
        if table_pattern is not None or column_pattern is not None:
            sql += " AND (m.name LIKE :t OR p.name LIKE :c)"
            params = {"t": table_pattern or "", "c": column_pattern or ""}
        rows = self.conn.execute(sql + " ORDER BY m.name, p.cid", params).fetchall()
        return [(None, t, c) for t, c in rows]

    def close(self):
        self.conn.close()


_LOGIN_FAILED = re.compile(r"\b18456\b|Login failed", re.I)
_UNREACHABLE = re.compile(r"Unable to connect|unavailable or does not exist|timed out|Connection refused|"
                          r"\b20009\b|\b20002\b|\b20003\b", re.I)


class MssqlBackend:
    dialect = "tsql"

    def __init__(self, cmdb_url, password, timeout, encryption, connect=None):
        connect = connect or (pymssql.connect if HAS_PYMSSQL else None)
        if connect is None:
            raise MissingDependency("The Python library pymssql is required for mssql:// CMDB URLs.",
                                    hint="Install it on the controller with 'pip install pymssql'.")
        self._password = password
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
        text = "; ".join(lines) or exc.__class__.__name__
        if self._password:
            text = text.replace(self._password, "********")
        return text

    def execute(self, tsql, params):
        sql = _sqltext.to_pyformat(tsql, bool(params))
        cursor = self.conn.cursor()
        try:
            cursor.execute(sql, params or None)
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description or ()]
        except Exception as exc:
            text = self._scrub(exc)
            raise VendorFault("The CMDB refused the query: %s." % text.rstrip("."),
                              hint="Check table and column names with itms.cem.cmdb_schema_info.")
        finally:
            self.conn.rollback()  # read-only by construction, and never leave a transaction open
        return columns, normalize_rows(rows)

    def schema_rows(self, table_pattern=None, column_pattern=None):
        sql = "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS"
        params = {}
        if table_pattern is not None or column_pattern is not None:
            sql += " WHERE TABLE_NAME LIKE @t OR COLUMN_NAME LIKE @c"
            params = {"t": table_pattern or "", "c": column_pattern or ""}
        _cols, rows = self.execute(sql + " ORDER BY TABLE_NAME, ORDINAL_POSITION", params)
        return [tuple(r) for r in rows]

    def close(self):
        try:
            self.conn.close()
        except Exception:  # closing a broken connection is not worth a failure
            pass


class CmdbClient:
    """Runs the T-SQL it is given against one CMDB and reads the live schema; knows no report or catalog.

    ``execute`` runs trusted SQL (the catalog's, rendered from a profile); ``run_sql`` runs a user's own
    SQL after the read-only check. Both bind values as parameters.
    """

    def __init__(self, url, password=None, timeout=30, encryption="require", connect=None):
        self.url = parse_cmdb_url(url)
        if self.url.scheme == "sqlite":
            self.backend = SqliteBackend(self.url, timeout)
        else:
            self.backend = MssqlBackend(self.url, password, timeout, encryption, connect=connect)
        self.warnings = []
        self.queries = 0
        self.elapsed_ms = 0
        self._schema = None

    def stats(self):
        """What this client did, for the task result."""
        return dict(backend=self.url.scheme, queries=self.queries, elapsed_ms=self.elapsed_ms)

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
    def execute(self, tsql, params=None):
        """Run trusted T-SQL (values bound from ``params``) and return a QueryResult."""
        started = time.time()
        columns, rows = self.backend.execute(tsql, params)
        elapsed = int(round((time.time() - started) * 1000))
        self.queries += 1
        self.elapsed_ms += elapsed
        return QueryResult(columns, rows, elapsed)

    def run_sql(self, sql, params=None):
        """A user's custom SQL: one read-only SELECT with @name placeholders."""
        _sqltext.check_read_only(sql)
        params = dict(params or {})
        _sqltext.check_parameters(sql, params)
        return self.execute(sql.strip().rstrip(";").strip(), params)

    def close(self):
        self.backend.close()
