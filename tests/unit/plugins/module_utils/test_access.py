# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The access store through the profile: reading, the statements, the journal, apply and its resume, verification."""
import copy
import json
import os
import sqlite3
import time

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _access, _cmdb, _cmdb_args
from ansible_collections.itms.cem.plugins.module_utils._cmdb_write import MAX_PARAMETERS
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch, TransportError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile
from ansible_collections.itms.cem.plugins.modules import cmdb_schema_info

from test_cmdb_write import StoreConnection, mssql_client, statuses, store

NOW = "2026-11-02 12:00:00"
ACCESS = {"tables": {"agent_access": {"name": "Lab_CEM_Agent_Access", "columns": {
    "id": "Id", "agent_name": "AgentName", "agent_guid": "AgentGuid", "reported_by": "ReportedBy",
    "created": "CreatedDate", "status": "Status"}}},
    "values": {"agent_access_status": {"pending": 0, "approved": 1, "blocked": 2}},
    "access": {"write": {"kind": "update", "set_now": ["DecidedDate"]}}}
PROCEDURE = {"access": {"write": {"kind": "procedure", "procedure": "dbo.spSetCemAgentAccess",
                                  "parameters": {"id": "@AgentId", "status": "@Status"}}}}


def profile_with(*overrides):
    data = copy.deepcopy(ACCESS)
    for override in overrides:
        for key, value in override.items():
            data[key] = value
    return load_cmdb_profile(data)


@pytest.fixture
def profile(lab_profile_path):
    return load_cmdb_profile(lab_profile_path)


# Agents whose names hold every character LIKE or fnmatch treat specially.
AGENTS = [  # id, name, guid, reported by, hours before NOW, status
    (1, "PC[1]", "{6513270E-269E-4D37-B2A7-4DE452E6B438}", "ig-emea.cem.example.com", 1, 0),
    (2, "PC%2", None, "ig-emea.cem.example.com", 5, 0),
    (3, "PC_3", None, "IG-AMER.cem.example.com", 30, 2),
    (4, "PCX3", None, "ig-amer.cem.example.com", 2, 0),
    (5, "pc!4", None, "ig-apac.cem.example.com", 50, 0),
    (6, "Ünïcode-6", None, "ig-apac.cem.example.com", 3, 0),
    (7, "WKS-000007", "0b5f7e0e-1111-4d37-b2a7-4de452e6b438", "ig-emea.cem.example.com", 10, 1),
    (8, "CORP\\PC8", None, None, 12, 0),
]


@pytest.fixture
def agents_db(lab_db_copy):
    store(lab_db_copy, rows=0)
    conn = sqlite3.connect(lab_db_copy)
    base = _access.parse_time(NOW)
    conn.executemany("INSERT INTO Lab_CEM_Agent_Access VALUES (?, ?, ?, ?, ?, ?, NULL)",
                     [(i, n, g, r, (base - _hours(h)).strftime("%Y-%m-%d %H:%M:%S"), s) for i, n, g, r, h, s in AGENTS])
    conn.commit()
    conn.close()
    return lab_db_copy


def _hours(n):
    import datetime
    return datetime.timedelta(hours=n)


@pytest.fixture
def client(agents_db):
    c = _cmdb.CmdbClient("sqlite:///" + agents_db)
    yield c
    c.close()


def ids(agents):
    return [a["id"] for a in agents]


# -- the profile ------------------------------------------------------------------------------------
def test_the_builtin_profile_says_how_to_map_the_store(client):
    with pytest.raises(ProfileMismatch) as info:
        _access.read_agents(client, load_cmdb_profile())
    message = str(info.value)
    assert "does not map the access store (tables.agent_access)" in message
    assert "Cloud-enabled Agents Access Troubleshooting" in message and "Extended Events" in message
    assert info.value.details["missing"] == ["agent_access"]
    with pytest.raises(ProfileMismatch, match="access.write"):
        _access.statements(profile_with({"access": None}), "approve", [1])


def test_the_lab_profile_maps_the_store(profile):
    assert profile.table("agent_access") == "Lab_CEM_Agent_Access"
    assert profile.value("agent_access_status", "pending") == 0
    assert profile.access_write() == {"kind": "update", "set_now": ["DecidedDate"]}


