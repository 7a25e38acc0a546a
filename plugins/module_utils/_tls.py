# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Certificates as CEM sees them: what an endpoint presents or a file holds, and what is wrong with it.

I/O: ``inspect_endpoint`` (one handshake with the standard library ``ssl``, which accepts any certificate on
purpose: trust is decided afterwards with ``cryptography.x509.verification``) and ``inspect_file`` (PEM, DER,
PFX) return an ``Inspection``. Pure, in ``_tls_rules`` and re-exported here: ``findings``, ``describe``,
``report`` and RFC 6125 name matching (``name_matches``, ``covers``). Before Python 3.13 ``ssl`` gives only
the leaf: the chain is then the leaf plus what path building finds in ``ca_path`` (or the system store).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import socket
import ssl
import warnings

from ansible_collections.itms.cem.plugins.module_utils._errors import (
    CemError, InputError, MissingDependency, TransportError,
)
from ansible_collections.itms.cem.plugins.module_utils._tls_rules import (  # noqa: F401  pylint: disable=unused-import  # public API of _tls
    EKU_NAMES, FIX, MIN_KEY_BITS, ORDER, SERVER_AUTH, SEVERITY, WEAK_HASHES,
    covers, days_left, describe, dns_key, findings, is_self_signed, key_info, name_matches, report, signed_by,
    _der, _ip, _is_ca, _weak, _who,
)

try:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509 import verification
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by require_cryptography()
    HAS_CRYPTOGRAPHY = False

