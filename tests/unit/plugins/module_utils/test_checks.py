# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decisions of the CEM checks (module_utils/_checks.py): every branch, exact outputs."""
import pytest

from ansible_collections.itms.cem.plugins.module_utils import _checks
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

KB = _checks.KB_440283
FIREWALL_UNKNOWN = "firewall ports (give firewall_ports, the inbound allow rules' local ports)"


def data(**changes):
    base = dict(gateway="ig.example.com", listener=dict(ip="0.0.0.0", port=8443),
                policy_gateways=[dict(host="ig.example.com", port=8443)], iis_https_bindings=[], firewall_ports=[8443])
    base.update(changes)
    return base


# --------------------------------------------------------------------------- port consistency

def test_kb_quote_is_exact():
    assert KB == ('KB 440283: the port must match in three places - "the Gateway Manager, the CEM Settings policy, '
                  'and the perimeter firewall" - and a mismatch "causes agents to fail gateway connection without '
                  'producing an error in the SMP console".')


def test_all_agree_without_iis():
    assert _checks.port_consistency(data()) == dict(
        ok=True, verdict="pass", ports=dict(listener=8443, policy=[8443], iis=[], firewall=[8443]), problems=[],
        unknown=[], message="gateway ig.example.com: port 8443 agrees in the Gateway Manager listener, "
                            "the CEM Settings policy and the firewall rule.")


def test_all_agree_with_iis_on_another_address():
    result = _checks.port_consistency(data(listener=dict(ip="10.0.0.6", port="8443"),
                                           iis_https_bindings=[dict(site="Default Web Site", ip="10.0.0.5", port=8443)]))
    assert result["verdict"] == "pass" and result["ok"] is True
    assert result["ports"] == dict(listener=8443, policy=[8443], iis=[8443], firewall=[8443])
    assert result["message"] == ("gateway ig.example.com: port 8443 agrees in the Gateway Manager listener, the CEM "
                                 "Settings policy, the IIS HTTPS binding and the firewall rule.")


def test_policy_host_matches_case_insensitively_and_without_trailing_dot():
    result = _checks.port_consistency(data(gateway="IG.Example.com.",
                                           policy_gateways=[dict(host="ig.example.COM", port="8443"),
                                                            dict(host="other.example.com", port=443)]))
    assert result["verdict"] == "pass" and result["ports"]["policy"] == [8443]


def test_policy_port_mismatch_quotes_kb():
    result = _checks.port_consistency(data(policy_gateways=[dict(host="ig.example.com", port=443)]))
    problem = "the CEM Settings policy gives ig.example.com port 443, the Gateway Manager listener port is 8443"
    assert result == dict(ok=False, verdict="fail", ports=dict(listener=8443, policy=[443], iis=[], firewall=[8443]),
                          problems=[problem], unknown=[],
                          message="gateway ig.example.com: %s. %s" % (problem, KB))


def test_policy_lists_the_gateway_twice_with_one_wrong_port():
    result = _checks.port_consistency(data(policy_gateways=[dict(host="ig.example.com", port=8443),
                                                            dict(host="ig.example.com", port=443)]))
    assert result["problems"] == ["the CEM Settings policy gives ig.example.com port 443, the Gateway Manager "
                                  "listener port is 8443"]
    assert result["ports"]["policy"] == [443, 8443]


def test_policy_does_not_list_the_gateway():
    result = _checks.port_consistency(data(policy_gateways=[dict(host="other.example.com", port=8443)]))
    assert result["verdict"] == "fail"
    assert result["problems"] == ["the CEM policy does not list gateway ig.example.com (it lists: other.example.com:8443)"]
    assert result["message"] == ("gateway ig.example.com: the CEM policy does not list gateway ig.example.com "
                                 "(it lists: other.example.com:8443).")  # not a port mismatch: no KB quote
    empty = _checks.port_consistency(data(policy_gateways=[]))
    assert empty["problems"] == ["the CEM policy does not list gateway ig.example.com (it lists: none)"]


def test_policy_entry_without_port_is_unknown():
    result = _checks.port_consistency(data(policy_gateways=[dict(host="ig.example.com", port=None)]))
    assert result["verdict"] == "needs_input" and result["ok"] is False
    assert result["unknown"] == ["the CEM policy's port for gateway ig.example.com"]
    assert result["message"] == ("gateway ig.example.com: not known: the CEM policy's port for gateway "
                                 "ig.example.com; port 8443 agrees in the Gateway Manager listener and the firewall "
                                 "rule.")


