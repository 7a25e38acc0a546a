# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.itms.cem.plugins.module_utils import _sqltext
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "SELECT 'DELETE FROM x' AS a",
    "WITH a AS (SELECT 1 AS b) SELECT * FROM a",
    "SELECT 1 UNION SELECT 2",
    "SELECT TOP 5 [Name] FROM vComputer WHERE [Name] LIKE @p;",
])
def test_read_only_accepts_selects(sql):
    _sqltext.check_read_only(sql)


@pytest.mark.parametrize("sql,words", [
    ("DELETE FROM vComputer", "DELETE"),
    ("UPDATE vComputer SET Name = 'x'", "UPDATE"),
    ("INSERT INTO vComputer (Name) VALUES ('x')", "INSERT"),
    ("DROP TABLE vComputer", "DROP"),
    ("TRUNCATE TABLE vComputer", "TRUNCATE"),
    ("EXEC sp_who", "EXEC"),
    ("SELECT * INTO copy FROM vComputer", "INTO"),
    ("SELECT 1; DROP TABLE vComputer", "DROP"),
    ("SELECT 1; SELECT 2", "2 statements"),
    ("SELECT * FROM OPENROWSET('SQLNCLI', 'x', 'SELECT 1')", "OPENROWSET"),
    ("MERGE INTO a USING b ON a.x = b.x WHEN MATCHED THEN DELETE;", "MERGE"),
    ("", "empty"),
    ("SHUTDOWN", "read-only SELECT"),
])
def test_read_only_refuses_writes(sql, words):
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only(sql)
    assert words in str(info.value)


def test_parameters_found_outside_literals_only():
    sql = "SELECT '@notme', [@notme2], @@VERSION, @a, @b_2 -- @c\n/* @d */ FROM t WHERE x = @a"
    assert _sqltext.find_parameters(sql) == ["a", "b_2"]
    # T-SQL nests block comments: the first */ does not end the outer one.
    assert _sqltext.find_parameters("SELECT 1 /* a /* @x */ @y */ WHERE z = @z") == ["z"]


@pytest.mark.parametrize("value", ["x", "", 0, -3, 2 ** 40, 1.5, True, False, None])
def test_parameter_values_accepted(value):
    _sqltext.check_parameter_values({"p": value})


@pytest.mark.parametrize("value,kind", [
    ([1, 2], "a list"), ((1,), "a list"), ({"a": 1}, "a dictionary"), (set([1]), "a set"), (b"x", "bytes"),
    ([], "a list"), ({}, "a dictionary"),
])
def test_parameter_values_refused(value, kind):
    with pytest.raises(InputError) as info:
        _sqltext.check_parameter_values({"ok": 1, "p": value})
    assert "Parameter 'p' is %s" % kind in str(info.value)
    assert "string, number, boolean or null" in str(info.value)


def test_check_parameters():
    assert _sqltext.check_parameters("SELECT @a", {"a": 1}) == ["a"]
    with pytest.raises(InputError, match="@b"):
        _sqltext.check_parameters("SELECT @a, @b", {"a": 1})
    with pytest.raises(InputError, match="does not use"):
        _sqltext.check_parameters("SELECT @a", {"a": 1, "z": 2})
    with pytest.raises(InputError, match="plain identifier"):
        _sqltext.check_parameters("SELECT 1", {"a b": 1})


def test_pyformat_keeps_percent_and_converts_placeholders():
    # pymssql leaves a % that is not part of %(name)s alone and never unescapes %%, so nothing is doubled.
    sql = "SELECT a % 2, 'x%' FROM t WHERE n LIKE @pat AND [c%] = @v"
    assert _sqltext.to_pyformat(sql, True) == \
        "SELECT a % 2, 'x%' FROM t WHERE n LIKE %(pat)s AND [c%] = %(v)s"
    # Without parameters pymssql does no interpolation: the text goes through untouched.
    assert _sqltext.to_pyformat(sql, False) == sql


def test_sqlite_translation():
    out = _sqltext.to_sqlite("SELECT TOP 3 vc.[Name] FROM vComputer vc WHERE vc.[Name] LIKE @p")
    assert "LIMIT 3" in out and '"Name"' in out and "@p" in out
