# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab rollback (``itms-lab rollback``), its access store, the fault switch and the reconnection of approved agents.

Most tests work on a lab directory made by hand (a CMDB and the gateway's config.xml) and run the reconnection loop
in-process with a policy interval of 1 s; the last one goes through ``itms-lab up --policy-interval 1``.
"""
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from itms_lab import cmdb, gateway, reconnect, rollback

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ITMS_LAB = os.path.join(REPO, "tests", "lab", "itms-lab")
NOW = datetime.datetime(2026, 12, 1, 9, 30, 0, tzinfo=datetime.timezone.utc)
COMPUTERS, SEED = 1000, 5
STAMP = "%Y-%m-%d %H:%M:%S"
CEM_SQL = ("SELECT vc.Guid, vc.Name, gw.Gateway, rs.RegisteredDate FROM vComputer vc "
           "JOIN Lab_Resource_State rs ON rs._ResourceGuid = vc.Guid "
           "JOIN Inv_AeX_AC_InternetGatewayDetails gw ON gw._ResourceGuid = vc.Guid AND gw.[Current] = 1 "
           "JOIN Inv_AeX_AC_Network_Zone nz ON nz._ResourceGuid = vc.Guid AND nz.IsOnInternet = 1 "
           "WHERE vc.IsManaged = 1 AND rs.Deleted = 0")
TABLES = (("vComputer", "Guid"), ("Inv_AeX_AC_Network_Zone", "_ResourceGuid"),
          ("Inv_AeX_AC_InternetGatewayDetails", "_ResourceGuid"), ("Lab_CEM_Agent_Authentication", "_ResourceGuid"),
          ("Lab_Resource_State", "_ResourceGuid"))


def itms_lab(*args):
    env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    return subprocess.run([ITMS_LAB] + list(args), env=env, capture_output=True, text=True, timeout=90, check=False)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def db_bytes(directory):
    with open(os.path.join(str(directory), "cmdb.sqlite"), "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def base_cmdb(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("rollback-base") / "cmdb.sqlite")
    cmdb.write(path, COMPUTERS, SEED)
    return path


def make_lab(directory, base_cmdb, interval=1):
    os.makedirs(os.path.join(str(directory), "ig"), exist_ok=True)
    shutil.copyfile(base_cmdb, os.path.join(str(directory), "cmdb.sqlite"))
    with open(os.path.join(str(directory), "ig", "config.xml"), "w") as handle:
        handle.write(gateway.config_xml(43117, "https://127.0.0.1:41637"))
    with open(os.path.join(str(directory), "gateway-config.json"), "w") as handle:
        json.dump({"policy_interval_seconds": interval}, handle)
    return str(directory)


@pytest.fixture
def lab_dir(tmp_path, base_cmdb):
    return make_lab(tmp_path / "lab", base_cmdb)


@pytest.fixture
def rolled(lab_dir, base_cmdb):
    truth = rollback.rollback(lab_dir, 0.9, 7, 2, seed=3, now=NOW)
    return lab_dir, truth


def connect(directory):
    return sqlite3.connect(os.path.join(str(directory), "cmdb.sqlite"), isolation_level=None)


def rows_of(conn, guid):
    return dict((table, conn.execute("SELECT * FROM %s WHERE [%s] = ?" % (table, column), (guid,)).fetchall())
                for table, column in TABLES)


# --------------------------------------------------------------------------- the CMDB without a rollback

def _digest(tables):
    deleted = [row[0] for row in tables["Lab_Resource_State"] if row[1] == 1]
    body = json.dumps([tables["vComputer"], tables["Inv_AeX_AC_Network_Zone"], tables["Inv_AeX_AC_InternetGatewayDetails"],
                       tables["Lab_CEM_Agent_Authentication"], deleted])
    return hashlib.sha256(body.encode()).hexdigest()


@pytest.mark.parametrize("computers, seed, digest", [
    # What the generator wrote before registration times existed: the same rows, the same deleted resources.
    (1000, 11, "587c34a1d4cc588c9cbe3499d099f1e421164c6c9d83e5d728c9d9c45ac82fdb"),
    (300, 11, "6a86bd245ffee0ae250d8e82cf954bb31af295ee235b35f6edd853b20a11e12f"),
    (10, 1, "8cc2a7f019c76f46c1f92d886af8266d66484e0c6b3ef6a30658bca2849dd619"),
])
def test_registration_times_leave_the_cmdb_as_it_was(computers, seed, digest):
    tables = cmdb.generate(computers, seed)
    assert _digest(tables) == digest
    state = tables["Lab_Resource_State"]
    assert [row[0] for row in state] == [row[0] for row in tables["vComputer"]]
    registered = [row[2] for row in state]
    assert registered == sorted(registered) and len(set(registered)) == computers
    assert registered[-1] < cmdb.stamp(cmdb.BASE_TIME - datetime.timedelta(days=1))
    assert registered == cmdb.registration_times(computers, seed)


def test_a_fresh_cmdb_has_an_empty_access_store(base_cmdb):
    conn = sqlite3.connect(base_cmdb)
    try:
        for table in ("Lab_CEM_Agent_Access", "Lab_Access_Writes", "Lab_Faults", "Lab_Agent_Inventory"):
            assert conn.execute("SELECT COUNT(*) FROM %s" % table).fetchone() == (0,), table
        columns = [row[1] for row in conn.execute("PRAGMA table_info(Lab_CEM_Agent_Access)")]
        assert columns == ["Id", "AgentName", "AgentGuid", "ReportedBy", "CreatedDate", "Status", "DecidedDate"]
        assert dict(conn.execute("SELECT Key, Value FROM Lab_Info"))["generator"] == cmdb.GENERATOR
    finally:
        conn.close()


# --------------------------------------------------------------------------- rollback

def test_rollback_removes_the_newest_registrations(rolled, base_cmdb):
    directory, truth = rolled
    before = sqlite3.connect(base_cmdb)
    agents = sorted(before.execute(CEM_SQL).fetchall(), key=lambda row: (row[3], row[0]))
    before.close()
    removed = round(0.1 * len(agents))
    assert (truth["cem_agents"], truth["removed"], truth["kept"]) == (len(agents), removed, len(agents) - removed)
    assert len(agents) > 200 and removed > 20
    gone, stayed = agents[len(agents) - removed:], agents[:len(agents) - removed]
    assert sorted((e["guid"], e["name"], e["gateway"], e["registered"]) for e in truth["legitimate"]) == sorted(gone)
    assert truth["cutoff"] == gone[0][3]
    assert all(row[3] < truth["cutoff"] for row in stayed) and all(row[3] >= truth["cutoff"] for row in gone)
    conn = connect(directory)
    try:
        for guid, _name, _gateway, _registered in gone:
            assert all(rows == [] for rows in rows_of(conn, guid).values()), guid
        assert conn.execute("SELECT COUNT(*) FROM vComputer").fetchone()[0] == COMPUTERS - removed
        assert conn.execute("SELECT COUNT(*) FROM Lab_Agent_Inventory").fetchone()[0] == removed + 7
    finally:
        conn.close()


def test_rogues_and_reused_names(rolled, base_cmdb):
    directory, truth = rolled
    before = sqlite3.connect(base_cmdb)
    names = set(row[0].lower() for row in before.execute("SELECT Name FROM vComputer"))
    guids = set(row[0] for row in before.execute("SELECT Guid FROM vComputer"))
    before.close()
    rogues = truth["rogues"]
    assert len(rogues) == 7 and sum(r["reused_name"] for r in rogues) == 2
    legitimate = dict((e["name"], e["guid"]) for e in truth["legitimate"])
    for rogue in rogues:
        assert rogue["guid"] not in guids and rogue["guid"] not in legitimate.values()
        if rogue["reused_name"]:
            assert rogue["name"] in legitimate and legitimate[rogue["name"]] != rogue["guid"]
        else:
            assert rogue["name"].lower() not in names and rogue["name"].startswith("DESKTOP-")
    assert len(set(r["guid"] for r in rogues)) == 7
    plain = sorted(r["name"] for r in rogues if not r["reused_name"])
    assert len(truth["deny_suggestions"]) == 3 and set(truth["deny_suggestions"]) <= set(plain)


def test_access_rows_are_pending_with_their_gateway_and_dates(rolled):
    directory, truth = rolled
    conn = connect(directory)
    try:
        rows = dict((row[0], row[1:]) for row in conn.execute("SELECT * FROM Lab_CEM_Agent_Access"))
        assert conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone() == (0,)
    finally:
        conn.close()
    entries = truth["legitimate"] + truth["rogues"]
    assert sorted(rows) == list(range(1, len(entries) + 1))
    for entry in entries:
        agent_name, guid, reported_by, created, status, decided = rows[entry["access_id"]]
        assert (agent_name, guid, reported_by, status, decided) == \
            (entry["agent_name"], entry["guid"], entry["gateway"], 0, None)
        moment = datetime.datetime.strptime(created, STAMP).replace(tzinfo=datetime.timezone.utc)
        assert NOW - datetime.timedelta(hours=2) <= moment <= NOW - datetime.timedelta(seconds=60)
        short = agent_name.rsplit("\\", 1)[-1].split(".", 1)[0]
        assert short.upper() == entry["name"].upper()
        assert agent_name in (entry["name"], "%s.corp.example.com" % entry["name"].lower(), "CORP\\" + entry["name"])
    assert len(set(row[0] for row in rows.values())) > 1  # names as agents present them: not all the same form


def test_troubleshooting_mode_is_turned_on(rolled):
    directory, _truth = rolled
    root = ET.fromstring(read(os.path.join(directory, "ig", "config.xml")))
    assert root.find("Troubleshooting").attrib == {"mode": "true", "allowEphemeralCertificates": "true"}
    assert gateway.listener(read(os.path.join(directory, "ig", "config.xml"))) == ("0.0.0.0", 43117)
    assert root.find("NotificationServer").get("url") == "https://127.0.0.1:41637"


def test_rollback_json(rolled):
    directory, truth = rolled
    on_disk = json.loads(read(os.path.join(directory, "rollback.json")))
    assert on_disk == truth
    assert sorted(truth) == ["access_table", "at", "cem_agents", "cmdb", "cutoff", "deny_suggestions", "keep", "kept",
                             "legitimate", "policy_interval_seconds", "removed", "rogues", "seed"]
    assert (truth["at"], truth["keep"], truth["seed"], truth["policy_interval_seconds"]) == \
        ("2026-12-01 09:30:00", 0.9, 3, 1)
    assert truth["cmdb"] == os.path.join(directory, "cmdb.sqlite")
    assert sorted(truth["legitimate"][0]) == ["access_id", "agent_name", "gateway", "guid", "name", "registered"]
    assert sorted(truth["rogues"][0]) == ["access_id", "agent_name", "gateway", "guid", "name", "reused_name"]
    assert truth["legitimate"] == sorted(truth["legitimate"], key=lambda e: (e["name"], e["guid"]))


def test_the_same_seed_gives_the_same_rollback(tmp_path, base_cmdb):
    first = rollback.rollback(make_lab(tmp_path / "a", base_cmdb), 0.8, 9, 3, seed=21, now=NOW)
    second = rollback.rollback(make_lab(tmp_path / "b", base_cmdb), 0.8, 9, 3, seed=21, now=NOW)
    other = rollback.rollback(make_lab(tmp_path / "c", base_cmdb), 0.8, 9, 3, seed=22, now=NOW)
    for data in (first, second, other):
        data.pop("cmdb")
    assert first == second
    assert first["legitimate"][0]["guid"] == other["legitimate"][0]["guid"]  # the newest registrations: no chance
    assert set(r["guid"] for r in first["rogues"]).isdisjoint(r["guid"] for r in other["rogues"])


@pytest.mark.parametrize("keep, agents, expected", [(0.0, 305, 305), (1.0, 305, 0), (0.9, 305, 30), (0.5, 5, 2),
                                                    (0.25, 10, 8), (0.999, 1000, 1)])
def test_removed_count(keep, agents, expected):
    assert rollback.removed_count(agents, keep) == expected


def test_keep_everything_and_no_rogues_changes_only_the_gateway(lab_dir):
    before = db_bytes(lab_dir)
    truth = rollback.rollback(lab_dir, 1.0, 0, seed=1, now=NOW)
    assert (truth["removed"], truth["rogues"], truth["legitimate"], truth["cutoff"], truth["deny_suggestions"]) == \
        (0, [], [], None, [])
    conn = connect(lab_dir)
    try:
        assert conn.execute("SELECT COUNT(*) FROM vComputer").fetchone() == (COMPUTERS,)
        assert conn.execute("SELECT COUNT(*) FROM Lab_CEM_Agent_Access").fetchone() == (0,)
    finally:
        conn.close()
    assert db_bytes(lab_dir) != before  # Lab_Info records the rollback


@pytest.mark.parametrize("flags, message", [
    (["--keep", "1.5", "--rogues", "1"], "--keep must be a fraction from 0 to 1, not 1.5"),
    (["--keep", "half", "--rogues", "1"], "--keep must be a fraction from 0 to 1, not 'half'"),
    (["--keep", "0.5", "--rogues", "-1"], "--rogues must be 0 or more"),
    (["--keep", "0.5", "--rogues", "2", "--reused-names", "3"], "--reused-names 3 must not be more than --rogues 2"),
    (["--keep", "1", "--rogues", "2", "--reused-names", "1"],
     "--reused-names 1 is more than the 0 agent(s) the rollback removes"),
])
def test_bad_counts_are_refused_with_nothing_changed(lab_dir, flags, message):
    config_before, db_before = read(os.path.join(lab_dir, "ig", "config.xml")), db_bytes(lab_dir)
    done = itms_lab("rollback", "--dir", lab_dir, *flags)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert read(os.path.join(lab_dir, "ig", "config.xml")) == config_before and db_bytes(lab_dir) == db_before
    assert not os.path.exists(os.path.join(lab_dir, "rollback.json"))


def test_a_cmdb_is_rolled_back_once(rolled):
    directory, truth = rolled
    before = db_bytes(directory)
    done = itms_lab("rollback", "--dir", directory, "--keep", "0.5", "--rogues", "1")
    assert done.returncode == 2
    assert "has been rolled back already (%d agents in the access store)" % (truth["removed"] + 7) in done.stderr
    assert db_bytes(directory) == before


def test_rollback_needs_a_lab(tmp_path):
    done = itms_lab("rollback", "--dir", str(tmp_path), "--keep", "0.5", "--rogues", "1")
    assert done.returncode == 2 and "no lab gateway configuration at %s" % os.path.join(str(tmp_path), "ig", "config.xml") \
        in done.stderr
    done = itms_lab("fault", "--dir", str(tmp_path), "--clear")
    assert done.returncode == 2 and "no lab CMDB at %s" % os.path.join(str(tmp_path), "cmdb.sqlite") in done.stderr
    assert not os.path.exists(os.path.join(str(tmp_path), "cmdb.sqlite"))


def test_rollback_command_line(lab_dir):
    done = itms_lab("rollback", "--dir", lab_dir, "--keep", "0.75", "--rogues", "4", "--seed", "9")
    assert done.returncode == 0, done.stderr
    truth = json.loads(read(os.path.join(lab_dir, "rollback.json")))
    assert sum(r["reused_name"] for r in truth["rogues"]) == 1  # default: a third of the rogues
    assert ("%d of %d CEM agents lost their registration" % (truth["removed"], truth["cem_agents"])) in done.stdout
    assert "%d agent(s) pending in the access store" % (truth["removed"] + 4) in done.stdout


# --------------------------------------------------------------------------- writes and the fault

def test_each_status_change_is_counted_once(rolled):
    directory, _truth = rolled
    conn = connect(directory)
    try:
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = 1")
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = 1")  # no change: not counted
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 2 WHERE Id = 1")
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 2 WHERE Id IN (2, 3, 4)")
        conn.execute("UPDATE Lab_CEM_Agent_Access SET AgentName = AgentName WHERE Id = 5")  # not a status change
        writes = conn.execute("SELECT AccessId, OldStatus, NewStatus, At FROM Lab_Access_Writes ORDER BY Id").fetchall()
    finally:
        conn.close()
    assert [w[:3] for w in writes] == [(1, 0, 1), (1, 1, 2), (2, 0, 2), (3, 0, 2), (4, 0, 2)]
    for write in writes:
        moment = reconnect.parse_time(write[3])
        assert abs((moment - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60


def test_fault_aborts_exactly_after_n_writes_and_clear_lifts_it(rolled):
    directory, _truth = rolled
    done = itms_lab("fault", "--dir", directory, "--cmdb-fail-after-writes", "3")
    assert done.returncode == 0 and "status change 4 aborts with 'lab fault: the CMDB connection dropped'" in done.stdout
    conn = connect(directory)
    try:
        for access_id in (1, 2, 3):
            conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = ?", (access_id,))
        with pytest.raises(sqlite3.IntegrityError, match="^lab fault: the CMDB connection dropped$"):
            conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = 4")
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = 1")  # no change: goes through
        conn.execute("UPDATE Lab_CEM_Agent_Access SET CreatedDate = CreatedDate WHERE Id = 4")  # not a status change
        assert conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone() == (3,)
        assert conn.execute("SELECT Status FROM Lab_CEM_Agent_Access WHERE Id = 4").fetchone() == (0,)
    finally:
        conn.close()

    done = itms_lab("fault", "--dir", directory, "--clear")
    assert done.returncode == 0 and "fault cleared" in done.stdout
    assert "no fault was set" in itms_lab("fault", "--dir", directory, "--clear").stdout
    rollback.set_fault(os.path.join(directory, "cmdb.sqlite"), 2)  # two more from now: 3 + 2, the 6th aborts
    conn = connect(directory)
    try:
        conn.execute("BEGIN")
        with pytest.raises(sqlite3.IntegrityError, match="lab fault"):  # one statement: all of it or nothing
            conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 2 WHERE Id IN (4, 5, 6)")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT COUNT(*) FROM Lab_CEM_Agent_Access WHERE Status = 2").fetchone() == (0,)
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 2 WHERE Id IN (4, 5)")
        assert conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone() == (5,)
        assert conn.execute("SELECT Name, Value FROM Lab_Faults").fetchall() == [("fail_after_writes", "5")]
    finally:
        conn.close()
    assert rollback.clear_fault(os.path.join(directory, "cmdb.sqlite")) is True
    conn = connect(directory)
    try:
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 2 WHERE Id = 6")
        assert conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone() == (6,)
    finally:
        conn.close()


def test_fault_flags(rolled):
    directory, _truth = rolled
    done = itms_lab("fault", "--dir", directory)
    assert done.returncode == 2 and "one of the arguments --cmdb-fail-after-writes --clear is required" in done.stderr
    done = itms_lab("fault", "--dir", directory, "--cmdb-fail-after-writes", "-1")
    assert done.returncode == 2 and "--cmdb-fail-after-writes must be 0 or more" in done.stderr


# --------------------------------------------------------------------------- reconnection

def _approve(conn, ids, status=1):
    marks = ", ".join("?" * len(ids))
    conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = ?, DecidedDate = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now') "
                 "WHERE Id IN (%s)" % marks, [status] + list(ids))
    return conn.execute("SELECT MAX(DecidedDate) FROM Lab_CEM_Agent_Access WHERE Id IN (%s)" % marks,
                        list(ids)).fetchone()[0]


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_approved_agents_come_back_after_the_interval_blocked_and_pending_stay_out(rolled, base_cmdb):
    directory, truth = rolled
    rogue = [r for r in truth["rogues"] if r["reused_name"]][0]
    legitimate = sorted(truth["legitimate"], key=lambda e: e["name"] != rogue["name"])  # the rogue's namesake first
    approved, blocked, pending = legitimate[:3], legitimate[3], legitimate[4]
    before = sqlite3.connect(base_cmdb)
    original = dict((e["guid"], rows_of(before, e["guid"])) for e in approved)
    before.close()
    path = os.path.join(directory, "cmdb.sqlite")
    loop = reconnect.Reconnector(path, interval=1, poll=0.05, log=lambda text: None)
    conn = connect(directory)
    try:
        decided = _approve(conn, [e["access_id"] for e in approved] + [rogue["access_id"]])
        _approve(conn, [blocked["access_id"]], status=2)
        assert loop.run_once() == []  # not before the policy interval
        unchanged = db_bytes(directory)
        assert loop.run_once() == [] and db_bytes(directory) == unchanged  # nothing due: nothing written
        loop.start()
        try:
            back = [e["guid"] for e in approved] + [rogue["guid"]]
            assert _wait(lambda: all(rows_of(conn, guid)["vComputer"] for guid in back))
            time.sleep(0.3)
        finally:
            loop.stop()
        for entry in approved:
            rows = rows_of(conn, entry["guid"])
            assert rows["vComputer"] == original[entry["guid"]]["vComputer"]  # managed, as it was
            assert [r[2] for r in rows["Inv_AeX_AC_Network_Zone"]] == [1]  # IsOnInternet
            assert [r[2:] for r in rows["Inv_AeX_AC_Network_Zone"]] == [r[2:] for r in original[entry["guid"]]["Inv_AeX_AC_Network_Zone"]]
            current = [r for r in rows["Inv_AeX_AC_InternetGatewayDetails"] if r[4] == 1]
            assert [r[2] for r in current] == [entry["gateway"]]
            last = datetime.datetime.strptime(current[0][5], STAMP).replace(tzinfo=datetime.timezone.utc)
            assert last > reconnect.parse_time(decided)
            assert (last - reconnect.parse_time(decided)).total_seconds() < 10
            assert sorted(r[2:5] for r in rows["Inv_AeX_AC_InternetGatewayDetails"]) == \
                sorted(r[2:5] for r in original[entry["guid"]]["Inv_AeX_AC_InternetGatewayDetails"])
            assert rows["Lab_CEM_Agent_Authentication"] == original[entry["guid"]]["Lab_CEM_Agent_Authentication"]
            assert rows["Lab_Resource_State"] == [(entry["guid"], 0, current[0][5])]
        rogue_rows = rows_of(conn, rogue["guid"])  # an approved rogue comes back too: a test sees the bug
        assert rogue_rows["vComputer"][0][1] == rogue["name"] and rogue_rows["vComputer"][0][5] == 1
        assert approved[0]["name"] == rogue["name"]  # the name twice in vComputer, with two GUIDs
        assert sorted(r[0] for r in conn.execute("SELECT Guid FROM vComputer WHERE Name = ?", (rogue["name"],))) == \
            sorted([rogue["guid"], approved[0]["guid"]])
        assert [r[2:5] for r in rogue_rows["Inv_AeX_AC_InternetGatewayDetails"]] == \
            [(rogue["gateway"], reconnect.PORTS[rogue["gateway"]], 1)]
        for entry in (blocked, pending):
            assert all(rows == [] for rows in rows_of(conn, entry["guid"]).values()), entry
        others = [e["guid"] for e in legitimate[3:]] + [r["guid"] for r in truth["rogues"] if r is not rogue]
        assert conn.execute("SELECT COUNT(*) FROM vComputer WHERE Guid IN (%s)" % ", ".join("?" * len(others)),
                            others).fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM vComputer").fetchone()[0] == COMPUTERS - truth["removed"] + 4
        assert conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone() == (5,)  # reconnecting writes none
    finally:
        conn.close()


def test_reconnection_without_a_decided_date_waits_from_the_change(rolled):
    directory, truth = rolled
    entry = truth["legitimate"][0]
    loop = reconnect.Reconnector(os.path.join(directory, "cmdb.sqlite"), interval=1, log=lambda text: None)
    conn = connect(directory)
    try:
        conn.execute("UPDATE Lab_CEM_Agent_Access SET Status = 1 WHERE Id = ?", (entry["access_id"],))
        at = reconnect.parse_time(conn.execute("SELECT At FROM Lab_Access_Writes").fetchone()[0])
        assert loop.run_once(at + datetime.timedelta(seconds=0.5)) == []
        assert loop.run_once(at + datetime.timedelta(seconds=1)) == [entry["guid"]]
        assert loop.run_once(at + datetime.timedelta(seconds=2)) == []  # once back, never again
    finally:
        conn.close()


def test_the_loop_says_once_what_it_cannot_use_and_creates_nothing(tmp_path):
    missing, old = str(tmp_path / "missing.sqlite"), str(tmp_path / "old.sqlite")
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE vComputer ([Guid] TEXT PRIMARY KEY)")
    conn.close()
    for path, error in ((missing, "unable to open database file"), (old, "no such table: Lab_CEM_Agent_Access")):
        said = []
        loop = reconnect.Reconnector(path, interval=1, poll=0.02, log=said.append).start()
        try:
            assert _wait(lambda: said, timeout=5)
            time.sleep(0.2)
        finally:
            loop.stop()
        assert said == ["cannot use %s: %s (trying again every 0.02 s)" % (path, error)]
    assert not os.path.exists(missing)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01T09:30:00Z", NOW), ("2026-12-01 09:30:00", NOW), ("2026-12-01T10:30:00+01:00", NOW),
    ("2026-12-01T09:30:00.250000+00:00", NOW + datetime.timedelta(milliseconds=250)), ("soon", None), (None, None),
])
def test_parse_time(text, expected):
    assert reconnect.parse_time(text) == expected


def test_registration_of_an_agent_the_lab_does_not_know():
    rows = reconnect.registration("0f0e0d0c-0b0a-4909-8807-060504030201", "CORP\\LT-000042", "ig-apac.cem.example.com",
                                  None, "2026-12-01 09:30:00")
    guid = "0f0e0d0c-0b0a-4909-8807-060504030201"
    assert rows == {"vComputer": [(guid, "LT-000042", None, None, None, 1)],
                    "Inv_AeX_AC_Network_Zone": [(guid, 1, 1, 1, 1, "TLS 1.2")],
                    "Inv_AeX_AC_InternetGatewayDetails": [(guid, "ig-apac.cem.example.com", 8443, 1, "2026-12-01 09:30:00")],
                    "Lab_CEM_Agent_Authentication": [(guid, cmdb.AUTH_VALUES["ephemeral"])],
                    "Lab_Resource_State": [(guid, 0, "2026-12-01 09:30:00")]}
    assert reconnect.short_name("lt-000042.corp.example.com") == "LT-000042"


# --------------------------------------------------------------------------- through itms-lab up

def test_up_with_a_policy_interval_then_rollback_and_reconnect(tmp_path):
    pytest.importorskip("cryptography")
    pytest.importorskip("spnego")
    pytest.importorskip("dns.resolver")
    yaml = pytest.importorskip("yaml")
    directory = str(tmp_path / "lab")
    done = itms_lab("up", "--dir", directory, "--cmdb-computers", "200", "--seed", "4", "--policy-interval", "1")
    try:
        assert done.returncode == 0, done.stderr
        lab = json.loads(read(os.path.join(directory, "lab.json")))
        assert lab["access"] == {"policy_interval_seconds": 1, "rollback": os.path.join(directory, "rollback.json")}
        inventory = yaml.safe_load(read(os.path.join(directory, "inventory.yml")))
        assert inventory["all"]["vars"]["itms_policy_interval_seconds"] == 1
        config = json.loads(read(os.path.join(directory, "gateway-config.json")))
        assert (config["cmdb"], config["policy_interval_seconds"]) == (os.path.join(directory, "cmdb.sqlite"), 1)

        done = itms_lab("rollback", "--dir", directory, "--keep", "0.5", "--rogues", "3", "--seed", "2")
        assert done.returncode == 0, done.stderr
        truth = json.loads(read(lab["access"]["rollback"]))
        assert truth["policy_interval_seconds"] == 1 and truth["removed"] > 10
        approved, blocked = truth["legitimate"][0], truth["legitimate"][1]
        conn = connect(directory)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            _approve(conn, [approved["access_id"]])
            _approve(conn, [blocked["access_id"]], status=2)
            assert _wait(lambda: rows_of(conn, approved["guid"])["vComputer"], timeout=15)
            time.sleep(1.5)
            assert rows_of(conn, blocked["guid"])["vComputer"] == []
        finally:
            conn.close()
        again = itms_lab("up", "--dir", directory, "--policy-interval", "3")  # the gateway runs: the flag is ignored
        assert again.returncode == 0 and "--policy-interval 1; --policy-interval 3 is ignored" in again.stderr
    finally:
        assert itms_lab("down", "--dir", directory).returncode == 0
