# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence files for agent_access: the collection's own cem_report JSON/CSV, exports, name lists, allow/deny."""

import codecs
import json

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _access_decide as ad
from ansible_collections.itms.cem.plugins.module_utils import _evidence, _queries, _report
from ansible_collections.itms.cem.plugins.module_utils._cmdb import QueryResult
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

G1 = "0f3c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
G2 = "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d"
G3 = "2b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d9e"
UNKNOWN = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
COLUMNS = ["ResourceGuid", "Computer Name", "Connectivity State", "Assigned Internet Gateway", "Gateway Port",
           "Is Current Gateway", "Last Successful Connection"]


def connection_state(rows):
    """A connection_state report document, shaped by the collection's own code."""
    title, _table, charts = _report.get_report("connection_state")
    table = QueryResult(COLUMNS, rows, 1)
    return _report.shape("connection_state", title, table, charts, {}, [], source=dict(cmdb="sqlite", profile="lab"))


ROWS = [
    [G1.upper(), "PC01", _queries.CEM_ACTIVE, "ig1.example.com", 443, 1, "2026-10-31 23:59:00"],
    [G1.upper(), "PC01", _queries.CEM_ACTIVE, "ig2.example.com", 443, 0, None],  # one row per gateway
    [G2, "-LT02", _queries.LAN_ACTIVE, None, None, None, None],  # a name cem_report neutralises in CSV
    [None, "NOGUID", _queries.LAN_ACTIVE, None, None, None, None],
]


def reader(files):
    def read_file(path):
        if path not in files:
            raise IOError(2, "No such file or directory", path)
        return files[path]
    return read_file


def load(spec, files):
    return _evidence.load(spec, reader(files))


# -- cem_report files ---------------------------------------------------------------------------
def test_cem_report_json_as_the_collection_writes_it():
    data = _report.render_json(connection_state(ROWS))
    ev = load(dict(reports=["reports/cem-report-2026-11-01.json"]), {"reports/cem-report-2026-11-01.json": data})
    src = "cem-report-2026-11-01.json (pre-rollback report)"
    assert ev["guids"] == {G1: src, G2: src}
    assert ev["names"] == {"pc01": {G1: src}, "-lt02": {G2: src}, "noguid": {None: src}}
    assert ev["sources"] == [dict(kind="report", path="reports/cem-report-2026-11-01.json", source=src, format="json",
                                  name_column="Computer Name", guid_column="ResourceGuid", rows=4, names=4,
                                  guids=3)]


def test_cem_report_csv_reads_back_neutralised_names():
    data = _report.render_csv(connection_state(ROWS))
    assert b"'-LT02" in data
    ev = load(dict(reports=["connection_state.csv"]), {"connection_state.csv": data})
    assert sorted(ev["names"]) == ["-lt02", "noguid", "pc01"]
    assert ev["sources"][0]["format"] == "csv" and ev["sources"][0]["guid_column"] == "ResourceGuid"


def test_cem_report_format_is_sniffed_without_a_known_suffix():
    files = {"snap.bak": _report.render_json(connection_state(ROWS[:1])),
             "snap2.bak": _report.render_csv(connection_state(ROWS[2:3]))}
    ev = load(dict(reports=["snap.bak", "snap2.bak"]), files)
    assert [s["format"] for s in ev["sources"]] == ["json", "csv"]
    assert sorted(ev["guids"]) == [G1, G2]


def test_any_report_with_a_guid_and_a_name_column_is_accepted():
    doc = dict(report="over_http", columns=["ResourceGuid", "Computer Name", "Is On Internet", "Is Managed"],
               rows=[[G3, "PC03", 0, 1]])
    ev = load(dict(reports=["over_http.json"]), {"over_http.json": json.dumps(doc).encode()})
    assert ev["names"] == {"pc03": {G3: "over_http.json (pre-rollback report)"}}
    inventory = dict(columns=["guid", "name", "gateway"], rows=[[G3, "pc03.corp.example.com", None]])
    ev = load(dict(reports=["hosts.json"]), {"hosts.json": json.dumps(inventory).encode()})
    assert (ev["sources"][0]["guid_column"], ev["sources"][0]["name_column"]) == ("guid", "name")


def test_a_report_without_guid_or_name_column_is_refused_with_the_columns_found():
    doc = dict(report="computers_by_gateway", columns=["Gateway", "Port", "Computers"], rows=[["ig1", 443, 3]])
    with pytest.raises(InputError) as err:
        load(dict(reports=["gw.json"]), {"gw.json": json.dumps(doc).encode()})
    assert "The report gw.json has no GUID column; columns found: Gateway, Port, Computers." in str(err.value)
    doc = dict(columns=["ResourceGuid", "Gateway"], rows=[])
    with pytest.raises(InputError, match="has no computer name column; columns found: ResourceGuid, Gateway"):
        load(dict(reports=["gw.json"]), {"gw.json": json.dumps(doc).encode()})


