# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each layer of the read-only check on its own, and the lexer under it.

The two layers overlap on purpose (defense in depth), so a test of the whole check cannot tell whether one of them
still works; these tests hold each layer to its job, so that neither can quietly stop working.
"""
import pytest
import sqlglot
from sqlglot.errors import ParseError

from ansible_collections.itms.cem.plugins.module_utils import _sqltext
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, MissingDependency


def tree(sql):
    return sqlglot.parse_one(sql, read="tsql")


# --------------------------------------------------------------------------- layer 2, the parse, on its own

@pytest.mark.parametrize("sql,label", [
    ("INSERT INTO t VALUES (1)", "INSERT"),
    ("UPDATE t SET a = 1", "UPDATE"),
    ("DELETE FROM t", "DELETE"),
    ("MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN DELETE;", "MERGE"),
    ("CREATE TABLE t (a INT)", "CREATE"),
    ("DROP TABLE t", "DROP"),
    ("ALTER TABLE t ADD b INT", "ALTER"),
    ("PRINT 'x'", "COMMAND"),
    ("EXEC sp_who", "EXECUTE"),
    ("TRUNCATE TABLE t", "TRUNCATETABLE"),
    ("SELECT * INTO x FROM t", "SELECT ... INTO"),
    ("GRANT SELECT ON t TO u", "GRANT"),
    ("REVOKE SELECT ON t FROM u", "REVOKE"),
    ("BEGIN TRAN", "TRANSACTION"),
    ("COMMIT", "COMMIT"),
    ("ROLLBACK", "ROLLBACK"),
    ("USE master", "USE"),
    ("SET NOCOUNT ON", "SET"),
    ("COPY t FROM 'x'", "COPY"),
    ("PRAGMA x", "PRAGMA"),
    ("ANALYZE TABLE t", "ANALYZE"),
    ("DECLARE @a INT", "DECLARE"),
    ("KILL 52", "KILL"),
    ("SELECT NEXT VALUE FOR s", "NEXT VALUE FOR"),
])
def test_the_parse_refuses_every_writer(sql, label):
    with pytest.raises(InputError, match="the statement contains %s" % label.replace(".", r"\.")):
        _sqltext._check_tree(tree(sql))  # pylint: disable=protected-access


@pytest.mark.parametrize("sql", [
    "SELECT * FROM openrowset('a', 'b', 'c')",
    "SELECT * FROM OpenQuery(srv, 'x')",
    "SELECT * FROM opendatasource('a', 'b')",
    "SELECT * FROM OPENXML(@h, '/x')",
])
def test_the_parse_refuses_external_functions_in_any_case(sql):
    with pytest.raises(InputError, match="reaches outside the CMDB"):
        _sqltext._check_tree(tree(sql))  # pylint: disable=protected-access


@pytest.mark.parametrize("sql", ["SELECT 1 AS over", "SELECT 1 AS Within", "SELECT x FROM t AS union1 JOIN u AS Within"])
def test_the_parse_refuses_a_keyword_where_a_name_would_be(sql):
    with pytest.raises(InputError, match="stands where an alias or identifier would be"):
        _sqltext._check_tree(tree(sql))  # pylint: disable=protected-access


@pytest.mark.parametrize("function", ["USER", "CURRENT_USER", "SESSION_USER", "SYSTEM_USER", "CURRENT_TIMESTAMP",
                                      "CURRENT_DATE", "user", "current_timestamp"])
def test_keywords_that_are_values_on_their_own_are_accepted(function):
    _sqltext.check_read_only("SELECT %s AS [who], 1 AS n" % function)
    _sqltext._check_tree(tree("SELECT %s" % function))  # pylint: disable=protected-access


@pytest.mark.parametrize("sql,shown", [
    ("SELECT * FROM [Srv].[db].[dbo].[t]", "[srv].[db].[dbo].[t]"),
    ("SELECT * FROM t CROSS APPLY srv.db.dbo.f(t.a) AS x", "srv.db.dbo.f"),
])
def test_the_parse_names_the_linked_server_it_refuses(sql, shown):
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only(sql)
    assert "four-part name" in str(info.value) and shown in str(info.value).lower()


# --------------------------------------------------------------------------- layer 1, the text, on its own

@pytest.mark.parametrize("sql", [
    "SELECT 1 AS DEL/* a comment */ETE",       # a comment separates two words, as for SQL Server
    "SELECT 1 AS DEL--x\nETE",
    "SELECT [x] FROM t WHERE a = 'UP'+'DATE'",  # strings are not code
    "SELECT @update, @@ROWCOUNT AS n FROM #delete",  # variables and temporary tables are names
    "SELECT _delete FROM t",                   # a regular identifier may start with _
    "SELECT 1_000 AS n",
    "SELECT Value, [Next] FROM t",               # VALUE alone, or after another word than NEXT, is a name
])
def test_the_text_scan_reads_words_as_sql_server_does(sql):
    _sqltext._check_text(sql)  # pylint: disable=protected-access


@pytest.mark.parametrize("sql,words", [
    ("SELECT 1 /*\n*/ GO", "GO"),                # a GO line after a comment that spans lines
    ("SELECT NEXT VALUE FOR s", "NEXT VALUE FOR"),
    ("SELECT 1_DELETE FROM t", "DELETE"),
    ("SELECT $DELETE FROM t", "DELETE"),
    ("SELECT .5DELETE FROM t", "DELETE"),
])
def test_the_text_scan_refuses(sql, words):
    with pytest.raises(InputError, match=words):
        _sqltext._check_text(sql)  # pylint: disable=protected-access


# --------------------------------------------------------------------------- the whole check: edges

def test_without_sqlglot_the_check_says_what_to_install(monkeypatch):
    monkeypatch.setattr(_sqltext, "HAS_SQLGLOT", False)
    with pytest.raises(MissingDependency, match="sqlglot"):
        _sqltext.check_read_only("SELECT 1")


@pytest.mark.parametrize("sql", ["", "   \n\t ", None])
def test_empty_sql(sql):
    with pytest.raises(InputError, match="The sql option is empty"):
        _sqltext.check_read_only(sql)


def test_a_statement_that_is_not_a_query():
    with pytest.raises(InputError, match="this is a VALUES statement"):
        _sqltext.check_read_only("VALUES (1)")


def test_a_parse_error_shows_its_first_line_cut_to_200_characters(monkeypatch):
    def failing(*args, **kwargs):
        raise ParseError("x" * 500 + "\nthe SQL again")
    monkeypatch.setattr(_sqltext.sqlglot, "parse", failing)
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only("SELECT 1")
    shown = info.value.msg.split("T-SQL SELECT: ", 1)[1]
    assert shown == "x" * 197 + "..." and "the SQL again" not in str(info.value)


# --------------------------------------------------------------------------- the lexer

@pytest.mark.parametrize("sql,tokens", [
    ("'it''s' x", [("literal", 0, 7, None)]),
    ("'' x", [("literal", 0, 2, None)]),
    ("'a''' x", [("literal", 0, 5, None)]),
    ("'a''", [("literal", 0, 4, "unclosed")]),
    ("'a'[b]", [("literal", 0, 3, None), ("literal", 3, 6, None)]),
    ("[] x", [("literal", 0, 2, None)]),
    ('"a""b" x', [("literal", 0, 6, None)]),
    ("/**/x", [("literal", 0, 4, None)]),
    ("/* a */ /* b", [("literal", 0, 7, None), ("literal", 8, 12, "unclosed")]),
    ("N'a' x", [("literal", 1, 4, None)]),
    ("'open", [("literal", 0, 5, "unclosed")]),
    ("[a]]b] x", [("literal", 0, 6, None)]),
    ("[a]]", [("literal", 0, 4, "unclosed")]),
    ("[open", [("literal", 0, 5, "unclosed")]),
    ('"q" x', [("literal", 0, 3, None)]),
    ('"open', [("literal", 0, 5, "unclosed")]),
    ("a -- c\nb", [("literal", 2, 7, None)]),
    ("a -- c", [("literal", 2, 6, None)]),
    ("/* a */ b", [("literal", 0, 7, None)]),
    ("/* a /* b */ c */ d", [("literal", 0, 17, "nested")]),
    ("/* a", [("literal", 0, 4, "unclosed")]),
    ("@p, @@ROWCOUNT, @_x1 @", [("param", 0, 2, None), ("param", 16, 20, None)]),
    ("5 % 2", [("percent", 2, 3, None)]),
])
def test_lexer(sql, tokens):
    assert list(_sqltext._lex(sql)) == tokens  # pylint: disable=protected-access


def test_parameters_and_pyformat():
    assert _sqltext.find_parameters("SELECT @@ROWCOUNT, @a, @b, @a FROM t WHERE x = '@c' -- @d") == ["a", "b"]
    assert _sqltext.find_parameters("SELECT 5%@p") == ["p"]  # the character after a % is read, not skipped
    assert _sqltext.to_pyformat("SELECT 5 % 2, @a, '50%' FROM t", True) == "SELECT 5 % 2, %(a)s, '50%' FROM t"
    assert _sqltext.to_pyformat("SELECT 5 % 2", False) == "SELECT 5 % 2"