def test_policy_not_read_and_gateway_name_missing_are_unknown():
    result = _checks.port_consistency(data(policy_gateways=None))
    assert result["verdict"] == "needs_input"
    assert result["unknown"] == ["CEM policy gateways (give policy_gateways, read with itms.cem.cem_policy)"]
    assert result["ports"]["policy"] == []
    nameless = _checks.port_consistency(data(gateway=None))
    assert nameless["unknown"] == ["gateway name (give gateway, the name agents use)"]
    assert nameless["message"].startswith("gateway ?: not known: gateway name")


def test_iis_binding_on_another_port_fails_with_kb():
    bindings = [dict(site="Default Web Site", ip="*", port=443)]
    result = _checks.port_consistency(data(iis_https_bindings=bindings))
    problem = "no IIS HTTPS binding uses the listener port 8443 (bindings: Default Web Site *:443)"
    assert result["problems"] == [problem]
    assert result["message"] == "gateway ig.example.com: %s. %s" % (problem, KB)
    assert result["ports"]["iis"] == [443]


def test_iis_bindings_unknown():
    result = _checks.port_consistency(data(iis_https_bindings=None))
    assert result["verdict"] == "needs_input"
    assert result["unknown"] == ["IIS HTTPS bindings (give iis_https_bindings, [] when the gateway has none)"]


@pytest.mark.parametrize("iis_ip, listener_ip, shown_iis, shown_listener", [
    ("*", "10.0.0.6", "*", "10.0.0.6"),
    ("", "10.0.0.6", "*", "10.0.0.6"),
    (None, "10.0.0.6", "*", "10.0.0.6"),
    ("0.0.0.0", "10.0.0.6", "0.0.0.0", "10.0.0.6"),
    ("::", "10.0.0.6", "[::]", "10.0.0.6"),
    ("10.0.0.6", "0.0.0.0", "10.0.0.6", "0.0.0.0"),
    ("10.0.0.6", "*", "10.0.0.6", "*"),
    ("10.0.0.6", "10.0.0.6", "10.0.0.6", "10.0.0.6"),
    ("2001:db8::1", "[2001:db8:0::1]", "[2001:db8::1]", "[2001:db8:0::1]"),
])
def test_iis_binding_and_listener_on_the_same_ip_and_port(iis_ip, listener_ip, shown_iis, shown_listener):
    result = _checks.port_consistency(data(listener=dict(ip=listener_ip, port=8443),
                                           iis_https_bindings=[dict(site="Default Web Site", ip=iis_ip, port=8443)]))
    problem = ("the IIS HTTPS binding of site Default Web Site (%s:8443) and the gateway listener (%s:8443) share IP "
               "and port: they cannot both listen" % (shown_iis, shown_listener))
    assert result["problems"] == [problem]
    assert result["message"] == "gateway ig.example.com: %s." % problem  # the ports agree: no KB quote
    assert result["verdict"] == "fail"


def test_iis_binding_on_another_ip_or_port_does_not_conflict():
    bindings = [dict(site="Default Web Site", ip="10.0.0.5", port=8443), dict(site="Admin", ip="*", port=443)]
    result = _checks.port_consistency(data(listener=dict(ip="10.0.0.6", port=8443), iis_https_bindings=bindings))
    assert result["verdict"] == "pass" and result["ports"]["iis"] == [443, 8443]


def test_firewall_does_not_allow_the_port():
    result = _checks.port_consistency(data(firewall_ports=[443, "4726"]))
    problem = "no inbound firewall rule allows the listener port 8443 (allowed: 443, 4726)"
    assert result["problems"] == [problem]
    assert result["message"] == "gateway ig.example.com: %s. %s" % (problem, KB)
    empty = _checks.port_consistency(data(firewall_ports=[]))
    assert empty["problems"] == ["no inbound firewall rule allows the listener port 8443 (allowed: none)"]


