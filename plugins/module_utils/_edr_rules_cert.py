# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The certificate rules of the EDR enrollment diagnosis (KB 236805 causes 1, 2, 4 and 9), and the tolerant reading
of odd evidence (``text``, ``number``, ``flag``, ``items``...) that ``_edr_rules`` and ``_edr_rules_groups`` share.
No I/O.

Each rule returns ``(verdict, summary, evidence lines, affected groups, affected computers)``; ``_edr_rules``
turns that into the verdict dict. Certificates are CERT dicts (``_edr_rules`` documents the evidence); a name is
covered by the subjectAltName as ``_tls_rules.covers`` says (RFC 6125), and the Common Name counts only when the
EDR version is known and older than 4.6 and the certificate has no subjectAltName at all (KB 236805 cause 9: EDR
4.6 needs a valid SAN). The same holds for the SEPM certificate: which TLS library EDR uses towards SEPM is not
publicly documented, so the SAN-first rule is the safe reading.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re

from ansible_collections.itms.cem.plugins.module_utils._tls_rules import covers, name_matches

SAN_VERSION = (4, 6)
_VERSION = re.compile(r"\s*[vV]?(\d{1,9}(?:\.\d{1,9})*)")  # bounded: int() refuses over 4300 digits
_TRUE = ("true", "yes", "on", "1", "enabled")
_FALSE = ("false", "no", "off", "0", "disabled")


# -- reading odd evidence ------------------------------------------------------------------------
def text(value):
    """A stripped string, or None for None, an empty string or a container."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = str(value).strip()
    return value or None


def number(value):
    """A finite number from a number or a numeric string ("443", " 1.5 "); booleans, infinities and the rest: None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        as_float = float(value if isinstance(value, (int, float)) else str(value).strip())
    except (TypeError, ValueError, OverflowError):
        return None
    return (value if isinstance(value, int) else as_float) if math.isfinite(as_float) else None


def integer(value):
    value = number(value)
    return None if value is None else int(value)


def flag(value):
    """True/False from a boolean, 0/1 or a word ("true", "Yes", "off"); anything else is unknown (None)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = (text(value) or "").lower()
    return True if word in _TRUE else False if word in _FALSE else None


def items(value):
    """The dicts of a list (a lone dict counts as a list of one); None and other values give []."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, (list, tuple)) else []


def strings(value):
    """The non-empty strings of a list (a lone string counts as a list of one)."""
    values = value if isinstance(value, (list, tuple, set)) else [value]
    return [t for t in (text(v) for v in values) if t is not None]


