# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SEPM and EDR modules end to end: main() against the lab SEPMs and EDR, started in this process."""
import json
import os

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("requests")

from itms_lab import edr_scenarios, sepm_edr  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_rules  # noqa: E402
from ansible_collections.itms.cem.plugins.modules import (  # noqa: E402
    edr_appliance_info, edr_enrollment_check, edr_enrollment_report, sepm_computer_info, sepm_group_info,
)

WORKSTATIONS = "My Company\\Workstations"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    description, service = sepm_edr.start_in_process(str(tmp_path_factory.mktemp("sepm-edr-modules")))
    yield description
    service.stop()


@pytest.fixture(autouse=True)
def healthy(lab):
    yield
    sepm_edr.write_scenario(lab["_dir"], "healthy")
    sepm_edr.clear_faults(lab["_dir"])


def sepm_args(lab, **extra):
    sepm = lab["sepm"]
    return dict(dict(sepm_url=sepm["url"], sepm_username=sepm["username"], sepm_password=sepm["password"],
                     sepm_ca_path=sepm["ca_path"]), **extra)


def edr_args(lab, **extra):
    edr = lab["edr"]
    return dict(dict(edr_url=edr["url"], edr_client_id=edr["client_id"], edr_client_secret=edr["client_secret"],
                     edr_ca_path=edr["ca_path"]), **extra)


def check_args(lab, scenario="healthy", **extra):
    peer = lab["sepm_peer"]
    peers = [dict(url=peer["url"], username=peer["username"], password=peer["password"], ca_path=peer["ca_path"])]
    console = lab["edr_scenarios"][scenario]["console"]
    return dict(sepm_args(lab), **dict(edr_args(lab), sepm_peers=peers, console=console, **extra))


def secrets(lab):
    return [lab["sepm"]["password"], lab["sepm_peer"]["password"], lab["edr"]["client_secret"]]


def assert_no_secret(lab, result):
    text = json.dumps(result)
    for secret in secrets(lab):
        assert secret not in text


def verdicts(result):
    return dict((c["id"], c["verdict"]) for c in result["causes"])


def test_group_info_reads_inheritance_locations_and_private_cloud(run_module, lab):
    result, failed = run_module(sepm_group_info.main, sepm_args(lab))
    assert not failed and result["changed"] is False
    groups = dict((g["full_path"], g) for g in result["groups"])
    assert groups["My Company\\Workstations\\Laptops"]["inherits"] is True
    workstations = groups[WORKSTATIONS]
    assert workstations["uses_edr"] is True and workstations["location_settings_local"] is False
    assert workstations["default_location"]["id"] and workstations["default_location"]["name"]
    server = workstations["private_cloud"]["servers"][0]
    assert server["address"] == "localhost" and server["port"] == lab["edr"]["listeners"]["edr_good"]
    assert len(server["certificates"][0]["sha256"]) == 64
    assert result["sepm_requests"]["logins"] == 1
    # The runner reports the statistics before it closes the client, which logs out: the lab saw the logout.
    with open(lab["edr_scenario"]["request_log"], encoding="utf-8") as handle:
        assert json.loads(handle.readlines()[-1])["path"].endswith("/identity/logout")
    assert "raw" not in workstations
    assert_no_secret(lab, result)


def test_group_info_filters_without_settings_and_raw(run_module, lab):
    args = sepm_args(lab, full_paths=["my company\\workstations*"], settings=False, raw=True)
    result, failed = run_module(sepm_group_info.main, args)
    assert not failed
    assert sorted(g["full_path"] for g in result["groups"]) == [WORKSTATIONS, WORKSTATIONS + "\\Laptops"]
    assert all(g["private_cloud"] is None and g["location_settings_local"] is None for g in result["groups"])
    assert result["groups"][0]["raw"]["group"]["fullPathName"] == WORKSTATIONS
    assert "group_external_communication" not in result["sepm_requests"]["calls"]


def test_group_info_shows_a_location_set_locally(run_module, lab):
    sepm_edr.write_scenario(lab["_dir"], "default_location_local")
    result, failed = run_module(sepm_group_info.main, sepm_args(lab, full_paths=[WORKSTATIONS]))
    assert not failed and result["groups"][0]["location_settings_local"] is True
    assert result["groups"][0]["location_proxy"]["mode"]