@pytest.mark.parametrize("ports, shown", [
    (["8000-8999"], ["8000-8999"]),
    (["443,8443"], [443, 8443]),
    (["any"], ["any"]),
    (["*"], ["any"]),
    (8443, [8443]),
    ([" 8443 ", ""], [8443]),
])
def test_firewall_forms(ports, shown):
    result = _checks.port_consistency(data(firewall_ports=ports))
    assert result["verdict"] == "pass" and result["ports"]["firewall"] == shown


def test_firewall_unknown_is_needs_input():
    result = _checks.port_consistency(data(firewall_ports=None))
    assert result == dict(ok=False, verdict="needs_input",
                          ports=dict(listener=8443, policy=[8443], iis=[], firewall="unknown"), problems=[],
                          unknown=[FIREWALL_UNKNOWN],
                          message="gateway ig.example.com: not known: %s; port 8443 agrees in the Gateway Manager "
                                  "listener and the CEM Settings policy." % FIREWALL_UNKNOWN)


def test_a_failure_wins_over_an_unknown():
    result = _checks.port_consistency(data(firewall_ports=None, policy_gateways=[dict(host="ig.example.com", port=1)]))
    assert result["verdict"] == "fail" and result["unknown"] == [FIREWALL_UNKNOWN]
    assert result["ports"]["firewall"] == "unknown"


def test_listener_port_unknown():
    result = _checks.port_consistency(data(listener=dict(ip="0.0.0.0", port=None)))
    assert result["verdict"] == "needs_input"
    assert result["ports"]["listener"] == "unknown"
    assert result["message"] == ("gateway ig.example.com: not known: listener port (the Gateway Manager listener; "
                                 "give listener.port).")
    missing = _checks.port_consistency(data(listener=None))
    assert missing["verdict"] == "needs_input" and missing["ports"]["listener"] == "unknown"
    # an unlisted gateway still fails without a listener port
    assert _checks.port_consistency(data(listener={}, policy_gateways=[]))["verdict"] == "fail"


@pytest.mark.parametrize("changes, message", [
    (dict(listener=dict(port="abc")), "listener port is 'abc', not a port number."),
    (dict(listener=dict(port=70000)), "listener port is 70000, outside 1-65535."),
    (dict(listener=dict(port=True)), "listener port is True, not a port number."),
    (dict(listener="8443"), "listener must be a dict with ip and port, not str."),
    (dict(firewall_ports=["9000-8000"]), "firewall port range '9000-8000' is not LOW-HIGH."),
    (dict(firewall_ports=["x"]), "firewall port is 'x', not a port number."),
])
def test_port_consistency_bad_input(changes, message):
    with pytest.raises(InputError) as info:
        _checks.port_consistency(data(**changes))
    assert str(info.value) == message


def test_port_consistency_needs_a_dict():
    with pytest.raises(InputError, match="needs a dict"):
        _checks.port_consistency([1])


# --------------------------------------------------------------------------- versions

def test_versions_every_branch_in_order():
    result = _checks.version_check({"NS": "8.8.1", "gateway": "8.8", "newer": "8.10", "old": "8.7.3", "build": "8.8.1280.0",
                                    "ru": "8.8 RU1", "none": None, "empty": " ", "number": 8.8, "text": "eight"})
    assert [(r["component"], r["version"], r["verdict"]) for r in result] == [
        ("NS", "8.8.1", "pass"), ("gateway", "8.8", "fail"), ("newer", "8.10", "pass"), ("old", "8.7.3", "fail"),
        ("build", "8.8.1280.0", "needs_input"), ("ru", "8.8 RU1", "needs_input"), ("none", None, "needs_input"),
        ("empty", None, "needs_input"), ("number", "8.8", "needs_input"), ("text", "eight", "needs_input")]
    messages = dict((r["component"], r["message"]) for r in result)
    assert messages["NS"] == "NS: 8.8.1 is 8.8.1 or later"
    assert messages["gateway"] == "gateway: 8.8 is older than 8.8.1; upgrade it to 8.8.1 or later"
    assert messages["build"] == ("build: 8.8.1280.0 is a build number; how build numbers map to releases is not "
                                 "publicly documented, so it cannot be compared with 8.8.1: give the release version "
                                 "(for example 8.8.1)")
    assert messages["ru"] == ("ru: 8.8 RU1 names a release update; how release updates map to release versions is not "
                              "publicly documented, so it cannot be compared with 8.8.1: give the release version "
                              "(for example 8.8.1)")
    assert messages["none"] == "none: give the version (at least 8.8.1 is needed)"
    assert messages["empty"] == "empty: give the version (at least 8.8.1 is needed)"
    assert messages["number"] == ("number: version 8.8 was given as a number; give it as a quoted string, because a "
                                  "YAML number loses trailing zeros (8.10 reads as 8.1)")
    assert messages["text"] == ("text: 'eight' is not a release version MAJOR.MINOR[.UPDATE]; give the release "
                                "version (for example 8.8.1)")


