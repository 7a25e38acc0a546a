# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The CMDB client's one write path: batches of access decisions, each in one transaction.

Only ``_access`` builds what runs here, from the schema profile: an ``UPDATE`` of the access store or an ``EXEC``
of its procedure, identifiers bracket-quoted and every value bound. ``check_statement`` holds each statement to
exactly that shape (a fixed grammar, then sqlglot must read it as one statement), so no user SQL can reach a
write; everything else the client does stays read-only.

Transactions: on SQLite a second connection, opened read-write, runs ``BEGIN IMMEDIATE``, the batch's statements
and ``COMMIT`` (``ROLLBACK`` on any error), within cmdb_timeout. pymssql keeps a transaction open on a connection
made with ``autocommit=False`` (it sends ``BEGIN TRAN`` at connect and after every commit or rollback); a batch's
statements run in it and ``commit()`` ends it, ``rollback()`` on any error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os
import re
import sqlite3
import time
from urllib.parse import quote

from ansible_collections.itms.cem.plugins.module_utils import _sqltext
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError, InputError, ProfileMismatch, TransportError

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
except ImportError:  # _sqltext.require_sqlglot says what to install
    sqlglot = None

# SQL Server accepts at most 2,100 parameters in one request; a statement here binds at most this many.
MAX_PARAMETERS = 2000

_IDENT = r"\[(?:[^\]]|\]\])+\]"
_NAME = r"%s(?:\.%s)*" % (_IDENT, _IDENT)
_PARAM = r"@[A-Za-z_][A-Za-z0-9_]*"
# Each kind: the statement as (?P<head>...)(?P<keys>...)(?P<tail>...), ``keys`` the list of row-key placeholders.
_GRAMMAR = {
    # UPDATE [table] SET [col] = @v{, [col] = @v} WHERE [id] IN (@k0{, @kN}) AND [status] <> @v
    "update": re.compile(r"(?P<head>UPDATE {n} SET {i} = {p}(?:, {i} = {p})* WHERE {i} IN \()(?P<keys>{p}(?:, {p})*)"
                         r"(?P<tail>\) AND {i} <> {p})".format(n=_NAME, i=_IDENT, p=_PARAM)),
    # EXEC [schema].[procedure] @Argument = @v{, @Argument = @v}
    "exec": re.compile(r"(?P<head>EXEC {n} {p} = {p}(?:, {p} = {p})*)(?P<keys>)(?P<tail>)".format(n=_NAME, p=_PARAM)),
}
# In a statement of that grammar: a [name], a procedure's @Argument (followed by " ="), or an @placeholder.
_TOKEN = re.compile(r"%s|(%s)( =)?" % (_IDENT, _PARAM))
_PARSED = {}  # statement shape (the statement, its key list cut to one placeholder) -> sqlglot node type, once read


class Batch:
    """Decisions written in one transaction: ``statements`` is a list of (T-SQL, params); ``expected`` is the most
    rows they may change (None: not known, as for a procedure)."""

    __slots__ = ("key", "statements", "expected")

    def __init__(self, key, statements, expected=None):
        self.key = key
        self.statements = list(statements)
        self.expected = expected


def _refuse(why):
    return InputError("The CMDB write path runs only the UPDATE or EXEC statements itms.cem builds from the access "
                      "profile; %s." % why,
                      hint="Writes go through itms.cem.agent_access; custom SQL is read-only (itms.cem.cmdb_query).")


def placeholders(tsql):
    """The @placeholders of a statement of the write grammar, in order (a procedure's @Argument names excluded)."""
    return [m.group(1)[1:] for m in _TOKEN.finditer(tsql) if m.group(1) and not m.group(2)]


