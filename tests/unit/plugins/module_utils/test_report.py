# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import csv
import io
import json
import os
import re
import sqlite3

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _queries, _report
from ansible_collections.itms.cem.plugins.module_utils._cmdb import QueryResult
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, NotFound
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile

MANAGED = "SELECT COUNT(*) FROM vComputer c WHERE c.IsManaged = 1"
WITHOUT_NETWORK_ZONE = (MANAGED + " AND NOT EXISTS "
                        "(SELECT 1 FROM Inv_AeX_AC_Network_Zone z WHERE z._ResourceGuid = c.Guid)")
WITH_AUTHENTICATION = ("SELECT COUNT(*) FROM vComputer c "
                       "JOIN Lab_CEM_Agent_Authentication a ON c.Guid = a._ResourceGuid WHERE c.IsManaged = 1")


@pytest.fixture
def document(lab_db, lab_profile_path):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    try:
        yield _report.build("connection_state", client, load_cmdb_profile(lab_profile_path))
    finally:
        client.close()


def _one(db_path, sql):
    return sqlite3.connect(db_path).execute(sql).fetchone()[0]


def _move(tmp, dest):
    os.replace(tmp, dest)


def _csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def test_summary_and_charts_match_sqlite(document, lab_db):
    raw = sqlite3.connect(lab_db)
    base = "FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid WHERE c.IsManaged = 1"
    assert document["summary"]["computers"] == raw.execute("SELECT COUNT(*) " + base).fetchone()[0]
    assert document["summary"]["cem_active"] == raw.execute("SELECT COUNT(*) %s AND z.IsOnInternet = 1" % base).fetchone()[0]
    charts = {c["id"]: c for c in document["charts"]}
    assert list(charts) == ["connection_type", "authentication_type", "computers_per_gateway"]
    assert charts["connection_type"]["total"] == document["summary"]["computers"]
    assert "note" not in charts["connection_type"]
    auth = {d["label"]: d["value"] for d in charts["authentication_type"]["data"]}
    assert auth["Ephemeral"] == raw.execute(
        "SELECT COUNT(*) FROM vComputer c JOIN Lab_CEM_Agent_Authentication a ON c.Guid = a._ResourceGuid "
        "WHERE c.IsManaged = 1 AND a.[Authentication Type] = 2").fetchone()[0]
    assert [n for n in document["notes"] if "Network Zone" not in n] == []


def test_managed_computers_reconcile_with_the_inventory(document, lab_db, lab_profile_path):
    """The report's computers plus those the KB query's INNER JOIN drops are the inventory's managed computers."""
    managed, without = _one(lab_db, MANAGED), _one(lab_db, WITHOUT_NETWORK_ZONE)
    assert without > 0  # the lab leaves some managed computers without Network Zone inventory
    summary = document["summary"]
    assert summary["managed_computers"] == managed
    assert summary["without_network_zone"] == without
    assert summary["computers"] + summary["without_network_zone"] == summary["managed_computers"]
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    try:  # the rows the inventory plugin turns into hosts
        inventory = _queries.run_catalog(client, "inventory_hosts", load_cmdb_profile(lab_profile_path))
    finally:
        client.close()
    assert len(inventory.rows) == managed
    note = [n for n in document["notes"] if "Network Zone" in n]
    assert note == ["The report lists {listed:,} of the {managed:,} managed computers: {without:,} have no Network Zone "
                    "inventory, and the KB 440752 Part 2 query INNER JOINs Inv_AeX_AC_Network_Zone, so it leaves them "
                    "out. The itms.cem.cmdb inventory plugin lists all {managed:,} managed computers."
                    .format(listed=managed - without, managed=managed, without=without)]


def _table(columns, rows):
    return QueryResult(columns, rows, 0)


CONNECTION_COLUMNS = _queries.get_query("connection_state").column_names


def _shape(rows, managed=None, auth=None):
    charts = _report.REPORTS["connection_state"][2]
    results = {}
    if auth is not None:
        results["authentication_type"] = _table(["Authentication Type", "Computers"], auth)
    return _report.shape("connection_state", "t", _table(CONNECTION_COLUMNS, rows), charts, results, [],
                         source={}, managed=managed)


ROWS = [["g1", "A", _queries.CEM_ACTIVE, "ig1", 443, 1, None], ["g2", "B", _queries.LAN_ACTIVE, None, None, None, None]]


