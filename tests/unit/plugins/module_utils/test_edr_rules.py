# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDR enrollment verdicts (module_utils/_edr_rules*.py): the healthy evidence, the shape, causes 1-9.

Causes 10-12 and the EDR-side checks are in test_edr_rules_groups.py; hostile evidence, the evidence cap,
``summarize`` and ``by_group`` in test_edr_rules_hostile.py. Both build on ``healthy()`` here.
"""
import copy

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _edr_rules as rules
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

EDR = "edr.example.com"
GOOD_SHA = "AB" * 32
PROXY_SHA = "CD" * 32
SERVERS, STATIONS, LAPTOPS = "My Company\\Servers", "My Company\\Workstations", "My Company\\Workstations\\Laptops"
DEFAULT = "My Company\\Default Group"
IDS = ["edr_certificate_name", "sepm_certificate_name", "policy_not_pushed", "tls_interception",
       "multiple_edr_appliances", "group_across_sepms", "fips_mode", "event_rate", "edr_certificate_san",
       "group_inclusion", "non_default_groups", "default_location_local", "edr_health", "edr_inventory", "edr_version"]
CONSOLE = dict(sepm_controller_name="sepm1.example.com", group_inclusions=[], include_inherited_subgroups=True,
               apply_to_non_default_groups=True, virtual_edition=False, sepm_count=2)


def cert(dns=(EDR,), ips=(), cn=EDR, sha=GOOD_SHA, issuer="CN=Example Issuing CA", **changes):
    value = dict(sha256=sha, subject_cn=cn, issuer=issuer, san_dns=list(dns), san_ip=list(ips),
                 not_before="2026-01-01T00:00:00Z", not_after="2027-01-01T00:00:00Z", expired=False, not_yet_valid=False,
                 self_signed=False, trusted=True)
    value.update(changes)
    return value


def pc(*servers, enabled=True, server_type="ATP"):
    return dict(enabled=enabled, server_type=server_type, servers=[
        dict(name="EDR", address=address, port=port, protocol="https", enabled=True,
             certificates=[dict(name="edr.crt", sha256=GOOD_SHA)]) for address, port in servers or [(EDR, 443)]])


def group(path, computers, inherits=False, cloud="default", proxy=None):
    cloud = pc() if cloud == "default" else cloud
    proxy = dict(mode=0, host=None, port=None) if proxy is None else proxy
    return dict(id=path.upper(), name=path.rsplit("\\", 1)[-1], full_path=path, inherits=inherits, computers=computers,
                policy_serial="SERIAL-%s" % path.rsplit("\\", 1)[-1], default_location_id="L1",
                default_location_name="Default", private_cloud=copy.deepcopy(cloud), proxy=copy.deepcopy(proxy),
                location_private_cloud=copy.deepcopy(cloud), location_proxy=copy.deepcopy(proxy))


def computer(name, path, online=True, serial=None):
    return dict(name=name, id=name.upper(), group_path=path, online=online,
                profile_serial=serial or "SERIAL-%s" % path.rsplit("\\", 1)[-1], atp_server=EDR,
                atp_device_id="dev-%s" % name, edr_status=1, last_update="2026-07-01T00:00:00Z", ip="10.0.0.9")


COMPUTERS = [("DC01", SERVERS), ("SQL01", SERVERS), ("WS01", STATIONS), ("WS02", STATIONS), ("LT01", LAPTOPS),
             ("LT02", LAPTOPS, False), ("NEW01", DEFAULT)]


def sepm(name):
    return dict(name="%s:8446" % name, error=None, version="14.3.25029.9000",
                groups=[group("My Company", 0), group(DEFAULT, 1), group(SERVERS, 2), group(STATIONS, 2),
                        group(LAPTOPS, 2, inherits=True)],
                computers=[computer(*c) for c in COMPUTERS],
                certificate=cert(dns=[name], cn=name, sha="EF" * 32), certificate_error=None)


def healthy():
    """Two SEPMs, five groups, seven computers (one offline), one EDR address with a good certificate."""
    paths = [DEFAULT, SERVERS, STATIONS, LAPTOPS, "My Company"]
    return dict(
        sepms=[sepm("sepm1.example.com"), sepm("sepm2.example.com")],
        edr=dict(url="https://%s" % EDR, error=None, version="4.9.0",
                 appliances=[dict(id="a1", name="edr1", version="4.9.0-123", role="manager")],
                 health_events=[dict(time="2026-07-01T10:00:00Z", status_detail="service_failure", message="restarted",
                                     remediation=None, sepm=None)], health_window_hours=24,
                 event_count=36000, event_window_seconds=3600,
                 endpoints=[dict(uid="dev-%s" % c[0], name=c[0], ip="10.0.0.9") for c in COMPUTERS]),
        probes=[dict(address=EDR, port=443, groups=paths, certificate=cert(), error=None,
                     pushed=[dict(name="edr.crt", sha256=GOOD_SHA, error=None)])])


def run(evidence=None, console=None, **changes):
    """{id: verdict} of an evaluation; ``changes`` override console keys."""
    board = dict(CONSOLE, **changes) if console is None else console
    return {v["id"]: v for v in rules.evaluate(healthy() if evidence is None else evidence, board)}


def one(cause, evidence=None, **changes):
    return run(evidence, **changes)[cause]


def groups_of(evidence, index=0):
    return {g["full_path"]: g for g in evidence["sepms"][index]["groups"]}


# -- the shape -----------------------------------------------------------------------------------
def test_causes_are_the_spec_ids_in_order_with_kb_numbers_and_steps():
    assert [c["id"] for c in rules.CAUSES] == IDS
    assert [c["kb_cause"] for c in rules.CAUSES] == list(range(1, 13)) + [None, None, None]
    steps = [[2, 3, 4, 7, 9], [5, 6, 8], [10, 11, 17], [12, 13], [1], [1], [16], [], [4], [1], [1], [18], [15], [15], [14]]
    assert [c["steps"] for c in rules.CAUSES] == steps
    for cause in rules.CAUSES:
        assert set(cause) == {"id", "kb_cause", "title", "steps", "resolution"}
        for step in cause["steps"]:
            assert "Step %d: %s" % (step, rules.KB_236805_STEPS[step]) in cause["resolution"]
    assert "400 events per second" in rules.CAUSES[7]["resolution"]
    assert sorted(rules.KB_236805_STEPS) == list(range(1, 20))


def test_healthy_evidence_passes_everything_but_fips():
    verdicts = rules.evaluate(healthy(), CONSOLE)
    assert [v["id"] for v in verdicts] == IDS
    assert {v["id"]: v["verdict"] for v in verdicts} == dict({i: "pass" for i in IDS}, fips_mode="not_checkable")
    for verdict, cause in zip(verdicts, rules.CAUSES):
        assert set(verdict) == {"id", "kb_cause", "title", "verdict", "summary", "evidence", "affected_groups",
                                "affected_computers", "resolution", "inferred"}
        assert verdict["resolution"] == dict(steps=cause["steps"], text=cause["resolution"])
        assert verdict["affected_groups"] == [] and verdict["affected_computers"] == []
        assert verdict["summary"] and "\n" not in verdict["summary"] and verdict["evidence"]
    assert rules.summarize(verdicts) == dict(first_fail=None, **{"pass": 14, "fail": 0, "needs_input": 0,
                                                                 "not_checkable": 1})
    assert rules.by_group(verdicts) == []


def test_inferred_marks_the_rules_resting_on_inferred_semantics():
    assert sorted(v["id"] for v in rules.evaluate(healthy(), CONSOLE) if v["inferred"]) == [
        "default_location_local", "edr_inventory", "event_rate", "non_default_groups", "policy_not_pushed"]


def test_only_evidence_that_is_not_a_dict_raises():
    for evidence in (None, [], "sepms", 3):
        with pytest.raises(InputError, match="evidence as a dict"):
            rules.evaluate(evidence, CONSOLE)
    with pytest.raises(InputError, match="max_event_rate"):
        rules.evaluate(healthy(), CONSOLE, max_event_rate="fast")
    with pytest.raises(InputError, match="max_event_rate"):
        rules.evaluate(healthy(), CONSOLE, max_event_rate=0)


# -- cause 1: edr_certificate_name ---------------------------------------------------------------
def with_probe(**changes):
    evidence = healthy()
    evidence["probes"][0].update(changes)
    return evidence


def test_edr_certificate_not_covering_the_ip_address_fails_and_names_the_fix():
    verdict = one("edr_certificate_name", with_probe(address="10.0.0.5"))
    assert verdict["verdict"] == "fail"
    assert verdict["affected_groups"] == ["My Company", DEFAULT, SERVERS, STATIONS, LAPTOPS]
    assert verdict["evidence"][0].startswith("10.0.0.5:443 presents a certificate that does not cover 10.0.0.5 (SAN DNS "
                                             "[edr.example.com], SAN IP [], subject CN edr.example.com); point the SEP "
                                             "Policies URL at edr.example.com (KB 171881)")
    assert verdict["summary"] == "1 of 1 EDR addresses present a certificate that does not match them or is not valid."


@pytest.mark.parametrize("address, dns, ips", [("10.0.0.5", [], ["10.0.0.5"]), ("EDR.Example.COM.", [EDR], []),
                                               ("edr.example.com", ["*.example.com"], []),
                                               ("https://edr.example.com:443/atp", [EDR], [])])
def test_edr_certificate_covers_ip_san_case_wildcard_and_url(address, dns, ips):
    verdict = one("edr_certificate_name", with_probe(address=address, certificate=cert(dns=dns, ips=ips)))
    assert verdict["verdict"] == "pass", verdict["evidence"]
    assert verdict["evidence"][0].endswith("valid until 2027-01-01T00:00:00Z")


@pytest.mark.parametrize("changes, words", [(dict(expired=True), "expired (not after 2027-01-01T00:00:00Z)"),
                                            (dict(not_yet_valid=True), "is not valid yet (not before 2026-01-01")])
def test_edr_certificate_out_of_its_validity_fails(changes, words):
    verdict = one("edr_certificate_name", with_probe(certificate=cert(**changes)))
    assert verdict["verdict"] == "fail" and words in verdict["evidence"][0]


@pytest.mark.parametrize("version, expected", [("4.5.2", "pass"), ("4.6.0", "fail"), (None, "fail")])
def test_common_name_counts_only_before_edr_4_6_without_san(version, expected):
    evidence = with_probe(certificate=cert(dns=[], cn=EDR))
    evidence["edr"]["version"] = version
    evidence["edr"]["appliances"] = []
    verdict = one("edr_certificate_name", evidence)
    assert verdict["verdict"] == expected
    if expected == "fail":
        assert "its Common Name edr.example.com counts only before EDR 4.6 (EDR version %s)" % (
            "4.6.0" if version else "unknown") in verdict["evidence"][0]
        assert "reissue it with a SAN for edr.example.com" in verdict["evidence"][0]


def test_edr_probe_error_needs_input_from_a_client():
    verdict = one("edr_certificate_name", with_probe(certificate=None, error="connection refused"))
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"][0].startswith("the controller cannot reach edr.example.com:443: connection refused; check "
                                             "from a SEP client (private-cloud server of ")
    assert verdict["affected_groups"] == ["My Company", DEFAULT, SERVERS, STATIONS, LAPTOPS]


def test_edr_probe_without_certificate_or_address_needs_input():
    assert one("edr_certificate_name", with_probe(certificate=None))["evidence"][0].startswith(
        "no certificate was recorded for edr.example.com:443")
    assert "has no address" in one("edr_certificate_name", with_probe(address=None))["evidence"][0]


def test_no_probe_needs_input():
    evidence = healthy()
    evidence["probes"] = []
    verdict = one("edr_certificate_name", evidence)
    assert verdict["verdict"] == "needs_input" and "no TLS probe" in verdict["evidence"][0]


def test_a_failing_probe_outweighs_an_unreachable_one_and_comes_first():
    evidence = with_probe()
    evidence["probes"].insert(0, dict(address="edr2.example.com", port="8443", groups=[SERVERS], certificate=None,
                                      error="timed out", pushed=[]))
    evidence["probes"][1]["address"] = "10.0.0.5"
    verdict = one("edr_certificate_name", evidence)
    assert verdict["verdict"] == "fail" and verdict["evidence"][0].startswith("10.0.0.5:443 presents")
    assert verdict["evidence"][1].startswith("the controller cannot reach edr2.example.com:8443: timed out")


# -- cause 2: sepm_certificate_name --------------------------------------------------------------
def test_sepm_controller_name_missing_needs_input_and_lists_the_certificate_names():
    verdict = one("sepm_certificate_name", sepm_controller_name=None)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == [
        "the certificate of SEPM sepm1.example.com:8446 holds SAN DNS [sepm1.example.com], SAN IP [], subject CN "
        "sepm1.example.com", "give console.sepm_controller_name: the SEPM Controller connection name in EDR Settings > "
        "Global > Endpoint Communication Channel"]


def test_sepm_certificate_missing_needs_input_with_its_error():
    evidence = healthy()
    evidence["sepms"][0].update(certificate=None, certificate_error="handshake timed out")
    verdict = one("sepm_certificate_name", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["the certificate of SEPM sepm1.example.com:8446 was not read: handshake timed out"]


def test_sepm_controller_name_not_in_the_certificate_fails():
    verdict = one("sepm_certificate_name", sepm_controller_name="10.0.0.2")
    assert verdict["verdict"] == "fail"
    assert verdict["evidence"][0] == ("the SEPM Controller connection name 10.0.0.2 is not covered by the certificate "
                                      "of SEPM sepm1.example.com:8446; rename the connection to a name the certificate "
                                      "holds, or reissue server.crt for 10.0.0.2")


def test_sepm_controller_name_written_as_a_url_matches():
    assert one("sepm_certificate_name", sepm_controller_name="https://SEPM1.example.com:8446/sepm")["verdict"] == "pass"


@pytest.mark.parametrize("version, expected", [("4.5", "pass"), ("4.7.1", "fail")])
def test_sepm_certificate_with_only_a_common_name(version, expected):
    evidence = healthy()
    evidence["sepms"][0]["certificate"] = cert(dns=[], cn="sepm1.example.com")
    evidence["edr"]["version"] = version
    assert one("sepm_certificate_name", evidence)["verdict"] == expected


def test_no_sepm_at_all_needs_input():
    evidence = healthy()
    evidence["sepms"] = []
    assert one("sepm_certificate_name", evidence)["evidence"] == ["the evidence holds no SEPM"]


# -- cause 3: policy_not_pushed ------------------------------------------------------------------
def test_online_computers_with_an_old_profile_serial_fail_offline_ones_are_only_listed():
    evidence = healthy()
    computers = evidence["sepms"][0]["computers"]
    computers[2]["profile_serial"] = "OLD"  # WS01, online
    computers[5]["profile_serial"] = "OLD"  # LT02, offline
    verdict = one("policy_not_pushed", evidence)
    assert verdict["verdict"] == "fail" and verdict["inferred"] is True
    assert verdict["affected_computers"] == ["WS01"] and verdict["affected_groups"] == [STATIONS]
    assert verdict["evidence"] == [
        "WS01 (My Company\\Workstations, online) has policy serial OLD; its group has SERIAL-Workstations",
        "LT02 (My Company\\Workstations\\Laptops, offline, listed only) has policy serial OLD; its group has "
        "SERIAL-Laptops"]


def test_only_offline_computers_lagging_pass():
    evidence = healthy()
    evidence["sepms"][0]["computers"][5]["profile_serial"] = "OLD"
    verdict = one("policy_not_pushed", evidence)
    assert verdict["verdict"] == "pass" and "LT02" in verdict["evidence"][1]


def test_a_lagging_computer_in_a_group_without_edr_is_not_this_cause():
    evidence = healthy()
    groups_of(evidence)[SERVERS]["location_private_cloud"]["enabled"] = False
    evidence["sepms"][0]["computers"][0]["profile_serial"] = "OLD"
    assert one("policy_not_pushed", evidence)["verdict"] == "pass"


def test_no_online_computer_in_edr_groups_needs_input():
    evidence = healthy()
    for item in evidence["sepms"][0]["computers"]:
        item["online"] = False
    verdict = one("policy_not_pushed", evidence)
    assert verdict["verdict"] == "needs_input" and verdict["evidence"][0] == "no online computer in a group that uses EDR"


def test_missing_serials_need_input():
    evidence = healthy()
    for item in evidence["sepms"][0]["groups"]:
        item["policy_serial"] = None
    verdict = one("policy_not_pushed", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"][0] == ("6 online computers in groups that use EDR, none with both its and its group's "
                                      "policy serial")


def test_an_unreadable_primary_sepm_needs_input():
    evidence = healthy()
    evidence["sepms"][0]["error"] = "HTTP 403"
    for cause in ("policy_not_pushed", "group_inclusion", "default_location_local", "edr_inventory"):
        verdict = one(cause, evidence)
        assert verdict["verdict"] == "needs_input"
        assert verdict["evidence"] == ["SEPM sepm1.example.com:8446: HTTP 403"], cause


# -- cause 4: tls_interception -------------------------------------------------------------------
def test_a_certificate_sepm_does_not_push_fails_and_names_the_proxy():
    evidence = with_probe(certificate=cert(sha=PROXY_SHA, issuer="CN=Corporate TLS Inspection"))
    for item in (groups_of(evidence)[SERVERS], groups_of(evidence)[STATIONS]):
        item["location_proxy"] = dict(mode=1, host="proxy.example.com", port="8080")
    verdict = one("tls_interception", evidence)
    assert verdict["verdict"] == "fail"
    assert verdict["evidence"][0] == (
        "edr.example.com:443 presents a certificate issued by CN=Corporate TLS Inspection (SHA-256 %s), but SEPM pushes "
        "edr.crt (SHA-256 %s) (private-cloud server of My Company\\Default Group, My Company\\Servers, "
        "My Company\\Workstations and 2 more); seen from the controller: run from a client's network to confirm" % (
            ":".join(["CD"] * 32), ":".join(["AB"] * 32)))
    assert verdict["evidence"][1:3] == [
        "group My Company\\Servers sends its traffic through the proxy proxy.example.com:8080 (mode 1)",
        "group My Company\\Workstations sends its traffic through the proxy proxy.example.com:8080 (mode 1)"]
    assert len(verdict["affected_groups"]) == 5


def test_fingerprints_compare_whatever_their_spelling():
    written = "sha256:" + ":".join(["ab"] * 32)
    assert one("tls_interception", with_probe(pushed=[dict(name="edr.crt", sha256=written)]))["verdict"] == "pass"


def test_nothing_pushed_needs_input_and_a_bad_pushed_certificate_is_named():
    verdict = one("tls_interception", with_probe(pushed=[dict(name="edr.crt", sha256=None, error="not a PEM")]))
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["SEPM pushes edr.crt for edr.example.com:443 but it cannot be read: not a PEM",
                                   "not compared: edr.example.com:443 (no pushed certificate)"]


def test_an_unreachable_probe_is_not_compared_but_the_others_are():
    evidence = with_probe()
    evidence["probes"].append(dict(address="edr2.example.com", port=443, groups=[SERVERS], certificate=None,
                                   error="refused", pushed=[dict(name="edr2", sha256=GOOD_SHA)]))
    verdict = one("tls_interception", evidence)
    assert verdict["verdict"] == "pass"
    assert verdict["evidence"][-1] == "not compared: edr2.example.com:443 (no presented certificate)"


# -- cause 5: multiple_edr_appliances ------------------------------------------------------------
def test_a_group_listing_two_edr_servers_fails_on_any_sepm():
    evidence = healthy()
    groups_of(evidence, 1)[SERVERS]["location_private_cloud"] = pc((EDR, 443), ("edr2.example.com", "443"))
    verdict = one("multiple_edr_appliances", evidence)
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [SERVERS]
    assert verdict["evidence"] == ["My Company\\Servers (SEPM sepm2.example.com:8446) lists 2 EDR servers: private cloud "
                                   "enabled, type ATP, edr.example.com:443, edr2.example.com:443"]


def test_the_same_server_twice_or_a_disabled_second_server_is_one_server():
    evidence = healthy()
    groups_of(evidence)[SERVERS]["location_private_cloud"] = pc((EDR, 443), ("EDR.example.com", "443"))
    twice = pc((EDR, 443), ("edr2.example.com", 443))
    twice["servers"][1]["enabled"] = False
    groups_of(evidence)[STATIONS]["location_private_cloud"] = twice
    verdict = one("multiple_edr_appliances", evidence)
    assert verdict["verdict"] == "pass"
    assert verdict["evidence"][0] == "5 groups of SEPM sepm1.example.com:8446 read, each with at most one enabled EDR server"


def test_no_readable_sepm_group_needs_input():
    evidence = healthy()
    for item in evidence["sepms"]:
        item["error"] = "timed out"
    verdict = one("multiple_edr_appliances", evidence)
    assert verdict["verdict"] == "needs_input" and len(verdict["evidence"]) == 2


# -- cause 6: group_across_sepms -----------------------------------------------------------------
def test_a_group_treated_differently_by_the_peer_fails():
    evidence = healthy()
    groups_of(evidence, 1)[SERVERS]["location_private_cloud"]["enabled"] = False
    verdict = one("group_across_sepms", evidence)
    assert verdict["verdict"] == "fail" and verdict["affected_groups"] == [SERVERS]
    assert verdict["evidence"] == [
        "My Company\\Servers differs: SEPM sepm1.example.com:8446: private cloud enabled, type ATP, edr.example.com:443; "
        "SEPM sepm2.example.com:8446: private cloud disabled, type ATP, edr.example.com:443"]


def test_paths_and_addresses_compare_case_insensitively_and_unknown_settings_are_skipped():
    evidence = healthy()
    groups_of(evidence, 1)[SERVERS]["full_path"] = "MY COMPANY\\servers"
    groups_of(evidence, 1)[STATIONS]["location_private_cloud"] = pc(("EDR.EXAMPLE.COM", 443), server_type="atp")
    groups_of(evidence, 1)[LAPTOPS].update(private_cloud=None, location_private_cloud=None)
    verdict = one("group_across_sepms", evidence)
    assert verdict["verdict"] == "pass" and verdict["summary"] == "4 groups are treated the same by 2 SEPMs."


@pytest.mark.parametrize("count, expected, words", [
    (1, "pass", "console.sepm_count is 1 and SEPM sepm1.example.com:8446 was read"),
    (None, "needs_input", "EDR has an unknown number of SEPM Controller connections: give the other SEPMs as sepm_peers, "
                          "or sepm_count: 1"),
    (2, "needs_input", "EDR has 2 SEPM Controller connections: give the other SEPMs as sepm_peers, or sepm_count: 1")])
def test_one_sepm_relies_on_the_sepm_count(count, expected, words):
    evidence = healthy()
    del evidence["sepms"][1]
    verdict = one("group_across_sepms", evidence, sepm_count=count)
    assert verdict["verdict"] == expected and verdict["evidence"] == [words]


def test_an_unreadable_peer_or_a_missing_third_sepm_needs_input():
    evidence = healthy()
    evidence["sepms"][1]["error"] = "401 twice"
    verdict = one("group_across_sepms", evidence)
    assert verdict["verdict"] == "needs_input"
    assert verdict["evidence"] == ["SEPM sepm2.example.com:8446 could not be read: 401 twice"]
    verdict = one("group_across_sepms", sepm_count="3")
    assert verdict["verdict"] == "needs_input" and verdict["summary"] == "EDR has 3 SEPM connections but 2 SEPMs were read."


# -- cause 7: fips_mode --------------------------------------------------------------------------
def test_fips_mode_is_never_checkable():
    for evidence in (healthy(), {}):
        verdict = one("fips_mode", evidence)
        assert verdict["verdict"] == "not_checkable" and verdict["resolution"]["steps"] == [16]
        assert "exposes FIPS mode" in verdict["summary"]


# -- cause 8: event_rate -------------------------------------------------------------------------
def rate_evidence(count, window=3600):
    evidence = healthy()
    evidence["edr"].update(event_count=count, event_window_seconds=window)
    return evidence


@pytest.mark.parametrize("virtual, expected", [(True, "fail"), (False, "pass"), (None, "needs_input")])
def test_above_the_rate_depends_on_the_edition(virtual, expected):
    verdict = one("event_rate", rate_evidence("1800000"), virtual_edition=virtual)
    assert verdict["verdict"] == expected and verdict["inferred"] is True
    assert verdict["evidence"][0] == ("1800000 events in 3600 s: 500.0 events per second on average (limit 400 for EDR "
                                      "Virtual Edition; an estimate, peaks are higher)")
    if virtual is None:
        assert verdict["evidence"][1] == "give console.virtual_edition (true for EDR Virtual Edition)"


def test_at_the_rate_passes_even_on_the_virtual_edition():
    assert one("event_rate", rate_evidence(1440000), virtual_edition=True)["verdict"] == "pass"


def test_the_rate_limit_is_a_parameter():
    verdicts = {v["id"]: v for v in rules.evaluate(healthy(), dict(CONSOLE, virtual_edition=True), max_event_rate=5)}
    assert verdicts["event_rate"]["verdict"] == "fail" and "more than 5." in verdicts["event_rate"]["summary"]


def test_no_event_count_or_window_needs_input():
    evidence = rate_evidence(None)
    evidence["edr"]["error"] = "EDR answered HTTP 503"
    assert one("event_rate", evidence)["evidence"] == ["EDR answered HTTP 503"]
    assert one("event_rate", rate_evidence(100, 0))["evidence"] == ["give edr.event_window_seconds"]


# -- cause 9: edr_certificate_san ----------------------------------------------------------------
@pytest.mark.parametrize("version, expected", [("4.9.0", "fail"), ("4.5.9", "pass"), (None, "needs_input")])
def test_a_certificate_without_san(version, expected):
    evidence = with_probe(certificate=cert(dns=[], cn="localhost"))
    evidence["edr"].update(version=version, appliances=[])
    verdict = one("edr_certificate_san", evidence)
    assert verdict["verdict"] == expected
    assert "edr.example.com:443 presents a certificate without a subjectAltName (CN localhost)" in verdict["evidence"][0]
    if expected == "pass":
        assert verdict["evidence"][0].endswith("accepted by EDR 4.5.9, but an upgrade to 4.6 needs a SAN")


def test_san_rule_needs_a_probe_with_a_certificate():
    assert one("edr_certificate_san", with_probe(certificate=None, error="refused"))["verdict"] == "needs_input"
    evidence = healthy()
    evidence["probes"] = None
    assert one("edr_certificate_san", evidence)["verdict"] == "needs_input"