@pytest.mark.parametrize("override,words", [
    ({"access": {"write": {"kind": "merge"}}}, "access.write.kind (from the cmdb_profile option) is 'merge'"),
    ({"access": {"write": "update"}}, "must be a mapping with a 'write' mapping"),
    ({"access": {"write": {"kind": "update", "set_now": "DecidedDate"}}}, "set_now (from the cmdb_profile option) must "
                                                                          "be a list"),
    ({"access": {"write": {"kind": "procedure", "parameters": {"id": "@A", "status": "@S"}}}},
     "must name the stored procedure"),
    ({"access": {"write": {"kind": "procedure", "procedure": "dbo.sp", "parameters": {"id": "@A"}}}},
     "must map id and status"),
    ({"access": {"write": {"kind": "procedure", "procedure": "dbo.sp", "parameters": {"id": "A", "status": "@S"}}}},
     "parameters.id (from the cmdb_profile option) is 'A'"),
    ({"access": {"write": {"kind": "procedure", "procedure": "dbo.sp", "parameters": {"id": "@a; DROP", "status": "@S"}}}},
     "a procedure parameter is @ followed by a plain name"),
    ({"access": {"write": {"kind": "procedure", "procedure": "dbo.sp", "parameters": {"id": "@S", "status": "@s"}}}},
     "the same parameter for id and status"),
    ({"access": {"write": {"kind": "procedure", "procedure": "p", "set_now": ["D"],
                           "parameters": {"id": "@I", "status": "@S"}}}}, "applies to kind update only"),
    ({"values": {"agent_access_status": {"pending": 0, "approved": 0}}}, "gives pending and approved the same"),
    ({"values": {"agent_access_status": {"pending": 0, "denied": 3}}}, "names denied; the states are"),
    ({"values": {"agent_access_status": {"pending": [0]}}}, "must be a number or a string"),
    ({"tables": {"agent_access": {"name": "A", "columns": {"id": "Id"}}}},
     "does not map the column(s) agent_name, reported_by, created, status"),
])
def test_bad_access_profiles(override, words):
    with pytest.raises(InputError) as info:
        profile_with(override)
    assert words in str(info.value)


# -- reading ----------------------------------------------------------------------------------------
def test_read_agents_returns_the_grid(client, profile):
    agents = _access.read_agents(client, profile, now=NOW)
    assert ids(agents) == [1, 2, 3, 4, 5, 6, 8]  # pending and blocked; 7 is approved
    assert agents[0] == dict(id=1, agent_name="PC[1]", agent_guid="6513270e-269e-4d37-b2a7-4de452e6b438",
                             reported_by="ig-emea.cem.example.com", created="2026-11-02 11:00:00", status="pending")
    assert agents[2]["status"] == "blocked" and agents[2]["agent_guid"] is None
    assert ids(_access.read_agents(client, profile, statuses=["approved"])) == [7]


def test_read_agents_by_gateway_is_case_insensitive(client, profile):
    assert ids(_access.read_agents(client, profile, gateway="IG-Amer.CEM.example.com")) == [3, 4]


@pytest.mark.parametrize("pattern,expected", [
    ("pc%*", [2]),            # % is a character, not a wildcard
    ("PC_*", [3]),            # _ is a character: PCX3 is not PC_...
    ("PC[[]*", [1]),          # fnmatch's [[] is a literal [
    ("pc?3", [3, 4]),
    ("PC!*", [5]),            # the LIKE escape character itself
    ("pcx3", [4]),            # no wildcard: the whole name, any case
    ("*3", [3, 4]),
    ("ünï*", [6]),            # beyond ASCII: filtered in Python, any case
    ("corp\\*", [8]),
    ("PC[!%]*", [1, 3, 4, 5]),  # fnmatch's negated set
    ("nothing*", []),
])
def test_read_agents_by_name_pattern(client, profile, pattern, expected):
    assert ids(_access.read_agents(client, profile, name_like=pattern)) == expected


@pytest.mark.parametrize("pattern,like", [
    ("a%b_c!d*", "a!%b!_c!!d%"),
    ("exact-name", "exact-name"),
    ("*anything", None),
    ("PC[[]1]", "PC%"),
    ("Ünï*", None),
])
def test_name_filter_binds_an_escaped_prefix(pattern, like):
    assert _access.name_filter(pattern)[0] == like


