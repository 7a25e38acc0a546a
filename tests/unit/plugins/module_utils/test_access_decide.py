# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decision core of agent_access: every rule with its reason, the edge cases, and a 50,000-agent run."""

import random

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _access_decide as ad
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

G1 = "0f3c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
G2 = "1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d"
G3 = "2b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d9e"
REPORT = "cem-report-2026-11-01.json (pre-rollback report)"
AD = "AD names (ad.txt)"


def agent(ident, name, guid=None, gateway="ig1.example.com"):
    return dict(id=ident, agent_name=name, agent_guid=guid, reported_by=gateway,
                created="2026-11-02T10:00:00Z", status="pending")


def evidence(entries=(), deny=(), allow=()):
    ev = ad.empty_evidence()
    for name, guid, source in entries:
        ad.add_evidence(ev, ad.normalize_name(name), ad.identity_guid(guid), source)
    for entry in deny:
        ad.add_deny(ev, entry)
    for pattern in allow:
        ad.add_allow(ev, pattern)
    return ev


def one(agent_, ev, others=()):
    """The decision for ``agent_`` (decided with ``others`` in the same blocked list)."""
    plan = ad.decide([agent_] + list(others), ev)
    return [d for d in plan if d["id"] == agent_["id"]][0]


def triple(decision):
    return decision["decision"], decision["rule"], decision["reason"]


# -- normalisation ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("PC01", "pc01"),
    ("  pc01\t", "pc01"),
    ("CORP\\PC01", "pc01"),
    ("pc01.corp.example.com", "pc01"),
    ("PC01.Corp.Example.COM.", "pc01"),
    ("  CORP\\LT-0042.corp.example.com.  ", "lt-0042"),
    ("pc01.", "pc01"),
    ("CORP\\", ""),
    ("", ""),
    ("   ", ""),
    (None, ""),
    ("10.0.0.5", "10.0.0.5"),
    ("CORP\\ PC01 ", "pc01"),
])
def test_normalize_name(raw, expected):
    assert ad.normalize_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (G1, G1),
    (G1.upper(), G1),
    ("{%s}" % G1.upper(), G1),
    ("  {%s}  " % G1, G1),
    ("{%s" % G1, None),
    (G1 + "}", None),
    (G1.replace("-", ""), None),
    (G1[:-1], None),
    (G1[:-1] + "g", None),
    ("", None),
    (None, None),
    ("not a guid", None),
])
def test_normalize_guid(raw, expected):
    assert ad.normalize_guid(raw) == expected


def test_nil_guid_is_a_guid_but_no_identity():
    assert ad.normalize_guid("{00000000-0000-0000-0000-000000000000}") == ad.NIL_GUID
    assert ad.identity_guid("{00000000-0000-0000-0000-000000000000}") is None
    assert ad.identity_guid(G1.upper()) == G1


@pytest.mark.parametrize("raw, expected", [("LT-*", "LT-*"), ("  CORP\\LT-* ", "LT-*"), ("pc0[1-3]", "pc0[1-3]")])
def test_normalize_pattern(raw, expected):
    assert ad.normalize_pattern(raw) == expected


def test_pattern_with_a_dot_can_never_match_and_is_refused():
    with pytest.raises(InputError) as err:
        ad.add_allow(ad.empty_evidence(), "*.corp.example.com")
    assert "contains a dot" in str(err.value) and "'*.corp.example.com'" in str(err.value)
    with pytest.raises(InputError, match="empty"):
        ad.add_allow(ad.empty_evidence(), "  ")
    with pytest.raises(InputError, match="deny-list pattern"):
        ad.add_deny(ad.empty_evidence(), "rogue*.evil.com")


def test_deny_entries_are_sorted_into_guids_names_and_patterns():
    ev = evidence(deny=["{%s}" % G1.upper(), "CORP\\Rogue-01.corp.example.com", "ROGUE-*", "x?y"])
    assert ev["deny_guids"] == {G1}
    assert ev["deny_names"] == {"rogue-01"}
    assert ev["deny_patterns"] == ["ROGUE-*", "x?y"]
    with pytest.raises(InputError, match="empty"):
        ad.add_deny(ev, "CORP\\")