def test_invalid_guid_in_a_report_names_the_file_the_line_and_the_column():
    data = b"ResourceGuid,Computer Name\r\n%s,PC01\r\nnot-a-guid,PC02\r\n" % G1.encode()
    with pytest.raises(InputError) as err:
        load(dict(reports=["old.csv"]), {"old.csv": data})
    assert str(err.value).startswith("The evidence file old.csv, line 3: 'not-a-guid' in column 'ResourceGuid' is "
                                     "not a GUID.")
    doc = dict(columns=["ResourceGuid", "Computer Name"], rows=[[G1, "a"], ["{%s" % G2, "b"]])
    with pytest.raises(InputError, match=r"old\.json, row 2: '\{%s' in column 'ResourceGuid'" % G2):
        load(dict(reports=["old.json"]), {"old.json": json.dumps(doc).encode()})


def test_empty_and_nil_guids_are_no_guid():
    data = ("ResourceGuid,Computer Name\r\n,PC01\r\n{00000000-0000-0000-0000-000000000000},PC02\r\n  ,\r\n").encode()
    ev = load(dict(reports=["r.csv"]), {"r.csv": data})
    assert ev["guids"] == {}
    assert ev["names"] == {"pc01": {None: "r.csv (pre-rollback report)"}, "pc02": {None: "r.csv (pre-rollback report)"}}
    assert ev["sources"][0]["rows"] == 2  # the blank line is no row


# -- exports ------------------------------------------------------------------------------------
def test_csv_export_with_bom_and_semicolons():
    data = codecs.BOM_UTF8 + ("Name;Guid;Note\n"
                              "CORP\\PC01;{%s};\"a; b\"\n"
                              "pc02.corp.example.com;%s;x\n" % (G1.upper(), G2)).encode()
    ev = load(dict(exports=[dict(path="sccm.csv", name_column="Name", guid_column="Guid")]), {"sccm.csv": data})
    assert ev["names"] == {"pc01": {G1: "sccm.csv (export)"}, "pc02": {G2: "sccm.csv (export)"}}
    assert ev["sources"][0]["name_column"] == "Name" and ev["sources"][0]["rows"] == 2


def test_csv_export_utf16_tab_delimited_with_a_powershell_type_line():
    text = "#TYPE Selected.Microsoft.ActiveDirectory.Management.ADComputer\r\n\"DNSHostName\"\t\"ObjectGUID\"\r\n" \
           "\"lt-0042.corp.example.com\"\t\"%s\"\r\n" % G3
    ev = load(dict(exports=[dict(path="ad.csv", name_column="dnshostname", guid_column="ObjectGUID",
                                 label="AD export")]),
              {"ad.csv": codecs.BOM_UTF16_LE + text.encode("utf-16-le")})
    assert ev["names"] == {"lt-0042": {G3: "AD export (ad.csv)"}}
    assert ev["sources"][0]["name_column"] == "DNSHostName"  # matched ignoring case, reported as the file spells it


def test_json_export_shapes():
    objects = [{"host": "PC01", "id": G1}, {"host": "PC02", "id": None}, {"host": None, "id": G3}]
    table = {"columns": ["host", "id"], "rows": [["PC01", G1], ["PC02", None], [None, G3]]}
    rows_of_objects = {"rows": objects}
    for shape in (objects, table, rows_of_objects):
        ev = load(dict(exports=[dict(path="x.json", name_column="host", guid_column="id")]),
                  {"x.json": json.dumps(shape).encode()})
        assert ev["guids"] == {G1: "x.json (export)", G3: "x.json (export)"}
        assert ev["names"] == {"pc01": {G1: "x.json (export)"}, "pc02": {None: "x.json (export)"}}


def test_json_export_errors_name_the_file():
    with pytest.raises(InputError, match="x.json has rows as lists but no 'columns'"):
        load(dict(exports=[dict(path="x.json", name_column="a")]), {"x.json": b'{"rows": [["a"]]}'})
    with pytest.raises(InputError, match=r"x.json holds no table.*Keys found: data\."):
        load(dict(exports=[dict(path="x.json", name_column="a")]), {"x.json": b'{"data": 1}'})
    with pytest.raises(InputError, match="x.json is not valid JSON"):
        load(dict(exports=[dict(path="x.json", name_column="a")]), {"x.json": b'{"rows": ['})
    with pytest.raises(InputError, match="x.json, row 2: a row must be an object or a list, not int"):
        load(dict(exports=[dict(path="x.json", name_column="a")]), {"x.json": b'[{"a": "pc"}, 3]'})


