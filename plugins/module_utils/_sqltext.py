# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure functions over T-SQL text: read-only check, parameters, dialect conversion.

No I/O here. The read-only check has two layers, because a parser alone is not enough: T-SQL needs no
semicolon between statements, so SQL Server runs ``SELECT 1 DELETE FROM t COMMIT`` as three statements
while sqlglot reads it as ``SELECT 1 AS DELETE FROM t AS COMMIT``.

1. A token scan reads the text as SQL Server does (strings, delimited names and comments set aside) and
   refuses every reserved T-SQL keyword that a single read-only SELECT has no use for, wherever it stands.
2. The parse (sqlglot) must give exactly one query, with nothing that writes, no reserved keyword where a
   name would be, no linked server and no function that reaches outside the CMDB.

So ``SELECT 'DELETE'`` and ``SELECT [Delete] FROM t`` pass, and ``SELECT * INTO t FROM x`` does not.
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

# Values a placeholder can be bound to: what pymssql and sqlite3 both send as one SQL value.
PARAMETER_TYPES = (str, int, float, bool, type(None))

# Functions that reach outside the database (files, linked servers); refused in custom SQL.
_EXTERNAL_FUNCTIONS = ("OPENROWSET", "OPENQUERY", "OPENDATASOURCE", "OPENXML")

# Microsoft's "Reserved Keywords (Transact-SQL)", the union of the lists of SQL Server 2005 to 2022 (WITHIN
# stands for WITHIN GROUP). SQL Server reads these as keywords wherever they stand unless delimited ([Name]).
RESERVED_KEYWORDS = frozenset("""
ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE BULK BY CASCADE CASE CHECK
CHECKPOINT CLOSE CLUSTERED COALESCE COLLATE COLUMN COMMIT COMPUTE CONSTRAINT CONTAINS CONTAINSTABLE CONTINUE
CONVERT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DBCC
DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISK DISTINCT DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE
EXCEPT EXEC EXECUTE EXISTS EXIT EXTERNAL FETCH FILE FILLFACTOR FOR FOREIGN FREETEXT FREETEXTTABLE FROM FULL
FUNCTION GOTO GRANT GROUP HAVING HOLDLOCK IDENTITY IDENTITY_INSERT IDENTITYCOL IF IN INDEX INNER INSERT
INTERSECT INTO IS JOIN KEY KILL LEFT LIKE LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF
OFF OFFSETS ON OPEN OPENDATASOURCE OPENQUERY OPENROWSET OPENXML OPTION OR ORDER OUTER OVER PERCENT PIVOT PLAN
PRECISION PRIMARY PRINT PROC PROCEDURE PUBLIC RAISERROR READ READTEXT RECONFIGURE REFERENCES REPLICATION
RESTORE RESTRICT RETURN REVERT REVOKE RIGHT ROLLBACK ROWCOUNT ROWGUIDCOL RULE SAVE SCHEMA SECURITYAUDIT SELECT
SEMANTICKEYPHRASETABLE SEMANTICSIMILARITYDETAILSTABLE SEMANTICSIMILARITYTABLE SESSION_USER SET SETUSER SHUTDOWN
SOME STATISTICS SYSTEM_USER TABLE TABLESAMPLE TEXTSIZE THEN TO TOP TRAN TRANSACTION TRIGGER TRUNCATE
TRY_CONVERT TSEQUAL UNION UNIQUE UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW WAITFOR WHEN WHERE
WHILE WITH WITHIN WRITETEXT
""".split())

