# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SEPM and EDR answers shaped as the enrollment rules' evidence (pure)."""
import base64
import hashlib

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _edr_evidence as shape
from ansible_collections.itms.cem.plugins.module_utils import _edr_report, _edr_rules


@pytest.fixture(scope="module")
def pem_and_sha():
    from cryptography.hazmat.primitives import serialization

    from itms_lab import certs

    ca = certs.make_ca("evidence test CA")
    cert, _key = certs.issue("good", ca=ca, names=("edr.example.com",), ips=())
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), der, hashlib.sha256(der).hexdigest().upper()


def _settings(servers, enabled=True, servertype="ATP", proxy=None):
    configuration = {"privatecloud": {"enableservers": enabled, "servertype": servertype,
                                      "groups": [{"serverCount": len(servers), "servers": servers}]}}
    if proxy is not None:
        configuration["proxy"] = proxy
    return {"configuration": configuration, "lockedoptions": {}}


def test_certificate_sha256_reads_pem_and_bare_base64(pem_and_sha):
    pem, der, sha = pem_and_sha
    assert shape.certificate_sha256(pem) == (sha, None)
    assert shape.certificate_sha256(base64.b64encode(der).decode("ascii")) == (sha, None)
    assert shape.certificate_sha256("  \n" + pem + "\n") == (sha, None)


@pytest.mark.parametrize("content, why", [
    (None, "empty"), ("", "empty"), ("not base64 at all!", "neither PEM nor base64"),
    (base64.b64encode(b"short").decode(), "does not decode to a DER certificate"), ({"a": 1}, "empty"),
])
def test_certificate_sha256_says_why_it_cannot(content, why):
    sha, problem = shape.certificate_sha256(content)
    assert sha is None and why in problem


def test_private_cloud_reads_servers_and_pushed_certificates(pem_and_sha):
    pem, _der, sha = pem_and_sha
    settings = _settings([{"name": "edr", "address": "edr.example.com", "port": "443", "protocol": "https", "enable": True,
                           "certificates": [{"name": "edr.crt", "content": pem}, {"name": "junk", "content": "x"}]},
                          {"address": "edr2.example.com", "enable": False}])
    pc = shape.private_cloud(shape.configuration(settings))
    assert pc["enabled"] is True and pc["server_type"] == "ATP"
    first, second = pc["servers"]
    assert (first["address"], first["port"], first["enabled"]) == ("edr.example.com", 443, True)
    assert first["certificates"][0] == {"name": "edr.crt", "sha256": sha}
    assert first["certificates"][1]["sha256"] is None and first["certificates"][1]["error"]
    assert second["enabled"] is False and second["port"] is None


def test_keys_that_differ_only_by_case_are_read():
    settings = {"Configuration": {"PrivateCloud": {"EnableServers": True, "ServerType": "ATP", "Groups": [
        {"Servers": [{"Address": "edr", "Port": 443}]}]}}}
    pc = shape.private_cloud(shape.configuration(settings))
    assert pc["enabled"] and pc["servers"][0]["address"] == "edr"


def test_no_private_cloud_is_none_and_junk_never_raises():
    assert shape.private_cloud({}) is None
    assert shape.private_cloud({"privatecloud": "off"}) is None
    assert shape.proxy({"proxy": None}) is None
    assert shape.private_cloud({"privatecloud": {"groups": ["x", {"servers": [None, 3]}]}})["servers"] == [
        dict(name=None, address=None, port=None, protocol=None, enabled=True, certificates=[])] * 2
    assert shape.group("junk")["full_path"] is None
    assert shape.computer(None)["name"] is None


def test_group_and_its_default_location():
    raw = {"id": "G1", "name": "Workstations", "fullPathName": "My Company\\Workstations", "numberOfPhysicalComputers": 7,
           "policySerialNumber": "8C5E-11/29/2026 10:05:43 353", "defaultLocationId": "L1",
           "policyInheritanceEnabled": False}
    group_settings = _settings([{"address": "edr", "port": 443, "enable": True}])
    location_settings = _settings([{"address": "edr", "port": 443, "enable": True}],
                                  proxy={"http_mode": 2, "http_host": "proxy", "https_port": 8080})
    entry = shape.group(raw, group_settings, location_settings, "Default")
    assert entry["full_path"] == "My Company\\Workstations" and entry["computers"] == 7 and entry["inherits"] is False
    assert entry["location_proxy"] == {"mode": 2, "host": "proxy", "port": 8080} and entry["proxy"] is None
    view = shape.group_view(entry)
    assert view["default_location"] == {"id": "L1", "name": "Default"}
    assert view["uses_edr"] is True
    # The location differs from the group only by its proxy; the group has no proxy object, so nothing to compare.
    assert view["location_settings_local"] is False
    entry["location_private_cloud"]["servers"][0]["address"] = "other"
    assert shape.group_view(entry)["location_settings_local"] is True
    unread = shape.group(raw)
    assert shape.group_view(unread)["location_settings_local"] is None and shape.group_view(unread)["uses_edr"] is False


