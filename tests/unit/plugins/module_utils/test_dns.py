# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS checks (module_utils/_dns.py): pure verdicts with exact outputs, and the client against the lab DNS server."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest
from itms_lab.dns import LabDns

from ansible_collections.itms.cem.plugins.module_utils import _dns
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, MissingDependency

LAB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab"))
ZONE = {
    "ig.cem-lab.example": ["127.0.0.1"],
    "ns.cem-lab.internal": ["127.0.0.1"],
    "v6only.cem-lab.example": ["::1"],
    "dual.cem-lab.example": ["127.0.0.3", "::2", "127.0.0.2"],
    "deep.sub.cem-lab.example": ["127.0.0.4"],
    "many.cem-lab.example": ["10.0.%d.%d" % (i // 250, i % 250 + 1) for i in range(60)],
}


# --------------------------------------------------------------------------- pure: resolvers and queries

@pytest.mark.parametrize("text, expected", [
    ("10.0.0.53", ("10.0.0.53", 53)),
    (" 10.0.0.53:5353 ", ("10.0.0.53", 5353)),
    ("2001:db8::53", ("2001:db8::53", 53)),
    ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
    ("[2001:DB8:0::53]", ("2001:db8::53", 53)),
])
def test_parse_resolver(text, expected):
    assert _dns.parse_resolver(text) == expected


@pytest.mark.parametrize("text, message", [
    ("dns.example.com", "Resolver 'dns.example.com' is not an IP address (names cannot be used: give the "
                        "resolver's address)."),
    ("10.0.0.53:x", "Resolver '10.0.0.53:x' has port 'x', not a number."),
    ("10.0.0.53:0", "Resolver '10.0.0.53:0' has port 0, outside 1-65535."),
    ("[2001:db8::53", "Resolver '[2001:db8::53': write an IPv6 address with a port as [address]:port."),
    ("[2001:db8::53]x", "Resolver '[2001:db8::53]x': write an IPv6 address with a port as [address]:port."),
    ("", "A resolver must be an IP address, optionally with :port, not ''."),
    (None, "A resolver must be an IP address, optionally with :port, not None."),
])
def test_parse_resolver_bad(text, message):
    with pytest.raises(InputError) as info:
        _dns.parse_resolver(text)
    assert str(info.value) == message


def test_resolver_text():
    assert [_dns.resolver_text(*r) for r in [("10.0.0.1", 53), ("10.0.0.1", 5353), ("::1", 53), ("::1", 5353)]] == [
        "10.0.0.1", "10.0.0.1:5353", "::1", "[::1]:5353"]


def test_queries_normalized():
    assert _dns.queries([dict(name=" ig.example.com ", expected=["203.0.113.5", "2001:DB8::5", "198.51.100.1"],
                              resolvers=["198.51.100.53", "[2001:db8::53]:5353"], record_types=["aaaa", "A"],
                              label="gateway"),
                         dict(name="ns.corp.internal", resolvers="10.0.0.53", record_types=None)]) == [
        dict(label="gateway", name="ig.example.com", expected=["198.51.100.1", "203.0.113.5", "2001:db8::5"],
             resolvers=[("198.51.100.53", 53), ("2001:db8::53", 5353)], record_types=["A", "AAAA"]),
        dict(label="ns.corp.internal", name="ns.corp.internal", expected=[], resolvers=[("10.0.0.53", 53)],
             record_types=["A", "AAAA"])]


@pytest.mark.parametrize("raw, message", [
    ([], "queries is empty: give at least one {name: ...}."),
    (["ig.example.com"], "queries[0] must be a dict with name (and expected, resolvers, record_types, label)."),
    ([dict(name="")], "queries[0] needs a name to resolve, not ''."),
    ([dict(name="a b")], "queries[0] needs a name to resolve, not 'a b'."),
    ([dict(name="a", record_types=["MX"])], "queries[0] (a): record_types ['MX']; only A and AAAA are looked up."),
    ([dict(name="a", expected=["x"])], "queries[0] (a): expected 'x' is not an IP address."),
    ([dict(name="a", expected=["::1"], record_types=["A"])],
     "queries[0] (a): expected ::1 is an IPv6 address, but record_types has no AAAA."),
    ([dict(name="a", resolvers=["ns.example"])],
     "Resolver 'ns.example' is not an IP address (names cannot be used: give the resolver's address)."),
])
def test_queries_bad_input(raw, message):
    with pytest.raises(InputError) as info:
        _dns.queries(raw)
    assert str(info.value) == message


# --------------------------------------------------------------------------- pure: verdicts

def query(expected=(), types=("A", "AAAA")):
    return dict(label="gateway", name="ig.example.com", expected=list(expected), resolvers=None, record_types=list(types))


def answer(*addresses):
    return dict(status="answer", addresses=list(addresses), reason=None)


NO = dict(status="no_answer", addresses=[], reason="no record")
NX = dict(status="nxdomain", addresses=[], reason="NXDOMAIN")
TIMEOUT = dict(status="timeout", addresses=[], reason="timed out")
ERROR = dict(status="error", addresses=[], reason="REFUSED")
SPLIT = ("With split DNS, resolve the public gateway name through a public resolver and the internal NS name "
         "through an internal one (KB 440283)")


def judge(outcomes, expected=(), types=("A", "AAAA")):
    return _dns.judge(query(expected, types), ["198.51.100.53"], outcomes, 5.0)


def test_judge_ok_any_answer():
    assert judge(dict(A=answer("203.0.113.5"), AAAA=NO)) == dict(
        label="gateway", name="ig.example.com", resolvers=["198.51.100.53"], addresses=["203.0.113.5"], expected=[],
        verdict="ok", message="ig.example.com resolves to 203.0.113.5 through 198.51.100.53")


def test_judge_ok_expected_sets_ignore_order():
    entry = judge(dict(A=answer("203.0.113.6", "203.0.113.5"), AAAA=answer("2001:db8::5")),
                  expected=["2001:db8::5", "203.0.113.5", "203.0.113.6"])
    assert entry["verdict"] == "ok" and entry["addresses"] == ["203.0.113.5", "203.0.113.6", "2001:db8::5"]
    assert entry["message"] == ("ig.example.com resolves to 203.0.113.5, 203.0.113.6, 2001:db8::5 through "
                                "198.51.100.53 as expected")


def test_judge_mismatch():
    entry = judge(dict(A=answer("10.0.0.5", "203.0.113.5"), AAAA=NO), expected=["203.0.113.5", "203.0.113.7"])
    assert entry["verdict"] == "mismatch"
    assert entry["message"] == ("ig.example.com resolves to 10.0.0.5, 203.0.113.5 through 198.51.100.53, expected "
                                "203.0.113.5, 203.0.113.7 (missing: 203.0.113.7; unexpected: 10.0.0.5). " + SPLIT)
    only_missing = judge(dict(A=NO, AAAA=answer("2001:db8::5")), expected=["203.0.113.5"])
    assert only_missing["message"] == ("ig.example.com resolves to 2001:db8::5 through 198.51.100.53, expected "
                                       "203.0.113.5 (missing: 203.0.113.5; unexpected: 2001:db8::5). " + SPLIT)


def test_judge_nxdomain_and_no_answer():
    assert judge(dict(A=NX, AAAA=NX))["message"] == ("ig.example.com does not exist (NXDOMAIN) according to "
                                                     "198.51.100.53")
    assert judge(dict(A=NX, AAAA=TIMEOUT))["verdict"] == "nxdomain"
    no = judge(dict(A=NO, AAAA=NO), expected=["203.0.113.5"])
    assert no["verdict"] == "no_answer"
    assert no["message"] == "ig.example.com exists but has no A or AAAA record according to 198.51.100.53"
    assert judge(dict(A=NO), types=["A"])["message"] == ("ig.example.com exists but has no A record according to "
                                                         "198.51.100.53")


def test_judge_timeout_and_error():
    assert judge(dict(A=TIMEOUT, AAAA=TIMEOUT))["message"] == (
        "ig.example.com: no usable answer from 198.51.100.53 (A: timed out; AAAA: timed out) within 5.0 s")
    assert judge(dict(A=ERROR, AAAA=NO))["verdict"] == "error"
    assert judge(dict(A=ERROR, AAAA=NO))["message"] == "ig.example.com: no usable answer from 198.51.100.53 (A: REFUSED)"
    assert judge(dict(A=ERROR, AAAA=TIMEOUT))["verdict"] == "timeout"


def test_judge_partial_answers():
    # any answer is ok when nothing is expected, saying what did not answer
    entry = judge(dict(A=answer("203.0.113.5"), AAAA=TIMEOUT))
    assert entry["verdict"] == "ok"
    assert entry["message"] == "ig.example.com resolves to 203.0.113.5 through 198.51.100.53 (AAAA not answered: timed out)"
    # expected addresses cannot be confirmed while a record type is unanswered ...
    assert judge(dict(A=answer("203.0.113.5"), AAAA=TIMEOUT), expected=["203.0.113.5"])["verdict"] == "timeout"
    # ... but what did answer can already disagree
    assert judge(dict(A=answer("10.0.0.5"), AAAA=TIMEOUT), expected=["203.0.113.5"])["verdict"] == "mismatch"
    assert judge(dict(A=TIMEOUT, AAAA=answer("2001:db8::5")), expected=["203.0.113.5"])["verdict"] == "mismatch"
    assert judge(dict(A=TIMEOUT, AAAA=NO), expected=["203.0.113.5"])["verdict"] == "timeout"


# --------------------------------------------------------------------------- the lab DNS server itself

@pytest.fixture(scope="module")
def lab_dns():
    server = LabDns(ZONE).start()
    yield server
    server.stop()


def ask(server, name, rdtype, **options):
    return dns.message.from_wire(server.answer(dns.message.make_query(name, rdtype, **options).to_wire()))


def test_lab_dns_answers(lab_dns):
    reply = ask(lab_dns, "ig.cem-lab.example", "A")
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    assert [str(r) for r in reply.answer[0]] == ["127.0.0.1"] and reply.answer[0].ttl == 60
    assert sorted(str(r) for r in ask(lab_dns, "dual.cem-lab.example", "AAAA").answer[0]) == ["::2"]
    nodata = ask(lab_dns, "v6only.cem-lab.example", "A")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    assert ask(lab_dns, "sub.cem-lab.example", "A").rcode() == dns.rcode.NOERROR  # between the apex and a name
    assert ask(lab_dns, "nothing.cem-lab.example", "A").rcode() == dns.rcode.NXDOMAIN
    assert ask(lab_dns, "nothing.cem-lab.internal", "AAAA").rcode() == dns.rcode.NXDOMAIN
    refused = ask(lab_dns, "www.example.org", "A")
    assert refused.rcode() == dns.rcode.REFUSED and not refused.flags & dns.flags.AA
    soa = ask(lab_dns, "cem-lab.example", "SOA")
    assert str(soa.answer[0][0]) == "ns.cem-lab.example. hostmaster.cem-lab.example. 1 3600 600 86400 60"
    assert lab_dns.answer(b"\x00\x01garbage") is None
    response = dns.message.make_response(dns.message.make_query("ig.cem-lab.example", "A"))
    assert lab_dns.answer(response.to_wire()) is None  # a response, not a query
    notify = dns.message.make_query("ig.cem-lab.example", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert dns.message.from_wire(lab_dns.answer(notify.to_wire())).rcode() == dns.rcode.NOTIMP


def test_lab_dns_truncates_large_udp_answers(lab_dns):
    wire = dns.message.make_query("many.cem-lab.example", "A").to_wire()
    udp = dns.message.from_wire(lab_dns.answer(wire, udp=True))
    assert udp.flags & dns.flags.TC and udp.answer == []
    assert len(dns.message.from_wire(lab_dns.answer(wire)).answer[0]) == 60
    edns = dns.message.make_query("many.cem-lab.example", "A", use_edns=0, payload=4096).to_wire()
    assert len(dns.message.from_wire(lab_dns.answer(edns, udp=True)).answer[0]) == 60


def test_lab_dns_fixed_port_and_busy_port():
    first = LabDns(ZONE, port=0).start()
    try:
        with pytest.raises(OSError):
            LabDns(ZONE, port=first.port).start()
    finally:
        first.stop()


def test_lab_dns_as_a_process(tmp_path):
    zone, ready = tmp_path / "zone.json", tmp_path / "ready.json"
    zone.write_text(json.dumps({"ig.cem-lab.example": ["127.0.0.1"]}))
    env = dict(os.environ, PYTHONPATH=LAB)
    process = subprocess.Popen([sys.executable, "-m", "itms_lab.dns", "--zone-json", str(zone), "--port", "0",
                                "--ready-file", str(ready)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["pid"] == process.pid and info["host"] == "127.0.0.1"
        client = _dns.DnsClient(timeout=3)
        servers, outcomes = client.lookup(_dns.queries([dict(name="ig.cem-lab.example",
                                                             resolvers=["127.0.0.1:%d" % info["port"]])])[0])
        assert servers == ["127.0.0.1:%d" % info["port"]]
        assert outcomes == dict(A=dict(status="answer", addresses=["127.0.0.1"], reason=None),
                                AAAA=dict(status="no_answer", addresses=[], reason="no AAAA record"))
    finally:
        process.send_signal(signal.SIGTERM)
        out, _err = process.communicate(timeout=10)
    assert process.returncode == 0 and not ready.exists()
    assert out.decode().startswith("itms-lab dns: pid %d listening on 127.0.0.1 port " % process.pid)


# --------------------------------------------------------------------------- the client against the lab server

def lookup(client, name, port, types=("A", "AAAA"), expected=()):
    normal = _dns.queries([dict(name=name, resolvers=["127.0.0.1:%d" % port], record_types=list(types),
                                expected=list(expected))])[0]
    servers, outcomes = client.lookup(normal)
    return _dns.judge(normal, servers, outcomes, client.timeout)


def test_client_verdicts_against_the_lab(lab_dns):
    client = _dns.DnsClient(timeout=3)
    port = lab_dns.port
    ok = lookup(client, "ig.cem-lab.example", port, expected=["127.0.0.1"])
    assert ok == dict(label="ig.cem-lab.example", name="ig.cem-lab.example", resolvers=["127.0.0.1:%d" % port],
                      addresses=["127.0.0.1"], expected=["127.0.0.1"], verdict="ok",
                      message="ig.cem-lab.example resolves to 127.0.0.1 through 127.0.0.1:%d as expected" % port)
    assert lookup(client, "dual.cem-lab.example", port)["addresses"] == ["127.0.0.2", "127.0.0.3", "::2"]
    assert lookup(client, "ig.cem-lab.example", port, expected=["203.0.113.5"])["verdict"] == "mismatch"
    assert lookup(client, "nothing.cem-lab.example", port)["verdict"] == "nxdomain"
    assert lookup(client, "v6only.cem-lab.example", port, types=["A"])["verdict"] == "no_answer"
    assert lookup(client, "v6only.cem-lab.example", port)["addresses"] == ["::1"]
    assert len(lookup(client, "many.cem-lab.example", port)["addresses"]) == 60  # truncated over UDP, then TCP
    refused = lookup(client, "www.example.org", port)
    assert refused["verdict"] == "error" and "answered REFUSED" in refused["message"]
    assert client.stats() == dict(queries=15)  # one per record type of each name
    client.close()


def test_client_timeout_where_nothing_answers_udp():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, never read: the queries go unanswered
    port = silent.getsockname()[1]
    try:
        client = _dns.DnsClient(timeout=0.5)
        started = time.monotonic()
        entry = lookup(client, "ig.cem-lab.example", port)
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert entry["verdict"] == "timeout" and entry["addresses"] == []
    assert entry["message"] == ("ig.cem-lab.example: no usable answer from 127.0.0.1:%d (A: timed out; AAAA: timed "
                                "out) within 0.5 s" % port)


def test_client_system_resolvers(monkeypatch):
    class System:
        def __init__(self, configure=True):
            assert configure is True
            self.nameservers = ["10.255.0.53", "2001:db8::53"]

    monkeypatch.setattr(dns.resolver, "Resolver", System)
    _resolver, servers = _dns.DnsClient()._resolver(None)
    assert servers == ["10.255.0.53", "2001:db8::53"]


def test_client_without_system_resolvers(monkeypatch):
    def broken(configure=True):
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.resolver, "Resolver", broken)
    servers, outcomes = _dns.DnsClient().lookup(_dns.queries([dict(name="ig.example.com", record_types=["A"])])[0])
    assert servers == []
    assert outcomes == dict(A=dict(status="error", addresses=[],
                                   reason="no system resolver is configured (no nameservers); give resolvers"))


def test_client_bad_name_is_an_error_verdict(lab_dns):
    entry = lookup(_dns.DnsClient(timeout=3), "a..cem-lab.example", lab_dns.port)
    assert entry["verdict"] == "error" and "A: " in entry["message"]


def test_client_input_and_missing_dnspython(monkeypatch):
    with pytest.raises(InputError, match="timeout must be a positive number of seconds, not 0"):
        _dns.DnsClient(timeout=0)
    monkeypatch.setattr(_dns, "HAS_DNSPYTHON", False)
    with pytest.raises(MissingDependency) as info:
        _dns.connect(dict(timeout=5))
    assert str(info.value) == ("The Python library dnspython is required on the controller for itms.cem.dns_info. "
                               "Install it with 'pip install \"dnspython>=2.4\"' (see the collection's "
                               "requirements.txt).")
