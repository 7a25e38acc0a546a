# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDR enrollment verdicts of causes 10-12 (Group Inclusion, non-default groups, the default location) and of
the EDR-side checks (System Health, inventory, version): every branch, on the healthy evidence of test_edr_rules."""
import pytest

from test_edr_rules import COMPUTERS, DEFAULT, LAPTOPS, SERVERS, STATIONS, computer, groups_of, healthy, one, pc

KIOSKS = "My Company\\Kiosks"


def with_kiosks(cloud=None, computers=3, inherits=False):
    """The healthy evidence plus a Kiosks group (not using EDR unless ``cloud`` is given) holding computers."""
    evidence = healthy()
    group = dict(groups_of(evidence)[SERVERS], full_path=KIOSKS, name="Kiosks", computers=computers, inherits=inherits,
                 location_private_cloud=cloud if cloud is not None else pc(enabled=False))
    group["private_cloud"] = group["location_private_cloud"]
    evidence["sepms"][0]["groups"].append(group)
    return evidence


# -- cause 10: group_inclusion -------------------------------------------------------------------
def test_a_group_with_computers_that_does_not_use_edr_fails():
    verdict = one("group_inclusion", with_kiosks())
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [KIOSKS]
    assert verdict["evidence"] == ["My Company\\Kiosks (3 computers) does not use EDR: private cloud disabled, type ATP, "
                                   "edr.example.com:443"]


@pytest.mark.parametrize("cloud", [pc(server_type="INSIGHT"), dict(pc(), servers=[]), dict(pc(), enabled="no")])
def test_insight_servers_no_server_or_a_disabled_private_cloud_do_not_use_edr(cloud):
    assert one("group_inclusion", with_kiosks(cloud))["verdict"] == "fail"


def test_an_empty_group_is_not_checked_and_a_missing_count_comes_from_the_computers():
    assert one("group_inclusion", with_kiosks(computers=0))["verdict"] == "pass"
    evidence = with_kiosks(computers=None)
    evidence["sepms"][0]["computers"].append(computer("KIOSK1", "my company\\\\KIOSKS"))
    verdict = one("group_inclusion", evidence)
    assert verdict["verdict"] == "fail" and verdict["evidence"][0].startswith("My Company\\Kiosks (1 computer) does not")


def test_included_explicitly_or_through_inheritance_passes():
    verdict = one("group_inclusion", group_inclusions=[DEFAULT, SERVERS, STATIONS])  # Laptops inherits Workstations
    assert verdict["verdict"] == "pass"
    assert verdict["summary"] == "All 4 groups with computers use EDR and are in Group Inclusion."


@pytest.mark.parametrize("inherited, expected, words", [
    (False, "fail", "My Company\\Workstations\\Laptops (2 computers) is not in Group Inclusion (My Company\\Default Group, "
                    "My Company\\Servers, My Company\\Workstations); it inherits from a listed group but \"Include "
                    "inherited sub-groups automatically\" is off"),
    (None, "needs_input", "My Company\\Workstations\\Laptops (2 computers) is included only through inheritance: give "
                          "console.include_inherited_subgroups")])
def test_inheritance_depends_on_the_option(inherited, expected, words):
    verdict = one("group_inclusion", group_inclusions=[DEFAULT, SERVERS, STATIONS], include_inherited_subgroups=inherited)
    assert verdict["verdict"] == expected and verdict["evidence"] == [words]


def test_a_non_inheriting_group_on_the_way_breaks_the_chain():
    verdict = one("group_inclusion", group_inclusions=["my company\\default group", "My Company"])
    assert verdict["verdict"] == "fail"
    assert verdict["affected_groups"] == [SERVERS, STATIONS, LAPTOPS]
    assert verdict["evidence"][0].endswith("it does not inherit from a listed group")


def test_group_inclusion_unknown_needs_input_and_unused_passes():
    verdict = one("group_inclusion", group_inclusions=None)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["confirm in EDR that Group Inclusion covers them: give console.group_inclusions ([] "
                                   "when not used)"]
    assert one("group_inclusion", group_inclusions=[])["verdict"] == "pass"


def test_a_group_whose_settings_were_not_read_needs_input():
    verdict = one("group_inclusion", with_kiosks(cloud=dict()))  # a dict without keys reads as a disabled cloud
    assert verdict["verdict"] == "fail"
    evidence = with_kiosks()
    evidence["sepms"][0]["groups"][-1].update(private_cloud=None, location_private_cloud=None)
    verdict = one("group_inclusion", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["the External Communication settings of My Company\\Kiosks (3 computers) were not read"]


def test_no_group_with_computers_needs_input():
    evidence = healthy()
    for group in evidence["sepms"][0]["groups"]:
        group["computers"] = 0
    assert one("group_inclusion", evidence)["evidence"] == ["SEPM sepm1.example.com:8446: 5 groups, none with computers"]


# -- cause 11: non_default_groups ----------------------------------------------------------------
def only_default_groups_use_edr():
    evidence = healthy()
    for path in (SERVERS, STATIONS):
        groups_of(evidence)[path].update(private_cloud=pc(enabled=False), location_private_cloud=pc(enabled=False))
    return evidence


def test_group_inclusion_in_use_passes_whatever_the_option():
    verdict = one("non_default_groups", only_default_groups_use_edr(), group_inclusions=[SERVERS],
                  apply_to_non_default_groups=False)
    assert verdict["verdict"] == "pass" and verdict["inferred"] is True
    assert verdict["summary"] == "Group Inclusion is used (1 groups listed): the option does not apply."


def test_option_off_fails_with_the_non_default_groups_with_computers():
    verdict = one("non_default_groups", apply_to_non_default_groups=False)
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [SERVERS, STATIONS, LAPTOPS]
    assert verdict["evidence"][0] == "My Company\\Servers (2 computers) gets no private cloud policy from EDR"
    verdict = one("non_default_groups", apply_to_non_default_groups="off", group_inclusions=None)
    assert verdict["verdict"] == "fail"
    assert verdict["evidence"][-1] == "if Group Inclusion is used, give console.group_inclusions"


def test_option_on_and_a_non_default_group_without_edr_fails():
    verdict = one("non_default_groups", with_kiosks())
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [KIOSKS]
    evidence = with_kiosks()
    evidence["sepms"][0]["groups"][-1].update(private_cloud=None, location_private_cloud=None)
    assert one("non_default_groups", evidence)["verdict"] == "needs_input"


def test_option_unknown_and_only_default_groups_using_edr_is_the_pattern_of_the_option_off():
    verdict = one("non_default_groups", only_default_groups_use_edr(), apply_to_non_default_groups=None)
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [SERVERS, STATIONS]
    assert verdict["summary"] == "Only the default groups use EDR: the pattern of the option being off."


def test_option_unknown_otherwise_needs_input():
    verdict = one("non_default_groups", apply_to_non_default_groups=None)
    assert verdict["verdict"] == "needs_input" and verdict["evidence"] == ["give console.apply_to_non_default_groups"]
    evidence = healthy()  # no group uses EDR: not the pattern of the option off
    for group in evidence["sepms"][0]["groups"]:
        group["private_cloud"] = group["location_private_cloud"] = pc(enabled=False)
    verdict = one("non_default_groups", evidence, apply_to_non_default_groups=None)
    assert verdict["verdict"] == "needs_input" and len(verdict["evidence"]) == 4  # 3 groups without EDR + the ask


def test_non_default_groups_need_the_primary_sepm_unless_the_option_is_off():
    evidence = healthy()
    evidence["sepms"][0]["error"] = "HTTP 500"
    assert one("non_default_groups", evidence)["verdict"] == "needs_input"
    verdict = one("non_default_groups", evidence, apply_to_non_default_groups=False)
    assert verdict["verdict"] == "fail" and verdict["evidence"][-1] == "SEPM sepm1.example.com:8446: HTTP 500"


# -- cause 12: default_location_local ------------------------------------------------------------
def test_a_default_location_with_its_own_private_cloud_fails():
    evidence = healthy()
    groups_of(evidence)[STATIONS]["location_private_cloud"] = pc(("10.0.0.7", 443))
    verdict = one("default_location_local", evidence)
    assert verdict["verdict"] == "fail" and verdict["inferred"] is True and verdict["affected_groups"] == [STATIONS]
    assert verdict["evidence"] == [
        "My Company\\Workstations: its default location Default has private cloud enabled, type ATP, 10.0.0.7:443 and no "
        "proxy; the group has private cloud enabled, type ATP, edr.example.com:443 and no proxy: set locally"]


def test_a_default_location_with_its_own_proxy_fails_and_an_unread_proxy_is_not_compared():
    evidence = healthy()
    groups_of(evidence)[SERVERS]["location_proxy"] = dict(mode="2", host="Proxy.example.com", port=3128)
    verdict = one("default_location_local", evidence)
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [SERVERS]
    assert "has private cloud enabled, type ATP, edr.example.com:443 and proxy Proxy.example.com:3128 (mode 2); the " \
           "group has private cloud enabled, type ATP, edr.example.com:443 and no proxy: set locally" in verdict["evidence"][0]
    groups_of(evidence)[SERVERS]["proxy"] = None
    assert one("default_location_local", evidence)["verdict"] == "pass"


def test_inheriting_groups_are_not_compared_and_no_pair_needs_input():
    evidence = healthy()
    groups_of(evidence)[LAPTOPS]["location_private_cloud"] = pc(enabled=False)
    assert one("default_location_local", evidence)["verdict"] == "pass"
    for group in evidence["sepms"][0]["groups"]:
        group["location_private_cloud"] = None
    verdict = one("default_location_local", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["no non-inheriting group of SEPM sepm1.example.com:8446 has both group and "
                                   "default-location settings"]


# -- edr_health ----------------------------------------------------------------------------------
def health(*events, **changes):
    evidence = healthy()
    evidence["edr"]["health_events"] = list(events)
    evidence["edr"].update(changes)
    return one("edr_health", evidence)


def test_health_errors_fail_newest_first_with_their_remediation():
    verdict = health(dict(time="2026-07-01T09:00:00Z", status_detail="Certificate_Error", message="TLS failed",
                          remediation="Import the SEPM certificate", sepm="sepm1"),
                     dict(time="2026-07-01T10:00:00Z", status_detail="connection_error", message="timed out"),
                     dict(time=None, status_detail="authentication_error", message=None),
                     dict(time="2026-07-01T11:00:00Z", status_detail="service_failure", message="restarted"))
    assert verdict["verdict"] == "fail"
    assert verdict["summary"] == ("3 System Health errors in the last 24 hours: certificate_error (1), "
                                  "connection_error (1), authentication_error (1).")
    assert verdict["evidence"] == [
        "2026-07-01T10:00:00Z connection_error: timed out",
        "2026-07-01T09:00:00Z certificate_error: TLS failed (SEPM sepm1); remediation: Import the SEPM certificate",
        "(no time) authentication_error: (no message)"]


def test_health_evidence_stops_at_twenty_events():
    events = [dict(time="2026-07-01T10:%02d:00Z" % n, status_detail="connection_error", message="m") for n in range(25)]
    verdict = health(*events)
    assert len(verdict["evidence"]) == 21 and verdict["evidence"][-1] == "... and 5 more"
    assert verdict["evidence"][0].startswith("2026-07-01T10:24:00Z")


def test_health_unread_needs_input():
    assert health(error="EDR refused the client credentials of abc")["evidence"] == [
        "EDR refused the client credentials of abc"]
    assert health(health_events=None)["verdict"] == "needs_input"


# -- edr_inventory -------------------------------------------------------------------------------
def inventory(endpoints, evidence=None):
    evidence = evidence or healthy()
    evidence["edr"]["endpoints"] = endpoints
    return one("edr_inventory", evidence)


def test_online_computers_unknown_to_edr_fail():
    verdict = inventory([dict(uid="dev-DC01", name="DC01")])
    assert verdict["verdict"] == "fail" and verdict["inferred"] is True
    assert verdict["affected_computers"] == ["LT01", "NEW01", "SQL01", "WS01", "WS02"]  # LT02 is offline
    assert verdict["affected_groups"] == [DEFAULT, SERVERS, STATIONS, LAPTOPS]
    assert verdict["evidence"][0] == ("SQL01 (My Company\\Servers, ATP device id dev-SQL01) is online in SEPM but not "
                                      "among the 1 EDR endpoints")


def test_computers_match_by_short_name_or_device_id():
    endpoints = [dict(uid=None, name="%s.corp.example.com" % c[0].lower()) for c in COMPUTERS[:4]]
    endpoints += [dict(uid="DEV-%s" % c[0], name="renamed") for c in COMPUTERS[4:]]
    assert inventory(endpoints)["verdict"] == "pass"


def test_inventory_unread_or_with_nothing_to_look_for_needs_input():
    assert inventory(None)["evidence"] == ["the evidence holds no edr.endpoints"]
    evidence = healthy()
    for item in evidence["sepms"][0]["computers"]:
        item["online"] = "false"
    verdict = inventory([], evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["SEPM sepm1.example.com:8446 lists 7 computers, none online in a group that uses EDR"]


# -- edr_version ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version, appliances, expected, summary", [
    ("3.1.0", [], "fail", "EDR 3.1.0 is ATP 3.x: update to EDR 4.0 or later."),
    ("4.0", [], "pass", "EDR 4.0 is 4.0 or later."),
    (None, ["4.9.0-123", "3.2.1-7", "bad"], "fail", "EDR 3.2.1-7 is ATP 3.x: update to EDR 4.0 or later."),
    (None, [], "needs_input", "The EDR version was not read."),
    ("unknown", [], "needs_input", "The EDR version unknown cannot be read.")])
def test_edr_version(version, appliances, expected, summary):
    evidence = healthy()
    evidence["edr"].update(version=version, appliances=[dict(id=n, version=v) for n, v in enumerate(appliances)])
    verdict = one("edr_version", evidence)
    assert (verdict["verdict"], verdict["summary"]) == (expected, summary)
    assert verdict["resolution"]["steps"] == [14]