@functools.lru_cache(maxsize=16)
def _shape(tsql):
    """(kind, shape, the set of its placeholder names) of a statement of the write grammar; InputError for any other
    text. A run's batches repeat one or two texts, so each is read once.

    The shape is the statement with its key list cut to the first key (``IN (@k0)``): what sqlglot must read as
    one statement, once per shape, however many keys a batch binds. The cut part is ``@name, @name, ...`` only
    (the grammar says so), so it cannot change what the statement is.
    """
    match = next((m for m in (grammar.fullmatch(tsql) for grammar in _GRAMMAR.values()) if m is not None), None)
    if match is None:
        raise _refuse("this statement is neither 'UPDATE [table] SET ... WHERE [key] IN (...) AND [status] <> @status' "
                      "nor 'EXEC [procedure] @Argument = @value, ...'")
    kind = "update" if match.re is _GRAMMAR["update"] else "exec"
    if "%" in tsql:
        raise _refuse("an identifier holds '%', which pymssql would read as a placeholder")
    head, keys, tail = match.group("head", "keys", "tail")
    keys = keys.split(", ") if keys else []
    shape = head + "".join(keys[:1]) + tail
    return kind, shape, frozenset(placeholders(head + tail) + [key[1:] for key in keys])


def check_statement(tsql, params):
    """'update' or 'exec' when ``tsql`` is one statement of the write grammar with ``params`` bound; else InputError."""
    if not isinstance(tsql, str) or not isinstance(params, dict):
        raise _refuse("a statement is a (T-SQL text, parameters dictionary) pair")
    kind, shape, used = _shape(tsql)
    if used != params.keys():
        raise _refuse("its placeholders and its parameters differ")
    if len(params) > MAX_PARAMETERS:
        raise _refuse("it binds %d parameters; at most %d go in one statement (SQL Server's limit is 2,100 per "
                      "request)" % (len(params), MAX_PARAMETERS))
    _sqltext.check_parameter_values(params)
    if shape not in _PARSED:
        _sqltext.require_sqlglot()
        try:
            nodes = [n for n in sqlglot.parse(shape, read="tsql") if n is not None and not isinstance(n, exp.Semicolon)]
        except (ParseError, TokenError):
            nodes = []
        if len(nodes) != 1 or not isinstance(nodes[0], (exp.Update, exp.Execute)):
            raise _refuse("it does not read as exactly one UPDATE or EXEC statement")
        _PARSED[shape] = type(nodes[0]).__name__
    return kind


@functools.lru_cache(maxsize=16)
def to_pyformat(tsql):
    """A write statement with pymssql's %(name)s placeholders; a procedure's @Argument names stay as they are
    (kept for the few texts a run repeats)."""
    out, last = [], 0
    for match in _TOKEN.finditer(tsql):
        if match.group(1) and not match.group(2):
            out.append(tsql[last:match.start()])
            out.append("%%(%s)s" % match.group(1)[1:])
            last = match.end()
    out.append(tsql[last:])
    return "".join(out)


# In an SQLite statement: a quoted name or string (kept as it is), or an @name placeholder.
_SQLITE_PARAM = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|@([A-Za-z_][A-Za-z0-9_]*)')


@functools.lru_cache(maxsize=16)
def numbered(sql):
    """(``sql`` with its @name placeholders as ?N, the names in the order of N): the same statement, its values then
    bound from a list. SQLite finds the name of each parameter bound from a dictionary by going through the
    statement's names, so binding a batch's 1,000 keys by name costs a million steps; by number it costs none."""
    numbers = {}

    def number(match):
        if match.group(1) is None:
            return match.group(0)
        return "?%d" % numbers.setdefault(match.group(1), len(numbers) + 1)

    return _SQLITE_PARAM.sub(number, sql), tuple(numbers)


_RERUN = "Rerun with the same journal: committed batches are skipped, and the failed one is checked and sent again."