def test_read_agents_by_age(client, profile):
    assert ids(_access.read_agents(client, profile, older_than_hours=4, now=NOW)) == [2, 3, 5, 8]
    assert ids(_access.read_agents(client, profile, newer_than_hours=24, now=NOW)) == [1, 2, 4, 6, 8]
    assert ids(_access.read_agents(client, profile, older_than_hours=4, newer_than_hours=24, now=NOW)) == [2, 8]
    assert ids(_access.read_agents(client, profile, older_than_hours=0.5, newer_than_hours=1.5,
                                   now="2026-11-02T12:00:00Z")) == [1]


@pytest.mark.parametrize("kwargs,words", [
    (dict(statuses=["denied"]), "Unknown agent access status 'denied'"),
    (dict(older_than_hours=-1), "older_than_hours must be a number of hours (0 or more), not -1"),
    (dict(newer_than_hours="2"), "newer_than_hours must be a number of hours"),
    (dict(name_like=""), "must be a non-empty string"),
    (dict(now="yesterday"), "'yesterday' is not an ISO 8601 time"),
])
def test_read_agents_refuses_bad_filters(client, profile, kwargs, words):
    with pytest.raises(InputError) as info:
        _access.read_agents(client, profile, **kwargs)
    assert words in str(info.value)


def test_read_agents_on_sql_server_binds_every_value():
    conn = StoreConnection()
    conn.select_rows = [(9, "PC%9", None, "ig", "2026-11-02 10:00:00", 2)]
    client = mssql_client(conn)
    agents = _access.read_agents(client, profile_with(), gateway="IG", name_like="pc%9*", older_than_hours=1,
                                 newer_than_hours=48, now=NOW)
    assert agents == [dict(id=9, agent_name="PC%9", agent_guid=None, reported_by="ig", created="2026-11-02 10:00:00",
                           status="blocked")]
    sql, params = [e for e in conn.log if e[0] == "execute"][-1][1:]
    assert sql == ("SELECT a.[Id], a.[AgentName], a.[AgentGuid], a.[ReportedBy], a.[CreatedDate], a.[Status] "
                   "FROM [Lab_CEM_Agent_Access] a WHERE a.[Status] IN (%(s0)s, %(s1)s) AND LOWER(a.[ReportedBy]) = "
                   "%(gateway)s AND a.[AgentName] LIKE %(name)s ESCAPE '!' AND a.[CreatedDate] < %(created_before)s "
                   "AND a.[CreatedDate] >= %(created_after)s ORDER BY a.[Id]")
    assert params == dict(s0=0, s1=2, gateway="ig", name="pc!%9%", created_before="2026-11-02T11:00:00",
                          created_after="2026-10-31T12:00:00")  # ISO 8601: any DATEFORMAT reads it the same


def test_read_50000_agents_in_one_query(lab_db_copy, profile):
    store(lab_db_copy, rows=50000)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    client.schema()  # the schema read is not the point here
    started = time.monotonic()
    agents = _access.read_agents(client, profile, name_like="PC-*")
    elapsed = time.monotonic() - started
    assert len(agents) == 50000 and client.queries == 1
    assert elapsed < 1.0, elapsed
    client.close()


def test_counts():
    agents = [dict(reported_by="a", status="pending"), dict(reported_by="a", status="blocked"),
              dict(reported_by="b", status="pending"), dict(reported_by=None, status="pending")]
    assert _access.counts(agents) == dict(by_gateway={"a": {"pending": 1, "blocked": 1}, "b": {"pending": 1},
                                                      "(none)": {"pending": 1}},
                                          by_status={"pending": 3, "blocked": 1}, total=4)
    assert _access.counts([]) == dict(by_gateway={}, by_status={}, total=0)