@pytest.mark.parametrize("managed,without,noted", [(2, 0, False), (5, 3, True), (None, None, False)])
def test_network_zone_note_only_when_computers_are_left_out(managed, without, noted):
    doc = _shape(ROWS, managed=managed)
    assert doc["summary"].get("without_network_zone") == without
    assert ("managed_computers" in doc["summary"]) is (managed is not None)
    assert any("INNER JOINs Inv_AeX_AC_Network_Zone" in n for n in doc["notes"]) is noted


def test_authentication_chart_says_what_it_covers(document, lab_db):
    chart = [c for c in document["charts"] if c["id"] == "authentication_type"][0]
    covered, computers = _one(lab_db, WITH_AUTHENTICATION), document["summary"]["computers"]
    assert chart["total"] == covered < computers
    assert chart["note"] == ("Covers {:,} of the {:,} computers in the report; {:,} have no authentication record."
                             .format(covered, computers, computers - covered))
    assert _report.render_html(document).decode("utf-8").count(chart["note"]) == 1


@pytest.mark.parametrize("auth,expected", [
    ([["Permanent", 1]], "Covers 1 of the 2 computers in the report; 1 have no authentication record."),
    ([["Permanent", 1], ["Both", 1]], None),
    ([["Permanent", 2], ["Both", 1]], "Counts 3 computers by their authentication record, 1 more than the 2 computers"),
    ([], "Covers 0 of the 2 computers in the report; 2 have no authentication record."),
])
def test_authentication_chart_note_whenever_its_total_differs(auth, expected):
    chart = [c for c in _shape(ROWS, auth=auth)["charts"] if c["id"] == "authentication_type"][0]
    if expected is None:
        assert "note" not in chart
    else:
        assert chart["note"].startswith(expected)


def test_renders_are_deterministic(document):
    assert _report.render_json(document) == _report.render_json(json.loads(_report.render_json(document)))
    assert json.loads(_report.render_json(document))["rows"] == document["rows"]


def test_csv(document):
    rows = _csv_rows(_report.render_csv(document))
    assert rows[0] == document["columns"]
    assert len(rows) - 1 == len(document["rows"])
    nulls = [(r, c) for r, row in enumerate(document["rows"]) for c, value in enumerate(row) if value is None]
    assert nulls  # the lab has computers without a gateway
    assert all(rows[r + 1][c] == "" for r, c in nulls)  # NULL becomes an empty field
    assert all(rows[r + 1][c] != ""
               for r, row in enumerate(document["rows"]) for c, v in enumerate(row) if v is not None)


def test_csv_null_is_an_empty_field_never_a_word():
    doc = dict(columns=["a", "b", "c"], rows=[["x", None, 1], [None, None, None]])
    content = _report.render_csv(doc)
    assert content == b"a,b,c\r\nx,,1\r\n,,\r\n"
    assert b"NULL" not in content and b"None" not in content


# OWASP CSV Injection: each character that makes a spreadsheet run a cell as a formula.
TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("spaces", ["", " ", "   ", "\u00a0", "\u3000 "])
def test_csv_neutralizes_every_formula_trigger(trigger, spaces):
    value = spaces + trigger + "cmd|' /C calc'!A0"
    assert _report.neutralize_formula(value) == "'" + value
    rows = _csv_rows(_report.render_csv(dict(columns=["Computer Name"], rows=[[value]])))
    assert rows[1] == ["'" + value]


@pytest.mark.parametrize("value", [None, 0, 5, -5, 2.5, -2.5, True, "", "LT-000001", "x=1", "'=already quoted",
                                   "ig-emea.cem.example.com", "CEM Mode Active (Internet Gateway)"])
def test_csv_leaves_other_cells_alone(value):
    assert _report.neutralize_formula(value) == value


def test_csv_numbers_stay_numbers_and_the_option_turns_it_off():
    doc = dict(columns=["Computer Name", "Computers", "Delta"], rows=[["=cmd|' /C calc'!A0", 5, -5], [None, -1, 0]])
    assert _report.render_csv(doc) == b"Computer Name,Computers,Delta\r\n'=cmd|' /C calc'!A0,5,-5\r\n,-1,0\r\n"
    assert _report.render_csv(doc, neutralize_formulas=False) == (
        b"Computer Name,Computers,Delta\r\n=cmd|' /C calc'!A0,5,-5\r\n,-1,0\r\n")
    assert _report.render(doc, "csv", csv_neutralize_formulas=False) == _report.render_csv(doc, False)