class SqliteWriter:
    """A read-write connection to the SQLite CMDB, opened for the first batch (reads keep their read-only one)."""

    def __init__(self, path, timeout):
        self.where = path
        self.timeout = timeout
        try:
            self.conn = sqlite3.connect("file:%s?mode=rw" % quote(os.path.abspath(path)), uri=True, timeout=timeout,
                                        isolation_level=None)  # no implicit transactions: BEGIN and COMMIT are ours
        except sqlite3.Error as exc:
            raise TransportError("Cannot open %s for writing: %s." % (path, exc),
                                 hint="The user running the task must be able to write the CMDB file and its folder.")
        self._expired = False

    def run(self, batch, kinds):
        if "exec" in kinds:
            raise InputError("SQLite has no stored procedures; access.write.kind procedure needs SQL Server.",
                             hint="Use access.write.kind update for an SQLite CMDB.")
        deadline = time.monotonic() + self.timeout
        self._expired = False

        def past_deadline():
            if time.monotonic() > deadline:
                self._expired = True
                return 1
            return 0

        self.conn.set_progress_handler(past_deadline, 10000)
        rows = 0
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            for tsql, params in batch.statements:
                sql, names = numbered(_sqltext.to_sqlite(tsql))
                cursor = self.conn.execute(sql, [params[name] for name in names])
                rows += max(cursor.rowcount, 0)
                cursor.close()
            check_rows(batch, rows)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.set_progress_handler(None, 0)  # or the ROLLBACK itself would be interrupted past the deadline
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self.conn.set_progress_handler(None, 0)
        return rows

    def describe(self, exc):
        if self._expired:
            return "it ran longer than cmdb_timeout (%s s) on %s and was stopped" % (self.timeout, self.where)
        return str(exc).rstrip(".")

    def close(self):
        self.conn.close()


class MssqlWriter:
    """Batches on the client's pymssql connection (autocommit off): statements, then commit(); rollback() on error."""

    def __init__(self, conn, scrub, where):
        self.conn = conn
        self.scrub = scrub
        self.where = where

    def run(self, batch, kinds):
        cursor = self.conn.cursor()
        rows = 0
        try:
            for tsql, params in batch.statements:
                cursor.execute(to_pyformat(tsql), params)
                rows += max(cursor.rowcount or 0, 0)
            check_rows(batch, rows)
            self.conn.commit()
        except BaseException:
            try:
                self.conn.rollback()
            except Exception:  # the connection is gone: SQL Server rolls the open transaction back itself
                pass
            raise
        return rows

    def describe(self, exc):
        return "%s (SQL Server at %s)" % (self.scrub(exc).rstrip("."), self.where)

    def close(self):
        pass  # the client's connection: closed with the client


def check_rows(batch, rows):
    """A batch that changed more rows than it names decisions is rolled back: the key column is not a key."""
    if batch.expected is not None and rows > batch.expected:
        raise ProfileMismatch("Batch %s would change %d rows for %d decisions; it was rolled back."
                              % (batch.key, rows, batch.expected),
                              hint="tables.agent_access.columns.id must name the store's row key (unique per row).")


def write_batches(writer, batches, on_batch=None, count=None):
    """Run each Batch in its own transaction; ``on_batch(key, rows)`` after each COMMIT, ``count(statements, rows)``
    too. Any failure rolls the batch back and raises TransportError naming it and the batches committed before."""
    committed = rows_total = 0
    for batch in batches:
        if not isinstance(batch, Batch):
            raise _refuse("it takes Batch objects, not %s" % type(batch).__name__)
        if not batch.statements:
            raise _refuse("batch %s holds no statement" % batch.key)
        if not all(isinstance(s, tuple) and len(s) == 2 for s in batch.statements):
            raise _refuse("a statement is a (T-SQL text, parameters dictionary) pair")
        kinds = set(check_statement(tsql, params) for tsql, params in batch.statements)
        try:
            rows = writer.run(batch, kinds)
        except CemError as exc:
            exc.details.update(committed_batches=committed, failed_batch=batch.key)
            raise
        except Exception as exc:  # the drivers raise their own types; every one ends the run the same way
            raise TransportError("The CMDB write of batch %s failed after %d batch(es) were committed; it was rolled "
                                 "back: %s." % (batch.key, committed, writer.describe(exc)),
                                 hint=_RERUN, committed_batches=committed, failed_batch=batch.key)
        committed += 1
        rows_total += rows
        if count is not None:
            count(len(batch.statements), rows)
        if on_batch is not None:
            on_batch(batch.key, rows)
    return dict(batches=committed, rows=rows_total)