# -- the statements -----------------------------------------------------------------------------------
def test_update_statements_are_chunked_under_the_parameter_limit(profile):
    out = _access.statements(profile, "block", list(range(4000)), now="2026-11-02 12:00:00")
    assert [len(params) for _sql, params in out] == [2000, 2000, 6]
    sql, params = out[2]
    assert sql == ("UPDATE [Lab_CEM_Agent_Access] SET [Status] = @status, [DecidedDate] = @decided_at WHERE [Id] IN "
                   "(@k0, @k1, @k2, @k3) AND [Status] <> @status")
    assert params == dict(status=2, decided_at="2026-11-02 12:00:00", k0=3996, k1=3997, k2=3998, k3=3999)
    assert sum(len(p) - 2 for _s, p in out) == 4000


def test_procedure_statements_call_it_once_per_agent():
    out = _access.statements(profile_with(PROCEDURE), "approve", [11, 12])
    assert out == [("EXEC [dbo].[spSetCemAgentAccess] @AgentId = @id, @Status = @status", {"id": 11, "status": 1}),
                   ("EXEC [dbo].[spSetCemAgentAccess] @AgentId = @id, @Status = @status", {"id": 12, "status": 1})]


def test_hold_is_never_written(profile):
    with pytest.raises(InputError, match="Only approve and block are written, not 'hold'"):
        _access.statements(profile, "hold", [1])