# The reserved keywords one read-only SELECT uses, each group with the reason it cannot write or leave the query.
# Every other reserved keyword is refused, including some a SELECT could use: FETCH (OFFSET ... FETCH paging; use
# TOP or cmdb_query's limit), HOLDLOCK (makes the CMDB's writers wait), INDEX (index hints), OF and CURRENT (FOR
# SYSTEM_TIME AS OF on temporal tables; WHERE CURRENT OF is for cursors), IDENTITY (only with INTO), MERGE (also a
# join hint), BROWSE, and DOUBLE PRECISION / NATIONAL / VARYING (write FLOAT, NCHAR, VARCHAR instead).
READ_ONLY_KEYWORD_GROUPS = (
    ("the clauses of one SELECT", "SELECT FROM WHERE GROUP BY HAVING ORDER ASC DESC DISTINCT TOP PERCENT AS ALL"),
    ("joins (LEFT and RIGHT are string functions too)", "JOIN INNER LEFT RIGHT FULL OUTER CROSS ON"),
    ("predicates, and comparisons with a subquery", "AND OR NOT IN IS NULL LIKE ESCAPE BETWEEN EXISTS ANY SOME"),
    ("CASE expressions", "CASE WHEN THEN ELSE END"),
    ("set operations of SELECTs", "UNION EXCEPT INTERSECT"),
    ("common table expressions, table hints WITH (NOLOCK) and TOP ... WITH TIES", "WITH"),
    ("window functions OVER (...) and ordered-set aggregates WITHIN GROUP (...)", "OVER WITHIN"),
    ("functions spelled as keywords; they only return a value",
     "COALESCE NULLIF CONVERT TRY_CONVERT CURRENT_TIMESTAMP CURRENT_DATE CURRENT_USER SESSION_USER SYSTEM_USER USER"),
    ("the collation of a column or comparison", "COLLATE"),
    # FOR also opens FOR UPDATE, FOR BROWSE and FOR SYSTEM_TIME AS OF, which need UPDATE, BROWSE or OF: refused.
    ("rotation and sampling in FROM; PIVOT needs FOR, as do FOR XML and FOR JSON", "PIVOT UNPIVOT TABLESAMPLE FOR"),
    ("table value constructors, FROM (VALUES (1), (2)) v(n); they write only after INSERT, which is refused",
     "VALUES"),
    ("query hints such as OPTION (MAXDOP 1) or OPTION (RECOMPILE)", "OPTION"),
    ("full-text search predicates and rowset functions", "CONTAINS FREETEXT CONTAINSTABLE FREETEXTTABLE"),
)
READ_ONLY_KEYWORDS = frozenset(word for _reason, words in READ_ONLY_KEYWORD_GROUPS for word in words.split())

# Statements that T-SQL opens with a word that is not reserved (Service Broker's RECEIVE removes messages from a
# queue, SEND and END/MOVE CONVERSATION write too); refused like the reserved ones, or they would pass as aliases.
STATEMENT_WORDS = frozenset(("RECEIVE", "SEND", "CONVERSATION", "DIALOG", "THROW"))

REFUSED_KEYWORDS = (RESERVED_KEYWORDS - READ_ONLY_KEYWORDS) | STATEMENT_WORDS

# Keywords that read as a value on their own (SELECT USER): an unquoted column of that name is the function. sqlglot
# reads CURRENT_USER, SESSION_USER, SYSTEM_USER, CURRENT_TIMESTAMP and CURRENT_DATE as functions already.
_NILADIC_FUNCTIONS = frozenset(("USER",))

# Characters SQL Server and this check could read differently around comments (a line break other than LF, NUL
# that ends the text for the driver): refused anywhere. CR is accepted only as the first half of CRLF.
_AMBIGUOUS_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]|\r(?!\n)")
_NOT_ASCII = re.compile("[^\x00-\x7f]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_@#$]*")
_VARIABLE = re.compile(r"[@#][A-Za-z0-9_@#$]*")
# A number or binary literal and whatever sticks to it: T-SQL ends a number where a keyword may begin (SELECT 1DELETE
# FROM t, SELECT 1e5DELETE FROM t, SELECT 0xAINSERT ...), so every word inside it is a candidate. A money sign or a
# leading dot before the digits changes nothing: the scan skips it and reads the digits from there.
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_@#$.]*")
_GO_LINE = re.compile(r"^[ \t]*GO(?![A-Za-z0-9_@#$])", re.I | re.M)


def require_sqlglot():
    if not HAS_SQLGLOT:
        raise MissingDependency("The Python library sqlglot is required on the controller.",
                                hint="Install it with 'pip install sqlglot' (see the collection's requirements.txt).")


def _write_node_types():
    """The sqlglot node types that write or change the session, of those its T-SQL reader produces."""
    names = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Execute",
             "TruncateTable", "Into", "Grant", "Revoke", "Transaction", "Commit", "Rollback", "Use",
             "Set", "Copy", "Pragma", "Analyze", "Declare", "Kill", "NextValueFor")
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