def test_add_evidence_keeps_the_source_first_in_sort_order():
    ev = evidence([("pc01", G1, "b.json (export)"), ("PC01", G1, "a.json (export)"), ("pc01", G1, "c.csv (export)")])
    assert ev["guids"] == {G1: "a.json (export)"}
    assert ev["names"] == {"pc01": {G1: "a.json (export)"}}


# -- rule 1: deny list --------------------------------------------------------------------------
def test_deny_guid_blocks_even_with_a_guid_match():
    ev = evidence([("PC01", G1, REPORT)], deny=[G1.upper()])
    assert triple(one(agent(1, "PC01", G1), ev)) == ("block", "deny_list", "GUID %s is on the deny list" % G1)


def test_deny_name_blocks_and_says_how_the_name_was_compared():
    ev = evidence([("rogue-01", None, AD)], deny=["Rogue-01"])
    assert triple(one(agent(1, "CORP\\ROGUE-01", G2), ev)) == (
        "block", "deny_list", "name CORP\\ROGUE-01 (compared as rogue-01) is on the deny list")
    assert triple(one(agent(2, "ROGUE-01", G2), ev)) == ("block", "deny_list", "name ROGUE-01 is on the deny list")


def test_deny_pattern_blocks():
    ev = evidence(deny=["ROGUE-*"])
    assert triple(one(agent(1, "rogue-77", G2), ev)) == (
        "block", "deny_list", "deny-list pattern ROGUE-* matches name rogue-77")


def test_deny_guid_then_name_then_pattern_is_the_order_of_the_reason():
    ev = evidence(deny=[G1, "rogue-01", "rogue-*"])
    assert one(agent(1, "rogue-01", G1), ev)["reason"] == "GUID %s is on the deny list" % G1
    assert one(agent(1, "rogue-01", G2), ev)["reason"] == "name rogue-01 is on the deny list"
    assert one(agent(1, "rogue-02", G2), ev)["reason"] == "deny-list pattern rogue-* matches name rogue-02"


def test_deny_pattern_wins_over_allow_pattern_on_the_same_agent():
    ev = evidence(deny=["LT-9*"], allow=["LT-*"])
    assert triple(one(agent(1, "LT-9001", G2), ev)) == (
        "block", "deny_list", "deny-list pattern LT-9* matches name LT-9001")
    assert one(agent(2, "LT-1001", G3), ev)["decision"] == "approve"


def test_several_matching_patterns_cite_the_first_in_sort_order_whatever_their_order():
    for deny in (["r*", "R?GUE-*", "rogue-*"], ["rogue-*", "r*", "R?GUE-*"]):
        assert one(agent(1, "rogue-1", None), evidence(deny=deny))["reason"] == \
            "deny-list pattern r* matches name rogue-1"


# -- rule 2: one name twice in the blocked list -------------------------------------------------
def test_same_name_twice_holds_the_one_the_evidence_does_not_hold():
    # A rogue reusing a legitimate computer's name does not keep that computer out: its GUID decides.
    ev = evidence([("pc01", G1, REPORT)])
    plan = ad.decide([agent(1, "PC01", G1), agent(2, "pc01.corp.example.com", G2)], ev)
    expected = [(1, "approve", "guid_match"), (2, "hold", "duplicate_name")]
    assert [(d["id"], d["decision"], d["rule"]) for d in plan] == expected
    assert plan[0]["reason"] == ("GUID %s is in %s; the other blocked agent(s) presenting name PC01 with another GUID "
                                 "are held" % (G1, REPORT))
    assert plan[1]["reason"] == ("name pc01 is in the blocked list 2 times with different GUIDs (%s, %s): cannot tell "
                                 "which computer is legitimate" % (G1, G2))


