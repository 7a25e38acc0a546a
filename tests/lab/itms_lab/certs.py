# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's certificate factory: good and deliberately bad server certificates (cryptography only).

``make_ca`` makes a CA (or, with ``issuer``, an intermediate CA); ``issue(kind, ca, ...)`` makes a server
certificate of one of the ``KINDS``; ``issue_named`` a good one with a chosen CN and SAN (or none) from any
CA; ``write_pem`` and ``to_pfx`` write them out. ``KINDS`` maps each
kind to the finding ids ``itms.cem.tls_certificate_info`` must report for it when it is checked against
``names`` with the issuing lab CA as ``ca_path``.

Every key is RSA (what ITMS expects of a gateway and NS certificate: "RSA SHA-256 .pfx"), 2048 bits
except ``rsa1024``. Leaf keys are cached per size within a process: generating RSA keys is the slow
part, and sharing a leaf key between lab certificates does not change what any check sees.
"""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KINDS = {
    "good": [],
    "expired": ["expired"],
    "not_yet_valid": ["not_yet_valid"],
    "wrong_san": ["san_missing"],
    "wildcard": [],
    "no_eku": ["eku_missing"],
    "sha1": ["weak_signature"],
    "rsa1024": ["weak_key"],
    "untrusted": ["untrusted_chain"],
    "self_signed": ["self_signed", "untrusted_chain"],
    "ip_only": ["san_missing"],
}

_LEAF_KEYS = {}
_OTHER_CA = []


def _now(now):
    return now if now is not None else datetime.datetime.now(datetime.timezone.utc)


def _key(size, fresh=False):
    if fresh:
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    if size not in _LEAF_KEYS:
        _LEAF_KEYS[size] = rsa.generate_private_key(public_exponent=65537, key_size=size)
    return _LEAF_KEYS[size]


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "itms.cem lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(ca):
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=not ca,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def make_ca(common_name, days=3650, issuer=None, now=None):
    """A CA certificate and its key: self-signed, or an intermediate signed by ``issuer`` = (cert, key)."""
    now = _now(now)
    key = _key(2048, fresh=True)
    subject = _name(common_name)
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .issuer_name(issuer[0].subject if issuer else subject)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
               .add_extension(_key_usage(True), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    signer = key
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                                        critical=False)
        signer = issuer[1]
    return builder.sign(signer, hashes.SHA256()), key


def _other_ca():
    """The CA of the ``untrusted`` kind: made once per process and handed to nobody."""
    if not _OTHER_CA:
        _OTHER_CA.append(make_ca("itms.cem lab CA nobody trusts"))
    return _OTHER_CA[0]


def _sans(kind, names, ips):
    dns = list(names)
    addresses = list(ips)
    if kind == "wrong_san":
        dns, addresses = ["other.cem-lab.example"], []
    elif kind == "wildcard":
        # *.<parent of the first name>: covers ig.cem-lab.example, not a.b.cem-lab.example
        dns, addresses = ["*." + names[0].split(".", 1)[1]], []
    elif kind == "ip_only":
        dns = []
    entries = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    return entries


def issue(kind, ca=None, names=("ig.cem-lab.example",), ips=("127.0.0.1",), now=None):
    """A server certificate of ``kind`` (see ``KINDS``) for ``names`` and ``ips``, and its key.

    ``ca`` = (cert, key) issues it (not used by ``untrusted`` and ``self_signed``); without one, the kinds
    that need a CA fail. ``now`` (aware UTC datetime) anchors the validity period.
    """
    if kind not in KINDS:
        raise ValueError("unknown certificate kind %r; one of %s" % (kind, ", ".join(sorted(KINDS))))
    names = list(names)
    ips = list(ips)
    if kind == "wildcard" and (not names or "." not in names[0]):
        raise ValueError("the wildcard kind needs a first name with a parent domain")
    now = _now(now)
    if kind == "ip_only" and not ips:
        raise ValueError("the ip_only kind needs at least one address in ips")
    key = _key(1024 if kind == "rsa1024" else 2048)
    if kind == "untrusted":
        ca = _other_ca()
    if kind != "self_signed" and ca is None:
        raise ValueError("the %s kind needs ca=(cert, key), for example from make_ca()" % kind)

    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)
    if kind == "expired":
        start, end = now - datetime.timedelta(days=400), now - datetime.timedelta(days=10)
    elif kind == "not_yet_valid":
        start, end = now + datetime.timedelta(days=10), now + datetime.timedelta(days=400)

    common_name = ips[0] if kind == "ip_only" else (names[0] if names else ips[0])
    cert = _build(common_name, key, None if kind == "self_signed" else ca, start, end, _sans(kind, names, ips),
                  eku=kind != "no_eku", signed_by_ca=kind != "self_signed")
    if kind == "sha1":
        cert = resign_sha1(cert, ca[1])
    return cert, key


def _build(common_name, key, ca, start, end, san_entries, eku=True, signed_by_ca=True):
    """The one leaf builder: ``san_entries`` None leaves the SAN extension out; without ``signed_by_ca`` it is self-signed."""
    subject = _name(common_name)
    issuer_name, signer = (ca[0].subject, ca[1]) if signed_by_ca else (subject, key)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    if san_entries is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san_entries), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if signed_by_ca:
        # A self-signed certificate made like IIS Manager or a gateway makes one: no basic constraints,
        # no key usage; the issued ones look like an enterprise CA's web server template.
        builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(_key_usage(False), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca[1].public_key()),
                                  critical=False))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def issue_named(common_name, ca, dns=(), ips=(), san=True, fresh_key=False, days=365, now=None):
    """A good server certificate issued by ``ca`` = (cert, key) outside ``KINDS``, and its key.

    For certificates the kinds do not cover: another CA (an intercepting proxy's), a CN of one's choosing,
    or no SAN extension at all (``san=False``: what EDR 4.6 refuses). ``fresh_key`` gives it a key of its
    own, as a second appliance or a proxy has, instead of the process's shared leaf key.
    """
    if ca is None:
        raise ValueError("issue_named needs ca=(cert, key), for example from make_ca()")
    entries = None
    if san:
        entries = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
        if not entries:
            raise ValueError("a SAN needs at least one name or address (san=False leaves the extension out)")
    now = _now(now)
    key = _key(2048, fresh=fresh_key)
    return _build(common_name, key, ca, now - datetime.timedelta(days=1), now + datetime.timedelta(days=days), entries), key


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11, DER-encoded
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID 1.2.840.113549.1.1.5


def resign_sha1(cert, signer):
    """``cert`` signed with sha1WithRSAEncryption instead of SHA-256.

    cryptography 45+ refuses SHA-1 in ``CertificateBuilder.sign``, but real CEM estates still hold such
    certificates, so the lab swaps the algorithm OID (same length) in the signed part and the outer
    AlgorithmIdentifier and signs that with SHA-1 (same signature length): no length in the DER changes.
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    der = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("cannot re-sign this certificate with SHA-1")
    new_tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = signer.sign(new_tbs, padding.PKCS1v15(), hashes.SHA1())
    at = der.index(tbs)
    head, tail = der[:at], der[at + len(tbs):]
    if len(signature) != len(cert.signature) or not tail.endswith(cert.signature):
        raise ValueError("cannot re-sign this certificate with SHA-1")
    tail = tail.replace(_SHA256_RSA, _SHA1_RSA)[:-len(signature)] + signature
    return x509.load_der_x509_certificate(head + new_tbs + tail)


def pem(cert, key=None):
    """PEM text of one certificate or a list (leaf first), then the key (PKCS#8, unencrypted) if given."""
    certs = cert if isinstance(cert, (list, tuple)) else [cert]
    data = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    if key is not None:
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    return data


def write_pem(path, cert, key=None):
    """Write ``pem(cert, key)`` to ``path`` (mode 0600 when it holds a key) and return ``path``."""
    import os

    data = pem(cert, key)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if key is not None else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def write_pair(directory, name, cert, key):
    """``DIR/<name>.pem`` (the certificate) and ``DIR/<name>.key`` (the key and the certificate, mode 0600): their paths."""
    import os

    cert_path, key_path = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    write_pem(cert_path, cert)
    write_pem(key_path, cert, key)
    return cert_path, key_path


def to_pfx(cert, key, password, chain=(), name="itms.cem lab"):
    """A PKCS#12 (.pfx) of ``cert`` with ``key`` (None: certificate only) and ``chain``, as bytes.

    With a password: AES-256 / SHA-256 (what Windows Server 2019 and later import); without: unencrypted.
    """
    if password:
        secret = password.encode("utf-8") if not isinstance(password, bytes) else password
        encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
                      .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                      .hmac_hash(hashes.SHA256()).build(secret))
    else:
        encryption = serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, list(chain) or None, encryption)


class TlsListener(object):
    """A TLS listener in a thread presenting ``certs`` (one or a list, leaf first) with ``key``.

    It accepts the weak certificates too (``@SECLEVEL=0``, TLS 1.0 and later), completes each handshake,
    then closes the connection: enough for a client to read what is presented. ``close()`` stops it.
    """

    def __init__(self, certs, key, host="127.0.0.1", port=0):
        import os
        import socket
        import ssl
        import tempfile
        import threading
        import warnings

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem(certs, key))
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        self.context = context
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tls-listener-%s" % self.port, daemon=True)
        self._thread.start()

    def _serve(self):
        import socket
        import ssl

        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