# -- the journal ----------------------------------------------------------------------------------------
def test_journal_lines_are_fsynced_and_a_torn_last_line_is_ignored(tmp_path, monkeypatch):
    path = str(tmp_path / "journal.jsonl")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(_access.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    journal = _access.Journal(path)
    journal.begin("run-1", {"approve": 3})
    journal.batch_started("approve-0001", "approve", [1, 2])
    journal.batch_committed("approve-0001", "approve", [1, 2], 2)
    journal.batch_started("approve-0002", "approve", [3])
    journal.close()
    assert len(synced) >= 4  # one per line (and the folder, once)
    with open(path, "ab") as handle:
        # killed mid-line, longer than the record written next
        handle.write(b'{"event": "batch_committed", "decision": "approve", "ids": [3' + b", 3" * 200)
    again = _access.Journal(path)
    assert again.done() == {("approve", 1), ("approve", 2)}
    assert again.in_doubt() == {("approve", 3)}
    again.batch_committed("approve-0002", "approve", [3], 1)
    again.close()
    lines = open(path).read().splitlines()
    assert [json.loads(line).get("run_id") for line in lines] == ["run-1"] * 4 + [None]  # no begin in the 2nd
    assert json.loads(lines[-1])["ids"] == [3]  # the torn line was cut off, not glued to
    assert _access.Journal(path).done() == {("approve", 1), ("approve", 2), ("approve", 3)}


def test_a_finished_run_leaves_nothing_to_resume(tmp_path):
    path = str(tmp_path / "journal.jsonl")
    with _access.Journal(path) as journal:
        journal.begin("run-1", {})
        journal.batch_committed("block-0001", "block", [5], 1)
        journal.finished({"applied": 1})
    assert _access.Journal(path).done() == set() and not _access.Journal(path).unfinished()


def test_a_damaged_journal_is_refused(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"event": "begin"}\nnot json\n{"event": "finished"}\n')
    with pytest.raises(InputError, match="is damaged at line 2"):
        _access.Journal(str(path)).done()


# -- apply on SQLite ------------------------------------------------------------------------------------
def plan_of(decisions):
    return [dict(id=i, decision=d, reason="test") for i, d in decisions]


def writes(path):
    return sqlite3.connect(path).execute("SELECT [AccessId], COUNT(*) FROM Test_Writes GROUP BY [AccessId]").fetchall()


def test_apply_approves_first_blocks_then_and_never_writes_hold(lab_db_copy, profile, tmp_path):
    store(lab_db_copy, rows=10)
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    plan = plan_of([(1, "block"), (2, "approve"), (3, "hold"), (4, "approve"), (5, "block"), (6, "approve")])
    journal = _access.Journal(str(tmp_path / "j.jsonl"))
    seen = []
    result = _access.apply(client, profile, plan, journal, 2, False, progress=seen.append)
    assert result == dict(applied=5, skipped_from_journal=0, confirmed_in_store=0, batches=3, rows=5, pending=0)
    assert [(p["key"], p["batches_done"], p["batches_total"]) for p in seen] == \
        [("approve-0001", 1, 3), ("approve-0002", 2, 3), ("block-0003", 3, 3)]
    assert sqlite3.connect(lab_db_copy).execute("SELECT [AccessId] FROM Test_Writes ORDER BY rowid").fetchall() == \
        [(2,), (4,), (6,), (1,), (5,)]
    assert statuses(lab_db_copy) == {1: 2, 2: 1, 3: 0, 4: 1, 5: 2, 6: 1, 7: 0, 8: 0, 9: 0, 10: 0}
    decided = sqlite3.connect(lab_db_copy).execute("SELECT [DecidedDate] FROM Lab_CEM_Agent_Access WHERE [Id] = 2")
    assert _access.parse_time(decided.fetchone()[0])  # set_now: 'YYYY-MM-DD HH:MM:SS', UTC
    events = [json.loads(line)["event"] for line in open(journal.path)]
    assert events == ["begin"] + ["batch_started", "batch_committed"] * 3 + ["finished"]
    journal.close()
    client.close()


def test_check_mode_writes_nothing(lab_db_copy, profile, tmp_path):
    store(lab_db_copy, rows=4)
    before = open(lab_db_copy, "rb").read()
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    journal = _access.Journal(str(tmp_path / "j.jsonl"))
    result = _access.apply(client, profile, plan_of([(1, "approve"), (2, "block")]), journal, 10, True)
    assert result == dict(applied=0, skipped_from_journal=0, confirmed_in_store=0, batches=0, rows=0, pending=2)
    client.close()
    assert open(lab_db_copy, "rb").read() == before and not os.path.exists(journal.path)


def test_interrupted_at_a_batch_then_resumed_applies_every_decision_once(lab_db_copy, profile, tmp_path):
    store(lab_db_copy, rows=25)
    plan = plan_of([(i, "approve") for i in range(1, 16)] + [(i, "block") for i in range(16, 26)])
    raw = sqlite3.connect(lab_db_copy)
    raw.execute("INSERT INTO Test_Fault VALUES (9)")  # the tenth change fails: in the third batch of four
    raw.commit()
    journal_path = str(tmp_path / "j.jsonl")
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    with pytest.raises(TransportError) as info:
        _access.apply(client, profile, plan, _access.Journal(journal_path), 4, False)
    assert "batch approve-0003 failed after 2 batch(es) were committed" in str(info.value)
    assert client.stats()["writes"] == 2 and client.stats()["rows_written"] == 8
    client.close()
    raw.execute("DELETE FROM Test_Fault")
    raw.commit()
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    result = _access.apply(client, profile, plan, _access.Journal(journal_path), 4, False)
    assert result == dict(applied=17, skipped_from_journal=8, confirmed_in_store=0, batches=5, rows=17, pending=0)
    assert client.stats()["writes"] == 5
    assert writes(lab_db_copy) == [(i, 1) for i in range(1, 26)]  # every decision written exactly once
    assert statuses(lab_db_copy) == dict([(i, 1) for i in range(1, 16)] + [(i, 2) for i in range(16, 26)])
    # The run finished, so a repeat starts afresh; the UPDATEs leave rows already decided alone.
    again = _access.apply(client, profile, plan, _access.Journal(journal_path), 4, False)
    assert again["rows"] == 0 and len(writes(lab_db_copy)) == 25
    client.close()


class KilledAfterCommit(Exception):
    pass


def test_killed_between_commit_and_journal_then_resumed(lab_db_copy, profile, tmp_path):
    store(lab_db_copy, rows=6)
    plan = plan_of([(i, "approve") for i in range(1, 7)])
    journal_path = str(tmp_path / "j.jsonl")
    journal = _access.Journal(journal_path)
    original = journal.batch_committed

    def killed(key, decision, ids, rows):
        if key == "approve-0002":
            raise KilledAfterCommit(key)  # the batch is committed in the CMDB, not in the journal
        original(key, decision, ids, rows)
    journal.batch_committed = killed
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    with pytest.raises(KilledAfterCommit):
        _access.apply(client, profile, plan, journal, 2, False)
    journal.close()
    assert _access.Journal(journal_path).in_doubt() == {("approve", 3), ("approve", 4)}
    result = _access.apply(client, profile, plan, _access.Journal(journal_path), 2, False)
    assert result == dict(applied=2, skipped_from_journal=2, confirmed_in_store=2, batches=1, rows=2, pending=0)
    assert writes(lab_db_copy) == [(i, 1) for i in range(1, 7)]
    client.close()


def test_batch_size_must_be_positive(client, profile):
    with pytest.raises(InputError, match="batch_size must be a whole number of 1 or more, not 0"):
        _access.apply(client, profile, [], None, 0, False)


# -- apply on SQL Server, through a procedure -------------------------------------------------------------
def procedure_client(conn):
    conn.procedures = {"dbo.spSetCemAgentAccess"}
    return mssql_client(conn)


def test_procedure_failure_at_a_statement_then_resume(tmp_path):
    profile = profile_with(PROCEDURE)
    plan = plan_of([(i, "approve") for i in range(1, 6)] + [(i, "block") for i in range(6, 9)])
    conn = StoreConnection(status=dict((i, 0) for i in range(1, 9)), fail_on_statement=4)
    journal_path = str(tmp_path / "j.jsonl")
    with pytest.raises(TransportError, match="batch approve-0002 failed after 1 batch"):
        _access.apply(procedure_client(conn), profile, plan, _access.Journal(journal_path), 2, False)
    assert conn.writes == {1: 1, 2: 1} and conn.log[-1] == ("rollback",)
    conn.fail_on_statement = None
    result = _access.apply(procedure_client(conn), profile, plan, _access.Journal(journal_path), 2, False)
    assert result["applied"] == 6 and result["skipped_from_journal"] == 2 and result["confirmed_in_store"] == 0
    assert conn.writes == dict((i, 1) for i in range(1, 9))
    assert conn.status == dict([(i, 1) for i in range(1, 6)] + [(i, 2) for i in range(6, 9)])
    sent = [e for e in conn.log if e[0] == "execute" and e[1].startswith("EXEC")]
    assert sent[0] == ("execute", "EXEC [dbo].[spSetCemAgentAccess] @AgentId = %(id)s, @Status = %(status)s",
                       {"id": 1, "status": 1})
    assert len(sent) == 8 + 2  # each agent once, and the two statements of batch 2 rolled back


def test_a_commit_lost_on_the_way_back_is_not_sent_twice(tmp_path):
    profile = profile_with(PROCEDURE)
    plan = plan_of([(i, "block") for i in range(1, 7)])
    conn = StoreConnection(status=dict((i, 0) for i in range(1, 7)), lose_commit=2)
    journal_path = str(tmp_path / "j.jsonl")
    with pytest.raises(TransportError, match="batch block-0002 failed after 1 batch"):
        _access.apply(procedure_client(conn), profile, plan, _access.Journal(journal_path), 2, False)
    assert conn.writes == {1: 1, 2: 1, 3: 1, 4: 1}  # SQL Server committed batch 2; the client never heard it
    result = _access.apply(procedure_client(conn), profile, plan, _access.Journal(journal_path), 2, False)
    assert result == dict(applied=2, skipped_from_journal=2, confirmed_in_store=2, batches=1, rows=0, pending=0)
    assert conn.writes == dict((i, 1) for i in range(1, 7))
    assert conn.statements == 6  # one EXEC per agent, across both runs
    reread = [e for e in conn.log if e[0] == "execute" and e[1].startswith("SELECT a.[Id], a.[Status]")]
    assert [e[2] for e in reread] == [{"k0": 3, "k1": 4}]


def test_a_missing_procedure_stops_before_any_write(tmp_path):
    conn = StoreConnection(status={1: 0})
    with pytest.raises(ProfileMismatch, match="has no stored procedure dbo.spSetCemAgentAccess"):
        _access.apply(mssql_client(conn), profile_with(PROCEDURE), plan_of([(1, "approve")]), None, 10, False)
    assert conn.statements == 0


# -- verification ----------------------------------------------------------------------------------------
def test_verify_reconnected(lab_db_copy, profile):
    raw = sqlite3.connect(lab_db_copy)
    online = raw.execute("SELECT z.[_ResourceGuid], MAX(g.[Last Success]) FROM Inv_AeX_AC_Network_Zone z "
                         "JOIN Inv_AeX_AC_InternetGatewayDetails g ON g.[_ResourceGuid] = z.[_ResourceGuid] "
                         "WHERE z.[IsOnInternet] = 1 GROUP BY z.[_ResourceGuid] ORDER BY 2 DESC LIMIT 2").fetchall()
    offline = raw.execute("SELECT [_ResourceGuid] FROM Inv_AeX_AC_Network_Zone WHERE [IsOnInternet] = 0 "
                          "LIMIT 1").fetchone()[0]
    (new_guid, newest), (old_guid, older) = online
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    missing = "00000000-0000-4000-8000-000000000000"
    found = _access.verify_reconnected(client, profile, ["{%s}" % new_guid.upper(), old_guid, offline, missing],
                                       newest.replace(" ", "T") + "Z")
    assert found[new_guid] == dict(on_internet=True, last_success=newest, reconnected=True)
    assert found[old_guid] == dict(on_internet=True, last_success=older, reconnected=older >= newest)
    assert found[offline]["on_internet"] is False and found[offline]["reconnected"] is False
    assert found[missing] == dict(on_internet=False, last_success=None, reconnected=False)
    client.close()


def test_verify_reconnected_chunks_the_guids(lab_db_copy, profile):
    client = _cmdb.CmdbClient("sqlite:///" + lab_db_copy)
    guids = ["%08x-0000-4000-8000-000000000000" % i for i in range(2 * MAX_PARAMETERS + 1)]
    found = _access.verify_reconnected(client, profile, guids, "2026-11-01 00:00:00")
    assert len(found) == len(guids) and client.queries == 6  # 3 chunks, two queries each
    with pytest.raises(InputError, match="'soon' is not an ISO 8601 time"):
        _access.verify_reconnected(client, profile, guids, "soon")
    client.close()


# -- cmdb_schema_info reports the access section ---------------------------------------------------------
@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: None)


