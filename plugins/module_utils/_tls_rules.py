# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What is wrong with a certificate, and which names it covers: the rules of ``_tls``. No I/O.

RFC 6125 name matching (``dns_key``, ``name_matches``, ``covers``), reading a parsed certificate
(``describe``, ``key_info``, ``signed_by``, ``is_self_signed``, ``days_left``), and the findings
(``findings``, ``report``, with the message and ``FIX`` text of each finding id in ``ORDER``). The
handshake, file loading, trust and path building live in ``_tls``, which re-exports these names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import math

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by _tls.require_cryptography()
    HAS_CRYPTOGRAPHY = False

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
EKU_NAMES = dict(zip(["1.3.6.1.5.5.7.3.%s" % n for n in (1, 2, 3, 4, 8, 9)] + ["2.5.29.37.0"],
                     ["serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "OCSPSigning",
                      "anyExtendedKeyUsage"]))
ORDER = ("san_missing", "eku_missing", "weak_signature", "weak_key", "expired", "not_yet_valid",
         "expires_soon", "untrusted_chain", "self_signed", "no_private_key")
SEVERITY = dict((fid, "critical") for fid in ORDER)
SEVERITY.update(expires_soon="warning", self_signed="warning")
WEAK_HASHES = ("md5", "sha1")
MIN_KEY_BITS = 2048

FIX = dict(
    san_missing="Reissue it as an RSA, SHA-256 .pfx whose subjectAltName covers every name clients use: for CEM "
                "both the external Internet Gateway FQDN and the internal NS FQDN (KB 440283), an IP as an iPAddress.",
    eku_missing="Reissue it from a web server template whose Extended Key Usage includes Server Authentication "
                "(1.3.6.1.5.5.7.3.1): KB 440283 says a missing EKU causes IIS binding rejection.",
    weak_signature="Reissue it signed with SHA-256 or stronger (KB 440283: RSA with SHA-256 or higher); if an "
                   "intermediate CA certificate is the weak one, renew that CA certificate and redeploy the chain.",
    weak_key="Reissue it with a new RSA key of 2048 bits or more and import it as a .pfx with the key (KB 440283: RSA "
             "with SHA-256 or higher).",
    expired="Renew the certificate and bind the new one where the old one was (NS IIS bindings, Internet Gateway); "
            "KB 216202 names expired certificates among the five common causes of CEM failures.",
    not_yet_valid="Check the clocks of the issuing CA and of this host (itms.cem.clock_skew_info); bind a "
                  "certificate that is already valid, or wait until its not_before time.",
    expires_soon="Renew the certificate now and bind the new one before the old one expires (KB 216202: expired "
                 "certificates are among the five common causes of CEM failures).",
    untrusted_chain="Give ca_path the root CA that issued it, put that root on every endpoint (KB 440283: an internal "
                    "CA's root must be on all endpoints) and have the server send its intermediate CA certificates.",
    self_signed="Self-signed is expected only for the Internet Gateway's own listener certificate (KB 181705); bind "
                "a certificate issued by a CA the agents trust on the NS and in IIS.",
    no_private_key="Export the certificate again with its private key (Windows: Export, 'Yes, export the private "
                   "key', .pfx); ITMS certificate imports need the .pfx with the key (KB 440283).",
)


def _ip(value):
    """An ipaddress object for an IP literal ('::1', '[::1]', '127.0.0.1'), else None."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return ipaddress.ip_address(value.strip().lstrip("[").rstrip("]"))
    except ValueError:
        return None


def dns_key(name):
    """A DNS name compared as RFC 6125 says: lower case, A-labels, no trailing dot; None when not a name."""
    name = name.strip()
    name = name[:-1] if name.endswith(".") else name
    if not name or ".." in name or name.startswith("."):
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return name.lower()


def name_matches(pattern_or_ip, name):
    """Whether one SAN entry covers ``name``: an ipaddress object (iPAddress SAN) or a dNSName string.

    A wildcard counts only as the whole left-most label, for exactly one label, with two or more labels after
    it (never ``*.com``); partial-label wildcards (``f*o``) never match; a dNSName never matches an IP address.
    """
    address = _ip(name) if isinstance(name, str) else name
    if isinstance(pattern_or_ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return address is not None and address == pattern_or_ip
    if address is not None:
        return False
    pattern, host = dns_key(pattern_or_ip), dns_key(name)
    if pattern is None or host is None or "*" in host:
        return False
    if "*" not in pattern:
        return pattern == host
    labels = pattern.split(".")
    if labels[0] != "*" or "*" in ".".join(labels[1:]) or len(labels) < 3:
        return False
    parts = host.split(".")
    return len(parts) == len(labels) and parts[1:] == labels[1:]  # dns_key refused empty labels


def _sans(certificate):
    """(dNSNames, iPAddresses) of an x509 certificate or of a ``describe`` dict."""
    if isinstance(certificate, dict):
        return list(certificate.get("san_dns") or []), [_ip(a) for a in certificate.get("san_ip") or []]
    san = _ext(certificate, x509.SubjectAlternativeName)
    return (san.get_values_for_type(x509.DNSName), san.get_values_for_type(x509.IPAddress)) if san else ([], [])


def covers(certificate, name):
    """Whether the certificate's subjectAltName covers ``name`` (the Common Name never counts)."""
    dns, addresses = _sans(certificate)
    return any(name_matches(a, name) for a in addresses if a is not None) or any(name_matches(p, name) for p in dns)