def test_export_missing_column_names_the_columns_found():
    data = b"Computer,Serial\r\npc01,123\r\n"
    with pytest.raises(InputError) as err:
        load(dict(exports=[dict(path="inv.csv", name_column="Computer", guid_column="Guid")]), {"inv.csv": data})
    assert str(err.value) == "The evidence file inv.csv has no GUID column 'Guid'; columns found: Computer, Serial."


def test_export_with_only_a_name_column_ignores_guids():
    data = ("Computer,ResourceGuid\r\npc01,%s\r\npc02,garbage\r\n" % G1).encode()
    ev = load(dict(exports=[dict(path="inv.csv", name_column="Computer")]), {"inv.csv": data})
    assert ev["guids"] == {} and sorted(ev["names"]) == ["pc01", "pc02"]
    assert ev["sources"][0]["guid_column"] is None


def test_export_without_columns_finds_them_or_says_so():
    data = ("Computer Name,ResourceGuid\r\npc01,%s\r\n" % G1).encode()
    ev = load(dict(exports=[dict(path="inv.csv")]), {"inv.csv": data})
    assert ev["names"] == {"pc01": {G1: "inv.csv (export)"}}
    with pytest.raises(InputError, match="no column that looks like a computer name or a GUID; columns found: a, b"):
        load(dict(exports=[dict(path="inv.csv")]), {"inv.csv": b"a,b\r\n1,2\r\n"})


def test_export_format_from_the_option_or_the_suffix():
    data = ("name\r\npc01\r\n").encode()
    ev = load(dict(exports=[dict(path="inv.dat", format="CSV", name_column="name")]), {"inv.dat": data})
    assert ev["sources"][0]["format"] == "csv" and list(ev["names"]) == ["pc01"]
    with pytest.raises(InputError, match="Cannot tell the format of the evidence file inv.dat"):
        load(dict(exports=[dict(path="inv.dat", name_column="name")]), {"inv.dat": data})


def test_csv_without_header_and_not_utf8():
    with pytest.raises(InputError, match="empty.csv has no header line"):
        load(dict(exports=[dict(path="empty.csv", name_column="n")]), {"empty.csv": b"\r\n \r\n"})
    with pytest.raises(InputError, match=r"latin\.csv is not UTF-8 text \(byte 7\)"):
        load(dict(exports=[dict(path="latin.csv", name_column="n")]), {"latin.csv": b"n\r\nPC-M\xfcller\r\n"})


def test_single_column_csv():
    ev = load(dict(exports=[dict(path="one.csv", name_column="Name")]), {"one.csv": b"Name\nPC01\nPC02\n"})
    assert sorted(ev["names"]) == ["pc01", "pc02"]


# -- names --------------------------------------------------------------------------------------
def test_name_files_with_comments_blank_lines_bom_and_crlf():
    data = codecs.BOM_UTF8 + b"# AD export 2026-11-01\r\n\r\nLT-0042\r\n  CORP\\PC01.corp.example.com.  # laptop\r\n" \
                             b"   \r\n#PC99\r\n"
    ev = load(dict(name_files=[dict(path="/srv/dr/ad.txt", label="AD names")]), {"/srv/dr/ad.txt": data})
    assert ev["names"] == {"lt-0042": {None: "AD names (ad.txt)"}, "pc01": {None: "AD names (ad.txt)"}}
    assert ev["sources"] == [dict(kind="name_file", path="/srv/dr/ad.txt", source="AD names (ad.txt)", format="text",
                                  name_column=None, guid_column=None, rows=2, names=2, guids=0)]


def test_a_name_file_that_is_a_table_is_refused():
    with pytest.raises(InputError, match=r"The name file sepm.txt, line 2: 'pc01,x' looks like a table row"):
        load(dict(name_files=["sepm.txt"]), {"sepm.txt": b"pc00\npc01,x\n"})


def test_names_lists_and_labelled_groups():
    ev = load(dict(names=["PC01", "CORP\\pc02", dict(label="SEPM", names=["pc03", "PC01"])]), {})
    assert ev["names"] == {"pc01": {None: "SEPM"}, "pc02": {None: "the names list"}, "pc03": {None: "SEPM"}}
    assert [(s["source"], s["names"]) for s in ev["sources"]] == [("SEPM", 2), ("the names list", 2)]
    with pytest.raises(InputError, match="needs a label and a list of names"):
        load(dict(names=[dict(names=["a"])]), {})
    with pytest.raises(InputError, match=r"evidence.names: '' is not a non-empty string"):
        load(dict(names=[""]), {})