def _said(page):
    """What the page says about itself: its notes and the text beside the filter (not its script)."""
    notes = re.search(r'<div class="notes">(.*?)</div>', page, re.S)
    scope = re.search(r'<span id="filter-scope" class="muted">(.*?)</span>', page, re.S)
    return (notes.group(1) if notes else "") + (scope.group(1) if scope else "")


def _script(page, script_id):
    script = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % script_id, page, re.S)
    return json.loads(script.group(1))


def test_html_is_self_contained_and_escapes_data(document):
    hostile = ["g", "</script><script>alert(1)</script>", "x", None, None, None, None]
    document = dict(document, rows=document["rows"] + [hostile])
    page = _report.render_html(document).decode("utf-8")
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)  # nothing fetched from anywhere
    assert "<svg" in page and "<style>" in page
    assert "</script><script>alert(1)" not in page
    assert page.count("<script") == 3
    assert len(_script(page, "report-data")["rows"]) == len(document["rows"])
    assert _script(page, "report-summary") == document["summary"]
    assert "Filtering searches" not in page  # not capped


@pytest.mark.parametrize("full_files", [["r.json", "r.csv"], ["r.csv"]])
def test_html_cap_names_the_files_written(document, full_files):
    page = _report.render_html(document, max_rows=10, full_files=full_files).decode("utf-8")
    assert len(_script(page, "report-data")["rows"]) == 10
    total = "{:,}".format(len(document["rows"]))
    every_row = "Every row is in %s, written beside this page." % " and ".join(full_files)
    assert "The table shows the first 10 of %s rows; the charts and figures above cover all of them. %s" % (
        total, every_row) in page
    assert ('<span id="filter-scope" class="muted">Filtering searches the 10 rows in this page, not all %s of the '
            'report. %s</span>' % (total, every_row)) in page
    if "r.json" not in full_files:
        assert not re.search(r"(?i)json", _said(page))


def test_html_cap_without_json_or_csv_says_how_to_get_every_row(document):
    page = _report.render_html(document, max_rows=10, full_files=[]).decode("utf-8")
    how = "To have every row, add json or csv to formats, or set html_max_rows: 0."
    assert page.count(how) == 2  # in the notes and beside the filter
    assert "Filtering searches the 10 rows in this page" in page
    assert not re.search(r"(?i)\.json|\.csv|json file|csv file|json and csv", _said(page))


def test_previous_summary_from_each_format(document, tmp_path):
    """The report as last written: its JSON file, else the summary in its page, else summarize over its CSV rows."""
    name, columns = "connection_state", document["columns"]
    paths = dict((fmt, str(tmp_path / ("r." + fmt))) for fmt in _report.FORMATS)
    assert _report.previous_summary(name, columns, [(p, f) for f, p in paths.items()]) is None
    for fmt, path in paths.items():
        with open(path, "wb") as handle:
            handle.write(_report.render(document, fmt, 10))
    json_summary = dict(document["summary"], rows=-1)  # tells the JSON file's summary from the others
    with open(paths["json"], "w") as handle:
        json.dump(dict(summary=json_summary), handle)
    assert _report.previous_summary(name, columns, [(p, f) for f, p in paths.items()]) == json_summary
    assert _report.previous_summary(name, columns, [(paths["html"], "html"), (paths["csv"], "csv")]) == \
        document["summary"]
    recomputed = _report.previous_summary(name, columns, [(paths["csv"], "csv")])
    # the CSV has no managed-computer count: everything else is recomputed exactly
    assert recomputed == _report.summarize(name, columns, document["rows"])
    assert recomputed == dict((k, v) for k, v in document["summary"].items()
                              if k not in ("managed_computers", "without_network_zone"))


def test_previous_summary_falls_through_unreadable_files(document, tmp_path):
    columns = document["columns"]
    broken = str(tmp_path / "r.json")
    with open(broken, "wb") as handle:
        handle.write(b"{not json")
    old_page = str(tmp_path / "r.html")  # a page without an embedded summary
    with open(old_page, "wb") as handle:
        handle.write(b"<!DOCTYPE html><html></html>")
    other_table = str(tmp_path / "r.csv")
    with open(other_table, "wb") as handle:
        handle.write(b"Gateway,Computers\r\nig1,3\r\n")
    outputs = [(broken, "json"), (old_page, "html"), (other_table, "csv")]
    assert _report.previous_summary("connection_state", columns, outputs) is None
    assert _report.previous_summary("computers_by_gateway", ["Gateway", "Computers"], [(other_table, "csv")]) == \
        dict(rows=1, computers=3)