MAX_DEPTH = 8
PEM_CERT = re.compile(br"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
PEM_KEY = re.compile(br"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.S)


class CertificateFindings(CemError):
    """``fail_on`` matched: the task fails with the whole result in ``details``."""

    kind = "findings"


def require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise MissingDependency("The Python library cryptography (42.0 or later) is required on the controller.",
                                hint="Install it with pip install cryptography.")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _parse(loader, data):
    try:
        with warnings.catch_warnings():  # a store's legacy certificate (negative serial ...) is not this task's matter
            warnings.simplefilter("ignore")
            return loader(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: an encrypted key without its password
        return None


def _pem_certs(data):
    """Every parsable certificate of a PEM bundle (one bad block does not hide the others)."""
    return [c for c in (_parse(x509.load_pem_x509_certificate, b) for b in PEM_CERT.findall(data)) if c is not None]


def _anchor_file(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return []
    return _pem_certs(data) if b"-----BEGIN" in data else [_parse(x509.load_der_x509_certificate, data)]


def load_anchors(ca_path=None):
    """(trusted certificates, where from): ca_path (a PEM/DER file or a folder of them) or the system store."""
    if ca_path:
        if not os.path.exists(ca_path):
            raise InputError("ca_path %s does not exist." % ca_path, hint="Give the PEM file of the CA that issued "
                             "the certificate, or leave ca_path out to use the system trust store.")
        where, files = "ca_path %s" % ca_path, [ca_path]
    else:
        paths = ssl.get_default_verify_paths()
        where, files = "the system trust store", [p for p in (paths.cafile, paths.openssl_cafile) if p]
        folders = [f for f in (paths.capath, paths.openssl_capath) if f and os.path.isdir(f)]
        ca_path = folders[0] if folders else None
    if ca_path and os.path.isdir(ca_path):
        files += [os.path.join(ca_path, n) for n in sorted(os.listdir(ca_path))]
    anchors, seen = [], set()
    for path in files:
        for cert in _anchor_file(path) if os.path.isfile(path) else []:
            if cert is not None and _der(cert) not in seen:
                seen.add(_der(cert))
                anchors.append(cert)
    if not anchors and where.startswith("ca_path"):
        raise InputError("%s holds no certificate." % where, hint="Give a PEM or DER file of the CA certificate.")
    return anchors, where


def build_path(leaf, intermediates, anchors, now):
    """(trusted, path leaf first, why not): cryptography's verifier (names and EKU are findings of their own, so
    any end-entity extension passes), then a walk by issuer signatures to a certificate of ``anchors``. The walk
    overrules the verifier only where a weak algorithm or key, or a validity period, explains its refusal: those are
    findings of their own (weak_signature, weak_key, expired, not_yet_valid), not also untrusted_chain."""
    anchor_ders, refused = set(_der(a) for a in anchors), None
    if _der(leaf) in anchor_ders:
        return True, [leaf], None
    # A moment inside the leaf's validity: an expired leaf gives expired, not also untrusted_chain.
    second = datetime.timedelta(seconds=1)
    moment = min(max(now, leaf.not_valid_before_utc + second), leaf.not_valid_after_utc - second)
    if anchors and hasattr(verification.PolicyBuilder, "extension_policies"):  # cryptography 45 and later
        ca_policy = verification.ExtensionPolicy.permit_all().require_present(
            x509.BasicConstraints, verification.Criticality.AGNOSTIC, None)
        builder = (verification.PolicyBuilder().store(verification.Store(anchors)).time(moment)
                   .max_chain_depth(MAX_DEPTH)
                   .extension_policies(ca_policy=ca_policy, ee_policy=verification.ExtensionPolicy.permit_all()))
        try:
            return True, list(builder.build_client_verifier().verify(leaf, list(intermediates)).chain), None
        except (verification.VerificationError, ValueError, UnsupportedAlgorithm) as exc:
            refused = str(exc)
    pool = list(anchors) + [c for c in intermediates if _der(c) not in anchor_ders]
    path, current = [leaf], leaf
    while len(path) <= MAX_DEPTH and not is_self_signed(current):
        issuer = next((c for c in pool if c.subject == current.issuer and all(_der(c) != _der(p) for p in path)
                       and (_der(c) in anchor_ders or _is_ca(c)) and signed_by(current, c)), None)
        if issuer is None:
            break
        path.append(issuer)
        if _der(issuer) in anchor_ders:
            if refused and not any(_weak(c) or not c.not_valid_before_utc <= moment <= c.not_valid_after_utc
                                   for c in path):
                return False, path, "the X.509 verifier of cryptography refused it (%s)" % refused
            return True, path, None
        current = issuer
    if not anchors:
        return False, path, "no trusted certificate to check against"
    if is_self_signed(path[-1]):
        return False, path, "%s is self-signed and is not itself trusted" % (
            "it" if path[-1] is leaf else _who(path[-1]))
    return False, path, "no CA certificate of its issuer %s was found in the chain or among the trusted " \
        "certificates" % path[-1].issuer.rfc4514_string()


class Inspection(object):
    """What was inspected: source, label, leaf, chain (leaf first), trusted, trust_source, trust_reason,
    endpoint or file (dicts), has_private_key, key_problem, warnings."""

    def __init__(self, **fields):
        self.endpoint = self.file = self.has_private_key = self.key_problem = self.trust_reason = None
        self.warnings = []
        self.__dict__.update(fields)


def _inspection(source, label, leaf, others, ca_path, **extra):
    anchors, where = load_anchors(ca_path)
    trusted, path, reason = build_path(leaf, others, anchors, utcnow())
    inspection = Inspection(source=source, label=label, leaf=leaf, chain=path, trusted=trusted, trust_source=where,
                            trust_reason=reason, **extra)
    if not anchors:
        inspection.warnings.append("The system trust store of the controller holds no certificate: set ca_path.")
    return inspection


def _handshake(host, port, server_name, timeout):
    """(leaf DER, chain DERs or [], TLS version) of one handshake that accepts any certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Inspection, not trust: the certificate is judged by findings() after the handshake, so it must complete
    # with expired, self-signed, SHA-1 or RSA-1024 certificates and with old TLS versions.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    where = "%s:%s" % (host, port)
    check = "Check that the service listens on %s, that a firewall lets the controller reach it, and the port." % where
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                leaf = tls.getpeercert(binary_form=True)
                chain = []
                if hasattr(tls, "get_unverified_chain"):  # Python 3.13 and later
                    chain = [c for c in tls.get_unverified_chain() or [] if isinstance(c, bytes)]
                version = tls.version()
    except UnicodeError:
        raise InputError("host %s / server_name %s: not a valid DNS name (a label is empty or longer than 63 "
                         "characters)." % (host, server_name))
    except socket.gaierror as exc:
        raise TransportError("Cannot resolve %s: %s." % (host, exc.strerror or exc),
                             hint="Check the name and the controller's DNS (itms.cem.dns_info).")
    except socket.timeout:
        raise TransportError("No TLS answer from %s within %s seconds." % (where, timeout), hint=check)
    except ssl.SSLError as exc:
        raise TransportError("The TLS handshake with %s failed (%s): is it a TLS port?" % (where, exc.reason or exc),
                             hint="Check the port: the listener must speak TLS (HTTPS).")
    except OSError as exc:
        raise TransportError("Cannot reach %s: %s." % (where, exc.strerror or exc), hint=check)
    if not leaf:
        raise TransportError("%s completed the TLS handshake without presenting a certificate." % where)
    return leaf, chain, version


def inspect_endpoint(host, port, server_name=None, ca_path=None, timeout=10.0):
    """Inspect the certificate an endpoint presents (SNI ``server_name``, default ``host`` unless an IP)."""
    require_cryptography()
    if not host:
        raise InputError("host is empty.")
    if not 0 < int(port) < 65536 or timeout <= 0:
        raise InputError("port must be 1-65535 and timeout above 0 (got %s and %s)." % (port, timeout))
    if server_name is None and _ip(host) is None:
        server_name = host
    leaf_der, chain_ders, version = _handshake(host, int(port), server_name, timeout)
    leaf = x509.load_der_x509_certificate(leaf_der)
    others = [x509.load_der_x509_certificate(d) for d in chain_ders if d != leaf_der]
    label = "The certificate presented by %s:%s" % (host, port)
    endpoint = dict(host=host, port=int(port), server_name=server_name, tls_version=version)
    inspection = _inspection("endpoint", label, leaf, others, ca_path, endpoint=endpoint)
    inspection.endpoint["trusted"] = inspection.trusted
    inspection.endpoint["chain_sent"] = bool(chain_ders)
    if version in ("TLSv1", "TLSv1.1"):
        inspection.warnings.append("%s:%s negotiated %s, which current Windows and browsers disable; enable TLS 1.2 "
                                   "on it." % (host, port, version))
    return inspection


def _looks_like_pfx(data):
    """A DER SEQUENCE whose first element is INTEGER 3: the PFX version (RFC 7292)."""
    offset = 2 + (data[1] & 0x7F if len(data) > 8 and data[1] & 0x80 else 0)
    return len(data) > 8 and data[0] == 0x30 and data[offset:offset + 3] == b"\x02\x01\x03"


def _matches(key, cert):
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return (key.public_key().public_bytes(serialization.Encoding.DER, spki)
            == cert.public_key().public_bytes(serialization.Encoding.DER, spki))


def _pick_leaf(certs):
    """The end-entity certificate of a PFX without a key: not a CA, and nobody's issuer."""
    ends = [c for c in certs if not _is_ca(c)] or certs
    return next((c for c in ends if not any(o is not c and o.issuer == c.subject for o in certs)), ends[0])


def _load_pfx(path, data, password):
    secrets = [password.encode("utf-8")] if password else [None, b""]  # no password: none, or the empty one
    opened = [r for r in (_parse(lambda d, s=s: pkcs12.load_key_and_certificates(d, s), data) for s in secrets) if r]
    if not opened:
        if password:
            raise InputError("Cannot open the PFX %s with the pfx_password given: the password is wrong or the file is "
                             "damaged." % path, hint="Check pfx_password (the password chosen when it was exported).")
        raise InputError("The PFX %s is protected by a password." % path, hint="Set pfx_password.")
    key, cert, extra = opened[0]
    certs = ([cert] if cert is not None else []) + list(extra or [])
    if not certs:
        raise InputError("The PFX %s holds no certificate." % path)
    leaf = cert if cert is not None else _pick_leaf(certs)
    has_key = key is not None and _matches(key, leaf)
    problem = None if key is None or has_key else "the private key in it does not belong to the certificate"
    return leaf, [c for c in certs if c is not leaf], has_key, problem


def _load_pem(path, data, password):
    certs = _pem_certs(data)
    if not certs:
        raise InputError("%s holds no PEM certificate." % path, hint="Give the certificate, not a key or request.")
    key_block = PEM_KEY.search(data)
    has_key, problem = key_block is not None, None
    secret = password.encode("utf-8") if password else None
    key = key_block and _parse(lambda block: serialization.load_pem_private_key(block, secret), key_block.group(0))
    if key is not None and not _matches(key, certs[0]):  # a key that cannot be read is present, not checked
        has_key, problem = False, "the private key in it does not belong to the certificate"
    return certs[0], certs[1:], has_key, problem


def inspect_file(path, password=None, ca_path=None):
    """Inspect a PEM (leaf first, chain and key optional), DER or PFX file."""
    require_cryptography()
    kinds = "Give a .pem, .cer/.der or .pfx file that holds a certificate."
    if os.path.isdir(path):
        raise InputError("path %s is a directory, not a certificate file." % path, hint=kinds)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError("Cannot read %s: %s." % (path, exc.strerror or exc), hint="Check the path and permissions.")
    if not data.strip():
        raise InputError("%s is empty." % path, hint=kinds)
    der = None if b"-----BEGIN" in data else _parse(x509.load_der_x509_certificate, data)
    if b"-----BEGIN" in data:
        form, (leaf, others, has_key, problem) = "PEM", _load_pem(path, data, password)
    elif der is not None:
        form, leaf, others, has_key, problem = "DER", der, [], False, None
    elif _looks_like_pfx(data):
        form, (leaf, others, has_key, problem) = "PFX", _load_pfx(path, data, password)
    else:
        raise InputError("%s is not a certificate: neither PEM, DER nor PFX." % path, hint=kinds)
    label = "The certificate in %s" % path
    inspection = _inspection("file", label, leaf, others, ca_path, file=dict(path=path, format=form),
                             has_private_key=has_key, key_problem=problem)
    inspection.file["trusted"] = inspection.trusted
    return inspection


class TlsInspector(object):
    """The module's client: inspects endpoints and files and counts what it did."""

    def __init__(self):
        self.warnings = []
        self.counts = dict(endpoint=0, file=0)

    def inspect(self, what, *args):
        """``what`` 'endpoint' with the arguments of inspect_endpoint, or 'file' with those of inspect_file."""
        self.counts[what] += 1
        inspection = (inspect_endpoint if what == "endpoint" else inspect_file)(*args)
        self.warnings.extend(inspection.warnings)
        return inspection

    def stats(self):
        return dict(handshakes=self.counts["endpoint"], files=self.counts["file"])

    def close(self):
        """Nothing stays open: each handshake closes its socket."""