def test_versions_other_minimum():
    assert [r["verdict"] for r in _checks.version_check({"a": "8.7", "b": "8.6.9", "c": "9"}, "8.7")] == [
        "pass", "fail", "needs_input"]
    assert _checks.version_check({}) == []


@pytest.mark.parametrize("minimum", ["8.8.1.0", "8.8 RU1", "", None, 8.8])
def test_versions_bad_minimum(minimum):
    with pytest.raises(InputError, match="is not a release version"):
        _checks.version_check({"NS": "8.8.1"}, minimum)


def test_versions_need_a_dict():
    with pytest.raises(InputError, match="needs a dict"):
        _checks.version_check(["8.8.1"])


# --------------------------------------------------------------------------- log search

REGISTERED = "Internet Gateway successfully registered with Notification Server"


def event(date, text=REGISTERED, quote="'"):
    return ("<event date=%s%s%s severity='4' hostName='IG01' source='InternetGateway' module='ig.exe' process='ig.exe' "
            "pid='1' thread='1' tickCount='1' ><![CDATA[%s]]></event>" % (quote, date, quote, text))


def test_log_search_last_match_in_text():
    text = "\r\n".join([event("11/29/2026 21:00:00.000 +00:00"), event("11/29/2026 21:10:00.000 +00:00", "other"),
                        event("11/29/2026 21:54:22.123 +00:00"), "trailing"])
    assert _checks.log_search(text, REGISTERED) == dict(
        found=True, line=event("11/29/2026 21:54:22.123 +00:00"), line_number=3, time="2026-11-29T21:54:22.123Z",
        count=2)


def test_log_search_list_and_bytes_and_none():
    lines = ["a", None, 42, "Switching to Internet Gateway mode\n"]
    assert _checks.log_search(lines, "Switching to Internet Gateway mode") == dict(
        found=True, line="Switching to Internet Gateway mode", line_number=4, time=None, count=1)
    assert _checks.log_search(b"x\n2026-11-29 21:54:22 ok\n", "ok$")["time"] == "2026-11-29T21:54:22"
    assert _checks.log_search(None, "x") == dict(found=False, line=None, line_number=None, time=None, count=0)
    assert _checks.log_search("nothing here", REGISTERED) == dict(found=False, line=None, line_number=None,
                                                                  time=None, count=0)


@pytest.mark.parametrize("args, message", [
    (("text", ""), "cem_log_search needs a non-empty pattern (a regular expression)."),
    (("text", None), "cem_log_search needs a non-empty pattern (a regular expression)."),
    ((5, "x"), "cem_log_search needs a string or a list of lines, not int."),
])
def test_log_search_bad_input(args, message):
    with pytest.raises(InputError) as info:
        _checks.log_search(*args)
    assert str(info.value) == message


def test_log_search_bad_regex():
    with pytest.raises(InputError, match=r"the pattern '\(' is not a valid regular expression"):
        _checks.log_search("x", "(")


@pytest.mark.parametrize("line, expected", [
    (event("11/29/2026 21:54:22.123 +00:00"), "2026-11-29T21:54:22.123Z"),
    (event("11/29/2026 21:54:22.123 -05:00", quote='"'), "2026-11-30T02:54:22.123Z"),
    (event("11/29/2026 21:54:22 +0100"), "2026-11-29T20:54:22Z"),
    (event("11/29/2026 9:54:22 PM"), "2026-11-29T21:54:22"),
    (event("11/29/2026 12:00:01 AM"), "2026-11-29T00:00:01"),
    (event("11/29/2026 12:00:01 PM"), "2026-11-29T12:00:01"),
    (event("2026-11-29T21:54:22.5+01:00"), "2026-11-29T20:54:22.500Z"),
    (event("2026-11-29 21:54:22.123456Z"), "2026-11-29T21:54:22.123456Z"),
    (event("garbage"), None),
    (event("13/45/2026 10:00:00"), None),
    (event("11/29/2026 13:00:00 PM"), None),
    ("2026-11-29T21:54:22Z registered", "2026-11-29T21:54:22Z"),
    ("  2026-11-29 21:54:22,250 registered", "2026-11-29T21:54:22.250"),
    ("11/29/2026 9:54:22 AM registered", "2026-11-29T09:54:22"),
    ("2026-02-30 10:00:00 registered", None),
    ("registered at 2026-11-29T21:54:22Z", None),  # only a time at the start of the line counts
    ("plain line", None),
])
def test_line_time(line, expected):
    assert _checks.line_time(line) == expected