def test_summary_from_csv_survives_neutralised_cells():
    rows = [["g1", "=evil", _queries.CEM_ACTIVE, "+ig", 443, 1, None], ["g2", "B", _queries.LAN_ACTIVE] + [None] * 4]
    doc = dict(columns=CONNECTION_COLUMNS, rows=rows)
    expected = _report.summarize("connection_state", CONNECTION_COLUMNS, rows)
    assert _report.summary_from_csv("connection_state", CONNECTION_COLUMNS, _report.render_csv(doc)) == expected


def test_write_if_changed(tmp_path):
    path = str(tmp_path / "sub" / "r.json")
    assert _report.write_if_changed(path, b"one", True, _move)[0] is True
    assert not os.path.exists(path)
    changed, before, after = _report.write_if_changed(path, b"one", False, _move)
    assert changed and before is None and after == _report.sha256(b"one")
    assert _report.write_if_changed(path, b"one", False, _move) == (False, after, after)
    assert _report.write_if_changed(path, b"two", True, _move)[0] is True
    assert open(path, "rb").read() == b"one"
    assert os.listdir(os.path.dirname(path)) == ["r.json"]  # no temporary file left


def test_write_if_changed_moves_through_the_function_given(tmp_path):
    """The writer never sets a mode itself: the mover (atomic_move in the module) decides, so 0600 stays 0600."""
    path = str(tmp_path / "r.csv")
    with open(path, "wb") as handle:
        handle.write(b"old")
    os.chmod(path, 0o600)
    moves = []

    def keep_mode(tmp, dest):
        moves.append((os.path.dirname(tmp), dest))
        os.chmod(tmp, os.stat(dest).st_mode & 0o7777)
        os.replace(tmp, dest)

    assert _report.write_if_changed(path, b"new", False, keep_mode)[0]
    assert moves == [(str(tmp_path), path)]  # the temporary file is in the destination directory
    assert os.stat(path).st_mode & 0o777 == 0o600 and open(path, "rb").read() == b"new"


def test_write_if_changed_failure_is_typed_and_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "r.json")

    def refuse(tmp, dest):
        raise OSError(13, "Permission denied")

    with pytest.raises(InputError, match="Cannot write the report .*r.json: Permission denied"):
        _report.write_if_changed(path, b"one", False, refuse)
    assert os.listdir(str(tmp_path)) == []


def test_every_catalog_report_builds(lab_db, lab_profile_path):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    for name in _report.REPORT_NAMES:
        doc = _report.build(name, client, load_cmdb_profile(lab_profile_path))
        assert doc["rows"] and doc["summary"]["rows"] == len(doc["rows"])
        assert _report.render_html(doc).startswith(b"<!DOCTYPE html>")


def test_managed_computers_report(lab_db, lab_profile_path):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    doc = _report.build("managed_computers", client, load_cmdb_profile(lab_profile_path))
    assert doc["summary"] == dict(rows=1, computers=_one(lab_db, MANAGED))


def test_unknown_report():
    with pytest.raises(NotFound, match="connection_state"):
        _report.get_report("weekly")


def test_write_if_changed_says_why_it_cannot_write(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(InputError, match="Cannot create the directory"):
        _report.write_if_changed(str(blocker / "sub" / "r.json"), b"one", False, _move)

    def refusing(tmp, dest):
        raise OSError(13, "Permission denied")
    with pytest.raises(InputError, match="Cannot write the report .*Permission denied"):
        _report.write_if_changed(str(tmp_path / "r.json"), b"one", False, refusing)
    assert sorted(os.listdir(str(tmp_path))) == ["not-a-directory"]  # no temporary file left behind


def test_write_if_changed_when_no_temporary_file_can_be_made(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_report.tempfile, "mkstemp", no_space)
    with pytest.raises(InputError, match="Cannot write the report .*No space left on device"):
        _report.write_if_changed(str(tmp_path / "r.json"), b"one", False, _move)