def test_computer_fields():
    raw = {"computerName": "WS-1", "uniqueId": "U1", "hardwareKey": "HK", "group": {"fullPathName": "My Company\\A"},
           "onlineStatus": 1, "profileSerialNo": "S1", "atpServer": "edr", "atpDeviceId": "D1", "edrStatus": "2",
           "lastUpdateTime": 1764460800000, "ipAddresses": ["", "10.0.0.5"], "agentVersion": "14.3"}
    entry = shape.computer(raw)
    assert entry["online"] is True and entry["edr_status"] == 2 and entry["last_update"] == "2025-11-30T00:00:00Z"
    assert entry["ip"] == "10.0.0.5" and entry["group_path"] == "My Company\\A"
    assert shape.computer(dict(raw, onlineStatus=0, ipAddresses=[], lastConnectedIpAddr="10.0.0.9"))["ip"] == "10.0.0.9"
    assert shape.epoch_ms_iso(-5) is None and shape.epoch_ms_iso("x") is None and shape.epoch_ms_iso(10 ** 30) is None


def test_probe_targets_and_pushed_certificates():
    a = dict(full_path="A", private_cloud=dict(enabled=True, servers=[
        dict(address="edr", port=443, enabled=True, certificates=[dict(name="c", sha256="AA")]),
        dict(address="off", port=443, enabled=False, certificates=[])]), location_private_cloud=None)
    b = dict(full_path="B", private_cloud=None, location_private_cloud=dict(enabled=True, servers=[
        dict(address="edr", port=None, enabled=True, certificates=[dict(name="c", sha256="AA"), dict(name="d", sha256="BB")])]))
    c = dict(full_path="C", private_cloud=dict(enabled=False, servers=[dict(address="x", port=1, enabled=True)]))
    assert shape.probe_targets([a, b, c]) == {("edr", 443): ["A", "B"]}
    assert [p["sha256"] for p in shape.pushed_certificates([a, b, c], "edr", 443)] == ["AA", "BB"]


def test_appliances_versions_health_and_endpoints():
    appliances = [shape.appliance(r) for r in ({"appliance_id": "1", "software_version": "4.9.0-123"},
                                               {"appliance_id": "2", "software_version": "4.6.8-8"},
                                               {"appliance_id": "3", "software_version": "unknown"})]
    assert shape.lowest_version(appliances) == "4.6.8-8"
    assert shape.lowest_version([]) is None
    event = shape.health_event({"device_time": "t", "status_detail": "certificate_error", "message": "m",
                                "data": {"sepm_server": {"sepm_name": "sepm01"}}})
    assert event == dict(time="t", status_detail="certificate_error", message="m", remediation=None, sepm="sepm01")
    assert shape.endpoint({"device_uid": "u", "device_name": "n", "device_ip": "1.2.3.4"}) == dict(uid="u", name="n", ip="1.2.3.4")


def test_for_result_counts_the_large_lists():
    evidence = dict(collected_at="now", sepms=[dict(name="s", computers=[dict(online=True), dict(online=False)], groups=[])],
                    edr=dict(url="e", endpoints=[{}, {}, {}]), probes=[])
    result = shape.for_result(evidence)
    assert result["sepms"][0]["computers"] == {"total": 2, "online": 1} and result["edr"]["endpoints"] == 3
    assert shape.for_result(dict(sepms=[], edr=dict(endpoints=None)))["edr"]["endpoints"] is None


def _check(verdicts):
    return dict(causes=verdicts, summary=_edr_rules.summarize(verdicts), groups=_edr_rules.by_group(verdicts),
                console={}, evidence=dict(collected_at="2026-11-30T00:00:00Z", sepms=[dict(name="sepm:8446")],
                                          edr=dict(url="https://edr")))