def test_same_name_twice_without_evidence_for_either_guid_holds_both():
    plan = ad.decide([agent(1, "pc01", G1), agent(2, "pc01", G2)], evidence([("pc01", None, REPORT)]))
    assert [(d["decision"], d["rule"]) for d in plan] == [("hold", "duplicate_name")] * 2


def test_same_name_with_and_without_a_guid_is_a_duplicate():
    plan = ad.decide([agent(1, "pc01", G1), agent(2, "pc01", None)], evidence([("pc01", G1, REPORT)]))
    assert [(d["id"], d["rule"]) for d in plan] == [(1, "guid_match"), (2, "duplicate_name")]
    assert plan[1]["reason"].endswith("different GUIDs (no GUID, %s): cannot tell which computer is legitimate" % G1)


def test_same_agent_reported_by_two_gateways_is_not_a_duplicate():
    plan = ad.decide([agent(1, "pc01", G1, "ig1"), agent(2, "PC01", G1.upper(), "ig2")],
                     evidence([("pc01", G1, REPORT)]))
    assert [(d["id"], d["decision"], d["rule"], d["reported_by"]) for d in plan] == [
        (1, "approve", "guid_match", "ig1"), (2, "approve", "guid_match", "ig2")]


def test_deny_wins_over_duplicate_name():
    plan = ad.decide([agent(1, "pc01", G1), agent(2, "pc01", G2)], evidence(deny=[G2]))
    assert [(d["id"], d["rule"]) for d in plan] == [(2, "deny_list"), (1, "duplicate_name")]


def test_agents_without_names_are_never_duplicates_of_each_other():
    plan = ad.decide([agent(1, "", G1), agent(2, "  ", G2)], evidence([("pc01", G1, REPORT)]))
    assert [(d["id"], d["rule"]) for d in plan] == [(1, "guid_match"), (2, "no_evidence")]


# -- rule 3: GUID match -------------------------------------------------------------------------
def test_guid_match_approves_and_cites_the_report():
    ev = evidence([("PC01", "{%s}" % G1.upper(), REPORT)])
    assert triple(one(agent(1, "pc01.corp.example.com", G1), ev)) == (
        "approve", "guid_match", "GUID %s is in %s" % (G1, REPORT))


def test_guid_match_without_a_name_in_the_evidence():
    ev = evidence([(None, G1, "guids.csv (export)")])
    assert triple(one(agent(1, "PC01", G1), ev)) == ("approve", "guid_match", "GUID %s is in guids.csv (export)" % G1)


def test_guid_match_for_an_agent_that_reports_no_name():
    ev = evidence([("pc01", G1, REPORT)])
    assert triple(one(agent(1, "", G1), ev)) == (
        "approve", "guid_match", "GUID %s is in %s (the agent reports no name)" % (G1, REPORT))


def test_guid_named_otherwise_in_the_evidence_is_conflicting():
    ev = evidence([("pc99", G1, REPORT)])
    assert triple(one(agent(1, "PC01", G1), ev)) == (
        "hold", "conflicting_evidence",
        "GUID %s is in %s, but %s names it pc99, not pc01: conflicting evidence" % (G1, REPORT, REPORT))


def test_guid_named_twice_by_two_sources_is_conflicting_for_both_names():
    ev = evidence([("pc01", G1, REPORT), ("pc02", G1, "old.csv (export)")])
    assert one(agent(1, "pc01", G1), ev)["rule"] == "conflicting_evidence"
    assert one(agent(1, "pc02", G1), ev)["reason"] == (
        "GUID %s is in %s, but %s names it pc01, not pc02: conflicting evidence" % (G1, REPORT, REPORT))


def test_guid_match_but_name_evidenced_with_another_guid_is_conflicting():
    ev = evidence([(None, G1, "guids.csv (export)"), ("pc01", G2, REPORT)])
    assert triple(one(agent(1, "PC01", G1), ev)) == (
        "hold", "conflicting_evidence",
        "GUID %s is in guids.csv (export), but name PC01 is also evidenced with GUID %s in %s: conflicting evidence"
        % (G1, G2, REPORT))