def limited(names, limit=3):
    """``a, b, c and 4 more``: a few names in a sentence."""
    names = list(names)
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def version_tuple(value):
    """The leading dotted integers of a version ("4.6.8-8" -> (4, 6, 8)), or None."""
    match = _VERSION.match(text(value) or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def sha256_key(value):
    """A SHA-256 fingerprint as compared: upper-case hex without separators or "sha256:" prefix."""
    value = text(value)
    if value is None:
        return None
    if value.lower().startswith("sha256:"):
        value = value[7:]
    return re.sub(r"[\s:\-]", "", value).upper() or None


def show_sha256(key):
    if key and len(key) == 64 and re.match(r"[0-9A-F]+\Z", key):
        return ":".join(key[i:i + 2] for i in range(0, 64, 2))
    return key or "unknown"


def as_ip(value):
    try:
        return ipaddress.ip_address(value.strip().lstrip("[").rstrip("]"))
    except (ValueError, AttributeError):
        return None


def host_of(value):
    """The host of a name as an operator may write it: "https://sepm.example.com:8446/sepm" -> "sepm.example.com"."""
    value = text(value)
    if value is None:
        return None
    value = value.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value or None


def path_key(value):
    """(key, shown) of a full group path: parts stripped, empty parts dropped; the key is case-folded."""
    parts = [p.strip() for p in (text(value) or "").split("\\") if p.strip()]
    shown = "\\".join(parts)
    return (shown.casefold(), shown) if parts else (None, None)


def where(address, port):
    if address and ":" in address and not address.startswith("["):
        address = "[%s]" % address
    return "%s:%s" % (address or "(no address)", port if port is not None else "(no port)")


def normal_cert(raw):
    """A CERT dict with every field readable, or None when ``raw`` is not a dict."""
    if not isinstance(raw, dict):
        return None
    return dict(sha256=sha256_key(raw.get("sha256")), subject_cn=text(raw.get("subject_cn")), issuer=text(raw.get("issuer")),
                san_dns=strings(raw.get("san_dns")), san_ip=[a for a in strings(raw.get("san_ip")) if as_ip(a) is not None],
                not_before=text(raw.get("not_before")), not_after=text(raw.get("not_after")),
                expired=flag(raw.get("expired")) is True, not_yet_valid=flag(raw.get("not_yet_valid")) is True)


def has_san(cert):
    return bool(cert["san_dns"] or cert["san_ip"])


def cert_names(cert):
    return "SAN DNS [%s], SAN IP [%s], subject CN %s" % (", ".join(cert["san_dns"]), ", ".join(cert["san_ip"]),
                                                         cert["subject_cn"] or "(none)")


def covers_name(cert, name, version):
    """Whether the certificate covers ``name``; the CN counts only for EDR < 4.6 and a certificate without SAN."""
    host = host_of(name)
    if host is None:
        return False
    if covers(cert, host):
        return True
    cn = cert["subject_cn"]
    if cn is None or has_san(cert) or version is None or version >= SAN_VERSION:
        return False
    cn_ip = as_ip(cn)
    return name_matches(cn_ip, host) if cn_ip is not None else name_matches(cn, host)


def _cn_note(cert, version):
    if cert["subject_cn"] and not has_san(cert):
        return "; its Common Name %s counts only before EDR 4.6 (EDR version %s)" % (
            cert["subject_cn"], ".".join(str(n) for n in version) if version else "unknown")
    return ""


def _used_by(probe):
    return " (private-cloud server of %s)" % limited(probe["groups"]) if probe["groups"] else ""


def _judge(probes, judge):
    """fail > needs_input > pass over the probes; ``judge(probe)`` gives (kind, line), kind "fail", "unknown" or "good".

    Returns (verdict, lines with the failures first, the groups behind the deciding probes, {kind: count}).
    """
    lines, groups = dict(fail=[], unknown=[], good=[]), dict(fail=[], unknown=[], good=[])
    for probe in probes:
        kind, line = judge(probe)
        lines[kind].append(line)
        groups[kind].extend(probe["groups"])
    kind = "fail" if lines["fail"] else "unknown" if lines["unknown"] else "good"
    verdict = dict(fail="fail", unknown="needs_input", good="pass")[kind]
    counts = {k: len(v) for k, v in lines.items()}
    return verdict, lines["fail"] + lines["unknown"] + lines["good"], groups[kind] if kind != "good" else [], counts


def _unreadable(probe):
    if probe["address"] is None:
        return "unknown", "a private-cloud server%s has no address, so its certificate cannot be checked" % _used_by(probe)
    if probe["error"]:
        return "unknown", "the controller cannot reach %s: %s; check from a SEP client%s" % (
            where(probe["address"], probe["port"]), probe["error"], _used_by(probe))
    return "unknown", "no certificate was recorded for %s%s" % (where(probe["address"], probe["port"]), _used_by(probe))


def read_probe(raw):
    """One TLS probe of ``evidence["probes"]``, its groups de-duplicated by path and its fingerprints comparable."""
    groups, seen = [], set()
    for key, shown in (path_key(g) for g in strings(raw.get("groups"))):
        if key is not None and key not in seen:
            seen.add(key)
            groups.append(shown)
    pushed = [dict(name=text(p.get("name")), sha256=sha256_key(p.get("sha256")), error=text(p.get("error")))
              for p in items(raw.get("pushed"))]
    return dict(address=text(raw.get("address")), port=integer(raw.get("port")), groups=groups,
                certificate=normal_cert(raw.get("certificate")), error=text(raw.get("error")), pushed=pushed)


NO_PROBE = ("needs_input", "No private-cloud server to check: no group uses EDR, or no TLS probe was made.",
            ["no TLS probe in the evidence: no group's private cloud lists an enabled ATP server to connect to"], [], [])


# -- the rules -----------------------------------------------------------------------------------
def certificate_name(probes, version):
    """Cause 1: the certificate each EDR address presents must cover that address and be valid now.

    A probe that has a certificate is judged even when it also reports an error (the handshake gave the certificate).
    """
    if not probes:
        return NO_PROBE

    def judge(probe):
        cert, at = probe["certificate"], where(probe["address"], probe["port"])
        if cert is None or probe["address"] is None:
            return _unreadable(probe)
        problems = []
        if not covers_name(cert, probe["address"], version):
            names = [n for n in cert["san_dns"] + cert["san_ip"] if "*" not in n]
            problems.append("does not cover %s (%s)%s; %s" % (
                probe["address"], cert_names(cert), _cn_note(cert, version),
                "point the SEP Policies URL at %s (KB 171881) or reissue the certificate for %s" % (
                    " or ".join(names[:2]), probe["address"]) if names else "reissue it with a SAN for %s" % probe["address"]))
        if cert["expired"]:
            problems.append("expired (not after %s)" % (cert["not_after"] or "unknown"))
        if cert["not_yet_valid"]:
            problems.append("is not valid yet (not before %s)" % (cert["not_before"] or "unknown"))
        if problems:
            return "fail", "%s presents a certificate that %s%s" % (at, "; it ".join(problems), _used_by(probe))
        return "good", "%s presents a certificate that covers %s (%s), valid until %s" % (
            at, probe["address"], cert_names(cert), cert["not_after"] or "unknown")

    verdict, lines, groups, counts = _judge(probes, judge)
    summary = {"fail": "%d of %d EDR addresses present a certificate that does not match them or is not valid."
                       % (counts["fail"], len(probes)),
               "needs_input": "%d of %d EDR addresses could not be checked from the controller."
                              % (counts["unknown"], len(probes)),
               "pass": "Every EDR address (%d) presents a valid certificate that covers it." % len(probes)}[verdict]
    return verdict, summary, lines, groups, []


def sepm_certificate_name(sepm, controller_name, version):
    """Cause 2: the SEPM Controller connection name in EDR must be covered by the SEPM certificate."""
    if sepm is None:
        return "needs_input", "No SEPM was read.", ["the evidence holds no SEPM"], [], []
    cert, name, lines = sepm["certificate"], text(controller_name), []
    if cert is None:
        lines.append("the certificate of SEPM %s was not read: %s" % (
            sepm["name"], sepm["certificate_error"] or "the evidence holds none"))
    else:
        lines.append("the certificate of SEPM %s holds %s" % (sepm["name"], cert_names(cert)))
    if name is None:
        lines.append("give console.sepm_controller_name: the SEPM Controller connection name in EDR Settings > Global "
                     "> Endpoint Communication Channel")
    if cert is None or name is None:
        return "needs_input", "The SEPM certificate or the SEPM Controller connection name is missing.", lines, [], []
    if covers_name(cert, name, version):
        return "pass", "The SEPM Controller connection name %s matches the SEPM certificate." % name, lines, [], []
    lines.insert(0, "the SEPM Controller connection name %s is not covered by the certificate of SEPM %s%s; rename the "
                    "connection to a name the certificate holds, or reissue server.crt for %s" % (
                        name, sepm["name"], _cn_note(cert, version), name))
    return "fail", "The SEPM Controller connection name %s does not match the SEPM certificate." % name, lines, [], []


def tls_interception(probes, proxy_of):
    """Cause 4: the certificate an EDR address presents must be one SEPM pushes for it.

    ``proxy_of``: {case-folded group path: "proxy host:port (mode n)"} of the groups whose effective proxy is set (mode not 0/None). Probes
    without a presented or a pushed fingerprint are listed as not compared; cause 1 reports why they have none.
    """
    compared, failures, lines, failed, unchecked = 0, [], [], [], []
    for probe in probes:
        at, cert = where(probe["address"], probe["port"]), probe["certificate"]
        pushed = [p for p in probe["pushed"] if p["sha256"]]
        lines.extend("SEPM pushes %s for %s but it cannot be read: %s" % (p["name"] or "a certificate", at, p["error"])
                     for p in probe["pushed"] if p["error"])
        if cert is None or not cert["sha256"] or not pushed:
            unchecked.append("%s (%s)" % (at, "no pushed certificate" if cert is not None and cert["sha256"]
                                          else "no presented certificate"))
            continue
        compared += 1
        if cert["sha256"] in [p["sha256"] for p in pushed]:
            lines.append("%s presents the certificate SEPM pushes (SHA-256 %s)" % (at, show_sha256(cert["sha256"])))
            continue
        failed.extend(probe["groups"])
        failures.append("%s presents a certificate issued by %s (SHA-256 %s), but SEPM pushes %s%s; seen from the "
                        "controller: run from a client's network to confirm" % (
                            at, cert["issuer"] or "an unknown issuer", show_sha256(cert["sha256"]),
                            "; ".join("%s (SHA-256 %s)" % (p["name"] or "unnamed", show_sha256(p["sha256"])) for p in pushed),
                            _used_by(probe)))
        failures.extend("group %s sends its traffic through the %s" % (g, proxy_of[g.casefold()]) for g in probe["groups"]
                        if g.casefold() in proxy_of)
    if unchecked:
        lines.append("not compared: %s" % limited(unchecked, 10))
    if failed:
        return "fail", "An EDR address presents a certificate that SEPM does not push: something on the path may " \
                       "intercept TLS.", failures + lines, failed, []
    if not compared:
        return "needs_input", "No EDR address could be compared with a certificate SEPM pushes.", lines or [
            "no TLS probe in the evidence"], [], []
    return "pass", "Every compared EDR address (%d) presents the certificate SEPM pushes." % compared, lines, [], []


def certificate_san(probes, version, version_text):
    """Cause 9: EDR 4.6 and later need a certificate with a subjectAltName; before 4.6 the CN still works."""
    if not probes:
        return NO_PROBE

    def judge(probe):
        cert, at = probe["certificate"], where(probe["address"], probe["port"])
        if cert is None:
            return _unreadable(probe)
        if has_san(cert):
            return "good", "%s presents a certificate with a subjectAltName (%s)" % (at, cert_names(cert))
        if version is None:
            return "unknown", "%s presents a certificate without a subjectAltName (CN %s) and the EDR version is unknown: " \
                              "EDR 4.6 and later refuse it" % (at, cert["subject_cn"] or "none")
        if version >= SAN_VERSION:
            return "fail", "%s presents a certificate without a subjectAltName (CN %s); EDR %s needs one: generate a new " \
                           "certificate with the EDR name in the SAN%s" % (
                               at, cert["subject_cn"] or "none", version_text, _used_by(probe))
        return "good", "%s presents a certificate without a subjectAltName (CN %s): accepted by EDR %s, but an upgrade " \
                       "to 4.6 needs a SAN" % (at, cert["subject_cn"] or "none", version_text)

    verdict, lines, groups, counts = _judge(probes, judge)
    summary = {"fail": "%d EDR address(es) present a certificate without a subjectAltName, which EDR %s refuses."
                       % (counts["fail"], version_text),
               "needs_input": "%d EDR address(es) could not be checked for a subjectAltName." % counts["unknown"],
               "pass": "No EDR certificate lacks a subjectAltName that this EDR version needs."}[verdict]
    return verdict, summary, lines, groups, []
