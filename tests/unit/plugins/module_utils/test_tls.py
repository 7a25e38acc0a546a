# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_tls against real TLS listeners and real files made by the lab's certificate factory; names without I/O."""
import datetime
import hashlib
import ipaddress
import socket
import ssl
import threading
import types
import warnings

import pytest

pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import dsa  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402
from itms_lab import certs  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _tls as tls  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, TransportError  # noqa: E402

NAME = "ig.cem-lab.example"
DER = serialization.Encoding.DER
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A lab CA, one certificate of each kind it issues, and a TLS listener presenting each."""
    folder = tmp_path_factory.mktemp("tls")
    ca = certs.make_ca("itms.cem unit CA")
    issued = dict((kind, certs.issue(kind, ca)) for kind in certs.KINDS)
    listeners = dict((kind, certs.TlsListener(cert, key)) for kind, (cert, key) in issued.items())
    yield dict(ca=ca, ca_pem=certs.write_pem(str(folder / "ca.pem"), ca[0]), issued=issued, listeners=listeners)
    for listener in listeners.values():
        listener.close()


def ids(found):
    return [f["id"] for f in found]


def endpoint(lab, kind, names=None, ca_path="lab", **options):
    inspection = tls.inspect_endpoint("127.0.0.1", lab["listeners"][kind].port, ca_path=lab["ca_pem"]
                                      if ca_path == "lab" else ca_path, **dict(dict(server_name=NAME), **options))
    return tls.report(inspection, names, tls.utcnow(), 30)


def from_file(path, names=(), ca_path=None, password=None, now=None):
    return tls.report(tls.inspect_file(str(path), password, ca_path), list(names), now or tls.utcnow(), 30)


def build(ca, eku=(ExtendedKeyUsageOID.SERVER_AUTH,), key=None, sans=(x509.DNSName(NAME),)):
    """A leaf with the given EKU (None: no extension) and SANs, signed by ``ca`` with SHA-256."""
    key = key or certs.issue("good", ca)[1]
    now = tls.utcnow()
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
               .issuer_name(ca[0].subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - DAY).not_valid_after(now + 90 * DAY))
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(ca[1], hashes.SHA256()), key


# --------------------------------------------------------------------------- each lab kind over a real handshake

@pytest.mark.parametrize("kind", sorted(certs.KINDS))
def test_each_kind_gives_exactly_its_findings(lab, kind):
    result = endpoint(lab, kind)
    assert result["expected_names"] == [NAME]
    assert sorted(ids(result["findings"])) == sorted(certs.KINDS[kind])
    assert ids(result["findings"]) == [i for i in tls.ORDER if i in certs.KINDS[kind]]
    assert result["endpoint"]["trusted"] is ("untrusted_chain" not in certs.KINDS[kind])
    for finding in result["findings"]:
        assert finding["severity"] == ("warning" if finding["id"] in ("expires_soon", "self_signed") else "critical")
        assert finding["message"].startswith("The certificate presented by 127.0.0.1:%s" % lab["listeners"][kind].port)
        assert finding["fix"] == tls.FIX[finding["id"]]


def test_good_certificate_as_windows_shows_it(lab):
    result = endpoint(lab, "good")
    cert = lab["issued"]["good"][0]
    der = cert.public_bytes(DER)
    leaf = result["certificate"]
    assert result["findings"] == [] and result["source"] == "endpoint"
    assert leaf["sha1_thumbprint"] == hashlib.sha1(der).hexdigest().upper() and len(leaf["sha1_thumbprint"]) == 40
    assert leaf["sha256_thumbprint"] == hashlib.sha256(der).hexdigest().upper()
    assert leaf["subject"] == "CN=%s,O=itms.cem lab" % NAME and leaf["subject_cn"] == NAME
    assert leaf["issuer"] == "CN=itms.cem unit CA,O=itms.cem lab"
    assert int(leaf["serial_number"], 16) == cert.serial_number and leaf["serial_number"].upper() == leaf["serial_number"]
    assert (leaf["san_dns"], leaf["san_ip"]) == ([NAME], ["127.0.0.1"])
    assert (leaf["eku"], leaf["eku_names"]) == (["1.3.6.1.5.5.7.3.1"], ["serverAuth"])
    assert (leaf["key_type"], leaf["key_size"], leaf["signature_hash"]) == ("RSA", 2048, "sha256")
    assert leaf["not_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert leaf["days_left"] in (364, 365) and leaf["has_private_key"] is None and leaf["self_signed"] is False
    assert [c["subject"] for c in result["chain"]] == [leaf["subject"], "CN=itms.cem unit CA,O=itms.cem lab"]
    assert result["chain"][1]["self_signed"] is True and result["chain"][0] == leaf
    assert result["endpoint"] == dict(host="127.0.0.1", port=lab["listeners"]["good"].port, server_name=NAME,
                                      tls_version="TLSv1.3", trusted=True,
                                      chain_sent=hasattr(ssl.SSLSocket, "get_unverified_chain"))


def test_sha1_and_rsa1024_from_the_trusted_ca_are_only_weak(lab):
    sha1 = endpoint(lab, "sha1")
    assert ids(sha1["findings"]) == ["weak_signature"] and sha1["endpoint"]["trusted"] is True
    assert sha1["certificate"]["signature_hash"] == "sha1"
    assert "is signed with SHA1" in sha1["findings"][0]["message"]
    assert sha1["certificate"]["sha1_thumbprint"] in sha1["findings"][0]["message"]
    weak = endpoint(lab, "rsa1024")
    assert ids(weak["findings"]) == ["weak_key"] and weak["certificate"]["key_size"] == 1024
    assert "has a RSA key of 1024 bits (minimum 2048)" in weak["findings"][0]["message"]


def test_wildcard_covers_one_label_only(lab):
    assert endpoint(lab, "wildcard", [NAME, "other.cem-lab.example"])["findings"] == []
    result = endpoint(lab, "wildcard", ["a.b.cem-lab.example", NAME, "cem-lab.example"])
    assert ids(result["findings"]) == ["san_missing"]
    assert "does not cover a.b.cem-lab.example, cem-lab.example: its subjectAltName holds DNS [*.cem-lab.example] " \
           "and IP []." in result["findings"][0]["message"]


def test_ip_only_is_covered_by_its_address_only(lab):
    assert endpoint(lab, "ip_only", ["127.0.0.1"])["findings"] == []
    assert ids(endpoint(lab, "ip_only", [NAME, "127.0.0.1"])["findings"]) == ["san_missing"]
    # host an IP and no server_name: no SNI, and the address is the expected name
    inspection = tls.inspect_endpoint("127.0.0.1", lab["listeners"]["ip_only"].port, ca_path=lab["ca_pem"])
    result = tls.report(inspection, None, tls.utcnow(), 30)
    assert result["expected_names"] == ["127.0.0.1"] and result["endpoint"]["server_name"] is None
    assert result["findings"] == []


def test_wrong_san_names_the_common_name_that_does_not_count(lab):
    message = endpoint(lab, "wrong_san")["findings"][0]["message"]
    assert "does not cover %s: its subjectAltName holds DNS [other.cem-lab.example] and IP []; its Common Name %s " \
           "does not count, only subjectAltName entries do." % (NAME, NAME) in message


def test_common_name_ip_without_ip_san_is_not_covered(lab, tmp_path):
    cert, key = certs.issue("wrong_san", lab["ca"], names=("127.0.0.1",))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "127.0.0.1"
    result = from_file(certs.write_pem(str(tmp_path / "cn-ip.pem"), cert), ["127.0.0.1"], lab["ca_pem"])
    assert ids(result["findings"]) == ["san_missing"]
    assert "its Common Name 127.0.0.1 does not count" in result["findings"][0]["message"]
    no_san, _key = build(lab["ca"], sans=None)
    result = from_file(certs.write_pem(str(tmp_path / "no-san.pem"), no_san), [NAME], lab["ca_pem"])
    assert ids(result["findings"]) == ["san_missing"] and result["certificate"]["san_dns"] == []


def test_self_signed_given_as_its_own_ca_is_trusted_and_still_reported(lab, tmp_path):
    own = certs.write_pem(str(tmp_path / "own.pem"), lab["issued"]["self_signed"][0])
    result = endpoint(lab, "self_signed", ca_path=own)
    assert ids(result["findings"]) == ["self_signed"] and result["endpoint"]["trusted"] is True
    assert result["certificate"]["self_signed"] is True and len(result["chain"]) == 1
    untrusted = endpoint(lab, "self_signed")
    assert "does not chain to a CA in ca_path %s: it is self-signed and is not itself trusted." % lab["ca_pem"] \
        in untrusted["findings"][0]["message"]


def test_pinned_sha1_self_signed_certificate_is_trusted(lab, tmp_path):
    cert, key = lab["issued"]["self_signed"]
    weak = certs.resign_sha1(cert, key)
    result = from_file(certs.write_pem(str(tmp_path / "weak.pem"), weak), [NAME],
                       certs.write_pem(str(tmp_path / "pin.pem"), weak))
    assert ids(result["findings"]) == ["weak_signature", "self_signed"] and result["file"]["trusted"] is True


def test_untrusted_names_the_missing_issuer(lab):
    message = endpoint(lab, "untrusted")["findings"][0]["message"]
    assert "(issuer CN=itms.cem lab CA nobody trusts,O=itms.cem lab) does not chain to a CA in ca_path %s: no CA " \
           "certificate of its issuer CN=itms.cem lab CA nobody trusts,O=itms.cem lab was found in the chain or among " \
           "the trusted certificates." % lab["ca_pem"] in message


def test_system_store_does_not_hold_the_lab_ca(lab):
    result = endpoint(lab, "good", ca_path=None)
    assert ids(result["findings"]) == ["untrusted_chain"]
    assert "does not chain to a CA in the system trust store" in result["findings"][0]["message"]


def test_tls_1_0_still_completes_and_warns(lab):
    cert, key = lab["issued"]["sha1"]
    with certs.TlsListener(cert, key) as old, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 is deprecated: that is the point
        old.context.maximum_version = ssl.TLSVersion.TLSv1
        inspection = tls.inspect_endpoint("127.0.0.1", old.port, NAME, lab["ca_pem"])
    assert inspection.endpoint["tls_version"] == "TLSv1"
    assert inspection.warnings == ["127.0.0.1:%s negotiated TLSv1, which current Windows and browsers disable; "
                                   "enable TLS 1.2 on it." % old.port]


# --------------------------------------------------------------------------- chains, keys and dates (pure findings)

def test_weak_intermediate_counts_and_a_self_signed_roots_own_signature_does_not(tmp_path):
    root = certs.make_ca("unit SHA-1 root")
    root = (certs.resign_sha1(root[0], root[1]), root[1])
    root_pem = certs.write_pem(str(tmp_path / "root.pem"), root[0])
    strong = certs.make_ca("unit intermediate", issuer=root)
    leaf, key = certs.issue("good", strong)
    result = from_file(certs.write_pem(str(tmp_path / "strong.pem"), [leaf, strong[0]], key), [NAME], root_pem)
    assert result["findings"] == [] and [c["signature_hash"] for c in result["chain"]] == ["sha256", "sha256", "sha1"]
    weak = (certs.resign_sha1(strong[0], root[1]), strong[1])
    result = from_file(certs.write_pem(str(tmp_path / "weak.pem"), [leaf, weak[0]], key), [NAME], root_pem)
    assert ids(result["findings"]) == ["weak_signature"] and result["file"]["trusted"] is True
    message = result["findings"][0]["message"]
    assert message.startswith("the CA certificate CN=unit intermediate,O=itms.cem lab (thumbprint %s) is signed with "
                              "SHA1" % result["chain"][1]["sha1_thumbprint"])
    assert "unit SHA-1 root" not in message and len(result["chain"]) == 3


def test_the_verifier_decides_what_no_weak_algorithm_or_date_explains(tmp_path):
    root = certs.make_ca("unit root")
    intermediate = certs.make_ca("unit intermediate", issuer=root)  # pathLenConstraint 0: issues no CA
    below = certs.make_ca("unit sub-intermediate", issuer=intermediate)
    leaf, key = certs.issue("good", below)
    root_pem = certs.write_pem(str(tmp_path / "root.pem"), root[0])
    result = from_file(certs.write_pem(str(tmp_path / "long.pem"), [leaf, below[0], intermediate[0]]), [NAME], root_pem)
    assert ids(result["findings"]) == ["untrusted_chain"] and len(result["chain"]) == 4
    assert "does not chain to a CA in ca_path %s: the X.509 verifier of cryptography refused it (" % root_pem \
        in result["findings"][0]["message"]


def test_a_leaf_is_not_a_ca(lab, tmp_path):
    leaf, key = lab["issued"]["good"]
    below, _key = build((leaf, key))
    result = from_file(certs.write_pem(str(tmp_path / "below.pem"), [below, leaf]), [NAME], lab["ca_pem"])
    assert ids(result["findings"]) == ["untrusted_chain"] and len(result["chain"]) == 1


@pytest.mark.parametrize("kind", sorted(certs.KINDS))
def test_the_signature_walk_alone_decides_trust_the_same(lab, monkeypatch, kind):
    """cryptography before 45 has no configurable verifier: the walk by issuer signatures decides alone."""
    cert = lab["issued"][kind][0]
    with_verifier = tls.build_path(cert, [], [lab["ca"][0]], tls.utcnow())
    monkeypatch.setattr(tls, "verification", types.SimpleNamespace(PolicyBuilder=object))
    trusted, path, _reason = tls.build_path(cert, [], [lab["ca"][0]], tls.utcnow())
    assert (trusted, path) == with_verifier[:2] and trusted is ("untrusted_chain" not in certs.KINDS[kind])
    assert tls.build_path(cert, [], [cert], tls.utcnow())[:2] == (True, [cert])
    assert tls.build_path(cert, [], [], tls.utcnow()) == (False, [cert], "no trusted certificate to check against")


def test_weak_dsa_key(lab, tmp_path):
    cert, _key = build(lab["ca"], key=dsa.generate_private_key(key_size=1024))
    result = from_file(certs.write_pem(str(tmp_path / "dsa.pem"), cert), [NAME], lab["ca_pem"])
    assert ids(result["findings"]) == ["weak_key"] and result["certificate"]["key_type"] == "DSA"
    assert "has a DSA key of 1024 bits (minimum 2048)" in result["findings"][0]["message"]


@pytest.mark.parametrize("eku,listed", [
    (None, "has no Extended Key Usage extension"),
    ((ExtendedKeyUsageOID.CLIENT_AUTH,), "has Extended Key Usage clientAuth but not Server Authentication"),
    ((ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,), "has Extended Key Usage anyExtendedKeyUsage but not Server"),
])
def test_eku_without_server_authentication(lab, tmp_path, eku, listed):
    cert, _key = build(lab["ca"], eku=eku)
    result = from_file(certs.write_pem(str(tmp_path / "eku.pem"), cert), [NAME], lab["ca_pem"])
    assert ids(result["findings"]) == ["eku_missing"] and listed in result["findings"][0]["message"]


def test_eku_with_server_and_client_authentication_passes(lab, tmp_path):
    cert, _key = build(lab["ca"], eku=(ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH))
    result = from_file(certs.write_pem(str(tmp_path / "eku.pem"), cert), [NAME], lab["ca_pem"])
    assert result["findings"] == [] and result["certificate"]["eku_names"] == ["clientAuth", "serverAuth"]


def test_expiry_boundaries(lab, tmp_path):
    cert = lab["issued"]["good"][0]
    inspection = tls.inspect_file(certs.write_pem(str(tmp_path / "good.pem"), cert), ca_path=lab["ca_pem"])
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc

    def at(now, warn_days=30):
        return ids(tls.findings(inspection, [], now, warn_days))

    assert at(after - 30 * DAY) == ["expires_soon"]
    assert at(after - 30 * DAY - SECOND) == []
    assert at(after) == ["expires_soon"]
    assert at(after + SECOND) == ["expired"]
    assert at(after - 5 * DAY, warn_days=0) == [] and at(after, warn_days=0) == ["expires_soon"]
    assert at(before - SECOND) == ["not_yet_valid"] and at(before) == []
    soon = tls.findings(inspection, [], after - 30 * DAY, 30)[0]["message"]
    assert soon.endswith("expires on %s, in 30 days (warn_days 30)." % after.strftime("%Y-%m-%dT%H:%M:%SZ"))
    late = tls.findings(inspection, [], after + 3 * DAY, 30)[0]["message"]
    assert late.endswith("expired on %s, 3 days ago." % after.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert tls.describe(cert, after + 3 * DAY)["days_left"] == -3


def test_warn_days_and_expected_names_are_checked(lab, tmp_path):
    inspection = tls.inspect_file(certs.write_pem(str(tmp_path / "good.pem"), lab["issued"]["good"][0]))
    with pytest.raises(InputError, match="warn_days must be 0 or more"):
        tls.report(inspection, [], tls.utcnow(), -1)
    for bad in ("*.cem-lab.example", " ", ""):
        with pytest.raises(InputError, match="give the host names or IP addresses"):
            tls.report(inspection, [bad], tls.utcnow(), 30)


# --------------------------------------------------------------------------- files

@pytest.fixture(scope="module")
def chain(lab):
    """A leaf issued by an intermediate of the lab CA, with its key."""
    intermediate = certs.make_ca("unit intermediate", issuer=lab["ca"])
    leaf, key = certs.issue("good", intermediate)
    return leaf, key, intermediate[0]


def test_pem_with_chain_and_key(lab, chain, tmp_path):
    leaf, key, intermediate = chain
    path = certs.write_pem(str(tmp_path / "chain.pem"), [leaf, intermediate], key)
    result = from_file(path, [NAME, "127.0.0.1"], lab["ca_pem"])
    assert result["findings"] == [] and result["source"] == "file"
    assert result["file"] == dict(path=path, format="PEM", trusted=True)
    assert result["certificate"]["has_private_key"] is True
    assert [c["subject_cn"] for c in result["chain"]] == [NAME, "unit intermediate", "itms.cem unit CA"]
    alone = from_file(certs.write_pem(str(tmp_path / "leaf.pem"), leaf), [NAME], lab["ca_pem"])
    assert ids(alone["findings"]) == ["untrusted_chain"] and alone["certificate"]["has_private_key"] is False
    assert "no CA certificate of its issuer CN=unit intermediate,O=itms.cem lab was found" in alone["findings"][0]["message"]
    other_key = certs.issue("rsa1024", lab["ca"])[1]
    wrong = from_file(certs.write_pem(str(tmp_path / "wrong-key.pem"), leaf, other_key), [NAME])
    assert wrong["certificate"]["has_private_key"] is False


def test_der(lab, tmp_path):
    cert = lab["issued"]["good"][0]
    path = tmp_path / "good.cer"
    path.write_bytes(cert.public_bytes(DER))
    result = from_file(path, [NAME], lab["ca_pem"])
    assert result["findings"] == [] and result["file"]["format"] == "DER"
    assert result["certificate"]["sha1_thumbprint"] == hashlib.sha1(path.read_bytes()).hexdigest().upper()


def test_pfx_with_and_without_key(lab, chain, tmp_path):
    leaf, key, intermediate = chain
    path = tmp_path / "cem.pfx"
    path.write_bytes(certs.to_pfx(leaf, key, "Pfx-Secret-4711", chain=[intermediate]))
    result = from_file(path, [NAME], lab["ca_pem"], password="Pfx-Secret-4711")
    assert result["findings"] == [] and result["file"]["format"] == "PFX"
    assert result["certificate"]["has_private_key"] is True and len(result["chain"]) == 3
    path.write_bytes(certs.to_pfx(leaf, None, "Pfx-Secret-4711", chain=[intermediate]))
    result = from_file(path, [NAME], lab["ca_pem"], password="Pfx-Secret-4711")
    assert ids(result["findings"]) == ["no_private_key"] and result["certificate"]["subject_cn"] == NAME
    assert result["findings"][0]["message"] == "The certificate in %s: the PFX holds no private key." % path
    path.write_bytes(certs.to_pfx(leaf, key, None, chain=[intermediate]))
    assert from_file(path, [NAME], lab["ca_pem"])["certificate"]["has_private_key"] is True


def test_pfx_without_key_finds_its_leaf_without_basic_constraints(lab, tmp_path):
    issuer = lab["issued"]["self_signed"]  # no basic constraints, like a certificate IIS Manager makes
    leaf, _key = build(issuer, sans=(x509.DNSName("leaf.cem-lab.example"),))
    path = tmp_path / "certs-only.pfx"
    path.write_bytes(certs.to_pfx(None, None, "pw", chain=[issuer[0], leaf]))
    result = from_file(path, password="pw")
    assert result["certificate"]["san_dns"] == ["leaf.cem-lab.example"] and ids(result["findings"]) == [
        "untrusted_chain", "no_private_key"]


def test_pfx_password_errors_are_clear_and_never_show_the_password(chain, tmp_path):
    leaf, key, _intermediate = chain
    path = tmp_path / "cem.pfx"
    path.write_bytes(certs.to_pfx(leaf, key, "Pfx-Secret-4711"))
    with pytest.raises(InputError) as wrong:
        tls.inspect_file(str(path), "not-the-password")
    assert str(wrong.value) == ("Cannot open the PFX %s with the pfx_password given: the password is wrong or the file "
                                "is damaged. Check pfx_password (the password chosen when it was exported)." % path)
    assert "not-the-password" not in str(wrong.value) and wrong.value.kind == "input"
    with pytest.raises(InputError, match="is protected by a password. Set pfx_password."):
        tls.inspect_file(str(path))


@pytest.mark.parametrize("content,message", [
    (b"", "is empty"),
    (b"  \n", "is empty"),
    (b"hello, not a certificate\n", "is not a certificate: neither PEM, DER nor PFX"),
    (b"\x30\x03\x02\x01\x05", "is not a certificate: neither PEM, DER nor PFX"),
    (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "holds no PEM certificate"),
])
def test_files_that_are_not_certificates(tmp_path, content, message):
    path = tmp_path / "input"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        tls.inspect_file(str(path))


def test_directory_missing_file_and_bad_ca_path(lab, tmp_path):
    with pytest.raises(InputError, match="is a directory, not a certificate file"):
        tls.inspect_file(str(tmp_path))
    with pytest.raises(InputError, match="Cannot read .*nothing.pem: No such file or directory"):
        tls.inspect_file(str(tmp_path / "nothing.pem"))
    good = certs.write_pem(str(tmp_path / "good.pem"), lab["issued"]["good"][0])
    with pytest.raises(InputError, match="ca_path .*absent.pem does not exist"):
        tls.inspect_file(good, ca_path=str(tmp_path / "absent.pem"))
    text = tmp_path / "text.pem"
    text.write_text("no certificate here\n")
    with pytest.raises(InputError, match="holds no certificate"):
        tls.inspect_file(good, ca_path=str(text))
    folder = tmp_path / "cas"
    folder.mkdir()
    certs.write_pem(str(folder / "lab.pem"), lab["ca"][0])
    assert tls.inspect_file(good, ca_path=str(folder)).trusted is True


# --------------------------------------------------------------------------- endpoints that do not answer TLS

def _serve_once(handler):
    server = socket.create_server(("127.0.0.1", 0))

    def run():
        conn, _addr = server.accept()
        with conn:
            handler(conn)
        server.close()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1]


def test_closed_port_is_a_transport_error():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(TransportError) as error:
        tls.inspect_endpoint("127.0.0.1", port, timeout=3)
    assert str(error.value) == ("Cannot reach 127.0.0.1:%s: Connection refused. Check that the service listens on "
                                "127.0.0.1:%s, that a firewall lets the controller reach it, and the port." % (port, port))
    assert error.value.to_fail_json()["error_kind"] == "transport"


def test_plain_http_is_not_tls():
    port = _serve_once(lambda conn: (conn.recv(4096), conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")))
    with pytest.raises(TransportError, match=r"The TLS handshake with 127.0.0.1:%s failed \(.+\): is it a TLS port\?"
                                             % port):
        tls.inspect_endpoint("127.0.0.1", port, timeout=3)


def test_silent_endpoint_times_out():
    done = threading.Event()
    port = _serve_once(lambda conn: done.wait(5))
    try:
        with pytest.raises(TransportError, match="No TLS answer from 127.0.0.1:%s within 0.5 seconds" % port):
            tls.inspect_endpoint("127.0.0.1", port, timeout=0.5)
    finally:
        done.set()


def test_names_that_cannot_be_sent(lab):
    with pytest.raises(InputError, match="host a..b / server_name a..b: not a valid DNS name"):
        tls.inspect_endpoint("a..b", 443)
    with pytest.raises(InputError, match="host 127.0.0.1 / server_name x{64}.example: not a valid DNS name"):
        tls.inspect_endpoint("127.0.0.1", lab["listeners"]["good"].port, server_name="x" * 64 + ".example")
    result = endpoint(lab, "good", server_name="IG.CEM-LAB.EXAMPLE.")
    assert result["expected_names"] == ["IG.CEM-LAB.EXAMPLE."] and result["findings"] == []


def test_bad_port_and_timeout():
    with pytest.raises(InputError, match="port must be 1-65535"):
        tls.inspect_endpoint("127.0.0.1", 0)
    with pytest.raises(InputError, match="timeout above 0"):
        tls.inspect_endpoint("127.0.0.1", 443, timeout=0)


# --------------------------------------------------------------------------- names (pure, RFC 6125)

IP = ipaddress.ip_address
NAME_CASES = [
    (NAME, NAME, True),
    (NAME, NAME.upper(), True),
    ("IG.Cem-Lab.Example", NAME, True),
    (NAME, NAME + ".", True),
    (NAME + ".", NAME, True),
    (NAME, "ig.cem-lab.exampl", False),
    (NAME, "xig.cem-lab.example", False),
    ("*.cem-lab.example", NAME, True),
    ("*.cem-lab.example", "IG.CEM-LAB.EXAMPLE.", True),
    ("*.cem-lab.example", "a.b.cem-lab.example", False),
    ("*.cem-lab.example", "ig.other-lab.example", False),
    ("*.cem-lab.example", "cem-lab.example", False),
    ("*.cem-lab.example", ".cem-lab.example", False),
    ("*.com", "example.com", False),
    ("*", "example", False),
    ("*.", "example", False),
    ("f*o.example.com", "foo.example.com", False),
    ("*oo.example.com", "foo.example.com", False),
    ("f*.example.com", "foo.example.com", False),
    ("ig.*.example", NAME, False),
    ("*.*.example", "a.b.example", False),
    ("*.cem-lab.example", "*.cem-lab.example", False),
    ("xn--bcher-kva.example", "bücher.example", True),
    ("xn--bcher-kva.example", "BÜCHER.example", True),
    ("XN--BCHER-KVA.example", "xn--bcher-kva.example", True),
    ("*.xn--bcher-kva.example", "ig.bücher.example", True),
    ("bücher.example", "xn--bcher-kva.example", True),
    ("xn--bcher-kva.example", "bucher.example", False),
    ("127.0.0.1", "127.0.0.1", False),
    ("*.0.0.1", "127.0.0.1", False),
    ("*.cem-lab.example", "::1", False),
    (IP("127.0.0.1"), "127.0.0.1", True),
    (IP("127.0.0.1"), " 127.0.0.1 ", True),
    (IP("127.0.0.1"), "127.0.0.2", False),
    (IP("127.0.0.1"), "localhost", False),
    (IP("127.0.0.1"), NAME, False),
    (IP("::1"), "0:0:0:0:0:0:0:1", True),
    (IP("::1"), "[::1]", True),
    (IP("2001:db8::1"), "2001:DB8:0:0::1", True),
    (IP("2001:db8::1"), "2001:db8::2", False),
    (IP("::ffff:127.0.0.1"), "127.0.0.1", False),
    (IP("127.0.0.1"), IP("127.0.0.1"), True),
]


@pytest.mark.parametrize("pattern,name,expected", NAME_CASES)
def test_name_matches(pattern, name, expected):
    assert tls.name_matches(pattern, name) is expected


def test_covers_reads_certificates_and_their_description(lab):
    for kind, name, expected in (("good", NAME, True), ("good", "127.0.0.1", True), ("good", "::1", False),
                                 ("wrong_san", NAME, False), ("wildcard", "x.cem-lab.example", True),
                                 ("ip_only", "127.0.0.1", True), ("ip_only", NAME, False)):
        cert = lab["issued"][kind][0]
        assert tls.covers(cert, name) is expected
        assert tls.covers(tls.describe(cert, tls.utcnow()), name) is expected
    assert tls.covers(dict(san_dns=[], san_ip=["2001:db8::1"]), "2001:DB8::1") is True


def test_dns_key():
    assert tls.dns_key("Bücher.Example.") == "xn--bcher-kva.example"
    assert tls.dns_key("IG.cem-lab.example") == NAME
    assert [tls.dns_key(n) for n in ("", ".", "a..b", ".a")] == [None, None, None, None]