def _ext(cert, kind):
    """The value of an extension, or None when the certificate does not have it."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_name(cert):
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return cert.signature_algorithm_oid.dotted_string
    return None if algorithm is None else algorithm.name  # None: Ed25519 and Ed448 sign without a separate hash


def key_info(public_key):
    """(key_type, key_size): RSA, EC, DSA, Ed25519 (256) or Ed448 (448)."""
    for kind, name in ((rsa.RSAPublicKey, "RSA"), (ec.EllipticCurvePublicKey, "EC"), (dsa.DSAPublicKey, "DSA"),
                       (ed25519.Ed25519PublicKey, "Ed25519"), (ed448.Ed448PublicKey, "Ed448")):
        if isinstance(public_key, kind):
            return name, getattr(public_key, "key_size", 256 if name == "Ed25519" else 448)
    return type(public_key).__name__, None


def _weak(cert):
    """Whether cryptography's verifier may refuse it for its algorithm alone: SHA-1/MD5, RSA/DSA under 2048 bits."""
    key_type, key_size = key_info(cert.public_key())
    return _hash_name(cert) in WEAK_HASHES or (key_type in ("RSA", "DSA") and key_size < MIN_KEY_BITS)


def signed_by(cert, issuer):
    """Whether ``issuer``'s key made ``cert``'s signature (any algorithm strength, unlike the verifier)."""
    key, signature, signed = issuer.public_key(), cert.signature, cert.tbs_certificate_bytes
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, cert.signature_algorithm_parameters, cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, cert.signature_algorithm_parameters)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, signed, cert.signature_hash_algorithm)
        else:
            key.verify(signature, signed)  # Ed25519, Ed448; another key type raises and does not count
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError, AttributeError):
        return False
    return True


def is_self_signed(cert):
    return cert.subject == cert.issuer and signed_by(cert, cert)


def _is_ca(cert):
    return bool(getattr(_ext(cert, x509.BasicConstraints), "ca", False))


def _eku(cert):
    """The EKU OIDs, or None when the extension is absent."""
    eku = _ext(cert, x509.ExtendedKeyUsage)
    return None if eku is None else [oid.dotted_string for oid in eku]


def _cn(cert):
    values = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def days_left(cert, now):
    return int(math.floor((cert.not_valid_after_utc - now).total_seconds() / 86400.0))


def describe(cert, now, has_private_key=None):
    """The certificate as the module returns it; thumbprints as Windows shows them (uppercase hex, no separators)."""
    der, (dns, addresses), eku, serial = _der(cert), _sans(cert), _eku(cert) or [], "%X" % cert.serial_number
    key_type, key_size = key_info(cert.public_key())
    return dict(
        subject=cert.subject.rfc4514_string(), subject_cn=_cn(cert), issuer=cert.issuer.rfc4514_string(),
        serial_number=serial if len(serial) % 2 == 0 else "0" + serial,
        san_dns=list(dns), san_ip=[str(a) for a in addresses], eku=eku,
        eku_names=[EKU_NAMES.get(oid, oid) for oid in eku], key_type=key_type, key_size=key_size,
        signature_hash=_hash_name(cert), not_before=_iso(cert.not_valid_before_utc),
        not_after=_iso(cert.not_valid_after_utc), days_left=days_left(cert, now),
        sha1_thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        sha256_thumbprint=hashlib.sha256(der).hexdigest().upper(),
        has_private_key=has_private_key, self_signed=is_self_signed(cert),
    )


def _who(cert):
    thumbprint = hashlib.sha1(_der(cert), usedforsecurity=False).hexdigest().upper()
    return "%s (thumbprint %s)" % (cert.subject.rfc4514_string(), thumbprint)