# -- rule 4: name match -------------------------------------------------------------------------
def test_name_match_from_a_names_only_source():
    ev = evidence([("LT-0042", None, AD)])
    assert triple(one(agent(1, "LT-0042", G1), ev)) == (
        "approve", "name_match", "name LT-0042 matches AD names (ad.txt) and no other evidence contradicts it")


def test_name_match_with_netbios_and_fqdn_together_and_a_trailing_dot():
    ev = evidence([("lt-0042", None, AD)])
    assert triple(one(agent(1, "CORP\\LT-0042.corp.example.com.", G1), ev)) == (
        "approve", "name_match", "name CORP\\LT-0042.corp.example.com. (compared as lt-0042) matches AD names "
                                 "(ad.txt) and no other evidence contradicts it")


def test_name_evidenced_with_another_guid_is_a_guid_mismatch():
    ev = evidence([("pc01", G1, REPORT), ("pc01", None, AD)])
    assert triple(one(agent(1, "PC01", G2), ev)) == (
        "hold", "guid_mismatch", "name PC01 is in %s with GUID %s, but the agent has GUID %s: another computer may "
                                 "be reusing the name" % (REPORT, G1, G2))


def test_name_with_two_guids_in_the_evidence_is_ambiguous_for_an_agent_without_guid():
    ev = evidence([("pc01", G1, REPORT), ("pc01", G2, "old.csv (export)")])
    assert triple(one(agent(1, "pc01", None), ev)) == (
        "hold", "ambiguous_evidence", "name pc01 is evidenced with 2 different GUIDs (%s in %s, %s in old.csv "
                                      "(export)): ambiguous evidence" % (G1, REPORT, G2))


def test_name_twice_in_the_evidence_with_the_same_guid_is_not_ambiguous():
    ev = evidence([("pc01", G1, REPORT), ("PC01.corp.example.com", G1.upper(), "old.csv (export)")])
    assert ev["names"] == {"pc01": {G1: "cem-report-2026-11-01.json (pre-rollback report)"}}
    assert triple(one(agent(1, "pc01", None), ev)) == (
        "approve", "name_match", "name pc01 matches %s (GUID %s there; the agent has no GUID to compare) and no "
                                 "other evidence contradicts it" % (REPORT, G1))
    assert one(agent(2, "pc01", G1), ev)["rule"] == "guid_match"


def test_agent_without_guid_matched_by_a_names_only_source():
    assert triple(one(agent(1, "pc01", None), evidence([("pc01", None, AD)]))) == (
        "approve", "name_match", "name pc01 matches AD names (ad.txt) and no other evidence contradicts it")


def test_guid_mismatch_wins_over_an_allow_pattern():
    ev = evidence([("LT-0042", G1, REPORT)], allow=["LT-*"])
    assert one(agent(1, "LT-0042", G2), ev)["rule"] == "guid_mismatch"


# -- rules 5 and 6 ------------------------------------------------------------------------------
def test_allow_pattern_approves():
    ev = evidence(allow=["LT-*"])
    assert triple(one(agent(1, "CORP\\LT-7", G3), ev)) == (
        "approve", "allow_pattern",
        "allow pattern LT-* matches name CORP\\LT-7 (compared as lt-7) and no evidence contradicts it")


def test_allow_pattern_never_approves_an_agent_without_a_name():
    ev = evidence(allow=["*"])
    assert triple(one(agent(1, " ", G3), ev)) == (
        "hold", "no_evidence", "the agent reports no name and no evidence knows its GUID %s" % G3)
    assert triple(one(agent(2, None, None), ev)) == ("hold", "no_evidence", "the agent reports neither a name nor a GUID")


def test_no_evidence_holds():
    ev = evidence([("pc01", G1, REPORT)])
    assert triple(one(agent(1, "LAPTOP-X", G3), ev)) == (
        "hold", "no_evidence", "no evidence knows LAPTOP-X or its GUID %s" % G3)
    assert triple(one(agent(2, "LAPTOP-Y", None), ev)) == (
        "hold", "no_evidence", "no evidence knows LAPTOP-Y (the agent has no GUID)")