# --------------------------------------------------------------------------- summary

def test_summary_lines_and_first_failing_step():
    checks = [dict(id="dns", step=1, verdict="pass", message="ig.example.com resolves to 203.0.113.5"),
              dict(id="gateway_registration", step=2, verdict="FAIL", message="not registered"),
              dict(id="versions", step=1, verdict="needs_input", message="give the version"),
              dict(id="iis_binding", step=3, verdict="skip", message="no binding"),
              dict(id="clock_skew", step="1", verdict="warn", message="NS unreachable"),
              dict(id="gateway_service", step=2, verdict="fail", message="stopped"),
              dict(id="policy", step=5, verdict="fail", message=None)]
    assert _checks.check_summary(checks) == dict(
        lines=["[PASS]        step 1 dns: ig.example.com resolves to 203.0.113.5",
               "[FAIL]        step 2 gateway_registration: not registered",
               "[NEEDS_INPUT] step 1 versions: give the version",
               "[SKIP]        step 3 iis_binding: no binding",
               "[WARN]        step 1 clock_skew: NS unreachable",
               "[FAIL]        step 2 gateway_service: stopped",
               "[FAIL]        step 5 policy: "],
        failed=["gateway_registration", "gateway_service", "policy"],
        first_failing_step=dict(step=2, title="Install Internet Gateway", check="gateway_registration",
                                message="not registered"),
        ok=False)


def test_summary_lowest_step_wins_over_list_order():
    checks = [dict(id="agent", step=6, verdict="fail", message="not switched"),
              dict(id="ports", step=1, verdict="fail", message="closed")]
    assert _checks.check_summary(checks)["first_failing_step"] == dict(step=1, title="Prepare", check="ports",
                                                                       message="closed")


def test_summary_without_failure_is_ok():
    checks = [dict(id="a", step=4, verdict="warn", message="w"), dict(id="b", step=7, verdict="needs_input", message="n"),
              dict(step=3, verdict="skip", message="s")]
    assert _checks.check_summary(checks) == dict(
        lines=["[WARN]        step 4 a: w", "[NEEDS_INPUT] step 7 b: n", "[SKIP]        step 3 check3: s"],
        failed=[], first_failing_step=None, ok=True)
    assert _checks.check_summary([]) == dict(lines=[], failed=[], first_failing_step=None, ok=True)
    assert _checks.check_summary(None)["ok"] is True


def test_step_titles():
    assert [_checks.STEPS[n] for n in range(1, 8)] == [
        "Prepare", "Install Internet Gateway", "IIS bindings", "Internet Gateway status reporting", "CEM policy",
        "Agent diagnostic", "Offline package"]


@pytest.mark.parametrize("checks, message", [
    ([dict(id="x", step=1, verdict="broken", message="")],
     "cem_check_summary: checks[0] (x) has verdict 'broken', not one of pass, fail, warn, skip, needs_input."),
    ([dict(id="x", step=8, verdict="pass", message="")],
     "cem_check_summary: checks[0] (x) has step 8, not one of 1-7 (KB 216202)."),
    ([dict(id="x", step=None, verdict="pass", message="")],
     "cem_check_summary: checks[0] (x) has step None, not one of 1-7 (KB 216202)."),
    (["x"], "cem_check_summary: checks[0] is not a dict {id, step, verdict, message}."),
    ("x", "cem_check_summary needs a list of checks, not str."),
])
def test_summary_bad_input(checks, message):
    with pytest.raises(InputError) as info:
        _checks.check_summary(checks)
    assert str(info.value) == message
