# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import csv
import grp
import json
import os
import pwd
import sqlite3
import stat

import pytest

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.modules import cem_report
from itms_lab import cmdb as lab_cmdb  # tests/lab is on sys.path (tests/unit/conftest.py)

FORMATS = ["json", "csv", "html"]


@pytest.fixture
def cmdb(lab_db_copy):
    """A copy of the lab CMDB that a test may change."""
    return lab_db_copy


@pytest.fixture
def args(cmdb, lab_profile_path, tmp_path):
    return dict(cmdb_url="sqlite:///" + cmdb, cmdb_profile=lab_profile_path, report="connection_state",
                dest=str(tmp_path / "out" / "r.json"), formats=FORMATS)


@pytest.fixture
def umask():
    """Set the umask for one test."""
    saved = []

    def setter(value):
        saved.append(os.umask(value))

    yield setter
    if saved:
        os.umask(saved[0])


def _paths(args):
    stem = os.path.splitext(args["dest"])[0]
    return ["%s.%s" % (stem, fmt) for fmt in args["formats"]]


def _modes(args):
    return [stat.S_IMODE(os.stat(p).st_mode) for p in _paths(args)]


def _add_computer(db_path, name="LT-999999", guid="00000000-0000-4000-8000-000000000001"):
    """A managed computer on the Internet: one more computer, row and CEM-active computer in connection_state."""
    lab_cmdb.add_computer(db_path, guid, name)


def test_cem_report_check_run_repeat(run_module, args, tmp_path):
    out = str(tmp_path / "out")
    result, failed = run_module(cem_report.main, dict(args, _ansible_check_mode=True))
    assert not failed and result["changed"] and not os.path.exists(out)
    result, failed = run_module(cem_report.main, args)
    assert result["changed"] and sorted(os.listdir(out)) == ["r.csv", "r.html", "r.json"]
    assert result["diff"]["before"] is None  # there was no report
    assert result["diff"]["after"]["summary"] == result["summary"]
    assert result["diff"]["after"]["files"] == dict((p, dict(state="created")) for p in _paths(args))
    again, failed = run_module(cem_report.main, args)
    assert not again["changed"] and not any(f["changed"] for f in again["files"])
    assert again["diff"]["before"] == dict(summary=result["summary"],
                                           files=dict((p, dict(state="present")) for p in _paths(args)))
    assert again["diff"]["after"]["files"] == again["diff"]["before"]["files"]
    assert json.load(open(_paths(args)[0]))["summary"] == result["summary"]


def test_check_mode_after_a_run_with_the_same_content_is_not_changed(run_module, args):
    run_module(cem_report.main, args)
    mtimes = [os.stat(p).st_mtime_ns for p in _paths(args)]
    for extra in ({}, dict(mode="0%o" % _modes(args)[0])):  # the mode the files already have is no change either
        result, failed = run_module(cem_report.main, dict(args, _ansible_check_mode=True, **extra))
        assert not failed and not result["changed"], result["files"]
        assert not any(f["changed"] for f in result["files"])
        assert result["diff"]["before"]["summary"] == result["diff"]["after"]["summary"]
    assert [os.stat(p).st_mtime_ns for p in _paths(args)] == mtimes


@pytest.mark.parametrize("missing", FORMATS)
def test_a_deleted_file_is_changed_and_written_again(run_module, args, missing):
    run_module(cem_report.main, args)
    gone = [p for p in _paths(args) if p.endswith("." + missing)][0]
    content = open(gone, "rb").read()
    os.remove(gone)
    result, failed = run_module(cem_report.main, dict(args, _ansible_check_mode=True))
    assert result["changed"] and not os.path.exists(gone)
    result, failed = run_module(cem_report.main, args)
    assert not failed and result["changed"]
    assert [f["path"] for f in result["files"] if f["changed"]] == [gone]
    assert open(gone, "rb").read() == content
    assert result["diff"]["before"]["files"][gone] == dict(state="absent")
    assert result["diff"]["after"]["files"][gone] == dict(state="created")


def test_rewriting_keeps_the_mode_of_an_existing_file(run_module, args, cmdb):
    run_module(cem_report.main, args)
    for path in _paths(args):
        os.chmod(path, 0o600)
    _add_computer(cmdb)
    result, failed = run_module(cem_report.main, args)
    assert not failed and all(f["changed"] for f in result["files"])  # the content changed
    assert _modes(args) == [0o600] * 3


def test_mode_is_applied(run_module, args):
    result, failed = run_module(cem_report.main, dict(args, mode="0640"))
    assert not failed and result["changed"] and _modes(args) == [0o640] * 3
    again, failed = run_module(cem_report.main, dict(args, mode="0640"))
    assert not again["changed"]
    symbolic, failed = run_module(cem_report.main, dict(args, mode="u=rw,g=,o="))
    assert symbolic["changed"] and _modes(args) == [0o600] * 3