def test_computer_info_filters_and_compares_the_policy_serial(run_module, lab):
    sepm_edr.write_scenario(lab["_dir"], "policy_not_pushed")
    result, failed = run_module(sepm_computer_info.main, sepm_args(lab, groups=[WORKSTATIONS], online=True))
    assert not failed and result["total"] == len(result["computers"]) > 0
    assert all(c["online"] and c["group_path"] == WORKSTATIONS for c in result["computers"])
    behind = sorted(c["name"] for c in result["computers"] if c["policy_current"] is False)
    assert len(behind) == 5 and all(c["group_policy_serial"] for c in result["computers"])
    # Only the matching group's computers were read, not the fleet.
    assert result["sepm_requests"]["calls"].get("group_computers") and "computers" not in result["sepm_requests"]["calls"]
    args = sepm_args(lab, name="WS-00*", limit=2, raw=True, compare_policy_serial=False)
    limited, failed = run_module(sepm_computer_info.main, args)
    assert not failed and limited["total"] == 2 and "policy_current" not in limited["computers"][0]
    assert limited["sepm_requests"]["calls"]["computers"] == 1 and "groups" not in limited["sepm_requests"]["calls"]
    assert limited["computers"][0]["raw"]["computerName"].startswith("WS-00")


def test_computer_info_refuses_a_negative_limit(run_module, lab):
    result, failed = run_module(sepm_computer_info.main, sepm_args(lab, limit=-1))
    assert failed and result["error_kind"] == "input" and "limit" in result["msg"]


def test_appliance_info_version_and_health_errors(run_module, lab):
    result, failed = run_module(edr_appliance_info.main, edr_args(lab))
    assert not failed and result["appliances"] and result["version"] and result["health_events"] == []
    sepm_edr.write_scenario(lab["_dir"], "edr_health")
    result, failed = run_module(edr_appliance_info.main, edr_args(lab, health_window_hours=2))
    assert not failed and len(result["health_events"]) == 3
    assert set(e["status_detail"] for e in result["health_events"]) <= set(_edr_rules.HEALTH_ERRORS)
    assert result["edr_requests"]["tokens"] == 1


def test_appliance_info_wrong_secret_is_a_clear_failure(run_module, lab):
    result, failed = run_module(edr_appliance_info.main, edr_args(lab, edr_client_secret="Not-The-Secret-123"))
    assert failed and result["error_kind"] == "auth" and "refused" in result["msg"]
    assert "Not-The-Secret-123" not in json.dumps(result)


@pytest.mark.parametrize("scenario", edr_scenarios.names())
def test_enrollment_check_gives_the_scenario_verdicts(run_module, lab, scenario):
    sepm_edr.write_scenario(lab["_dir"], scenario)
    result, failed = run_module(edr_enrollment_check.main, check_args(lab, scenario))
    assert not failed and result["changed"] is False
    failing = sorted(i for i, v in verdicts(result).items() if v == "fail")
    assert failing == sorted(lab["edr_scenarios"][scenario]["expected_fail"])
    assert verdicts(result)["fips_mode"] == "not_checkable"
    assert len(result["lines"]) == len(result["causes"]) == len(_edr_rules.CAUSES)
    assert result["summary"]["fail"] == len(failing)
    assert result["evidence"]["sepms"][0]["computers"]["total"] > 0 and len(result["evidence"]["sepms"]) == 2
    assert result["api_requests"]["sepm"]["logins"] == 1 and result["api_requests"]["edr"]["tokens"] == 1
    assert_no_secret(lab, result)


def test_enrollment_check_without_edr_or_console_needs_input(run_module, lab):
    result, failed = run_module(edr_enrollment_check.main, sepm_args(lab))
    assert not failed
    found = verdicts(result)
    for cause in ("edr_health", "edr_inventory", "edr_version", "event_rate", "sepm_certificate_name", "group_across_sepms"):
        assert found[cause] == "needs_input", cause
    assert found["edr_certificate_name"] == "pass" and result["summary"]["fail"] == 0
    assert result["api_requests"]["edr"] is None