_REFUSE_HINT = "cmdb_query never writes to the CMDB; send one SELECT."


def _where(sql, pos):
    """'line L, column C' of offset ``pos``, for a message that must not echo the SQL itself."""
    line = sql.count("\n", 0, pos) + 1
    return "line %d, column %d" % (line, pos - sql.rfind("\n", 0, pos))


def _short(text, size=60):
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[:size - 3] + "..."


def _refused(sql, pos, what, hint=_REFUSE_HINT):
    """InputError for ``what``, a sentence with one %s where the place in ``sql`` goes."""
    return InputError("Only a single read-only SELECT is accepted; %s." % (what % _where(sql, pos)), hint=hint)


def _check_text(sql):
    """Layer 1: read ``sql`` as SQL Server does and refuse what a single read-only SELECT has no use for."""
    match = _AMBIGUOUS_CHARACTER.search(sql)
    if match:
        raise _refused(sql, match.start(), "the control character U+%04X at %%s is refused: SQL Server and this check "
                       "could read the comments around it differently" % ord(match.group()),
                       hint="Remove it; write CHAR(n) for such a character in a value.")
    code = list(sql)
    for kind, start, end, problem in _lex(sql):
        if problem == "unclosed":
            raise _refused(sql, start, "the string, delimited name or comment at %s is never closed",
                           hint="Close it (' for strings, ] for [names], */ for comments).")
        if problem == "nested":
            raise _refused(sql, start, "the /* comment */ at %s holds another one; nested comments are refused",
                           hint="Remove the inner /* */ marks.")
        if kind == "literal":
            for i in range(start, end):
                if code[i] != "\n":
                    code[i] = " "
    code = "".join(code)  # what SQL Server reads as keywords, names, numbers and operators
    match = _NOT_ASCII.search(code)
    if match:
        raise _refused(sql, match.start(), "the character U+%04X at %%s stands outside strings, comments and "
                       "delimited names" % ord(match.group()),
                       hint="Bracket a name that uses letters beyond ASCII: [Name].")
    match = _GO_LINE.search(code)
    if match:
        raise _refused(sql, match.end() - 2, "the GO at %s is a batch separator of sqlcmd and SSMS; SQL Server "
                       "would run the text around it as several statements")
    previous = None
    for word, pos in _words(code):
        upper = word.upper()
        if upper in REFUSED_KEYWORDS:
            raise _refused(sql, pos, "the T-SQL keyword %s at %%s has no place in one SELECT (T-SQL needs no "
                           "semicolon between statements, so it may start another)" % upper,
                           hint="If %s is a name, bracket it ([%s]). %s" % (word, word, _REFUSE_HINT))
        if previous == "NEXT" and upper == "VALUE":
            raise _refused(sql, pos, "NEXT VALUE FOR at %s advances a sequence, which is a write")
        previous = upper


def _words(code):
    """(word, offset) of every word SQL Server could read as a keyword in ``code`` (literals blanked)."""
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch in "@#":  # @variable, @@FUNCTION, #temp: names, never keywords
            i = _VARIABLE.match(code, i).end()
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(code, i)
            yield match.group(), i
            i = match.end()
        elif ch.isdigit():
            match = _NUMBER.match(code, i)
            token = match.group()
            for k in range(len(token)):
                if token[k].isalpha():  # "1_DELETE" holds the word DELETE as much as "1DELETE" does
                    yield _WORD.match(token, k).group(), i + k
            i = match.end()
        else:
            i += 1


def _unquoted_identifiers(statement):
    """Unquoted identifiers as the text spells them (PIVOT's generated column names are left out)."""
    for node in statement.find_all(exp.Identifier):
        if not node.args.get("quoted") and not isinstance(node.parent, exp.Pivot):
            yield node