def test_a_mode_change_in_check_mode_is_changed_and_changes_nothing(run_module, args, umask):
    umask(0o022)
    run_module(cem_report.main, args)
    assert _modes(args) == [0o644] * 3
    result, failed = run_module(cem_report.main, dict(args, mode="0600", _ansible_check_mode=True))
    assert not failed and result["changed"] and all(f["changed"] for f in result["files"])
    assert _modes(args) == [0o644] * 3
    path = _paths(args)[0]
    assert result["diff"]["before"]["files"][path] == dict(state="present", mode="0644")
    assert result["diff"]["after"]["files"][path] == dict(state="present", mode="0600")
    assert result["diff"]["before"]["summary"] == result["diff"]["after"]["summary"]


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_files_honour_the_umask(run_module, args, umask, mask, mode):
    umask(mask)
    result, failed = run_module(cem_report.main, args)
    assert not failed and _modes(args) == [mode] * 3


def test_owner_and_group_are_taken(run_module, args):
    owner, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
    result, failed = run_module(cem_report.main, dict(args, owner=owner, group=group))
    assert not failed and result["changed"], result
    assert all((os.stat(p).st_uid, os.stat(p).st_gid) == (os.geteuid(), os.getegid()) for p in _paths(args))
    again, failed = run_module(cem_report.main, dict(args, owner=owner, group=group))
    assert not again["changed"]


def test_the_diff_shows_the_change_in_the_figures(run_module, args, cmdb):
    first, failed = run_module(cem_report.main, args)
    _add_computer(cmdb)
    result, failed = run_module(cem_report.main, dict(args, _ansible_check_mode=True))
    before, after = result["diff"]["before"]["summary"], result["diff"]["after"]["summary"]
    assert before == first["summary"]
    for key in ("computers", "cem_active", "managed_computers", "rows"):
        assert after[key] == before[key] + 1, key
    assert after["lan_active"] == before["lan_active"]
    assert result["diff"]["after"]["files"] == dict((p, dict(state="changed")) for p in _paths(args))
    assert "sha256" not in json.dumps(result["diff"])


@pytest.mark.parametrize("formats", [["html"], ["csv"], ["csv", "html"]])
def test_the_diff_reads_the_page_or_the_csv_when_there_is_no_json(run_module, args, cmdb, formats):
    dest = os.path.splitext(args["dest"])[0] + "." + formats[0]
    args = dict(args, dest=dest, formats=formats)
    first, failed = run_module(cem_report.main, args)
    _add_computer(cmdb)
    result, failed = run_module(cem_report.main, args)
    before, after = result["diff"]["before"]["summary"], result["diff"]["after"]["summary"]
    assert after["computers"] == before["computers"] + 1 == first["summary"]["computers"] + 1
    if formats == ["csv"]:  # recomputed from the rows: the CSV does not hold the managed-computer count
        assert before == dict((k, v) for k, v in first["summary"].items()
                              if k not in ("managed_computers", "without_network_zone"))
    else:
        assert before == first["summary"]


def test_csv_formulas_are_neutralised_unless_turned_off(run_module, args, cmdb):
    _add_computer(cmdb, name="=cmd|' /C calc'!A0")
    args = dict(args, formats=["csv"], dest=os.path.splitext(args["dest"])[0] + ".csv")

    def names():
        with open(args["dest"], newline="") as handle:
            return [r[1] for r in csv.reader(handle) if "calc" in r[1]]

    run_module(cem_report.main, args)
    assert names() == ["'=cmd|' /C calc'!A0"]
    result, failed = run_module(cem_report.main, dict(args, csv_neutralize_formulas=False))
    assert result["changed"] and names() == ["=cmd|' /C calc'!A0"]


def test_a_capped_page_names_the_files_of_the_same_task(run_module, args):
    run_module(cem_report.main, dict(args, html_max_rows=10))
    page = open(_paths(args)[2]).read()
    assert "Every row is in r.json and r.csv, written beside this page." in page
    html_only = dict(args, formats=["html"], dest=os.path.splitext(args["dest"])[0] + "-only.html", html_max_rows=10)
    run_module(cem_report.main, html_only)
    page = open(html_only["dest"]).read()
    assert "add json or csv to formats, or set html_max_rows: 0" in page and "r.json" not in page


def test_summary_reconciles_with_the_managed_computers(run_module, args, cmdb):
    result, failed = run_module(cem_report.main, args)
    db = sqlite3.connect(cmdb)
    managed = db.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    assert result["summary"]["managed_computers"] == managed
    assert result["summary"]["computers"] + result["summary"]["without_network_zone"] == managed


@pytest.mark.parametrize("dest,formats,expected", [
    ("/r/a.json", None, [("/r/a.json", "json")]),
    ("/r/a.json", ["html"], [("/r/a.json", "html")]),
    ("/r/a.json", ["json", "csv", "json"], [("/r/a.json", "json"), ("/r/a.csv", "csv")]),
])
def test_plan_outputs(dest, formats, expected):
    assert cem_report.plan_outputs(dest, formats) == expected


def test_plan_outputs_needs_a_format():
    with pytest.raises(InputError, match="Cannot tell the report format"):
        cem_report.plan_outputs("/r/a.txt", None)


def test_documentation_follows_the_module(run_module, args):
    import yaml

    documented = yaml.safe_load(cem_report.DOCUMENTATION)
    assert "ansible.builtin.files" in documented["extends_documentation_fragment"]
    option = documented["options"]["csv_neutralize_formulas"]
    assert (option["type"], option["default"]) == ("bool", True)
    result, failed = run_module(cem_report.main, args)
    assert set(yaml.safe_load(cem_report.RETURN)) == set(result) - {"changed", "invocation", "warnings", "deprecations"}
