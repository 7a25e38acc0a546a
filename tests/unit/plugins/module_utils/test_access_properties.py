# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Properties of the agent_access decision core over random evidence and blocked lists (hypothesis).

Names and GUIDs come from small pools, written in the ways evidence and the access store write them (case,
NetBIOS prefix, DNS suffix, trailing dot, braces), so that matches, conflicts and duplicates happen often.
"""

import fnmatch
import json
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.itms.cem.plugins.module_utils import _access_decide as ad
from ansible_collections.itms.cem.plugins.module_utils import _evidence

GUIDS = ["0f3c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6", "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d",
         "2b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d9e", "3c4d5e6f-7a8b-4c3d-9e4f-5a6b7c8d9e0f",
         "4d5e6f7a-8b9c-4d4e-8f5a-6b7c8d9e0f1a"]
HOSTS = ["pc01", "pc02", "lt-0042", "lt-0043", "rogue-1", "laptop-x", ""]
SOURCES = ["a.json (pre-rollback report)", "b.csv (export)", "AD names (ad.txt)"]
PATTERNS = ["rogue-*", "lt-*", "pc0?", "*", "laptop-[xy]"]
SETTINGS = settings(max_examples=200, deadline=None, database=None)  # no example database in the tree

host = st.sampled_from(HOSTS)
written_name = st.builds(
    lambda h, upper, prefix, suffix, dot, pad: pad + (prefix if h else "") + (h.upper() if upper else h)
    + (suffix + dot if h else "") + pad,
    host, st.booleans(), st.sampled_from(["", "CORP\\"]), st.sampled_from(["", ".corp.example.com"]),
    st.sampled_from(["", "."]), st.sampled_from(["", " "]))
written_guid = st.one_of(st.none(), st.builds(
    lambda g, upper, braces: ("{%s}" if braces else "%s") % (g.upper() if upper else g),
    st.sampled_from(GUIDS), st.booleans(), st.booleans()))
entry = st.tuples(st.one_of(st.none(), written_name), written_guid, st.sampled_from(SOURCES))
agent_fields = st.tuples(written_name, written_guid)
deny_entry = st.one_of(st.sampled_from(GUIDS).map(str.upper), st.sampled_from([h for h in HOSTS if h]),
                       st.sampled_from(PATTERNS[:3]))
scenario = st.fixed_dictionaries(dict(
    entries=st.lists(entry, max_size=12),
    agents=st.lists(agent_fields, max_size=12),
    deny=st.lists(deny_entry, max_size=3),
    allow=st.lists(st.sampled_from(PATTERNS), max_size=2),
))


def build(entries, deny, allow):
    ev = ad.empty_evidence()
    for name, guid, source in entries:
        ad.add_evidence(ev, ad.normalize_name(name), ad.identity_guid(guid), source)
    for item in deny:
        ad.add_deny(ev, item)
    for pattern in allow:
        ad.add_allow(ev, pattern)
    return ev


def agents_of(fields):
    return [dict(id=i, agent_name=name, agent_guid=guid, reported_by="ig%d" % (i % 2), created="2026-11-02",
                 status="pending") for i, (name, guid) in enumerate(fields)]


def decided(s):
    agents = agents_of(s["agents"])
    plan = ad.decide(agents, build(s["entries"], s["deny"], s["allow"]))
    by_id = dict((d["id"], d) for d in plan)
    return agents, plan, by_id


def keys(agent):
    return ad.normalize_name(agent["agent_name"]), ad.normalize_guid(agent["agent_guid"])


def evidenced(s, name, guid):
    """Independent oracle: does any evidence entry or allow pattern speak for this agent?"""
    for e_name, e_guid, _source in s["entries"]:
        if guid and ad.normalize_guid(e_guid) == guid:
            return True
        if name and ad.normalize_name(e_name) == name:
            return True
    return bool(name) and any(fnmatch.fnmatchcase(name, p.lower()) for p in s["allow"])


def denied(s, name, guid):
    for item in s["deny"]:
        if ad.normalize_guid(item):
            if ad.normalize_guid(item) == guid:
                return True
        elif any(c in item for c in "*?["):
            if name and fnmatch.fnmatchcase(name, item.lower()):
                return True
        elif ad.normalize_name(item) == name and name:
            return True
    return False


@SETTINGS
@given(scenario)
def test_no_agent_without_evidence_is_ever_approved(s):
    agents, _plan, by_id = decided(s)
    for agent in agents:
        if not evidenced(s, *keys(agent)):
            decision = by_id[agent["id"]]
            assert decision["decision"] != "approve"
            if not denied(s, *keys(agent)) and decision["rule"] != "duplicate_name":
                assert (decision["decision"], decision["rule"]) == ("hold", "no_evidence")


@SETTINGS
@given(scenario)
def test_a_deny_list_hit_is_always_blocked_and_only_a_hit_is(s):
    agents, _plan, by_id = decided(s)
    for agent in agents:
        decision = by_id[agent["id"]]
        assert (decision["decision"] == "block") == denied(s, *keys(agent))
        if decision["decision"] == "block":
            assert decision["rule"] == "deny_list"


@SETTINGS
@given(scenario, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_input_order(s, rnd):
    _agents, plan, _by_id = decided(s)
    shuffled = dict(s)
    for key in ("entries", "agents", "deny", "allow"):
        items = list(s[key])
        rnd.shuffle(items)
        shuffled[key] = items
    # the agents keep their ids: shuffle (id, fields) pairs
    pairs = list(enumerate(s["agents"]))
    rnd.shuffle(pairs)
    agents = [dict(id=i, agent_name=n, agent_guid=g, reported_by="ig%d" % (i % 2), created="2026-11-02",
                   status="pending") for i, (n, g) in pairs]
    assert ad.decide(agents, build(shuffled["entries"], shuffled["deny"], shuffled["allow"])) == plan


@SETTINGS
@given(scenario)
def test_every_agent_gets_exactly_one_decision_with_a_reason(s):
    agents, plan, _by_id = decided(s)
    assert Counter(d["id"] for d in plan) == Counter(a["id"] for a in agents)
    for decision in plan:
        assert decision["decision"] in ad.DECISIONS and decision["rule"] in ad.RULES
        assert isinstance(decision["reason"], str) and decision["reason"].strip()
    assert sum(ad.plan_counts(plan).values()) == len(agents)


@SETTINGS
@given(scenario)
def test_a_name_evidenced_with_another_guid_is_never_approved(s):
    agents, _plan, by_id = decided(s)
    for agent in agents:
        name, guid = keys(agent)
        if not name or not guid:
            continue
        others = set(ad.normalize_guid(g) for n, g, _src in s["entries"]
                     if ad.normalize_name(n) == name and ad.identity_guid(g)) - {guid}
        if others:
            assert by_id[agent["id"]]["decision"] != "approve"


@SETTINGS
@given(st.lists(st.tuples(written_name, written_guid), min_size=1, max_size=15), st.randoms(use_true_random=False))
def test_evidence_from_a_file_does_not_depend_on_the_row_order(rows, rnd):
    def load(rows_):
        data = json.dumps([dict(host=n, id=g) for n, g in rows_]).encode()
        return _evidence.load(dict(exports=[dict(path="x.json", name_column="host", guid_column="id")]),
                              {"x.json": data}.__getitem__)

    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert load(shuffled) == load(rows)