def _linked_server_name(node):
    """The four-part name (server.database.schema.object) ``node`` spells, or None.

    sqlglot gives Table(this=Dot(schema, object), db=database, catalog=server) for a table, and a chain of
    Dots for a function (CROSS APPLY server.database.schema.function(...)).
    """
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Dot):
        return node.sql(dialect="tsql")
    if isinstance(node, exp.Dot) and not isinstance(node.parent, exp.Dot):
        parts = list(node.flatten())
        if len(parts) >= 4:
            return ".".join(p.name for p in parts)
    return None


_WRITER_LABELS = {"Into": "SELECT ... INTO", "NextValueFor": "NEXT VALUE FOR (it advances a sequence)"}


def _check_tree(statement):
    """Layer 2, on the parse: writers, external functions, linked servers, keywords standing as names."""
    writers = _write_node_types()
    for node in statement.walk():
        if isinstance(node, writers):
            label = _WRITER_LABELS.get(type(node).__name__, node.key.upper())
            raise InputError("Only a single read-only SELECT is accepted; the statement contains %s." % label,
                             hint=_REFUSE_HINT)
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
            if name in _EXTERNAL_FUNCTIONS:
                raise InputError("%s is not allowed in cmdb_query: it reaches outside the CMDB." % name,
                                 hint="Query the CMDB's own tables and views.")
        linked = _linked_server_name(node)
        if linked:
            raise InputError("The SQL names %s, a four-part name that goes through a linked server; cmdb_query "
                             "reads the CMDB only." % _short(linked),
                             hint="Name a table as table, schema.table or database.schema.table.")
    for identifier in _unquoted_identifiers(statement):
        upper = identifier.name.upper()
        if upper not in RESERVED_KEYWORDS:
            continue
        column = identifier.parent
        if upper in _NILADIC_FUNCTIONS and isinstance(column, exp.Column) and not column.table:
            continue  # SELECT USER: the function, as SQL Server reads it
        raise InputError("Only a single read-only SELECT is accepted; the reserved T-SQL keyword %s stands where an "
                         "alias or identifier would be." % upper,
                         hint="Bracket it ([%s]) if it really is a name." % identifier.name)


def check_read_only(sql):
    """Raise InputError unless ``sql`` is exactly one SELECT (or set operation of SELECTs, or a CTE ending in one)."""
    require_sqlglot()
    text = (sql or "").strip()
    if not text:
        raise InputError("The sql option is empty.")
    _check_text(text)
    try:
        statements = [s for s in sqlglot.parse(text, read="tsql")
                      if s is not None and not isinstance(s, exp.Semicolon)]  # a comment after the last ';'
        if len(statements) != 1:
            raise InputError("The SQL holds %d statements; only one read-only SELECT is accepted." % len(statements),
                             hint="Run each SELECT in its own task.")
        statement = statements[0]
        if not isinstance(statement, exp.Query):
            raise InputError("Only a read-only SELECT is accepted; this is a %s statement."
                             % statement.key.upper(), hint=_REFUSE_HINT)
        _check_tree(statement)
    except (ParseError, TokenError) as exc:  # sqlglot's first line says what and where; the rest repeats the SQL
        raise InputError("The SQL could not be parsed as one T-SQL SELECT: %s"
                         % _short(str(exc).splitlines()[0], 200),
                         hint="Only a single read-only SELECT is accepted.")
    except RecursionError:  # sqlglot recurses per level of parentheses
        raise _too_deep()


def _too_deep():
    return InputError("The SQL nests parentheses or subqueries too deeply to be parsed.",
                      hint="Flatten it, for example with a common table expression (WITH).")


# A closed string ('' is a quote inside it), [delimited name] (]] is a ] inside it) or "delimited name" ("" is a ").
# Possessive (*+, Python 3.11): '[a]]' must not close at its first ']' by backtracking; for SQL Server it is unclosed.
_CLOSED_LITERALS = {
    "'": re.compile(r"'(?:[^']|'')*+'"),
    "[": re.compile(r"\[(?:[^\]]|\]\])*+\]"),
    '"': re.compile(r'"(?:[^"]|"")*+"'),
}
_LINE_COMMENT = re.compile(r"--[^\n]*\n?")
_AT_NAME = re.compile(r"@(@?)(\w*)")  # @name is a placeholder; @@ROWCOUNT and friends are functions


