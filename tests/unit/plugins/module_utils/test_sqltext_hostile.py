# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only check against SQL written to get past it, and against SELECTs it must let through.

T-SQL needs no semicolon between statements: ``SELECT 1 DELETE FROM t`` is two statements to SQL Server,
while a parser may read DELETE as a column alias. Each hostile input names what its message must say.
"""
import pytest
import sqlglot

from ansible_collections.itms.cem.plugins.module_utils import _sqltext
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

KEYWORD = "has no place in one SELECT"
AS_NAME = "stands where an alias or identifier would be"
LINKED = "four-part name that goes through a linked server"
UNPARSED = "could not be parsed as one T-SQL SELECT"

# Every verb smuggled in as an alias: sqlglot alone reads each as SELECT 1 AS <verb> ...
SMUGGLED_VERBS = [
    ("SELECT 1 DELETE FROM vComputer COMMIT", "keyword DELETE"),
    ("SELECT 1 INSERT INTO vComputer (Name) VALUES ('x')", "keyword INSERT"),
    ("SELECT 1 UPDATE vComputer SET Name = 'x'", "keyword UPDATE"),
    ("SELECT 1 MERGE vComputer AS t USING vComputer AS s ON 1 = 0 WHEN NOT MATCHED THEN INSERT (Name) VALUES ('x')",
     "keyword MERGE"),
    ("SELECT 1 DROP TABLE vComputer", "keyword DROP"),
    ("SELECT 1 ALTER TABLE vComputer ADD x INT", "keyword ALTER"),
    ("SELECT 1 CREATE TABLE t (x INT)", "keyword CREATE"),
    ("SELECT 1 TRUNCATE TABLE vComputer", "keyword TRUNCATE"),
    ("SELECT 1 GRANT CONTROL TO public", "keyword GRANT"),
    ("SELECT 1 REVOKE SELECT ON vComputer FROM public", "keyword REVOKE"),
    ("SELECT 1 DENY SELECT ON vComputer TO public", "keyword DENY"),
    ("SELECT 1 BACKUP DATABASE Symantec_CMDB TO DISK = 'c:\\x.bak'", "keyword BACKUP"),
    ("SELECT 1 RESTORE DATABASE Symantec_CMDB FROM DISK = 'x'", "keyword RESTORE"),
    ("SELECT 1 DBCC CHECKDB", "keyword DBCC"),
    ("SELECT 1 KILL 52", "keyword KILL"),
    ("SELECT 1 SHUTDOWN", "keyword SHUTDOWN"),
    ("SELECT 1 RECONFIGURE", "keyword RECONFIGURE"),
    ("SELECT 1 CHECKPOINT", "keyword CHECKPOINT"),
    ("SELECT 1 USE master", "keyword USE"),
    ("SELECT 1 SET ROWCOUNT 0", "keyword SET"),
    ("SELECT 1 DECLARE @x INT", "keyword DECLARE"),
    ("SELECT 1 BEGIN TRAN", "keyword BEGIN"),
    ("SELECT 1 x TRAN", "keyword TRAN"),
    ("SELECT 1 ROLLBACK", "keyword ROLLBACK"),
    ("SELECT 1 SAVE TRANSACTION s", "keyword SAVE"),
    ("SELECT 1 BULK INSERT vComputer FROM 'x'", "keyword BULK"),
    ("SELECT 1 OPEN c", "keyword OPEN"),
    ("SELECT 1 FETCH NEXT FROM c", "keyword FETCH"),
    ("SELECT 1 CLOSE c", "keyword CLOSE"),
    ("SELECT 1 DEALLOCATE c", "keyword DEALLOCATE"),
    ("SELECT 1 RAISERROR('x', 16, 1)", "keyword RAISERROR"),
    ("SELECT 1 PRINT 'x'", "keyword PRINT"),
    ("SELECT 1 GOTO done", "keyword GOTO"),
    ("SELECT 1 RETURN", "keyword RETURN"),
    ("SELECT 1 WAITFOR DELAY '00:10:00'", "keyword WAITFOR"),
    ("SELECT 1 REVERT", "keyword REVERT"),
    ("SELECT 1 SETUSER 'dbo'", "keyword SETUSER"),
    ("SELECT 1 DISABLE TRIGGER ALL ON DATABASE", "keyword TRIGGER"),
    ("SELECT 1 IF 1 = 1 DROP TABLE vComputer", "keyword IF"),
    ("SELECT 1 WHILE 1 = 1 SELECT 2", "keyword WHILE"),
    ("SELECT 1 READTEXT t.c @p 0 0", "keyword READTEXT"),
    ("SELECT 1 WRITETEXT t.c @p 'x'", "keyword WRITETEXT"),
    # Statements whose first word is not reserved.
    ("SELECT 1 RECEIVE TOP (1) * FROM q", "keyword RECEIVE"),
    ("SELECT 1 SEND ON CONVERSATION @h", "keyword SEND"),
    ("SELECT 1 THROW 50000, 'x', 1", "keyword THROW"),
]

EXECUTE = [
    ("EXEC sp_who", "keyword EXEC"),
    ("EXECUTE master..xp_cmdshell 'dir'", "keyword EXECUTE"),
    ("SELECT 1 EXEC sp_configure 'xp_cmdshell', 1", "keyword EXEC"),
    ("SELECT 1 EXEC('DELETE FROM vComputer')", "keyword EXEC"),
    ("SELECT 1 EXECUTE('DROP TABLE vComputer')", "keyword EXECUTE"),
    ("SELECT 1 EXECUTE (N'DROP TABLE vComputer')", "keyword EXECUTE"),
    ("SELECT 1 EXEC @proc", "keyword EXEC"),
]

SHAPES = [
    # mixed case
    ("select 1 dElEtE from vComputer", "keyword DELETE"),
    ("SeLeCt * FrOm vComputer Truncate Table vComputer", "keyword TRUNCATE"),
    ("select 1 ExEcUtE('x')", "keyword EXECUTE"),
    # comments and strings around the payload
    ("SELECT 'x' /* harmless */ DELETE FROM vComputer -- bye", "keyword DELETE"),
    ("SELECT '--' DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT '/*' DELETE FROM vComputer --*/", "keyword DELETE"),
    ("SELECT 'it''s' DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT [a]]--] DELETE FROM vComputer", "keyword DELETE"),
    ('SELECT "a""b" DELETE FROM vComputer', "keyword DELETE"),
    ("SELECT N'x'DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT 1/**/DELETE/**/FROM vComputer", "keyword DELETE"),
    ("SELECT 1 -- a comment ends at the line break\nDELETE FROM vComputer", "keyword DELETE"),
    ("/* header */ SELECT [Name] FROM vComputer /* x */ UPDATE vComputer SET [Name] = 'y'", "keyword UPDATE"),
    # newlines and tabs instead of spaces
    ("SELECT 1\nDELETE\nFROM vComputer", "keyword DELETE"),
    ("SELECT\t1\tDELETE\tFROM\tvComputer", "keyword DELETE"),
    ("SELECT 1\r\nUPDATE vComputer\r\nSET Name = 'x'", "keyword UPDATE"),
    # a keyword glued to a number, which T-SQL ends where the letters begin
    ("SELECT 1DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT 1e5DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT 1.e5DELETE FROM vComputer", "keyword DELETE"),
    ("SELECT 0xAINSERT INTO t VALUES (1)", "keyword INSERT"),
    ("SELECT $DELETE FROM vComputer", "keyword DELETE"),
    # SELECT ... INTO
    ("SELECT * INTO copy FROM vComputer", "keyword INTO"),
    ("SELECT [Name] INTO #t FROM vComputer", "keyword INTO"),
    ("WITH a AS (SELECT 1 AS b) SELECT * INTO t FROM a", "keyword INTO"),
    # functions that reach outside the CMDB, in any case
    ("SELECT * FROM openrowset('SQLNCLI', 'Server=x;Trusted_Connection=yes', 'SELECT 1')", "keyword OPENROWSET"),
    ("SELECT * FROM OpenQuery(srv, 'SELECT 1')", "keyword OPENQUERY"),
    ("SELECT * FROM OPENDATASOURCE('SQLNCLI', 'x').db.dbo.t", "keyword OPENDATASOURCE"),
    ("SELECT * FROM OpenXml(@h, '/r')", "keyword OPENXML"),
    # linked servers through four-part names
    ("SELECT * FROM srv.Symantec_CMDB.dbo.vComputer", LINKED),
    ("SELECT * FROM vComputer vc JOIN srv.Symantec_CMDB.dbo.vComputer r ON vc.Guid = r.Guid", LINKED),
    ("SELECT * FROM vComputer vc LEFT JOIN [srv].[db].[dbo].[t] r ON vc.Guid = r.Guid", LINKED),
    ("SELECT * FROM vComputer WHERE Guid IN (SELECT Guid FROM [srv].[db].[dbo].[t])", LINKED),
    ("SELECT * FROM (SELECT * FROM srv . db . dbo . t) x", LINKED),
    ("SELECT * FROM srv...vComputer", LINKED),
    ("SELECT * FROM srv.db..vComputer", LINKED),
    ("SELECT * FROM vComputer vc CROSS APPLY srv.db.dbo.f(vc.Guid) x", LINKED),
    ("WITH r AS (SELECT * FROM srv.db.dbo.t) SELECT * FROM r", LINKED),
    # stacked statements without semicolons, and with
    ("SELECT 1 SELECT 2", UNPARSED),
    ("SELECT [Name] FROM vComputer SELECT name, password_hash FROM sys.sql_logins", UNPARSED),
    ("SELECT 1 WITH x AS (SELECT 1 AS a) SELECT * FROM x", UNPARSED),
    ("SELECT 1; SELECT 2", "2 statements"),
    # a GO batch separator
    ("SELECT 1\nGO\nSELECT 2", "GO at line 2, column 1"),
    ("SELECT 1\n  go 5\n", "GO at line 2, column 3"),
    ("SELECT 1\nGO -- next batch\nDELETE FROM vComputer", "GO at line 2"),
    # an allowed keyword where a name would be
    ("SELECT 1 END", "keyword END " + AS_NAME),
    ("SELECT 1 AS [x] FROM vComputer ORDER", "keyword ORDER " + AS_NAME),
    ("SELECT 1 USER", "keyword USER " + AS_NAME),
    # writes that look like reads
    ("SELECT NEXT VALUE FOR dbo.seq", "NEXT VALUE FOR"),
    ("SELECT * FROM vComputer FOR UPDATE", "keyword UPDATE"),
    ("SELECT * FROM vComputer WITH (HOLDLOCK)", "keyword HOLDLOCK"),
    # where SQL Server and a scanner could disagree about what is a comment or a string
    ("SELECT 1 /* a /* b */ DELETE FROM vComputer */", "nested comments are refused"),
    ("SELECT 1 /* /* */ 'x */ DELETE FROM vComputer --'", "nested comments are refused"),
    ("SELECT 1 --x\rDELETE FROM vComputer", "control character U+000D"),
    ("SELECT 1 --x\u2028DELETE FROM vComputer", "control character U+2028"),
    ("SELECT 1 --x\x0bDELETE FROM vComputer", "control character U+000B"),
    ("SELECT 1 \x00 DELETE FROM vComputer", "control character U+0000"),
    ("SELECT 'never closed FROM vComputer", "is never closed"),
    ("SELECT [never closed FROM vComputer", "is never closed"),
    ("SELECT 1 /* never closed", "is never closed"),
    ("SELECT 1 \uff24\uff25\uff2c\uff25\uff34\uff25 FROM vComputer", "character U+FF24"),
    ("SELECT 1 AS Ger\u00e4t", "character U+00E4"),
    # not a SELECT at all
    ("SHUTDOWN WITH NOWAIT", "keyword SHUTDOWN"),
    ("DELETE FROM vComputer", "keyword DELETE"),
    ("sp_who", "read-only SELECT"),
]

HOSTILE = SMUGGLED_VERBS + EXECUTE + SHAPES


def test_there_are_many_hostile_shapes():
    assert len(HOSTILE) >= 40
    assert len(set(sql for sql, _words in HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("sql,words", HOSTILE)
def test_hostile_sql_is_refused(sql, words):
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only(sql)
    message = str(info.value)
    assert words in message
    assert len(message) < 400  # says what and why, without echoing the input


def test_the_reason_for_a_keyword_is_given():
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only("SELECT 1 DELETE FROM vComputer COMMIT")
    assert str(info.value) == (
        "Only a single read-only SELECT is accepted; the T-SQL keyword DELETE at line 1, column 10 has no place in "
        "one SELECT (T-SQL needs no semicolon between statements, so it may start another). If DELETE is a name, "
        "bracket it ([DELETE]). cmdb_query never writes to the CMDB; send one SELECT.")


def test_huge_input_is_not_echoed():
    sql = "SELECT " + ", ".join("[c%d]" % i for i in range(5000)) + " DELETE FROM vComputer"
    with pytest.raises(InputError) as info:
        _sqltext.check_read_only(sql)
    assert "keyword DELETE at line 1" in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize("keyword", sorted(_sqltext.REFUSED_KEYWORDS))
@pytest.mark.parametrize("template", [
    "SELECT 1 {k} FROM vComputer",
    "SELECT [Name] FROM vComputer\n{k}",
    "SELECT [Name] FROM vComputer /* x */{k}/* y */",
    "SELECT 'a'{k}",
])
def test_every_refused_keyword_is_refused_in_any_case(keyword, template):
    for spelling in (keyword, keyword.lower(), keyword.capitalize()):
        with pytest.raises(InputError, match="keyword %s" % keyword):
            _sqltext.check_read_only(template.format(k=spelling))


def test_keyword_lists():
    assert _sqltext.READ_ONLY_KEYWORDS <= _sqltext.RESERVED_KEYWORDS  # only reserved words need allowing
    for word in ("COMMIT", "SHUTDOWN", "RECONFIGURE", "EXEC", "EXECUTE", "INSERT", "UPDATE", "DELETE", "MERGE",
                 "DROP", "ALTER", "CREATE", "TRUNCATE", "GRANT", "REVOKE", "DENY", "BACKUP", "RESTORE", "DBCC",
                 "KILL", "WAITFOR", "USE", "SET", "DECLARE", "BEGIN", "ROLLBACK", "SAVE", "TRAN", "TRANSACTION",
                 "BULK", "OPEN", "FETCH", "CLOSE", "DEALLOCATE", "RAISERROR", "PRINT", "GOTO", "RETURN",
                 "CHECKPOINT", "INTO", "OPENROWSET", "OPENQUERY", "OPENDATASOURCE", "OPENXML"):
        assert word in _sqltext.REFUSED_KEYWORDS, word


@pytest.mark.parametrize("sql,name", [
    ("SELECT * FROM openrowset('SQLNCLI', 'x', 'SELECT 1')", "OPENROWSET"),
    ("SELECT * FROM OpenQuery(srv, 'SELECT 1')", "OPENQUERY"),
    ("SELECT * FROM opendatasource('SQLNCLI', 'x')", "OPENDATASOURCE"),
    ("SELECT * FROM vComputer WHERE x IN (SELECT y FROM OpenRowSet('a', 'b', 'c'))", "OPENROWSET"),
])
def test_external_functions_on_the_parse_in_any_case(sql, name):
    """The parse layer alone (the token scan refuses these words first)."""
    with pytest.raises(InputError, match="%s is not allowed in cmdb_query" % name):
        _sqltext._check_tree(sqlglot.parse_one(sql, read="tsql"))


LEGIT = [
    "SELECT 1",
    "SELECT 'DELETE'",
    "SELECT 'DELETE FROM vComputer; COMMIT' AS [Update]",
    "SELECT [Delete] FROM t",
    'SELECT "Delete", [Exec], [Go] FROM t',
    "SELECT * FROM dbo.vComputer",
    "SELECT * FROM Symantec_CMDB.dbo.vComputer",
    "SELECT * FROM Symantec_CMDB..vComputer",
    "WITH a AS (SELECT 1 AS b) SELECT * FROM a",
    "WITH n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n OPTION (MAXRECURSION 10)",
    "SELECT [Name], ROW_NUMBER() OVER (PARTITION BY [IsManaged] ORDER BY [Name] DESC) AS rn FROM vComputer",
    "SELECT CASE WHEN [IsManaged] = 1 THEN 'yes' WHEN [IsManaged] IS NULL THEN NULL ELSE 'no' END AS m FROM vComputer",
    "SELECT TOP 10 [Name] FROM vComputer ORDER BY [Name]",
    "SELECT TOP 10 PERCENT [Name] FROM vComputer ORDER BY [Name] ASC",
    "SELECT TOP (5) WITH TIES [Name] FROM vComputer ORDER BY [Name]",
    "SELECT [Name] FROM vComputer WHERE [Name] LIKE @p AND [Name] NOT LIKE @q ESCAPE '!'",
    "SELECT LEFT([Name], 3), RIGHT([Name], 2), COALESCE([Name], ''), NULLIF([Name], ''), "
    "CONVERT(varchar(36), [Guid]), TRY_CONVERT(int, '1'), CAST(NULL AS VARCHAR(16)) FROM vComputer",
    "SELECT CURRENT_TIMESTAMP, CURRENT_USER, SESSION_USER, SYSTEM_USER, USER",
    "SELECT [Name] FROM vComputer WITH (NOLOCK) WHERE [Name] COLLATE Latin1_General_CI_AS LIKE 'A%'",
    "SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 1",
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(n, s)",
    "SELECT * FROM t PIVOT (SUM(v) FOR k IN ([Delete], [b])) p",
    "SELECT * FROM t UNPIVOT (v FOR k IN (a, b)) u",
    "SELECT STUFF((SELECT ',' + [Name] FROM vComputer FOR XML PATH('')), 1, 1, '')",
    "SELECT STRING_AGG([Name], ',') WITHIN GROUP (ORDER BY [Name]) FROM vComputer",
    "SELECT * FROM vComputer TABLESAMPLE (10 PERCENT)",
    "SELECT [Name] FROM vComputer vc WHERE EXISTS (SELECT 1 FROM t WHERE t.x = vc.[Guid]) AND [Name] BETWEEN 'A' "
    "AND 'M' AND x IS NOT NULL AND y = ANY (SELECT 1) AND z <> SOME (SELECT 2) AND w IN (1, 2) OR NOT v = 1",
    "SELECT DISTINCT a FROM t GROUP BY a HAVING COUNT(*) > 1",
    "SELECT * FROM a INNER JOIN b ON 1 = 1 LEFT OUTER JOIN c ON 1 = 1 RIGHT JOIN d ON 1 = 1 FULL OUTER JOIN e "
    "ON 1 = 1 CROSS JOIN f",
    "SELECT * FROM t WHERE CONTAINS(x, 'a') OR FREETEXT(x, 'b')",
    "SELECT * FROM CONTAINSTABLE(t, x, 'a') ct JOIN FREETEXTTABLE(t, x, 'b') ft ON ct.[KEY] = ft.[KEY]",
    "SELECT 1 -- a trailing comment: DELETE, DROP, GO",
    "SELECT 1; -- done",
    "/* a header that says DELETE and UPDATE */ SELECT 1",
    "SELECT 1\r\nFROM vComputer\r\n",
    "SELECT 'Ger\u00e4t' AS [Ger\u00e4t] -- \u00fcberall",
    "SELECT @@VERSION, @@SERVERNAME, a % 2 FROM t",
    "SELECT 1.5e3, 0x1F, .5 FROM t",
    "SELECT\nGoLive, [Name] AS Gone FROM t",
    "SELECT Last_Update, Deleted, Win10Update, Executed, Intoxicated, Settings FROM t",
    "SELECT [Name] FROM vComputer WHERE [Guid] = @guid_1 AND @flag = 1",
]


@pytest.mark.parametrize("sql", LEGIT)
def test_legit_select_passes(sql):
    _sqltext.check_read_only(sql)


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_an_input_error(depth):
    """sqlglot recurses per parenthesis: deep nesting must fail as input, not as a crash of the module."""
    sql = "SELECT " + "(" * depth + "1" + ")" * depth
    with pytest.raises(InputError, match="too deeply"):
        _sqltext.check_read_only(sql)
    with pytest.raises(InputError, match="too deeply"):
        _sqltext.to_sqlite(sql)


def test_moderate_nesting_passes():
    _sqltext.check_read_only("SELECT " + "(" * 20 + "1" + ")" * 20 + " AS n")