def test_schema_info_checks_the_access_store(run_module, agents_db, lab_profile_path):
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="sqlite:///" + agents_db,
                                                            cmdb_profile=lab_profile_path))
    assert not failed and result["profile_ok"]
    assert result["access"] == dict(mapped=True, table="Lab_CEM_Agent_Access", write="update", set_now=["DecidedDate"],
                                    procedure=None, procedure_exists=None,
                                    statuses=dict(pending=0, approved=1, blocked=2))
    assert "Lab_CEM_Agent_Access.DecidedDate" in result["checked"]
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="sqlite:///" + agents_db))
    assert result["access"]["mapped"] is False and "Extended Events" in result["access"]["hint"]


def test_schema_info_refuses_a_procedure_on_sqlite(run_module, agents_db):
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="sqlite:///" + agents_db,
                                                            cmdb_profile=profile_with(PROCEDURE).data))
    assert failed and result["error_kind"] == "input"
    assert "an SQLite CMDB has no stored procedures" in result["msg"]


@pytest.mark.parametrize("procedures,ok", [({"dbo.spSetCemAgentAccess"}, True), (set(), False)])
def test_schema_info_finds_the_procedure_on_sql_server(run_module, monkeypatch, procedures, ok):
    conn = StoreConnection(procedures=procedures)
    monkeypatch.setattr(_cmdb_args, "connect", lambda params: mssql_client(conn))
    data = profile_with(PROCEDURE).data
    data["tables"] = {"agent_access": data["tables"]["agent_access"]}  # the other tables are not in this fake
    for logical in ("computer", "network_zone", "gateway"):
        data["tables"][logical] = None
    result, failed = run_module(cmdb_schema_info.main, dict(cmdb_url="mssql://svc@sql01/Symantec_CMDB",
                                                            cmdb_profile=data))
    assert not failed and result["profile_ok"] is ok
    assert result["access"]["procedure_exists"] is ok
    assert ("dbo.spSetCemAgentAccess (procedure)" in result["missing"]) is not ok
    [check] = [e for e in conn.log if e[0] == "execute" and "sys.objects" in e[1]]
    assert check[1:] == ("SELECT 1 AS [found] FROM sys.objects WHERE object_id = OBJECT_ID(%(name)s) "
                         "AND type IN ('P', 'PC')", {"name": "dbo.spSetCemAgentAccess"})