def test_no_evidence_at_all_holds_everything():
    plan = ad.decide([agent(1, "a", G1), agent(2, "b", None)], ad.empty_evidence())
    assert [(d["decision"], d["rule"]) for d in plan] == [("hold", "no_evidence")] * 2


def test_invalid_agent_guid_is_no_guid():
    plan = ad.decide([agent(1, "pc01", "garbage")], evidence([("pc01", None, AD)]))
    assert (plan[0]["agent_guid"], plan[0]["rule"]) == (None, "name_match")


# -- the plan -----------------------------------------------------------------------------------
def test_decision_fields_and_the_fixed_order():
    ev = evidence([("b", G1, REPORT), ("a", None, AD)], deny=["z*"])
    agents = [agent(5, "zed", None), agent(4, "c", None), agent(3, "B", G1.upper()), agent(2, "A", G2),
              agent("x", "zz", G3)]
    plan = ad.decide(agents, ev)
    assert [(d["id"], d["decision"]) for d in plan] == [
        (2, "approve"), (3, "approve"), (5, "block"), ("x", "block"), (4, "hold")]
    assert plan[1] == dict(id=3, agent_name="B", agent_guid=G1, reported_by="ig1.example.com",
                           created="2026-11-02T10:00:00Z", status="pending", decision="approve",
                           reason="GUID %s is in %s" % (G1, REPORT), rule="guid_match")
    assert ad.decide(list(reversed(agents)), ev) == plan
    assert ad.plan_counts(plan) == dict(approve=2, block=2, hold=1)
    assert ad.rule_counts(plan) == dict(guid_match=1, name_match=1, deny_list=2, no_evidence=1)


def test_plan_counts_of_nothing():
    assert ad.plan_counts([]) == dict(approve=0, block=0, hold=0)
    assert ad.decide([], ad.empty_evidence()) == []


def test_fifty_thousand_agents_against_one_hundred_thousand_evidence_rows():
    rng = random.Random(9)

    def guid(n):
        return "%08x-0000-4000-8000-%012x" % (n, n)

    ev = ad.empty_evidence()
    for n in range(100000):  # computers 0..99,999 in the pre-rollback report
        ad.add_evidence(ev, "pc%06d" % n, guid(n), REPORT)
    ad.add_deny(ev, "rogue-*")
    agents = [agent(n, "PC%06d.corp.example.com" % n, guid(n).upper()) for n in range(0, 100000, 4)]  # 25,000
    agents += [agent(200000 + n, "CORP\\pc%06d" % n, guid(300000 + n)) for n in range(1, 100000, 10)]  # 10,000
    agents += [agent(400000 + n, "rogue-%d" % n, guid(400000 + n)) for n in range(5000)]
    agents += [agent(500000 + n, "unknown-%d" % n, guid(500000 + n)) for n in range(10000)]
    rng.shuffle(agents)
    assert len(agents) == 50000
    plan = ad.decide(agents, ev)
    assert len(plan) == 50000
    assert ad.plan_counts(plan) == dict(approve=25000, block=5000, hold=20000)
    assert ad.rule_counts(plan) == dict(guid_match=25000, guid_mismatch=10000, deny_list=5000, no_evidence=10000)
    approved = set(d["id"] for d in plan if d["decision"] == "approve")
    assert approved == set(range(0, 100000, 4))
    assert plan[0]["id"] == 0 and plan[0]["agent_guid"] == guid(0)


@pytest.mark.parametrize("name, expected", [
    ("PC01", "pc01"), (" PC01", "pc01"), ("PC01\t", "pc01"), ("Pc 01", "pc 01"), ("CORP\\PC01", "pc01"),
    ("pc01.corp.example.com.", "pc01"), ("10.0.0.1", "10.0.0.1"), ("İSTANBUL-01", "İSTANBUL-01".lower()),
    ("", ""), (" ", ""),
])
def test_normalize_name_short_path_agrees_with_the_rule(name, expected):
    assert ad.normalize_name(name) == expected
