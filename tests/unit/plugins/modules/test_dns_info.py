# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.dns_info end to end against the lab DNS server (tests/lab/itms_lab/dns.py), and its bad input."""
import socket

import pytest
from ansible.module_utils.basic import AnsibleModule
from itms_lab.dns import LabDns

from ansible_collections.itms.cem.plugins.module_utils import _dns
from ansible_collections.itms.cem.plugins.modules import dns_info

ZONE = {"ig.cem-lab.example": ["127.0.0.1"], "ns.cem-lab.internal": ["127.0.0.1"], "v6only.cem-lab.example": ["::1"]}


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    """What the module warns, as given to module.warn (ansible-core keeps warnings process-wide)."""
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.fixture(scope="module")
def lab_dns():
    server = LabDns(ZONE).start()
    yield "127.0.0.1:%d" % server.port
    server.stop()


@pytest.fixture
def silent_resolver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))  # nothing answers UDP here
    yield "127.0.0.1:%d" % sock.getsockname()[1]
    sock.close()


def test_split_dns_and_every_verdict(run_module, lab_dns, silent_resolver, warned):
    queries = [
        dict(label="gateway", name="ig.cem-lab.example", expected=["127.0.0.1"], resolvers=[lab_dns]),
        dict(label="notification server", name="ns.cem-lab.internal", expected=["10.20.0.15"], resolvers=[lab_dns],
             record_types=["A"]),
        dict(name="missing.cem-lab.example", resolvers=[lab_dns]),
        dict(name="v6only.cem-lab.example", resolvers=[lab_dns], record_types=["A"]),
        dict(name="ig.cem-lab.example", resolvers=[silent_resolver]),
    ]
    result, failed = run_module(dns_info.main, dict(queries=queries, timeout=0.5))
    assert not failed and result["changed"] is False
    assert [(r["label"], r["verdict"], r["addresses"]) for r in result["results"]] == [
        ("gateway", "ok", ["127.0.0.1"]), ("notification server", "mismatch", ["127.0.0.1"]),
        ("missing.cem-lab.example", "nxdomain", []), ("v6only.cem-lab.example", "no_answer", []),
        ("ig.cem-lab.example", "timeout", [])]
    assert result["results"][0] == dict(
        label="gateway", name="ig.cem-lab.example", resolvers=[lab_dns], addresses=["127.0.0.1"],
        expected=["127.0.0.1"], verdict="ok",
        message="ig.cem-lab.example resolves to 127.0.0.1 through %s as expected" % lab_dns)
    assert result["results"][1]["message"] == (
        "ns.cem-lab.internal resolves to 127.0.0.1 through %s, expected 10.20.0.15 (missing: 10.20.0.15; unexpected: "
        "127.0.0.1). With split DNS, resolve the public gateway name through a public resolver and the internal NS "
        "name through an internal one (KB 440283)" % lab_dns)
    assert result["results"][3]["message"] == ("v6only.cem-lab.example exists but has no A record according to %s"
                                               % lab_dns)
    assert result["results"][4]["message"] == ("ig.cem-lab.example: no usable answer from %s (A: timed out; AAAA: "
                                               "timed out) within 0.5 s" % silent_resolver)
    assert result["failed_queries"] == 4
    assert result["dns_queries"] == dict(queries=8)
    assert "failed" not in result or result["failed"] is False
    assert warned == []


def test_ipv6_expected_answer(run_module, lab_dns):
    result, failed = run_module(dns_info.main, dict(queries=[dict(name="v6only.cem-lab.example", expected=["0::1"],
                                                                  resolvers=[lab_dns])]))
    assert not failed and result["results"][0]["verdict"] == "ok" and result["results"][0]["expected"] == ["::1"]
    assert result["failed_queries"] == 0


def test_missing_dnspython_fails_with_the_pip_line(run_module, monkeypatch):
    monkeypatch.setattr(_dns, "HAS_DNSPYTHON", False)
    result, failed = run_module(dns_info.main, dict(queries=[dict(name="ig.cem-lab.example")]))
    assert failed and result["error_kind"] == "missing_dependency"
    assert result["msg"] == ("The Python library dnspython is required on the controller for itms.cem.dns_info. "
                             "Install it with 'pip install \"dnspython>=2.4\"' (see the collection's requirements.txt).")


@pytest.mark.parametrize("queries, message", [
    ([dict(name="ig.cem-lab.example", resolvers=["dns.example.com"])],
     "Resolver 'dns.example.com' is not an IP address (names cannot be used: give the resolver's address)."),
    ([dict(name="ig.cem-lab.example", expected=["::1"], record_types=["A"], resolvers=["127.0.0.1"])],
     "queries[0] (ig.cem-lab.example): expected ::1 is an IPv6 address, but record_types has no AAAA."),
    ([dict(name="ig.cem-lab.example", expected=["not-an-ip"])],
     "queries[0] (ig.cem-lab.example): expected 'not-an-ip' is not an IP address."),
    ([], "queries is empty: give at least one {name: ...}."),
])
def test_bad_input(run_module, queries, message):
    result, failed = run_module(dns_info.main, dict(queries=queries))
    assert failed and result["error_kind"] == "input" and result["msg"] == message
    assert result["dns_queries"] == dict(queries=0)  # nothing was sent


def test_argument_spec_rejects(run_module):
    result, failed = run_module(dns_info.main, dict(queries=[dict(name="a", record_types=["MX"])]))
    assert failed and "record_types" in result["msg"] and "MX" in result["msg"]
    result, failed = run_module(dns_info.main, dict(queries=[dict(expected=["127.0.0.1"])]))
    assert failed and "missing required arguments: name" in result["msg"]
    result, failed = run_module(dns_info.main, dict(queries=[dict(name="a")], timeout=0))
    assert failed and result["msg"] == "timeout must be a positive number of seconds, not 0.0."