def _problems(cert, now, warn_days):
    """{finding id: what is wrong} of one certificate of the chain (the leaf or an intermediate)."""
    key_type, key_size = key_info(cert.public_key())
    after, found = cert.not_valid_after_utc, {}
    if _hash_name(cert) in WEAK_HASHES:
        found["weak_signature"] = "is signed with %s" % _hash_name(cert).upper()
    if key_type in ("RSA", "DSA") and key_size < MIN_KEY_BITS:
        found["weak_key"] = "has a %s key of %s bits (minimum %s)" % (key_type, key_size, MIN_KEY_BITS)
    if now > after:
        found["expired"] = "expired on %s, %s days ago" % (_iso(after), -days_left(cert, now))
    elif after <= now + datetime.timedelta(days=warn_days):
        found["expires_soon"] = "expires on %s, in %s days (warn_days %s)" % (
            _iso(after), days_left(cert, now), warn_days)
    if now < cert.not_valid_before_utc:
        found["not_yet_valid"] = "is not valid before %s" % _iso(cert.not_valid_before_utc)
    return found


def findings(inspection, expected_names, now, warn_days):
    """The findings of an inspection at ``now``: a list of {id, severity, message, fix}, in a fixed order."""
    leaf, label, found = inspection.leaf, inspection.label, {}
    missing = [n for n in expected_names if not covers(leaf, n)]
    if missing:
        dns, addresses = _sans(leaf)
        cn = _cn(leaf)
        found["san_missing"] = ["%s does not cover %s: its subjectAltName holds DNS [%s] and IP [%s]%s" % (
            label, ", ".join(missing), ", ".join(dns), ", ".join(str(a) for a in addresses),
            "; its Common Name %s does not count, only subjectAltName entries do" % cn
            if cn and any(dns_key(cn) == dns_key(n) if _ip(n) is None else _ip(cn) == _ip(n) for n in missing) else "")]
    eku = _eku(leaf)
    if eku is None:
        found["eku_missing"] = ["%s has no Extended Key Usage extension; ITMS needs Server Authentication" % label]
    elif SERVER_AUTH not in eku:
        found["eku_missing"] = ["%s has Extended Key Usage %s but not Server Authentication (%s)"
                                % (label, ", ".join(EKU_NAMES.get(o, o) for o in eku), SERVER_AUTH)]
    checked = [leaf] + [c for c in inspection.chain[1:] if not is_self_signed(c)]  # a root's own signature is moot
    names = ["%s (%s)" % (label, _who(leaf))] + ["the CA certificate %s" % _who(c) for c in checked[1:]]
    for cert, name in zip(checked, names):
        for fid, what in _problems(cert, now, warn_days).items():
            found.setdefault(fid, []).append("%s %s" % (name, what))
    if not inspection.trusted:
        found["untrusted_chain"] = ["%s (issuer %s) does not chain to a CA in %s: %s" % (
            label, leaf.issuer.rfc4514_string(), inspection.trust_source, inspection.trust_reason)]
    if is_self_signed(leaf):
        found["self_signed"] = ["%s is self-signed (subject and issuer %s)" % (label, leaf.subject.rfc4514_string())]
    if inspection.file and inspection.file.get("format") == "PFX" and not inspection.has_private_key:
        found["no_private_key"] = ["%s: %s" % (label, inspection.key_problem or "the PFX holds no private key")]
    return [dict(id=fid, severity=SEVERITY[fid], message="; ".join(found[fid]) + ".", fix=FIX[fid])
            for fid in ORDER if fid in found]


def report(inspection, expected_names, now, warn_days):
    """The module result (without request statistics)."""
    if warn_days < 0:
        raise InputError("warn_days must be 0 or more (got %s)." % warn_days)
    names = list(expected_names) if expected_names is not None else (
        [inspection.endpoint.get("server_name") or inspection.endpoint["host"]] if inspection.endpoint else [])
    for name in names:  # [server_name or host] for an endpoint, [] for a file, unless given
        if not isinstance(name, str) or not name.strip() or "*" in name:
            raise InputError("expected_names holds %r: give the host names or IP addresses clients connect to." % name)
    result = dict(source=inspection.source, expected_names=names,
                  certificate=describe(inspection.leaf, now, inspection.has_private_key),
                  chain=[describe(c, now) for c in inspection.chain],
                  findings=findings(inspection, names, now, warn_days))
    result.update((key, dict(value)) for key, value in (("endpoint", inspection.endpoint), ("file", inspection.file))
                  if value)
    return result
