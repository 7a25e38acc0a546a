# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure functions over T-SQL text: read-only check, parameters, dialect conversion.

No I/O here. The read-only check parses with sqlglot rather than matching keywords,
so ``SELECT 'DELETE'`` passes and ``SELECT * INTO t FROM x`` does not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, MissingDependency

try:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    HAS_SQLGLOT = True
except ImportError:
    HAS_SQLGLOT = False

PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Functions that reach outside the database (files, linked servers); refused in custom SQL.
_EXTERNAL_FUNCTIONS = ("OPENROWSET", "OPENQUERY", "OPENDATASOURCE", "OPENXML")


def require_sqlglot():
    if not HAS_SQLGLOT:
        raise MissingDependency("The Python library sqlglot is required on the controller.",
                                hint="Install it with 'pip install sqlglot' (see the collection's requirements.txt).")


def _write_node_types():
    names = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Execute",
             "TruncateTable", "Into", "Grant", "Revoke", "Transaction", "Commit", "Rollback", "Use",
             "Set", "LoadData", "Copy", "Attach", "Detach", "Pragma", "Analyze", "Declare")
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


def check_read_only(sql):
    """Raise InputError unless ``sql`` is exactly one SELECT (or set operation of SELECTs)."""
    require_sqlglot()
    text = (sql or "").strip()
    if not text:
        raise InputError("The sql option is empty.")
    try:
        statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]
    except (ParseError, TokenError) as exc:
        raise InputError("The SQL could not be parsed as one T-SQL SELECT: %s"
                         % str(exc).splitlines()[0],
                         hint="Only a single read-only SELECT is accepted.")
    if len(statements) != 1:
        raise InputError("The SQL holds %d statements; only one read-only SELECT is accepted." % len(statements),
                         hint="Run each SELECT in its own task.")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise InputError("Only a read-only SELECT is accepted; this is a %s statement."
                         % statement.key.upper(),
                         hint="cmdb_query never writes to the CMDB.")
    writers = _write_node_types()
    for node in statement.walk():
        if isinstance(node, writers):
            raise InputError("Only a read-only SELECT is accepted; the statement contains %s."
                             % ("SELECT ... INTO" if isinstance(node, exp.Into) else node.key.upper()),
                             hint="cmdb_query never writes to the CMDB.")
        if isinstance(node, exp.Anonymous) and str(node.this).upper() in _EXTERNAL_FUNCTIONS:
            raise InputError("%s is not allowed in cmdb_query: it reaches outside the CMDB." % str(node.this).upper())
    return statement


def _scan(sql):
    """Yield (kind, start, end): 'literal' for strings, quoted identifiers and comments,
    'param' for @name placeholders, 'percent' for a bare '%'."""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            yield ("literal", i, min(j + 1, n))
            i = j + 1
        elif ch == "[":
            j = sql.find("]", i + 1)
            while j != -1 and j + 1 < n and sql[j + 1] == "]":
                j = sql.find("]", j + 2)
            end = n if j == -1 else j + 1
            yield ("literal", i, end)
            i = end
        elif ch == '"':
            j = sql.find('"', i + 1)
            end = n if j == -1 else j + 1
            yield ("literal", i, end)
            i = end
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            end = n if j == -1 else j + 1
            yield ("literal", i, end)
            i = end
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j == -1 else j + 2
            yield ("literal", i, end)
            i = end
        elif ch == "@":
            if i + 1 < n and sql[i + 1] == "@":  # @@SERVERNAME and friends
                j = i + 2
                while j < n and (sql[j].isalnum() or sql[j] == "_"):
                    j += 1
                i = j
                continue
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            if j > i + 1:
                yield ("param", i, j)
            i = j
        elif ch == "%":
            yield ("percent", i, i + 1)
            i += 1
        else:
            i += 1


def find_parameters(sql):
    """Names of the ``@name`` placeholders in T-SQL text, in order of first use."""
    seen = []
    for kind, start, end in _scan(sql):
        if kind == "param":
            name = sql[start + 1:end]
            if name not in seen:
                seen.append(name)
    return seen


def check_parameters(sql, params):
    """Every placeholder has a value and every value a placeholder; names are plain identifiers."""
    params = params or {}
    for name in params:
        if not PARAM_NAME.match(str(name)):
            raise InputError("Parameter name %r is not a plain identifier (letters, digits, underscore)." % name)
    used = find_parameters(sql)
    missing = [n for n in used if n not in params]
    if missing:
        raise InputError("The SQL uses %s but parameters has no value for it."
                         % ", ".join("@" + n for n in missing),
                         hint="Add the value(s) under parameters.")
    unused = sorted(n for n in params if n not in used)
    if unused:
        raise InputError("parameters has %s, which the SQL does not use." % ", ".join(unused),
                         hint="Placeholders are written @name in the SQL.")
    return used


def to_pyformat(sql, has_params):
    """T-SQL with @name placeholders to pymssql's pyformat (%(name)s).

    pymssql interpolates with ``%`` only when parameters are passed, so without them the
    text goes through unchanged (the catalog queries reach SQL Server verbatim).
    """
    if not has_params:
        return sql
    out = []
    last = 0
    for kind, start, end in _scan(sql):
        if kind == "literal":
            out.append(sql[last:start])
            out.append(sql[start:end].replace("%", "%%"))
        elif kind == "param":
            out.append(sql[last:start])
            out.append("%%(%s)s" % sql[start + 1:end])
        else:  # a bare '%' (modulo operator)
            out.append(sql[last:start])
            out.append("%%")
        last = end
    out.append(sql[last:])
    return "".join(out)


_SQLITE_CACHE = {}


def to_sqlite(sql):
    """Transpile T-SQL to SQLite; @name placeholders survive (SQLite binds @name natively)."""
    require_sqlglot()
    cached = _SQLITE_CACHE.get(sql)
    if cached is None:
        try:
            cached = ";\n".join(sqlglot.transpile(sql, read="tsql", write="sqlite"))
        except (ParseError, TokenError) as exc:
            raise InputError("The SQL could not be translated for SQLite: %s" % str(exc).splitlines()[0])
        _SQLITE_CACHE[sql] = cached
    return cached