def test_same_base_name_twice_is_cited_by_path():
    files = {"a/ad.txt": b"pc01\n", "b/ad.txt": b"pc02\n", "sepm.txt": b"pc03\n"}
    ev = load(dict(name_files=["a/ad.txt", "b/ad.txt", "sepm.txt"]), files)
    assert ev["names"] == {"pc01": {None: "a/ad.txt (name file)"}, "pc02": {None: "b/ad.txt (name file)"},
                           "pc03": {None: "sepm.txt (name file)"}}


# -- allow / deny and the spec ------------------------------------------------------------------
def test_allow_and_deny():
    ev = load(dict(allow=["LT-*"], deny=[G1.upper(), "ROGUE-*", "CORP\\EVIL01"]), {})
    assert (ev["allow_patterns"], ev["deny_patterns"], ev["deny_guids"], ev["deny_names"]) == (
        ["LT-*"], ["ROGUE-*"], {G1}, {"evil01"})
    with pytest.raises(InputError, match=r"evidence.deny: 3 is not a non-empty string"):
        load(dict(deny=[3]), {})


def test_spec_errors():
    with pytest.raises(InputError, match=r"Unknown evidence key\(s\): report\. Known: reports"):
        load(dict(report=["x.json"]), {})
    with pytest.raises(InputError, match="evidence.reports must be a list, not str"):
        load(dict(reports="x.json"), {})
    with pytest.raises(InputError, match="Each entry of evidence.exports needs a path"):
        load(dict(exports=[dict(name_column="a")]), {})
    with pytest.raises(InputError, match="evidence must be a dictionary"):
        load(["x"], {})
    assert load(None, {}) == ad.empty_evidence()


def test_missing_file_names_the_path(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(InputError) as err:
        _evidence.load(dict(reports=[missing]))
    assert str(err.value).startswith("Cannot read the evidence file %s: No such file or directory." % missing)
    with pytest.raises(InputError, match="Cannot read the evidence file x.json: No such file"):
        load(dict(reports=["x.json"]), {})


def test_default_reader_reads_the_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes(b"pc01\n")
    assert _evidence.read_path(str(path)) == b"pc01\n"
    assert _evidence.load(dict(name_files=[str(path)]))["names"] == {"pc01": {None: "names.txt (name file)"}}


# -- through decide -----------------------------------------------------------------------------
def test_reasons_cite_the_sources():
    files = {"dr/cem-report-2026-11-01.json": _report.render_json(connection_state(ROWS)),
             "dr/ad.txt": b"LT-0042\n"}
    ev = load(dict(reports=["dr/cem-report-2026-11-01.json"], name_files=[dict(path="dr/ad.txt", label="AD names")],
                   deny=["ROGUE-*"]), files)
    agents = [dict(id=1, agent_name="pc01.corp.example.com", agent_guid=G1),
              dict(id=2, agent_name="LT-0042", agent_guid=G3),
              dict(id=3, agent_name="ROGUE-1", agent_guid=None),
              dict(id=4, agent_name="LAPTOP-X", agent_guid=UNKNOWN)]
    reasons = dict((d["id"], d["reason"]) for d in ad.decide(agents, ev))
    assert reasons == {
        1: "GUID %s is in cem-report-2026-11-01.json (pre-rollback report)" % G1,
        2: "name LT-0042 matches AD names (ad.txt) and no other evidence contradicts it",
        3: "deny-list pattern ROGUE-* matches name ROGUE-1",
        4: "no evidence knows LAPTOP-X or its GUID %s" % UNKNOWN,
    }


def test_one_hundred_thousand_report_rows():
    rows = [["%08x-0000-4000-8000-%012x" % (n, n), "PC%06d" % n, _queries.CEM_ACTIVE, "ig1", 443, 1, None]
            for n in range(100000)]
    document = dict(report="connection_state", columns=COLUMNS, rows=rows)
    files = {"big.csv": _report.render_csv(document), "big.json": _report.render_json(document)}
    for path in files:
        ev = load(dict(reports=[path]), files)
        assert len(ev["guids"]) == 100000 and len(ev["names"]) == 100000
        assert ev["names"]["pc099999"] == {"0001869f-0000-4000-8000-00000001869f": "%s (pre-rollback report)" % path}