def _lex(sql):
    """Yield (kind, start, end, problem): 'literal' for strings, delimited names and comments, 'param' for @name
    placeholders, 'percent' for a bare '%'. ``problem`` is 'unclosed' or 'nested' (a comment in a comment,
    which T-SQL nests) for a literal the read-only check refuses, else None."""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _CLOSED_LITERALS:
            match = _CLOSED_LITERALS[ch].match(sql, i)
            end = match.end() if match else n
            yield ("literal", i, end, None if match else "unclosed")
            i = end
        elif sql.startswith("--", i):
            end = _LINE_COMMENT.match(sql, i).end()
            yield ("literal", i, end, None)
            i = end
        elif sql.startswith("/*", i):
            end, depth, nested = _block_comment_end(sql, i)
            yield ("literal", i, end, "unclosed" if depth else "nested" if nested else None)
            i = end
        elif ch == "@":
            match = _AT_NAME.match(sql, i)
            if match.group(2) and not match.group(1):
                yield ("param", i, match.end(), None)
            i = match.end()
        elif ch == "%":
            yield ("percent", i, i + 1, None)
            i += 1
        else:
            i += 1


def _block_comment_end(sql, start):
    """(end, depth left open, whether it nests) of the /* comment */ at ``start``: T-SQL nests them."""
    depth, nested, j = 0, False, start
    for match in re.finditer(r"/\*|\*/", sql[start:]):
        if match.group() == "/*":
            depth += 1
            nested = nested or depth > 1
        else:
            depth -= 1
        j = start + match.end()
        if not depth:
            return j, depth, nested
    return len(sql), depth, nested


def _scan(sql):
    """Yield (kind, start, end): 'literal' for strings, quoted identifiers and comments,
    'param' for @name placeholders, 'percent' for a bare '%'."""
    for kind, start, end, _problem in _lex(sql):
        yield kind, start, end


def find_parameters(sql):
    """Names of the ``@name`` placeholders in T-SQL text, in order of first use."""
    seen = []
    for kind, start, end in _scan(sql):
        if kind == "param":
            name = sql[start + 1:end]
            if name not in seen:
                seen.append(name)
    return seen


_TYPE_NAMES = {list: "a list", tuple: "a list", dict: "a dictionary", set: "a set", bytes: "bytes"}


def check_parameter_values(params):
    """Every value is one SQL value (string, number, boolean or null); a list or dictionary is an input error.

    Neither driver can bind a list to one placeholder: pymssql would expand it into SQL text and SQLite refuses
    it, and either error would read as a fault of the CMDB.
    """
    for name, value in sorted((params or {}).items()):
        if not isinstance(value, PARAMETER_TYPES):
            kind = _TYPE_NAMES.get(type(value), type(value).__name__)
            raise InputError("Parameter %r is %s; a parameter value must be a string, number, boolean or null."
                             % (str(name), kind),
                             hint="Bind one value per placeholder (@a, @b, ...), e.g. WHERE x IN (@a, @b).")


def check_parameters(sql, params):
    """Every placeholder has a value and every value a placeholder; names are plain identifiers.

    The values themselves are checked by ``check_parameter_values``, which the client runs before every query.
    """
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

    pymssql interpolates only when parameters are passed, so without them the text goes through
    unchanged (the catalog queries reach SQL Server verbatim). With them, pymssql 2.x replaces every
    ``%(name)s`` - inside string literals too - and leaves any other ``%`` as it is (it never turns
    ``%%`` back into ``%``). So a ``%`` stays as written, and a literal that contains ``%(`` is split
    into two concatenated literals with the same value, where pymssql cannot see a placeholder.
    """
    if not has_params:
        return sql
    out = []
    last = 0
    for kind, start, end in _scan(sql):
        out.append(sql[last:start])
        if kind == "param":
            out.append("%%(%s)s" % sql[start + 1:end])
        elif kind == "literal":
            text = sql[start:end]
            national = sql[start - 1:start] in ("N", "n") and start > 0
            out.append(text.replace("%(", "%' + " + ("N'" if national else "'") + "("))
        else:  # a bare '%' (modulo operator)
            out.append("%")
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
        except RecursionError:
            raise _too_deep()
        _SQLITE_CACHE[sql] = cached
    return cached
