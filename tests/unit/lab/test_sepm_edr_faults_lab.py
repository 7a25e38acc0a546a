# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab SEPM and EDR's faults, the EDR API (token, cursor paging, time windows, where) and the request log.

The lab runs in-process on free ports (``sepm_edr_fixture.start``).
"""
import datetime
import json
import os

import pytest

pytest.importorskip("requests")
pytest.importorskip("jsonschema")
pytest.importorskip("cryptography")

from itms_lab import sepm_edr  # noqa: E402
import sepm_edr_fixture  # noqa: E402
from sepm_edr_fixture import (  # noqa: E402
    edr_call,
    edr_token,
    iso,
    itms_lab,
    login,
    query_all,
    sepm_get,
    session,
    token_of)

lab = sepm_edr_fixture.lab  # the lab of this module, started in-process
healthy_again = sepm_edr_fixture.healthy_again


# --------------------------------------------------------------------------- faults

def test_sepm_faults(lab):
    directory, url = lab["_dir"], lab["sepm"]["url"]
    sepm_edr.set_faults(directory, sepm=["unauthorized_mid_paging"])
    token = token_of(lab)
    assert sepm_get(lab, "/computers", token, pageIndex=1).status_code == 200
    assert sepm_get(lab, "/groups", token, pageIndex=2, pageSize=2).status_code == 200  # page 1 of it not served
    assert sepm_get(lab, "/computers", token, pageIndex=2).status_code == 401
    assert sepm_get(lab, "/version", token).status_code == 401  # the token died
    again = token_of(lab)
    assert sepm_get(lab, "/computers", again, pageIndex=2).status_code == 200  # a new login goes on at page 2
    capped = sepm_get(lab, "/computers", again, pageSize=100).json()  # a page 2 exists even for 100 a page
    assert (capped["size"], capped["numberOfElements"], capped["totalPages"], capped["lastPage"]) == (5, 5, 8, False)

    sepm_edr.set_faults(directory, sepm=["token_expired"])
    token = token_of(lab)
    assert [sepm_get(lab, "/version", token).status_code for _n in range(3)] == [200, 200, 401]

    sepm_edr.set_faults(directory, sepm=["bad_page"])
    token = token_of(lab)
    assert sepm_get(lab, "/computers", token).status_code == 200
    bad = sepm_get(lab, "/computers", token, pageIndex=2)
    assert bad.status_code == 200 and bad.json() == "Internal error"

    sepm_edr.set_faults(directory, sepm=["html"])
    for answer in (login(lab), sepm_get(lab, "/groups", "anything")):
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
        assert "<title>Symantec Endpoint Protection Manager</title>" in answer.text

    sepm_edr.set_faults(directory, sepm=["redirect"])
    moved = sepm_get(lab, "/computers", "anything", pageIndex=2)
    assert moved.status_code == 302
    assert moved.headers["Location"] == "https://other.cem-lab.invalid:%d/sepm/api/v1/computers?pageIndex=2" % lab["sepm"]["port"]
    assert login(lab).status_code == 302 and url in lab["sepm"]["url"]
    assert sepm_get(lab, "/version", "anything", "sepm_peer").status_code == 302  # both SEPMs

    sepm_edr.set_faults(directory, sepm=[])
    assert login(lab).status_code == 200


def test_edr_faults(lab):
    directory = lab["_dir"]
    sepm_edr.set_faults(directory, edr=["token_expired"])
    token = edr_token(lab)
    assert [edr_call(lab, token, "/appliances").status_code for _n in range(2)] == [200, 401]
    sepm_edr.set_faults(directory, edr=["down"])
    entry = lab["edr"]
    for answer in (session(entry).post(entry["url"] + "/atpapi/oauth2/tokens", data={"grant_type": "client_credentials"},
                                       auth=(entry["client_id"], entry["client_secret"])),
                   edr_call(lab, "x", "/appliances")):
        assert answer.status_code == 503
    assert login(lab).status_code == 200  # the SEPM is not the EDR
    sepm_edr.set_faults(directory, edr=["html"])
    page = edr_call(lab, "x", "/events", {"verb": "query"})
    assert page.status_code == 200 and "<title>Symantec EDR</title>" in page.text
    sepm_edr.set_faults(directory, edr=["redirect"])
    moved = edr_call(lab, "x", "/appliances")
    assert moved.status_code == 302 and moved.headers["Location"].startswith("https://other.cem-lab.invalid:%d/" % entry["port"])


def test_fault_command_line(lab, tmp_path):
    directory = lab["_dir"]
    done = itms_lab("fault", "--dir", directory, "--sepm", "html", "--sepm", "bad_page", "--edr", "down")
    assert done.returncode == 0, done.stderr
    assert "SEPMs: bad_page, html; of the lab EDR: down" in done.stdout
    assert json.load(open(os.path.join(directory, "sepm-edr-faults.json"))) == {"sepm": ["bad_page", "html"], "edr": ["down"]}
    assert login(lab).headers["Content-Type"].startswith("text/html")
    cleared = itms_lab("fault", "--dir", directory, "--clear")  # no CMDB in this directory: the SEPM/EDR faults go
    assert cleared.returncode == 0 and "SEPM and EDR faults cleared" in cleared.stdout
    assert login(lab).status_code == 200
    bad = itms_lab("fault", "--dir", directory, "--sepm", "bogus")
    assert bad.returncode == 2 and "invalid choice: 'bogus'" in bad.stderr and "'unauthorized_mid_paging'" in bad.stderr
    both = itms_lab("fault", "--dir", directory, "--clear", "--edr", "down")
    assert both.returncode == 2 and "--clear lifts every fault" in both.stderr
    nothing = itms_lab("fault", "--dir", directory)
    assert nothing.returncode == 2 and "one of the arguments --cmdb-fail-after-writes --clear is required" in nothing.stderr
    assert itms_lab("fault", "--dir", str(tmp_path / "none"), "--edr", "down").returncode == 2


# --------------------------------------------------------------------------- EDR API

def test_edr_token(lab):
    entry = lab["edr"]
    url = entry["url"] + "/atpapi/oauth2/tokens"
    form = {"grant_type": "client_credentials"}
    answer = session(entry).post(url, data=form, auth=(entry["client_id"], entry["client_secret"]))
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer" and answer.json()["expires_in"] == 3600
    assert session(entry).post(url, data=dict(form, scope="customer"), auth=(entry["client_id"], entry["client_secret"])).ok
    for auth in ((entry["client_id"], "wrong"), ("someone", entry["client_secret"]), None):
        refused = session(entry).post(url, data=form, auth=auth)
        assert refused.status_code == 401 and refused.json() == {"error": "invalid_client"}
    assert session(entry).post(url, data={"grant_type": "password"}, auth=(entry["client_id"], entry["client_secret"])).status_code == 400
    assert edr_call(lab, "forged", "/appliances").status_code == 401
    listed = edr_call(lab, answer.json()["access_token"], "/appliances").json()["appliance_list"]
    assert [sorted(a) for a in listed] == [["appliance_id", "appliance_name", "appliance_time", "role", "software_version"]]


def test_edr_cursor_paging_and_where(lab):
    token = edr_token(lab)
    items, total, pages = query_all(lab, token, "/entities/endpoints", 7)
    assert total == len(items) == 80 and pages == 12
    assert len(set(e["device_uid"] for e in items)) == 80
    assert set(sorted(items[0])) >= {"device_uid", "device_name", "device_ip"}
    assert any(e["device_name"].endswith(".corp.cem-lab.internal") for e in items)
    first = edr_call(lab, token, "/entities/endpoints", {"verb": "query", "limit": 50}).json()
    assert len(first["result"]) == 50 and first["total"] == 80
    assert edr_call(lab, token, "/entities/endpoints", {"verb": "query", "next": first["next"]}).status_code == 200
    assert edr_call(lab, token, "/entities/endpoints", {"verb": "query", "next": first["next"]}).status_code == 400  # used
    found, _t, _p = query_all(lab, token, "/entities/endpoints", 100, where="device_name:B-SRV-00*")
    assert len(found) == 8  # B-SRV-001 to 008 (the offline one enrolled before), some by their FQDN: b-srv-00n.corp...
    for bad in ({"verb": "query", "limit": 1001}, {"verb": "query", "limit": 0}, {"verb": "search"},
                {"verb": "query", "where": "type_id:1000 OR x"}, {"verb": "query", "start_time": "yesterday"}):
        assert edr_call(lab, token, "/entities/endpoints", bad).status_code == 400, bad


def test_edr_time_windows(lab):
    token = edr_token(lab)
    now = datetime.datetime.now(datetime.timezone.utc)
    week, _t, _p = query_all(lab, token, "/systemactivities", 10, where="type_id:1000",
                             start_time=iso(now - datetime.timedelta(days=7)), end_time=iso(now))
    assert [e["status_detail"] for e in week] == ["success", "success"]
    old, _t, _p = query_all(lab, token, "/systemactivities", 10, start_time=iso(now - datetime.timedelta(days=21)),
                            end_time=iso(now - datetime.timedelta(days=14)))
    assert [e["status_detail"] for e in old] == ["certificate_error"] and old[0]["data"]["sepm_server"]["sepm_name"]
    default, _t, _p = query_all(lab, token, "/systemactivities", 10)
    assert len(default) == 2  # no window: the last 7 days
    too_long = {"verb": "query", "start_time": iso(now - datetime.timedelta(days=8)), "end_time": iso(now)}
    assert edr_call(lab, token, "/events", too_long).status_code == 400
    start = datetime.datetime(2026, 11, 1, 9, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    exact = {"verb": "query", "limit": 3, "start_time": iso(start), "end_time": iso(start + datetime.timedelta(seconds=2))}
    page = edr_call(lab, token, "/events", exact).json()
    assert page["total"] == 50 and [e["time"] for e in page["result"]] == [
        "2026-11-01T09:00:00.520Z", "2026-11-01T09:00:00.560Z", "2026-11-01T09:00:00.600Z"]
    assert edr_call(lab, token, "/events", dict(exact, where="type_id:8001")).json()["total"] == 50
    assert edr_call(lab, token, "/events", dict(exact, where="type_id:1000")).json()["total"] == 0
    assert edr_call(lab, token, "/events", dict(exact, where="device_name:PC-001")).status_code == 400


# --------------------------------------------------------------------------- the request log

def test_request_log_is_written_before_the_answer_and_keeps_no_secret(lab):
    path = lab["edr_scenario"]["request_log"]
    token = token_of(lab)
    answer = sepm_get(lab, "/computers", token, computerName="WS-*")
    with open(path) as handle:
        last = json.loads(handle.readlines()[-1])  # already there when the answer arrived
    assert answer.status_code == 200
    assert (last["server"], last["method"], last["path"], last["status"], last["user"]) == \
        ("sepm", "GET", "/sepm/api/v1/computers", 200, "sepmadmin")
    assert last["query"] == {"computerName": "WS-*"} and last["scenario"] == "healthy"
    edr_token(lab)
    with open(path) as handle:
        text = handle.read()
    for secret in (lab["sepm"]["password"], lab["sepm_peer"]["password"], lab["edr"]["client_secret"], token):
        assert secret not in text