def _verdicts(failing=()):
    verdicts = []
    for cause in _edr_rules.CAUSES:
        verdict = "fail" if cause["id"] in failing else "pass"
        verdicts.append(dict(id=cause["id"], kb_cause=cause["kb_cause"], title=cause["title"], verdict=verdict,
                             summary="summary of %s" % cause["id"], evidence=[], inferred=False,
                             affected_groups=["My Company\\G%d" % i for i in range(25)] if verdict == "fail" else [],
                             affected_computers=[], resolution=dict(steps=cause["steps"], text=cause["resolution"])))
    return verdicts


def test_report_document_and_lines():
    document = _edr_report.document(_check(_verdicts(["tls_interception"])), "T")
    assert document["summary"]["fail"] == 1 and document["summary"]["first_fail"] == "tls_interception"
    assert document["summary"]["causes"] == len(_edr_rules.CAUSES)
    assert len(document["rows"]) == len(_edr_rules.CAUSES) and document["columns"] == _edr_report.COLUMNS
    row = [r for r in document["rows"] if r[2] == "fail"][0]
    assert row[4].endswith("and 5 more")
    assert "collected_at" not in document["evidence"]  # no timestamp: a repeat writes the same bytes
    assert document["source"] == {"sepm": "sepm:8446", "edr": "https://edr"}
    groups = [c for c in document["charts"] if c["id"] == "groups"][0]
    assert len(groups["data"]) == 25 and all(d["value"] == 1 for d in groups["data"])
    lines = _edr_report.console_lines(document["causes"])
    assert lines[0].startswith("[PASS] cause 1 edr_certificate_name: ")
    assert any(line.startswith("[FAIL] cause 4 tls_interception: ") for line in lines)
    assert any(line.startswith("[PASS] related edr_health: ") for line in lines)


def test_report_renders_html_and_json_without_a_timestamp():
    from ansible_collections.itms.cem.plugins.module_utils import _report

    document = _edr_report.document(_check(_verdicts()), "Enrollment")
    html = _report.render(document, "html").decode("utf-8")
    assert "SEPM sepm:8446" in html and "EDR https://edr" in html and "Causes (KB 236805)" in html
    assert "CMDB" not in html.split("</header>")[0]
    assert _report.render(document, "json") == _report.render(_edr_report.document(_check(_verdicts()), "Enrollment"), "json")


@pytest.mark.parametrize("check", [None, {}, {"causes": "x"}, []])
def test_report_refuses_what_is_not_a_check_result(check):
    from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

    with pytest.raises(InputError, match="edr_enrollment_check"):
        _edr_report.document(check, "T")


class DeletingSepm:
    """A SEPM whose group G2 is deleted between the group list and its settings (its reads answer 404)."""

    def __init__(self):
        self.calls = []

    def pages(self, operation, path=None, query=None, page_size=100):
        return [{"id": "G1", "fullPathName": "My Company\\A", "defaultLocationId": "L1"},
                {"id": "G2", "fullPathName": "My Company\\B", "defaultLocationId": "L2"},
                {"id": "G3", "fullPathName": "My Company\\A\\C", "defaultLocationId": "L1", "policyInheritanceEnabled": True},
                "junk"]

    def get(self, operation, path=None, query=None):
        from ansible_collections.itms.cem.plugins.module_utils._errors import NotFound

        self.calls.append((operation, path["groupId"]))
        if path["groupId"] == "G2":
            raise NotFound("SEPM has no group G2 (HTTP 410).")
        if operation == "group_locations":
            return [{"id": "L1", "name": "Default"}]
        return _settings([{"address": "edr", "port": 443, "enable": True}])


def test_read_groups_survives_a_group_deleted_while_reading_and_skips_inherited_locations():
    from ansible_collections.itms.cem.plugins.module_utils import _edr_diag

    client, warnings = DeletingSepm(), []
    found = _edr_diag.read_groups(client, warnings=warnings, keep_raw=True)
    entries = dict((entry["full_path"], (raw, entry)) for raw, entry in found)
    assert sorted(entries) == ["My Company\\A", "My Company\\A\\C", "My Company\\B"]
    assert entries["My Company\\A"][1]["default_location_name"] == "Default"
    assert entries["My Company\\B"][1]["private_cloud"] is None and entries["My Company\\B"][0]["external_communication"] is None
    assert len(warnings) == 3 and all("G2" in w for w in warnings)
    # the inheriting group: its own settings only (its default location is its parent's)
    assert [c for c in client.calls if c[1] == "G3"] == [("group_external_communication", "G3")]
    assert entries["My Company\\A\\C"][1]["location_private_cloud"] is None
