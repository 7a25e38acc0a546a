# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab SEPM and EDR, started in-process on free ports and spoken to as the collection's clients would.

Every kind of SEPM answer is checked against the SEPM REST contract's response schema; every scenario's change is
checked from the SEPM and EDR side; the last test runs the whole lab (``itms-lab up``, ``status``, ``down``) once.
The faults, the EDR API's paging and windows, and the request log are in ``test_sepm_edr_faults_lab.py``.
"""
import datetime
import json
import os
import socket
import ssl
import stat

import pytest

pytest.importorskip("requests")
pytest.importorskip("jsonschema")
pytest.importorskip("cryptography")
yaml = pytest.importorskip("yaml")

from itms_lab import certs, edr_scenarios, sepm_edr  # noqa: E402
import sepm_edr_fixture  # noqa: E402
from sepm_edr_fixture import (  # noqa: E402
    check,
    definition,
    edr_call,
    edr_token,
    groups_by_path,
    iso,
    itms_lab,
    login,
    pem_sha256,
    presented,
    query_all,
    response_schema,
    san,
    sepm_get,
    servers,
    session,
    set_scenario,
    settings_of,
    sha256,
    token_of,
    WORKSTATIONS)

lab = sepm_edr_fixture.lab  # the lab of this module, started in-process
healthy_again = sepm_edr_fixture.healthy_again


# --------------------------------------------------------------------------- certificates and files

def test_issue_named_certificates():
    ca = certs.make_ca("test CA")
    cert, key = certs.issue_named("localhost", ca, san=False)
    assert san(cert) is None and cert.issuer == ca[0].subject
    named, _key = certs.issue_named("sepm.example", ca, dns=("sepm.example",), ips=("127.0.0.1",), fresh_key=True)
    assert san(named) == (["sepm.example"], ["127.0.0.1"]) and _key.public_key() != key.public_key()
    with pytest.raises(ValueError, match="at least one name"):
        certs.issue_named("x", ca)


def test_secrets_are_private_and_kept(lab):
    for name in ("sepm-secrets.json", "edr-secrets.json"):
        assert stat.S_IMODE(os.stat(os.path.join(lab["_dir"], name)).st_mode) == 0o600
    sepm, edr = sepm_edr.ensure_secrets(lab["_dir"])
    assert sepm["sepm"]["password"] == lab["sepm"]["password"] != lab["sepm_peer"]["password"]
    assert edr["client_secret"] == lab["edr"]["client_secret"] and lab["sepm"]["username"] == "sepmadmin"


def test_listeners_present_the_intended_certificates(lab):
    ports, ca_path = lab["edr"]["listeners"], lab["sepm"]["ca_path"]
    good, no_san, proxy, second = (presented(ports[name]) for name in edr_scenarios.LISTENERS)
    assert san(good) == (["localhost"], []) and san(second) == (["localhost"], []) and san(proxy) == (["localhost"], [])
    assert san(no_san) is None and no_san.subject.rfc4514_string().startswith("CN=localhost")
    assert proxy.issuer.rfc4514_string().startswith("CN=itms.cem lab intercepting proxy")
    assert len(set(sha256(c) for c in (good, no_san, proxy, second))) == 4
    assert good.public_key() != second.public_key() != proxy.public_key()
    for name, trusted in (("edr_good", True), ("edr_second", True), ("edr_proxy", False)):
        context = ssl.create_default_context(cafile=ca_path)
        with socket.create_connection(("127.0.0.1", ports[name]), timeout=5) as raw:
            if trusted:
                context.wrap_socket(raw, server_hostname="localhost").close()
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    context.wrap_socket(raw, server_hostname="localhost")
    for role in ("sepm", "sepm_peer", "edr"):
        cert = presented(lab[role]["port"])
        assert ":".join("%02X" % b for b in bytes.fromhex(sha256(cert))) == lab[role]["fingerprint"]
        assert lab[role]["fqdn"] in san(cert)[0] and san(cert)[1] == ["127.0.0.1"]


# --------------------------------------------------------------------------- SEPM: authentication

def test_sepm_authentication(lab, sepm_contract):
    for missing in ("domain", "password", "username"):
        body = {"username": lab["sepm"]["username"], "password": lab["sepm"]["password"], "domain": ""}
        del body[missing]
        answer = session(lab["sepm"]).post(lab["sepm"]["url"] + "/sepm/api/v1/identity/authenticate", json=body)
        assert answer.status_code == 400 and missing in answer.json()["errorMessage"]
    wrong = login(lab, password="not-it")
    assert wrong.status_code == 401 and wrong.json()["errorCode"] == "401" and wrong.json()["errorMessage"]
    assert login(lab, "sepm_peer", password=lab["sepm"]["password"]).status_code == 401  # the peer has its own
    assert login(lab, domain="Default").status_code == 200 and login(lab, domain="Other").status_code == 401
    good = login(lab)
    check(response_schema(sepm_contract, "post", "/api/v1/identity/authenticate"), good.json())
    assert good.json()["tokenExpiration"] == 3600 and good.json()["role"]["bitMask"] == 8
    token = good.json()["token"]

    assert sepm_get(lab, "/version", "").status_code == 401
    assert sepm_get(lab, "/version", "forged").status_code == 401
    assert sepm_get(lab, "/version", token, "sepm_peer").status_code == 401  # tokens are per SEPM
    assert sepm_get(lab, "/version", token).status_code == 200
    logout = session(lab["sepm"]).post(lab["sepm"]["url"] + "/sepm/api/v1/identity/logout",
                                       headers={"Authorization": "Bearer " + token})
    assert logout.status_code == 204 and logout.content == b""
    assert sepm_get(lab, "/version", token).status_code == 401


# --------------------------------------------------------------------------- SEPM: every answer against the contract

@pytest.mark.parametrize("role", ["sepm", "sepm_peer"])
def test_every_sepm_answer_matches_the_contract(lab, sepm_contract, role):
    token = token_of(lab, role)

    def valid(method, template, path, **params):
        answer = sepm_get(lab, path, token, role, **params)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers["Content-Type"].startswith("application/json")
        check(response_schema(sepm_contract, method, template), answer.json())
        return answer.json()

    assert valid("get", "/api/v1/version", "/version") == {"API_SEQUENCE": "240604011", "API_VERSION": "14.3.9000",
                                                           "version": "14.3.25029.9000"}
    valid("get", "/api/v1/admin/servers", "/admin/servers")
    groups = valid("get", "/api/v1/groups", "/groups", pageSize=100)["content"]
    assert [g["fullPathName"] for g in groups] == sorted(path for path, _i, _p, _n, _o in edr_scenarios.TREE)
    computers = valid("get", "/api/v1/computers", "/computers", pageSize=100)["content"]
    assert len(computers) == 40 and len(set(c["computerName"] for c in computers)) == 40
    for item in computers:
        check(definition(sepm_contract, "Computer"), item)
    for group in groups:
        check(definition(sepm_contract, "Group"), group)
        gid = group["id"]
        assert valid("get", "/api/v1/groups/{groupId}", "/groups/%s" % gid) == group
        members = valid("get", "/api/v1/groups/{groupId}/computers", "/groups/%s/computers" % gid)
        assert members["totalElements"] == group["numberOfPhysicalComputers"]
        locations = valid("get", "/api/v1/groups/{groupId}/locations", "/groups/%s/locations" % gid)
        assert [loc["name"] for loc in locations] == ["Default", "Remote"]
        assert locations[0]["id"] == group["defaultLocationId"]
        settings = valid("get", "/api/v1/groups/{groupId}/external-communication", "/groups/%s/external-communication" % gid)
        check(definition(sepm_contract, "SettingsExternalCommunicationSettingsObject"), settings)
        for loc in locations:
            base = "/api/v1/groups/{groupId}/locations/{locationId}"
            at = "/groups/%s/locations/%s" % (gid, loc["id"])
            settings = valid("get", base + "/external-communication", at + "/external-communication")
            check(definition(sepm_contract, "SettingsExternalCommunicationSettingsObject"), settings)
            whole = valid("get", base + "/settings", at + "/settings")
            check(definition(sepm_contract, "SettingsGroupSettingsConfigurationObject"), whole)
    assert sepm_get(lab, "/groups/NOPE", token, role).status_code == 410
    assert sepm_get(lab, "/groups/NOPE/external-communication", token, role).status_code == 404
    assert sepm_get(lab, "/groups/%s/locations/NOPE/settings" % groups[1]["id"], token, role).status_code == 404
    assert sepm_get(lab, "/policies/nothing", token, role).status_code == 404


def test_computers_carry_case_duplicate_keys(lab):
    answer = sepm_get(lab, "/computers", token_of(lab), pageSize=1)
    assert b'"sonar": 1' in answer.content and b'"SONAR": 0' in answer.content


def test_healthy_tree(lab):
    token = token_of(lab)
    groups = groups_by_path(lab, token)
    laptops = groups[WORKSTATIONS + "\\Laptops"]
    assert laptops["policyInheritanceEnabled"] and laptops["defaultLocationId"] == groups[WORKSTATIONS]["defaultLocationId"]
    assert not any(g["policyInheritanceEnabled"] for path, g in groups.items() if path != laptops["fullPathName"])
    good_pem = presented(lab["edr"]["listeners"]["edr_good"])
    for group in groups.values():
        for settings in (settings_of(lab, token, group, location=False), settings_of(lab, token, group)):
            assert settings["privatecloud"]["enableservers"] and settings["privatecloud"]["servertype"] == "ATP"
            (server,) = servers(settings)
            assert (server["address"], server["port"], server["enable"]) == ("localhost", lab["edr"]["listeners"]["edr_good"], True)
            assert pem_sha256(server["certificates"][0]["content"]) == sha256(good_pem)
    computers = sepm_get(lab, "/computers", token, pageSize=100).json()["content"]
    online = [c for c in computers if c["onlineStatus"] == 1]
    assert len(online) == 35
    serial = dict((g["id"], g["policySerialNumber"]) for g in groups.values())
    assert all(c["profileSerialNo"] == serial[c["group"]["id"]] for c in online)
    assert all(c["profileSerialNo"] != serial[c["group"]["id"]] for c in computers if c["onlineStatus"] == 0)


# --------------------------------------------------------------------------- SEPM: paging and filters

def test_sepm_paging(lab):
    token = token_of(lab)
    everything = sepm_get(lab, "/groups", token).json()
    assert (everything["size"], everything["totalElements"], everything["totalPages"]) == (25, 6, 1)
    assert everything["firstPage"] and everything["lastPage"] and everything["number"] == 0
    seen = []
    for index in (1, 2, 3):
        page = sepm_get(lab, "/groups", token, pageIndex=index, pageSize=2).json()
        assert (page["number"], page["numberOfElements"], page["totalPages"], page["totalElements"]) == (index - 1, 2, 3, 6)
        assert page["firstPage"] == (index == 1) and page["lastPage"] == (index == 3)
        seen += [g["id"] for g in page["content"]]
    assert seen == [g["id"] for g in everything["content"]]
    beyond = sepm_get(lab, "/groups", token, pageIndex=4, pageSize=2).json()
    assert beyond["content"] == [] and beyond["lastPage"]
    computers = sepm_get(lab, "/computers", token).json()
    assert (computers["size"], computers["totalPages"], computers["lastPage"]) == (20, 2, False)
    assert sepm_get(lab, "/computers", token, pageIndex=0).status_code == 400
    assert sepm_get(lab, "/computers", token, pageSize="ten").status_code == 400


def test_computer_filters(lab):
    token = token_of(lab)

    def names(**params):
        answer = sepm_get(lab, "/computers", token, pageSize=100, **params)
        assert answer.status_code == 200, answer.text
        return [c["computerName"] for c in answer.json()["content"]]

    assert names(computerName="WS-00*") == ["WS-00%d" % n for n in range(1, 10)]
    assert names(computerName="ws-01*") == ["WS-010", "WS-011", "WS-012"]
    assert names(computerName="*-003") == ["LT-003", "PC-003", "SRV-003", "WS-003"]
    assert names(computerName="KIOSK-02") == ["KIOSK-02"] and names(computerName="KIOSK-2") == []
    assert names(computerName="S*V*", order="DESC")[0] == "SRV-008"
    one = sepm_get(lab, "/computers", token, computerName="SRV-001").json()["content"][0]
    assert names(computer_id=one["uniqueId"].lower(), computerName="nothing") == ["SRV-001"]
    assert names(mac=one["macAddresses"][0].lower()) == ["SRV-001"]
    assert set(names(os="Win2K19")) == set("SRV-%03d" % n for n in range(1, 9))
    assert sepm_get(lab, "/computers", token, sort="BOGUS").status_code == 400
    servers_id = groups_by_path(lab, token)["My Company\\Servers"]["id"]
    in_group = sepm_get(lab, "/groups/%s/computers" % servers_id, token, pageSize=3, pageIndex=3).json()
    assert [c["computerName"] for c in in_group["content"]] == ["SRV-007", "SRV-008"] and in_group["lastPage"]


# --------------------------------------------------------------------------- scenarios

def _pc(lab, token, path, role="sepm"):
    """The effective external communication settings (the default location's) of a group."""
    return settings_of(lab, token, groups_by_path(lab, token, role)[path], role)


def _enabled_paths(lab, token, role="sepm"):
    return sorted(p for p, g in groups_by_path(lab, token, role).items()
                  if settings_of(lab, token, g, role)["privatecloud"]["enableservers"])


def test_every_scenario_changes_what_it_says(lab):
    listeners = lab["edr"]["listeners"]
    token = token_of(lab)
    catalogue = lab["edr_scenarios"]
    assert list(catalogue) == edr_scenarios.names() and catalogue["healthy"]["expected_fail"] == []
    assert catalogue["healthy"]["console"] == edr_scenarios.HEALTHY_CONSOLE
    all_paths = sorted(path for path, _i, _p, _n, _o in edr_scenarios.TREE)
    for name in edr_scenarios.names():
        set_scenario(lab, name)
        server = servers(_pc(lab, token, "My Company\\Default Group" if name == "non_default_groups" else WORKSTATIONS))[0]
        if name == "edr_certificate_name":
            assert server["address"] == "127.0.0.1" and san(presented(server["port"]))[1] == []
        elif name == "tls_interception":
            assert server["port"] == listeners["edr_proxy"]
            assert pem_sha256(server["certificates"][0]["content"]) != sha256(presented(server["port"]))
            assert settings_of(lab, token, groups_by_path(lab, token)[WORKSTATIONS])["proxy"]["http_mode"] == 2
        elif name == "edr_certificate_san":
            assert server["port"] == listeners["edr_no_san"] and san(presented(server["port"])) is None
            assert pem_sha256(server["certificates"][0]["content"]) == sha256(presented(server["port"]))
        else:
            assert (server["address"], server["port"]) == ("localhost", listeners["edr_good"]), name
        pairs = [(s["address"], s["port"]) for s in servers(_pc(lab, token, "My Company\\Servers"))]
        if name == "multiple_edr_appliances":
            second = servers(_pc(lab, token, "My Company\\Servers"))[1]
            assert pairs == [("localhost", listeners["edr_good"]), ("localhost", listeners["edr_second"])]
            assert pem_sha256(second["certificates"][0]["content"]) == sha256(presented(listeners["edr_second"]))
        elif name != "non_default_groups":
            assert len(pairs) == 1, name
        enabled = _enabled_paths(lab, token)
        if name == "non_default_groups":
            assert enabled == ["My Company", "My Company\\Default Group"]
        elif name == "group_inclusion":
            assert enabled == [p for p in all_paths if p != "My Company\\Kiosks"]
            assert "My Company\\Kiosks" not in catalogue[name]["console"]["group_inclusions"]
        else:
            assert enabled == all_paths, name
        peer_enabled = _enabled_paths(lab, token_of(lab, "sepm_peer"), "sepm_peer")
        assert (peer_enabled == enabled) == (name != "group_across_sepms"), name
        computers = sepm_get(lab, "/computers", token, pageSize=100).json()["content"]
        serials = dict((g["id"], g["policySerialNumber"]) for g in groups_by_path(lab, token).values())
        lagging = [c["computerName"] for c in computers if c["onlineStatus"] and c["profileSerialNo"] != serials[c["group"]["id"]]]
        assert lagging == (["WS-002", "WS-004", "WS-006", "WS-008", "WS-010"] if name == "policy_not_pushed" else []), name
        workstations = groups_by_path(lab, token)[WORKSTATIONS]
        differs = settings_of(lab, token, workstations) != settings_of(lab, token, workstations, location=False)
        assert differs == (name == "default_location_local"), name
        console = catalogue[name]["console"]
        assert set(console) == set(edr_scenarios.HEALTHY_CONSOLE) and bool(catalogue[name]["expected_fail"]) == (name != "healthy")
        assert (console["sepm_controller_name"] == "sepm-old.cem-lab.internal") == (name == "sepm_certificate_name")
        assert console["virtual_edition"] == (name == "event_rate")
        _check_edr_side(lab, name, computers)


def _check_edr_side(lab, name, computers):
    token = edr_token(lab)
    version = edr_call(lab, token, "/appliances").json()["appliance_list"][0]["software_version"]
    assert version == ("3.1.0" if name == "edr_version" else "4.9.0-123"), name
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = {"start_time": iso(now - datetime.timedelta(hours=1)), "end_time": iso(now)}
    failures, _total, _pages = query_all(lab, token, "/systemactivities", 100,
                                         where="type_id:1000 AND status_detail:(certificate_error OR connection_error)", **hour)
    assert sorted(e["status_detail"] for e in failures) == (
        ["certificate_error", "certificate_error", "connection_error"] if name == "edr_health" else []), name
    window = {"start_time": iso(now - datetime.timedelta(seconds=10)), "end_time": iso(now)}
    count = edr_call(lab, token, "/events", dict({"verb": "query", "limit": 1}, **window)).json()["total"]
    assert count == (5000 if name == "event_rate" else 250), name
    endpoints, _total, _pages = query_all(lab, token, "/entities/endpoints", 1000)
    known = set(e["device_name"].split(".")[0].upper() for e in endpoints)
    missing = sorted(c["computerName"] for c in computers if c["onlineStatus"] and c["atpDeviceId"] and c["computerName"] not in known)
    assert missing == [] and all(c["computerName"] in known for c in computers if c["atpDeviceId"])
    never = sorted(c["computerName"] for c in computers if c["onlineStatus"] and not c["atpDeviceId"])
    if name == "edr_inventory":
        assert never == sorted(edr_scenarios.NOT_ENROLLED)
    elif name not in ("non_default_groups", "group_inclusion"):
        assert never == [], name


def test_runtime_switch_through_the_command_line(lab):
    token = token_of(lab)
    done = itms_lab("edr-scenario", "--dir", lab["_dir"], "edr_certificate_name")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["scenario"] == "edr_certificate_name" and said["expected_fail"] == ["edr_certificate_name"]
    assert said["console"] == edr_scenarios.HEALTHY_CONSOLE and "do not run" in done.stderr  # in-process: no daemon
    assert servers(_pc(lab, token, WORKSTATIONS))[0]["address"] == "127.0.0.1"
    assert itms_lab("edr-scenario", "--dir", lab["_dir"], "healthy").returncode == 0
    assert servers(_pc(lab, token, WORKSTATIONS))[0]["address"] == "localhost"
    bad = itms_lab("edr-scenario", "--dir", lab["_dir"], "bogus")
    assert bad.returncode == 2 and "invalid choice: 'bogus'" in bad.stderr and "'edr_version'" in bad.stderr


# --------------------------------------------------------------------------- the whole lab

def test_up_status_down(tmp_path):
    directory = str(tmp_path)
    bad = itms_lab("up", "--dir", directory, "--edr-scenario", "bogus")
    assert bad.returncode == 2 and "invalid choice: 'bogus'" in bad.stderr and os.listdir(directory) == []
    done = itms_lab("up", "--dir", directory, "--cmdb-computers", "10", "--edr-scenario", "edr_version")
    try:
        assert done.returncode == 0, done.stderr
        lab_path = os.path.join(directory, "lab.json")
        assert stat.S_IMODE(os.stat(lab_path).st_mode) == 0o600
        with open(lab_path) as handle:
            lab = json.load(handle)
        for role in ("sepm", "sepm_peer"):
            assert sorted(lab[role]) == ["ca_path", "domain", "fingerprint", "fqdn", "host", "password", "port", "url", "username"]
        assert sorted(lab["edr"]) == ["ca_path", "client_id", "client_secret", "fingerprint", "fqdn", "host", "listeners",
                                      "port", "url"]
        assert sorted(lab["edr"]["listeners"]) == sorted(edr_scenarios.LISTENERS)
        assert lab["edr_scenario"]["current"] == "edr_version" and sorted(lab["edr_scenarios"]) == sorted(edr_scenarios.names())
        assert lab["edr_scenarios"]["event_rate"]["console"]["virtual_edition"] is True
        status = itms_lab("status", "--dir", directory)
        assert status.returncode == 0, status.stdout
        edr = json.loads(status.stdout)["services"]["edr"]
        assert edr["running"] and edr["scenario"] == "edr_version" and edr["ports"]["sepm"] == lab["sepm"]["port"]
        with open(os.path.join(directory, "inventory.yml")) as handle:
            values = yaml.safe_load(handle)["all"]["vars"]
        assert values["itms_sepm_url"] == lab["sepm"]["url"] and values["itms_sepm_domain"] == ""
        peer_keys = ("url", "username", "password", "domain", "ca_path")
        assert values["itms_sepm_peers"] == [dict((k, lab["sepm_peer"][k]) for k in peer_keys)]
        assert (values["itms_edr_url"], values["itms_edr_client_id"], values["itms_edr_ca_path"]) == \
            (lab["edr"]["url"], lab["edr"]["client_id"], lab["edr"]["ca_path"])
        token = edr_token(lab)
        assert edr_call(lab, token, "/appliances").json()["appliance_list"][0]["software_version"] == "3.1.0"
        assert itms_lab("edr-scenario", "--dir", directory, "healthy").stderr == ""  # it runs: no warning
        assert edr_call(lab, token, "/appliances").json()["appliance_list"][0]["software_version"] == "4.9.0-123"
    finally:
        down = itms_lab("down", "--dir", directory)
    assert down.returncode == 0 and "the lab SEPM and EDR (pid" in down.stdout
    stopped = itms_lab("status", "--dir", directory)
    assert stopped.returncode == 3 and not json.loads(stopped.stdout)["services"]["edr"]["running"]
