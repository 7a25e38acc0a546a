# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Cloud-enabled Management edge, started with ``itms-lab up`` and checked from outside.

One lab per module (``--policy-port 443`` and Date offsets); the last test stops it and starts it
again with a wrong-SAN gateway certificate.
"""
import datetime
import email.utils
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("cryptography")
pytest.importorskip("spnego")
yaml = pytest.importorskip("yaml")
dns_resolver = pytest.importorskip("dns.resolver")

from cryptography import x509  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID  # noqa: E402

from itms_lab import certs, gateway, tlsserve  # noqa: E402
from itms_lab.ns import store  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ITMS_LAB = os.path.join(REPO, "tests", "lab", "itms-lab")
OFFSETS = {"ns": 600, "gateway": -300, "expired": 120}
EVENT = re.compile(r"^<event date='(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d{3}) \+00:00' severity='(\d+)' hostName='lab-ig' "
                   r"source='InternetGateway' module='lab' process='itms-lab' pid='(\d+)' thread='1' tickCount='0' >"
                   r"<!\[CDATA\[(.*)\]\]></event>$")


def itms_lab(*args):
    env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    return subprocess.run([ITMS_LAB] + list(args), env=env, capture_output=True, text=True, timeout=90, check=False)


def up(directory, *extra):
    done = itms_lab("up", "--dir", str(directory), "--cmdb-computers", "10", *extra)
    assert done.returncode == 0, done.stderr
    with open(os.path.join(str(directory), "lab.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gateway-lab")
    offsets = [value for name, seconds in OFFSETS.items() for value in ("--date-offset", "%s=%d" % (name, seconds))]
    started = datetime.datetime.now(datetime.timezone.utc)
    description = up(directory, "--policy-port", "443", *offsets)
    description["_dir"] = str(directory)
    description["_started"] = started
    yield description
    itms_lab("down", "--dir", str(directory))


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def handshake(host, port, server_name, ca_path=None, request=b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"):
    """(certificate, answer head) of an HTTPS endpoint; verified against ``ca_path`` when given."""
    if ca_path:
        context = ssl.create_default_context(cafile=ca_path)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # the weak endpoints must still be read
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(True)
            tls.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                head += chunk
    return x509.load_der_x509_certificate(der), head.decode("latin-1")


def header(head, name):
    for line in head.split("\r\n")[1:]:
        key, _sep, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def skew(head):
    """Seconds between the answer's Date header and now."""
    return (email.utils.parsedate_to_datetime(header(head, "Date")) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def sans(cert):
    value = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return value.get_values_for_type(x509.DNSName), [str(ip) for ip in value.get_values_for_type(x509.IPAddress)]


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --------------------------------------------------------------------------- pure pieces

def test_config_xml_keeps_other_settings_and_sets_port_and_ns():
    first = gateway.config_xml(8443, "https://ns.example:443")
    root = ET.fromstring(first)
    assert root.tag == "InternetGateway"
    assert [child.tag for child in root] == ["Listener", "StatusReporting", "Troubleshooting", "NotificationServer", "Version"]
    assert root.find("Listener").attrib == {"ip": "0.0.0.0", "port": "8443"}
    assert root.find("Troubleshooting").attrib == {"mode": "false", "allowEphemeralCertificates": "false"}
    assert root.findtext("Version") == "8.8.1"
    changed = first.replace('mode="false"', 'mode="true"')
    again = ET.fromstring(gateway.config_xml(9443, "https://ns.example:4726", changed))
    assert again.find("Troubleshooting").get("mode") == "true"
    assert again.find("Listener").get("port") == "9443"
    assert again.find("NotificationServer").get("url") == "https://ns.example:4726"
    assert gateway.listener(gateway.config_xml(443, "u", "not xml")) == ("0.0.0.0", 443)
    bad_configs = (("<InternetGateway/>", "no Listener"), ('<InternetGateway><Listener port="x"/></InternetGateway>', "not a number"),
                   ('<InternetGateway><Listener port="70000"/></InternetGateway>', "not 1 to 65535"), ("<", "parse"))
    for bad, message in bad_configs:
        with pytest.raises(ValueError, match=message):
            gateway.listener(bad)


def test_event_line_is_an_altiris_event():
    when = datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    line = gateway.event_line(gateway.REGISTERED, when, pid=42)
    assert line == ("<event date='03/04/2026 03:06:07.890 +00:00' severity='4' hostName='lab-ig' source='InternetGateway' "
                    "module='lab' process='itms-lab' pid='42' thread='1' tickCount='0' ><![CDATA[Internet Gateway "
                    "successfully registered with Notification Server]]></event>\n")


@pytest.mark.parametrize("argument, message", [
    (["--gateway-cert", "bogus"], "--gateway-cert must be one of good, expired"),
    (["--date-offset", "router=5"], "--date-offset takes NAME=SECONDS with NAME one of ns, gateway, good"),
    (["--date-offset", "ns=soon"], "'soon' is not a number of seconds"),
    (["--policy-port", "0"], "--policy-port must be between 1 and 65535"),
])
def test_bad_flags_are_refused_before_anything_starts(tmp_path, argument, message):
    done = itms_lab("up", "--dir", str(tmp_path), *argument)
    assert done.returncode == 2 and message in done.stderr
    assert os.listdir(str(tmp_path)) == []


# --------------------------------------------------------------------------- lab.json, inventory, files

def test_lab_json_and_inventory(lab):
    directory = lab["_dir"]
    gw = lab["gateway"]
    ig = os.path.join(directory, "ig")
    assert gw == {"name": "ig.cem-lab.example", "host": "127.0.0.1", "port": gw["port"],
                  "url": "https://127.0.0.1:%d" % gw["port"], "certificate": os.path.join(ig, "gateway.pem"),
                  "ca_path": os.path.join(ig, "gateway-ca.pem"), "config": os.path.join(ig, "config.xml"),
                  "log": os.path.join(ig, "a.log"), "state": os.path.join(ig, "host.json"),
                  "profile": os.path.join(REPO, "tests", "lab", "profiles", "gateway.yml"), "version": "8.8.1",
                  "date_offset": -300, "cert_kind": "good", "policy_port": 443}
    assert gateway.listener(read(gw["config"])) == ("0.0.0.0", gw["port"])
    assert ET.fromstring(read(gw["config"])).find("NotificationServer").get("url") == lab["ns"]["url"]
    assert (lab["ns"]["version"], lab["ns"]["fqdn"], lab["ns"]["date_offset"]) == ("8.8.1", "ns.cem-lab.internal", 600)
    assert lab["profiles"]["gateway"] == gw["profile"] and os.path.exists(gw["profile"])
    assert lab["dns"]["names"] == {"ig.cem-lab.example": ["127.0.0.1"], "ns.cem-lab.internal": ["127.0.0.1"]}
    assert sorted(lab["tls_endpoints"]) == sorted(certs.KINDS)
    for kind, entry in lab["tls_endpoints"].items():
        assert entry == {"host": "127.0.0.1", "port": entry["port"], "server_name": "ig.cem-lab.example",
                         "expected_names": ["ig.cem-lab.example"], "expected_findings": certs.KINDS[kind],
                         "date_offset": OFFSETS.get(kind, 0)}
    assert len(set(e["port"] for e in lab["tls_endpoints"].values()) | {gw["port"], lab["ns"]["port"]}) == 13

    inventory = yaml.safe_load(read(os.path.join(directory, "inventory.yml")))
    assert inventory["all"]["hosts"]["localhost"]["ansible_connection"] == "local"
    values = inventory["all"]["vars"]
    assert values["itms_ns_url"] == lab["ns"]["url"] and values["itms_ns_ca_path"] == lab["ns"]["ca_path"]
    assert (values["itms_gateway_name"], values["itms_gateway_port"], values["itms_gateway_ca_path"]) == \
        ("ig.cem-lab.example", gw["port"], gw["ca_path"])
    assert values["itms_dns_resolvers"] == ["127.0.0.1:%d" % lab["dns"]["port"]]
    assert (values["itms_ns_version"], values["itms_ns_fqdn"]) == ("8.8.1", "ns.cem-lab.internal")
    group = inventory["all"]["children"]["internet_gateways"]
    assert group["hosts"]["lab-ig"] == {"ansible_connection": "local",
                                        "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    assert group["vars"] == {"internet_gateway_name": "ig.cem-lab.example", "internet_gateway_profile": gw["profile"],
                             "internet_gateway_config_path": gw["config"], "internet_gateway_log_path": gw["log"],
                             "internet_gateway_host_state_file": gw["state"]}


def test_profile_reads_every_setting_of_config_xml(lab):
    profile = yaml.safe_load(read(lab["gateway"]["profile"]))
    root = ET.fromstring(read(lab["gateway"]["config"]))
    assert (profile["store"], profile["root"]) == ("xml_file", root.tag)
    values = {}
    for name, spec in profile["settings"].items():
        raw = root.find(spec["xpath"]).get(spec["attribute"])
        assert raw is not None, name
        if spec["type"] == "bool":
            assert raw in (spec["true"], spec["false"]), name
            raw = raw == spec["true"]
        values[name] = int(raw) if spec["type"] == "int" else raw
    assert values == {"listener_port": lab["gateway"]["port"], "listener_ip": "0.0.0.0", "status_reporting": True,
                      "troubleshooting_mode": False, "allow_ephemeral_certificates": False}


def test_host_state(lab):
    state = json.loads(read(lab["gateway"]["state"]))
    assert state["service"] == {"name": gateway.SERVICE_NAME, "display_name": "Symantec Internet Gateway Service",
                                "state": "running"}
    assert state["iis_https_bindings"] == [] and state["version"] == "8.8.1"
    assert state["firewall_rules"] == [{"name": gateway.FIREWALL_RULE, "direction": "in", "action": "allow", "enabled": True,
                                        "protocol": "tcp", "local_ports": [lab["gateway"]["port"]]}]


def test_status_reports_each_service(lab):
    done = itms_lab("status", "--dir", lab["_dir"])
    assert done.returncode == 0, done.stdout
    status = json.loads(done.stdout)
    services = status["services"]
    assert sorted(services) == ["dns", "edr", "gateway", "ns", "tls"]
    assert all(entry["running"] and entry["pid"] for entry in services.values())
    assert status["running"] and status["url"] == lab["ns"]["url"] == services["ns"]["url"]
    assert services["gateway"]["url"] == lab["gateway"]["url"] and services["dns"]["port"] == lab["dns"]["port"]
    assert services["tls"]["ports"] == dict((kind, e["port"]) for kind, e in lab["tls_endpoints"].items())


# --------------------------------------------------------------------------- the gateway

def test_gateway_listens_with_its_self_signed_certificate(lab):
    gw = lab["gateway"]
    cert, head = handshake(gw["host"], gw["port"], gw["name"], ca_path=gw["ca_path"])  # verifies name and chain
    assert head.startswith("HTTP/1.1 200 ")
    assert cert.issuer == cert.subject  # KB 181705
    assert sans(cert) == (["ig.cem-lab.example"], ["127.0.0.1"])
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert == x509.load_pem_x509_certificate(read(gw["certificate"]).encode())
    assert read(gw["ca_path"]) == read(gw["certificate"])


def test_gateway_registered_with_the_ns(lab):
    lines = read(lab["gateway"]["log"]).splitlines()
    assert len(lines) == 1
    date, severity, pid, text = EVENT.match(lines[0]).groups()
    assert (severity, text) == ("4", "Internet Gateway successfully registered with Notification Server")
    assert int(pid) == json.loads(itms_lab("status", "--dir", lab["_dir"]).stdout)["services"]["gateway"]["pid"]
    written = datetime.datetime.strptime(date, "%m/%d/%Y %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    expected = lab["_started"] + datetime.timedelta(seconds=OFFSETS["gateway"])  # the gateway's clock
    assert 0 <= (written - expected).total_seconds() < 30
    with open(lab["ns"]["request_log"]) as handle:
        requests = [json.loads(line) for line in handle]
    registration = [r for r in requests if r["path"] == gateway.REGISTER_PATH and r["http_method"] == "GET"]
    assert registration and registration[-1]["status"] == 401  # answered: the NS is reached over verified HTTPS


def test_gateway_logs_failures_and_retries_until_the_ns_answers(lab, tmp_path):
    directory = lab["_dir"]
    ns_port = tlsserve.free_port()
    config_xml = str(tmp_path / "config.xml")
    with open(config_xml, "w") as handle:
        handle.write(gateway.config_xml(tlsserve.free_port(), "https://127.0.0.1:%d" % ns_port))
    config = {"config_xml": config_xml, "log": str(tmp_path / "a.log"), "host_state": str(tmp_path / "host.json"),
              "cert": str(tmp_path / "gw.pem"), "key": str(tmp_path / "gw.key"), "trust": str(tmp_path / "gw-ca.pem"),
              "ca_cert": os.path.join(directory, "ca.pem"), "ca_key": os.path.join(directory, "ca.key"),
              "ns_url": "https://127.0.0.1:%d" % ns_port, "ns_ca": os.path.join(directory, "ca.pem"),
              "cert_kind": "expired", "retry_s": 0.2}
    instance = gateway.Gateway(config).start()
    ns = None
    try:
        assert not instance.registered.is_set()
        first = read(config["log"]).splitlines()[0]
        assert EVENT.match(first).group(2) == "1"
        assert "failed to register with Notification Server https://127.0.0.1:%d" % ns_port in first
        context = tlsserve.server_context(os.path.join(directory, "ns.pem"), os.path.join(directory, "ns.key"))
        ns = tlsserve.DateServer(ns_port, context).start()  # an NS certificate the lab CA verifies
        assert instance.registered.wait(10)
        last = read(config["log"]).splitlines()[-1]
        assert EVENT.match(last).group(4) == gateway.REGISTERED
        cert = x509.load_pem_x509_certificate(read(config["cert"]).encode())
        assert cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)  # the kind's defect
        assert read(config["trust"]) == read(os.path.join(directory, "ca.pem"))  # issued by the lab CA
    finally:
        instance.stop()
        if ns is not None:
            ns.stop()
    assert json.loads(read(config["host_state"]))["service"]["state"] == "stopped"


# --------------------------------------------------------------------------- TLS endpoints, DNS, Date

def test_tls_endpoints_present_their_certificates(lab):
    ca_path = lab["ns"]["ca_path"]
    now = datetime.datetime.now(datetime.timezone.utc)
    seen = {}
    for kind, entry in lab["tls_endpoints"].items():
        cert, head = handshake(entry["host"], entry["port"], entry["server_name"])
        assert head.startswith("HTTP/1.1 200 "), kind
        assert cert == x509.load_pem_x509_certificate(read(os.path.join(lab["_dir"], "tls", kind + ".pem")).encode())
        seen[kind] = cert
    assert seen["expired"].not_valid_after_utc < now
    assert seen["not_yet_valid"].not_valid_before_utc > now
    assert sans(seen["wrong_san"]) == (["other.cem-lab.example"], [])
    assert sans(seen["wildcard"]) == (["*.cem-lab.example"], [])
    assert sans(seen["ip_only"]) == ([], ["127.0.0.1"])
    assert seen["rsa1024"].public_key().key_size == 1024
    assert seen["sha1"].signature_hash_algorithm.name == "sha1"
    assert seen["self_signed"].issuer == seen["self_signed"].subject
    good = lab["tls_endpoints"]["good"]
    assert sans(handshake(good["host"], good["port"], good["server_name"], ca_path=ca_path)[0]) == \
        (["ig.cem-lab.example"], ["127.0.0.1"])  # verified against the lab CA
    untrusted = lab["tls_endpoints"]["untrusted"]
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(untrusted["host"], untrusted["port"], untrusted["server_name"], ca_path=ca_path)


@pytest.mark.parametrize("tcp", [False, True])
def test_dns_answers_the_lab_names(lab, tcp):
    resolver = dns_resolver.Resolver(configure=False)
    resolver.nameservers = [lab["dns"]["host"]]
    resolver.port = lab["dns"]["port"]
    resolver.lifetime = 5
    for name in ("ig.cem-lab.example", "ns.cem-lab.internal"):
        assert [a.address for a in resolver.resolve(name, "A", tcp=tcp)] == ["127.0.0.1"]
    with pytest.raises(dns_resolver.NXDOMAIN):
        resolver.resolve("nope.cem-lab.example", "A", tcp=tcp)


def test_date_offsets(lab):
    ns_head = handshake("127.0.0.1", lab["ns"]["port"], "127.0.0.1", ca_path=lab["ns"]["ca_path"])[1]
    assert ns_head.startswith("HTTP/1.1 401 ")
    assert abs(skew(ns_head) - OFFSETS["ns"]) <= 2
    gw = lab["gateway"]
    assert abs(skew(handshake(gw["host"], gw["port"], gw["name"])[1]) - OFFSETS["gateway"]) <= 2
    for kind in ("expired", "good"):
        entry = lab["tls_endpoints"][kind]
        assert abs(skew(handshake(entry["host"], entry["port"], entry["server_name"])[1]) - OFFSETS.get(kind, 0)) <= 2


def test_policy_port_is_in_the_default_policy(lab):
    with open(lab["ns"]["items"]) as handle:
        item = json.load(handle)["items"][store.POLICY]
    gateways = ET.fromstring(item["xml"]).findall("policyData/cemSettings/gateways/gateway")
    assert [g.attrib for g in gateways] == [{"host": "ig.cem-lab.example", "port": "443"}]


# --------------------------------------------------------------------------- down, and up with a wrong-SAN gateway

def test_down_stops_everything_then_up_with_a_wrong_san_gateway(lab):
    directory = lab["_dir"]
    pids = dict((name, entry["pid"]) for name, entry in
                json.loads(itms_lab("status", "--dir", directory).stdout)["services"].items())
    done = itms_lab("down", "--dir", directory)
    assert done.returncode == 0 and "the lab Internet Gateway (pid %d)" % pids["gateway"] in done.stdout
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [name for name, pid in pids.items() if not _gone(pid)] == []
    assert json.loads(read(lab["gateway"]["state"]))["service"]["state"] == "stopped"
    assert [name for name in os.listdir(directory) if name.endswith((".pid", "-ready.json"))] == []
    stopped = itms_lab("status", "--dir", directory)
    assert stopped.returncode == 3 and not any(e["running"] for e in json.loads(stopped.stdout)["services"].values())

    again = up(directory, "--gateway-cert", "wrong_san")
    try:
        gw = again["gateway"]
        assert gw["port"] == lab["gateway"]["port"] and gw["policy_port"] == gw["port"]  # default: the listener port
        with open(again["ns"]["items"]) as handle:
            xml_text = json.load(handle)["items"][store.POLICY]["xml"]
        assert [g.get("port") for g in ET.fromstring(xml_text).iter("gateway")] == [str(gw["port"])]
        cert, head = handshake(gw["host"], gw["port"], gw["name"])
        assert sans(cert) == (["other.cem-lab.example"], []) and gw["cert_kind"] == "wrong_san"
        assert read(gw["ca_path"]) == read(again["ns"]["ca_path"])  # issued by the lab CA: only the SAN is wrong
        assert abs(skew(head)) <= 2 and again["ns"]["date_offset"] == 0
        assert [EVENT.match(line).group(4) for line in read(gw["log"]).splitlines()] == [gateway.REGISTERED] * 2
    finally:
        assert itms_lab("down", "--dir", directory).returncode == 0
