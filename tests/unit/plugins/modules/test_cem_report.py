# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json
import os

import pytest

from ansible_collections.itms.cem.plugins.modules import cem_report


def test_cem_report_check_run_repeat(run_module, lab_db, lab_profile_path, tmp_path):
    args = dict(cmdb_url="sqlite:///" + lab_db, cmdb_profile=lab_profile_path, report="connection_state",
                dest=str(tmp_path / "r.json"), formats=["json", "csv", "html"])
    result, failed = run_module(cem_report.main, dict(args, _ansible_check_mode=True))
    assert not failed and result["changed"] and os.listdir(str(tmp_path)) == []
    result, failed = run_module(cem_report.main, args)
    assert result["changed"] and sorted(os.listdir(str(tmp_path))) == ["r.csv", "r.html", "r.json"]
    assert result["diff"]["before"][str(tmp_path / "r.json")] is None
    again, failed = run_module(cem_report.main, args)
    assert not again["changed"]
    assert json.load(open(str(tmp_path / "r.json")))["summary"] == result["summary"]


@pytest.mark.parametrize("dest,formats,expected", [
    ("/r/a.json", None, [("/r/a.json", "json")]),
    ("/r/a.json", ["html"], [("/r/a.json", "html")]),
    ("/r/a.json", ["json", "csv", "json"], [("/r/a.json", "json"), ("/r/a.csv", "csv")]),
])
def test_plan_outputs(dest, formats, expected):
    assert cem_report.plan_outputs(dest, formats) == expected


def test_plan_outputs_needs_a_format():
    with pytest.raises(Exception, match="Cannot tell the report format"):
        cem_report.plan_outputs("/r/a.txt", None)
