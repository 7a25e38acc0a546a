# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Odd and hostile evidence never crashes the EDR verdicts; the evidence cap; ``summarize`` and ``by_group``.

The random part (hypothesis) replaces parts of the healthy evidence of test_edr_rules with junk of any JSON type.
"""
import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.itms.cem.plugins.module_utils import _edr_rules as rules
from test_edr_rules import CONSOLE, EDR, GOOD_SHA, IDS, SERVERS, STATIONS, computer, groups_of, healthy, one, pc, run

KIOSKS = "My Company\\Kiosks"
SETTINGS = settings(max_examples=300, deadline=None, database=None)  # no example database in the tree


def check_shape(verdicts):
    assert [v["id"] for v in verdicts] == IDS
    for verdict in verdicts:
        assert verdict["verdict"] in rules.VERDICTS
        assert isinstance(verdict["summary"], str) and "\n" not in verdict["summary"]
        assert len(verdict["evidence"]) <= rules.MAX_EVIDENCE + 1
        assert all(isinstance(line, str) and "\n" not in line for line in verdict["evidence"])
        assert verdict["affected_groups"] == sorted(set(verdict["affected_groups"]), key=str.casefold)
        assert verdict["affected_computers"] == sorted(set(verdict["affected_computers"]), key=str.casefold)
    assert sum(rules.summarize(verdicts)[k] for k in rules.VERDICTS) == len(IDS)
    rules.by_group(verdicts)


# -- missing and odd evidence --------------------------------------------------------------------
def test_empty_evidence_needs_input_everywhere_but_fips():
    verdicts = rules.evaluate({}, CONSOLE)
    check_shape(verdicts)
    assert {v["id"]: v["verdict"] for v in verdicts} == dict({i: "needs_input" for i in IDS}, fips_mode="not_checkable")


def test_console_missing_or_not_a_dict_is_not_given():
    for console in (None, "console", [], {"sepm_controller_name": ["a"]}):
        verdicts = {v["id"]: v for v in rules.evaluate(healthy(), console)}
        assert verdicts["sepm_certificate_name"]["verdict"] == "needs_input"
        assert verdicts["group_inclusion"]["verdict"] == "needs_input"
        assert verdicts["group_across_sepms"]["verdict"] == "pass"  # two SEPMs read, they agree


def test_sepms_as_one_dict_or_with_a_first_entry_that_is_not_a_dict():
    evidence = healthy()
    evidence["sepms"] = evidence["sepms"][0]
    assert run(evidence, sepm_count=1)["group_across_sepms"]["verdict"] == "pass"
    evidence = healthy()
    evidence["sepms"][0] = None
    verdict = one("group_inclusion", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["SEPM SEPM #1: its evidence is NoneType, not a dict"]


def test_strings_for_numbers_and_flags_odd_case_and_padding_read_as_meant():
    evidence = healthy()
    for sepm in evidence["sepms"]:
        for group in sepm["groups"]:
            group.update(full_path="  %s\\ " % group["full_path"].upper().replace("\\", "\\\\"), computers=str(
                group["computers"]), inherits=str(group["inherits"]).upper())
            cloud = group["location_private_cloud"]
            cloud.update(enabled="TRUE", server_type=" atp ")
            cloud["servers"][0].update(port="443", enabled=1)
    evidence["probes"][0].update(port=" 443 ", address="EDR.EXAMPLE.COM")
    evidence["edr"].update(event_count="36000", event_window_seconds="3600")
    verdicts = run(evidence, sepm_count="2", virtual_edition="no", include_inherited_subgroups="yes")
    assert {i: v["verdict"] for i, v in verdicts.items()} == dict({i: "pass" for i in IDS}, fips_mode="not_checkable")


def test_a_group_listed_twice_is_read_once_the_first_time():
    evidence = healthy()
    twin = copy.deepcopy(groups_of(evidence)[SERVERS])
    twin.update(full_path="my company\\servers", location_private_cloud=pc(enabled=False))
    evidence["sepms"][0]["groups"].append(twin)
    verdicts = run(evidence)
    assert verdicts["group_inclusion"]["verdict"] == "pass"
    assert verdicts["group_across_sepms"]["verdict"] == "pass"


def test_unicode_names_and_an_international_edr_name():
    evidence = healthy()
    address = "édr.example.com"
    evidence["probes"][0].update(address=address)
    evidence["probes"][0]["certificate"]["san_dns"] = [address.encode("idna").decode("ascii")]
    group = dict(groups_of(evidence)[SERVERS], full_path="My Company\\Büro", computers=1, policy_serial="SERIAL-büro")
    evidence["sepms"][0]["groups"].append(group)
    evidence["sepms"][0]["computers"].append(computer("Rechner-Ä", "MY COMPANY\\BÜRO"))
    evidence["edr"]["endpoints"].append(dict(uid=None, name="rechner-ä.corp.example.com"))
    verdicts = run(evidence)
    assert verdicts["edr_certificate_name"]["verdict"] == "pass", verdicts["edr_certificate_name"]["evidence"]
    assert verdicts["edr_inventory"]["verdict"] == "pass" and verdicts["policy_not_pushed"]["verdict"] == "pass"
    evidence["edr"]["endpoints"].pop()
    assert one("edr_inventory", evidence)["affected_computers"] == ["Rechner-Ä"]


def test_junk_inside_the_evidence_is_missing_data():
    evidence = healthy()
    sepm = evidence["sepms"][0]
    sepm["groups"] += [None, 5, "My Company\\Ghost", {}, dict(full_path="\\\\", name=None)]
    sepm["computers"] += [None, dict(name=None, id=None, group_path=None, online="maybe")]
    sepm["certificate"].update(san_dns=[None, 5, "", "sepm1.example.com"], san_ip=["not-an-ip", 7], sha256=12345)
    evidence["probes"] += [dict(port="abc"), None, dict(address=EDR, port=8443, pushed="not a list", groups="Servers",
                                                        certificate=dict(san_dns="edr.example.com", sha256=GOOD_SHA))]
    evidence["edr"].update(health_events="none", endpoints=dict(uid=1), event_count="NaN", version=["4.9"],
                           appliances=[None, dict(version=4.9)])
    verdicts = rules.evaluate(evidence, dict(CONSOLE, group_inclusions="My Company", sepm_count="two",
                                             virtual_edition="maybe", sepm_controller_name=7))
    check_shape(verdicts)
    found = {v["id"]: v for v in verdicts}
    assert found["edr_health"]["verdict"] == "needs_input" and found["edr_inventory"]["verdict"] == "needs_input"
    assert found["event_rate"]["verdict"] == "needs_input" and found["edr_version"]["summary"] == "EDR 4.9 is 4.0 or later."
    assert found["sepm_certificate_name"]["verdict"] == "fail"  # the name 7 is not in the certificate (7 in san_ip is junk)
    assert found["edr_certificate_name"]["verdict"] == "needs_input"  # the probe without an address


def test_huge_numbers_and_versions_do_not_overflow():
    evidence = healthy()
    evidence["edr"].update(event_count=10 ** 400, event_window_seconds=1e308, version="9" * 5000)
    verdicts = run(evidence)
    check_shape(list(verdicts.values()))
    assert verdicts["event_rate"]["verdict"] == "needs_input" and verdicts["edr_version"]["verdict"] == "pass"


# -- the evidence cap ----------------------------------------------------------------------------
def lagging(count):
    evidence = healthy()
    evidence["sepms"][0]["computers"] = [computer("PC%03d" % n, STATIONS, serial="OLD") for n in range(count)]
    return one("policy_not_pushed", evidence)


def test_evidence_stops_at_fifty_lines_and_says_how_many_more():
    verdict = lagging(60)
    assert len(verdict["evidence"]) == 51 and verdict["evidence"][-1] == "... and 10 more"
    assert verdict["evidence"][49].startswith("PC049 ") and len(verdict["affected_computers"]) == 60
    verdict = lagging(50)
    assert len(verdict["evidence"]) == 50 and verdict["evidence"][-1].startswith("PC049 ")


# -- summarize and by_group ----------------------------------------------------------------------
def troubled():
    """Kiosks (with computers) does not use EDR; a second EDR address cannot be reached; a third is mismatched."""
    evidence = healthy()
    kiosks = dict(groups_of(evidence)[SERVERS], full_path=KIOSKS, computers=4,
                  location_private_cloud=pc(enabled=False), private_cloud=pc(enabled=False))
    evidence["sepms"][0]["groups"].append(kiosks)
    evidence["probes"] += [dict(address="edr2.example.com", port=443, groups=[STATIONS, "my company\\servers"],
                                certificate=None, error="timed out", pushed=[]),
                           dict(address="10.0.0.5", port=443, groups=[SERVERS], error=None,
                                certificate=evidence["probes"][0]["certificate"], pushed=[])]
    return rules.evaluate(evidence, CONSOLE)


def test_summarize_counts_and_names_the_first_failure():
    verdicts = troubled()
    assert rules.summarize(verdicts) == {"pass": 10, "fail": 3, "needs_input": 1, "not_checkable": 1,
                                         "first_fail": "edr_certificate_name"}
    assert [v["id"] for v in verdicts if v["verdict"] == "fail"] == ["edr_certificate_name", "group_inclusion",
                                                                     "non_default_groups"]
    assert [v["id"] for v in verdicts if v["verdict"] == "needs_input"] == ["edr_certificate_san"]


def test_by_group_lists_each_group_once_by_path_with_ids_in_cause_order():
    assert rules.by_group(troubled()) == [
        dict(group=KIOSKS, fail=["group_inclusion", "non_default_groups"], needs_input=[]),
        dict(group=SERVERS, fail=["edr_certificate_name"], needs_input=["edr_certificate_san"]),  # one row for both cases
        dict(group=STATIONS, fail=[], needs_input=["edr_certificate_san"]),
    ]


def test_summarize_and_by_group_take_odd_lists():
    odd = [None, "x", dict(verdict="maybe", id="a"), dict(verdict="fail", id="b", affected_groups=None),
           dict(verdict="needs_input", id="c", affected_groups=["G", "g"]), dict(verdict="fail", id="d")]
    assert rules.summarize(odd) == {"pass": 0, "fail": 2, "needs_input": 1, "not_checkable": 0, "first_fail": "b"}
    assert rules.summarize(None) == {"pass": 0, "fail": 0, "needs_input": 0, "not_checkable": 0, "first_fail": None}
    assert rules.by_group(odd) == [dict(group="G", fail=[], needs_input=["c"])]
    assert rules.by_group(None) == []


# -- random junk ---------------------------------------------------------------------------------
def _paths(node, prefix=()):
    """Every path to a value in the healthy evidence, so that junk can land at any depth."""
    found = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found.extend(_paths(child, prefix + (key,)))
    return found


PATHS = _paths(healthy())
KEYS = sorted({p[-1] for p in PATHS if isinstance(p[-1], str)} | set(CONSOLE))
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.binary(max_size=4)
    | st.sampled_from(["", " ", "ATP", "true", "443", EDR, "My Company", "4.6", "sha256:" + GOOD_SHA, "\u00e9\u4e2d"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    max_leaves=10)


def _put(tree, path, value):
    node = tree
    for key in path[:-1]:
        if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    if isinstance(node, dict) or isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=5),
       st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=6) | JUNK)
def test_junk_anywhere_never_crashes(changes, console):
    evidence = healthy()
    for path, value in changes:
        _put(evidence, path, value)
    check_shape(rules.evaluate(evidence, console))