def test_enrollment_check_with_edr_down_keeps_the_sepm_verdicts(run_module, lab):
    sepm_edr.set_faults(lab["_dir"], edr=["down"])
    result, failed = run_module(edr_enrollment_check.main, check_args(lab, edr_retries=0))
    assert not failed and result["evidence"]["edr"]["error"]
    assert verdicts(result)["edr_version"] == "needs_input" and verdicts(result)["edr_certificate_name"] == "pass"


def test_enrollment_check_fails_clearly_on_an_html_sepm(run_module, lab):
    sepm_edr.set_faults(lab["_dir"], sepm=["html"])
    result, failed = run_module(edr_enrollment_check.main, check_args(lab))
    assert failed and "HTML" in result["msg"] and result["error_kind"] == "vendor_fault"
    assert_no_secret(lab, result)


@pytest.mark.parametrize("option, value", [("event_window_minutes", 10081), ("health_window_hours", -1),
                                           ("max_event_rate", 0), ("probe_timeout", 0)])
def test_enrollment_check_refuses_bad_limits(run_module, lab, option, value):
    result, failed = run_module(edr_enrollment_check.main, check_args(lab, **{option: value}))
    assert failed and result["error_kind"] == "input" and option in result["msg"]


def test_enrollment_report_check_run_repeat(run_module, lab, tmp_path):
    sepm_edr.write_scenario(lab["_dir"], "tls_interception")
    check, failed = run_module(edr_enrollment_check.main, check_args(lab, "tls_interception"))
    assert not failed
    dest = str(tmp_path / "out" / "enrollment")
    # What a play registers: the result without the warnings ansible-playbook has already shown.
    report_args = dict(check=dict((k, v) for k, v in check.items() if k not in ("warnings", "deprecations")), dest=dest)
    result, failed = run_module(edr_enrollment_report.main, dict(report_args, _ansible_check_mode=True))
    assert not failed and result["changed"] is True and not os.path.exists(str(tmp_path / "out"))
    assert result["summary"]["first_fail"] == "tls_interception"
    result, failed = run_module(edr_enrollment_report.main, report_args)
    assert not failed and result["changed"] is True
    assert sorted(f["format"] for f in result["files"]) == ["html", "json"]
    assert result["diff"]["after"][dest + ".html"]["state"] == "created"
    with open(dest + ".json", encoding="utf-8") as handle:
        written = json.load(handle)
    assert [c["id"] for c in written["causes"] if c["verdict"] == "fail"] == ["tls_interception"]
    with open(dest + ".html", encoding="utf-8") as handle:
        assert "tls_interception" in handle.read()
    again, failed = run_module(edr_enrollment_report.main, report_args)
    assert not failed and again["changed"] is False
    assert_no_secret(lab, written)


def caught_warnings(monkeypatch):
    """The warnings modules give in this test (ansible-core keeps warnings process-wide, once per text)."""
    from ansible.module_utils.basic import AnsibleModule

    caught = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: caught.append(msg))
    return caught


def test_a_pinned_fingerprint_replaces_the_ca_and_a_wrong_one_stops(run_module, lab, monkeypatch):
    caught = caught_warnings(monkeypatch)
    args = sepm_args(lab, sepm_fingerprint=lab["sepm"]["fingerprint"], full_paths=[WORKSTATIONS])
    del args["sepm_ca_path"]
    result, failed = run_module(sepm_group_info.main, args)
    assert not failed and len(result["groups"]) == 1 and caught == []
    wrong = "00:" * 31 + "00"
    result, failed = run_module(sepm_group_info.main, dict(args, sepm_fingerprint=wrong))
    assert failed and result["error_kind"] == "transport" and "does not match sepm_fingerprint" in result["msg"]
    assert lab["sepm"]["fingerprint"] in result["msg"]


def test_no_verification_warns(run_module, lab, monkeypatch):
    caught = caught_warnings(monkeypatch)
    args = sepm_args(lab, sepm_validate_certs=False, full_paths=[WORKSTATIONS])
    del args["sepm_ca_path"]
    result, failed = run_module(sepm_group_info.main, args)
    assert not failed and len(result["groups"]) == 1
    assert [w for w in caught if "anyone on the path" in w and "sepm_ca_path or sepm_fingerprint" in w]
