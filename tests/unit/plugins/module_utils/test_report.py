# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import csv
import io
import json
import os
import re
import sqlite3

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _report
from ansible_collections.itms.cem.plugins.module_utils._errors import NotFound
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile


@pytest.fixture
def document(lab_db, lab_profile_path):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    try:
        yield _report.build("connection_state", client, load_cmdb_profile(lab_profile_path))
    finally:
        client.close()


def test_summary_and_charts_match_sqlite(document, lab_db):
    raw = sqlite3.connect(lab_db)
    base = "FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid WHERE c.IsManaged = 1"
    assert document["summary"]["computers"] == raw.execute("SELECT COUNT(*) " + base).fetchone()[0]
    assert document["summary"]["cem_active"] == raw.execute("SELECT COUNT(*) %s AND z.IsOnInternet = 1" % base).fetchone()[0]
    charts = {c["id"]: c for c in document["charts"]}
    assert list(charts) == ["connection_type", "authentication_type", "computers_per_gateway"]
    assert charts["connection_type"]["total"] == document["summary"]["computers"]
    auth = {d["label"]: d["value"] for d in charts["authentication_type"]["data"]}
    assert auth["Ephemeral"] == raw.execute(
        "SELECT COUNT(*) FROM vComputer c JOIN Lab_CEM_Agent_Authentication a ON c.Guid = a._ResourceGuid "
        "WHERE c.IsManaged = 1 AND a.[Authentication Type] = 2").fetchone()[0]
    assert document["notes"] == []


def test_without_authentication_mapping_the_chart_is_left_out_with_a_note(lab_db):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    doc = _report.build("connection_state", client, load_cmdb_profile())
    assert "authentication_type" not in [c["id"] for c in doc["charts"]]
    assert "not publicly documented" in doc["notes"][0]


def test_renders_are_deterministic(document):
    assert _report.render_json(document) == _report.render_json(json.loads(_report.render_json(document)))
    assert json.loads(_report.render_json(document))["rows"] == document["rows"]


def test_csv(document):
    rows = list(csv.reader(io.StringIO(_report.render_csv(document).decode("utf-8"))))
    assert rows[0] == document["columns"]
    assert len(rows) - 1 == len(document["rows"])
    assert "" in rows[1] or all(rows[1])  # NULL becomes an empty field


def test_html_is_self_contained_and_escapes_data(document):
    hostile = ["g", "</script><script>alert(1)</script>", "x", None, None, None, None]
    document = dict(document, rows=document["rows"] + [hostile])
    page = _report.render_html(document).decode("utf-8")
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)  # nothing fetched from anywhere
    assert "<svg" in page and "<style>" in page
    assert "</script><script>alert(1)" not in page
    assert page.count("<script") == 2
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    assert len(json.loads(data)["rows"]) == len(document["rows"])


def test_html_cap_has_a_note(document):
    page = _report.render_html(document, max_rows=10).decode("utf-8")
    data = re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1)
    assert len(json.loads(data)["rows"]) == 10
    assert "shows the first 10 of" in page


def test_write_if_changed(tmp_path):
    path = str(tmp_path / "sub" / "r.json")
    assert _report.write_if_changed(path, b"one", check_mode=True)[0] is True
    assert not os.path.exists(path)
    changed, before, after = _report.write_if_changed(path, b"one", check_mode=False)
    assert changed and before is None and after == _report.sha256(b"one")
    assert _report.write_if_changed(path, b"one", check_mode=False) == (False, after, after)
    assert _report.write_if_changed(path, b"two", check_mode=True)[0] is True
    assert open(path, "rb").read() == b"one"
    assert os.listdir(os.path.dirname(path)) == ["r.json"]  # no temporary file left


def test_every_catalog_report_builds(lab_db, lab_profile_path):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db)
    for name in _report.REPORT_NAMES:
        doc = _report.build(name, client, load_cmdb_profile(lab_profile_path))
        assert doc["rows"] and doc["summary"]["rows"] == len(doc["rows"])
        assert _report.render_html(doc).startswith(b"<!DOCTYPE html>")


def test_unknown_report():
    with pytest.raises(NotFound, match="connection_state"):
        _report.get_report("weekly")
