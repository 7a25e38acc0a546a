# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure decisions of the CEM validation checks: port consistency, versions, log search and the summary. No I/O.

The filter plugin ``itms.cem.cem_checks`` only maps filter names to these functions, so the preflight role and
``playbooks/validate.yml`` decide with the same code the unit tests hold to exact outputs.

Sources: KB 216202 (the setup sequence, its steps and the a.log line), KB 440283 (the port must match in the
Gateway Manager listener, the CEM Settings policy and the perimeter firewall), KB 440752 (NS and Internet Gateway
both at 8.8.1 for ephemeral certificates), KB 181705 (the Internet Gateway terminates TLS itself).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

VERDICTS = ("pass", "fail", "warn", "skip", "needs_input")

# KB 216202's sequence; 6 is the KB's "Force Agent to Switch to Internet Mode (Optional Diagnostic)".
STEPS = {
    1: "Prepare",
    2: "Install Internet Gateway",
    3: "IIS bindings",
    4: "Internet Gateway status reporting",
    5: "CEM policy",
    6: "Agent diagnostic",
    7: "Offline package",
}

KB_440283 = ("KB 440283: the port must match in three places - \"the Gateway Manager, the CEM Settings policy, and "
             "the perimeter firewall\" - and a mismatch \"causes agents to fail gateway connection without producing "
             "an error in the SMP console\".")

# Addresses that a listener or an IIS binding uses to listen on every address.
_ANY_ADDRESS = ("*", "", "0.0.0.0", "::")


# --------------------------------------------------------------------------- port consistency

def _port(value, what):
    """A TCP port from an int or a numeric string; None stays None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError("%s is %r, not a port number." % (what, value))
    try:
        port = int(str(value).strip())
    except ValueError:
        raise InputError("%s is %r, not a port number." % (what, value))
    if not 1 <= port <= 65535:
        raise InputError("%s is %d, outside 1-65535." % (what, port))
    return port


def _firewall_entries(values):
    """Firewall local ports as (low, high) ranges and their display form: 8443, "8000-8999", "443,8443", "any"."""
    ranges, shown = [], []
    for value in values:
        for part in (str(value).split(",") if isinstance(value, str) else [value]):
            text = str(part).strip()
            if not text:
                continue
            if text.lower() in ("any", "*"):
                ranges.append((1, 65535))
                shown.append("any")
            elif isinstance(part, str) and "-" in text:
                low, high = [_port(p, "firewall port range %r" % text) for p in text.split("-", 1)]
                if low is None or high is None or low > high:
                    raise InputError("firewall port range %r is not LOW-HIGH." % text)
                ranges.append((low, high))
                shown.append("%d-%d" % (low, high))
            else:
                port = _port(part, "firewall port")
                ranges.append((port, port))
                shown.append(port)
    return ranges, shown


def _ip_key(ip):
    """The address a listener binds as a comparable value; None means every address."""
    text = "" if ip is None else str(ip).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text in _ANY_ADDRESS:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return text.lower()  # a host name as IIS may show it: compared as text


def _overlap(ip_a, ip_b):
    a, b = _ip_key(ip_a), _ip_key(ip_b)
    return a is None or b is None or a == b


def _host(name):
    return str(name or "").strip().rstrip(".").lower()


def _endpoint(ip, port):
    text = "*" if ip is None or str(ip).strip() == "" else str(ip).strip()
    if ":" in text and not text.startswith("["):
        text = "[%s]" % text
    return "%s:%s" % (text, port)


def _and(items):
    return items[0] if len(items) == 1 else "%s and %s" % (", ".join(items[:-1]), items[-1])


def port_consistency(data):
    """The gateway port in the listener, the CEM policy, the IIS HTTPS binding and the firewall: do they agree?

    ``data``: {gateway, listener: {ip, port}, policy_gateways: [{host, port}] or None, iis_https_bindings:
    [{site, ip, port}] or None, firewall_ports: [ports] or None}. None means not known (needs_input unless
    something else fails); an empty list of IIS bindings means the gateway has none (KB 181705), so IIS is not compared.
    """
    if not isinstance(data, dict):
        raise InputError("cem_port_consistency needs a dict (gateway, listener, policy_gateways, iis_https_bindings, "
                         "firewall_ports), not %s." % type(data).__name__)
    gateway = str(data.get("gateway") or "").strip()
    listener = data.get("listener") or {}
    if not isinstance(listener, dict):
        raise InputError("listener must be a dict with ip and port, not %s." % type(listener).__name__)
    listen_port = _port(listener.get("port"), "listener port")
    listen_ip = listener.get("ip")
    problems, unknown, mismatch, agree = [], [], False, []
    if listen_port is None:
        unknown.append("listener port (the Gateway Manager listener; give listener.port)")
    else:
        agree.append("the Gateway Manager listener")

    # The CEM Settings policy: its entries for this gateway's name.
    policy = data.get("policy_gateways")
    policy_ports = []
    if policy is None:
        unknown.append("CEM policy gateways (give policy_gateways, read with itms.cem.cem_policy)")
    elif not gateway:
        unknown.append("gateway name (give gateway, the name agents use)")
    else:
        entries = [e for e in policy if isinstance(e, dict) and _host(e.get("host")) == _host(gateway)]
        policy_ports = sorted(set(_port(e.get("port"), "policy port of %s" % gateway) for e in entries) - set([None]))
        if not entries:
            listed = ", ".join("%s:%s" % (e.get("host"), e.get("port")) for e in policy if isinstance(e, dict))
            problems.append("the CEM policy does not list gateway %s (it lists: %s)" % (gateway, listed or "none"))
        elif listen_port is not None:
            wrong = [p for p in policy_ports if p != listen_port]
            if wrong:
                mismatch = True
                problems.append("the CEM Settings policy gives %s port %s, the Gateway Manager listener port is %d"
                                % (gateway, ", ".join(str(p) for p in wrong), listen_port))
            elif policy_ports:
                agree.append("the CEM Settings policy")
        if entries and not policy_ports:
            unknown.append("the CEM policy's port for gateway %s" % gateway)

    # IIS: compared only when the gateway host has an HTTPS binding (KB 216202 step 3; KB 181705: may be absent).
    bindings = data.get("iis_https_bindings")
    iis_ports = []
    if bindings is None:
        unknown.append("IIS HTTPS bindings (give iis_https_bindings, [] when the gateway has none)")
    elif bindings:
        bindings = [b for b in bindings if isinstance(b, dict)]
        iis_ports = sorted(set(_port(b.get("port"), "IIS binding port of site %s" % b.get("site")) for b in bindings)
                           - set([None]))
        if listen_port is not None:
            if listen_port not in iis_ports:
                mismatch = True
                problems.append("no IIS HTTPS binding uses the listener port %d (bindings: %s)" % (
                    listen_port, ", ".join("%s %s" % (b.get("site"), _endpoint(b.get("ip"), b.get("port")))
                                           for b in bindings)))
            else:
                agree.append("the IIS HTTPS binding")
            for binding in bindings:
                if _port(binding.get("port"), "IIS binding port") == listen_port and \
                        _overlap(binding.get("ip"), listen_ip):
                    problems.append("the IIS HTTPS binding of site %s (%s) and the gateway listener (%s) share IP and "
                                    "port: they cannot both listen" % (binding.get("site"),
                                                                       _endpoint(binding.get("ip"), listen_port),
                                                                       _endpoint(listen_ip, listen_port)))

    # The inbound firewall rules on the gateway host.
    firewall = data.get("firewall_ports")
    if firewall is None:
        firewall_shown = "unknown"
        unknown.append("firewall ports (give firewall_ports, the inbound allow rules' local ports)")
    else:
        ranges, firewall_shown = _firewall_entries(firewall if isinstance(firewall, (list, tuple)) else [firewall])
        if listen_port is not None:
            if not any(low <= listen_port <= high for low, high in ranges):
                mismatch = True
                problems.append("no inbound firewall rule allows the listener port %d (allowed: %s)" % (
                    listen_port, ", ".join(str(p) for p in firewall_shown) or "none"))
            else:
                agree.append("the firewall rule")

    ports = dict(listener=listen_port if listen_port is not None else "unknown", policy=policy_ports,
                 iis=iis_ports, firewall=firewall_shown)
    if problems:
        verdict = "fail"
        message = "gateway %s: %s." % (gateway or "?", "; ".join(problems))
        if mismatch:
            message += " " + KB_440283
    elif unknown:
        verdict = "needs_input"
        message = "gateway %s: not known: %s%s." % (
            gateway or "?", "; ".join(unknown),
            ("; port %d agrees in %s" % (listen_port, _and(agree))) if listen_port is not None else "")
    else:
        verdict = "pass"
        message = "gateway %s: port %d agrees in %s." % (gateway, listen_port, _and(agree))
    return dict(ok=verdict == "pass", verdict=verdict, ports=ports, problems=problems, unknown=unknown,
                message=message)


# --------------------------------------------------------------------------- versions

_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_BUILD = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_RU = re.compile(r"\bRU\s*\d+\b|\bMP\s*\d+\b|\bSP\s*\d+\b", re.IGNORECASE)


def _release(text):
    match = _RELEASE.match(text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def version_check(versions, minimum="8.8.1"):
    """[{component, version, verdict, message}] for each {component: version}: at least ``minimum``?

    Only release versions MAJOR.MINOR[.UPDATE] are compared. Build numbers (8.8.1280.0) and release-update names
    (8.8 RU1) give needs_input: their mapping to release versions is not publicly documented.
    """
    if not isinstance(versions, dict):
        raise InputError("cem_version_check needs a dict {component: version}, not %s." % type(versions).__name__)
    floor = _release(str(minimum).strip()) if isinstance(minimum, str) else None
    if floor is None:
        raise InputError("minimum %r is not a release version MAJOR.MINOR[.UPDATE] given as a string "
                         "(for example '8.8.1')." % (minimum,))
    minimum = str(minimum).strip()
    checks = []
    for component, value in versions.items():
        version = None if value is None else str(value).strip()
        if not version:
            verdict, message = "needs_input", "%s: give the version (at least %s is needed)" % (component, minimum)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            verdict, message = "needs_input", (
                "%s: version %s was given as a number; give it as a quoted string, because a YAML number loses "
                "trailing zeros (8.10 reads as 8.1)" % (component, version))
        elif _BUILD.match(version):
            verdict, message = "needs_input", (
                "%s: %s is a build number; how build numbers map to releases is not publicly documented, so it "
                "cannot be compared with %s: give the release version (for example 8.8.1)"
                % (component, version, minimum))
        elif _RU.search(version):
            verdict, message = "needs_input", (
                "%s: %s names a release update; how release updates map to release versions is not publicly "
                "documented, so it cannot be compared with %s: give the release version (for example 8.8.1)"
                % (component, version, minimum))
        elif _release(version) is None:
            verdict, message = "needs_input", (
                "%s: %r is not a release version MAJOR.MINOR[.UPDATE]; give the release version (for example 8.8.1)"
                % (component, version))
        elif _release(version) >= floor:
            verdict, message = "pass", "%s: %s is %s or later" % (component, version, minimum)
        else:
            verdict, message = "fail", "%s: %s is older than %s; upgrade it to %s or later" % (
                component, version, minimum, minimum)
        checks.append(dict(component=component, version=version or None, verdict=verdict, message=message))
    return checks


# --------------------------------------------------------------------------- log search

# The layout of an a.log event line on the Internet Gateway is not publicly documented; these forms are assumed:
# an Altiris XML event with a date attribute, or a line starting with an ISO 8601 or a US "M/D/YYYY h:mm:ss AM" time.
_EVENT_DATE = re.compile(r"<event\b[^>]*?\bdate\s*=\s*(['\"])(.*?)\1", re.IGNORECASE)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?\s*(Z|[+-]\d{2}:?\d{2})?")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?"
                 r"(?:\s*([AaPp][Mm]))?(?:\s*(Z|[+-]\d{2}:?\d{2}))?")


def _zone(text):
    if not text:
        return None
    if text.upper() == "Z":
        return datetime.timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _moment(year, month, day, hour, minute, second, fraction, zone):
    micro = int((fraction or "0").ljust(6, "0"))
    return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                             tzinfo=_zone(zone))


def iso_time(moment):
    """ISO 8601: UTC with 'Z' when the zone is known, else as written; milliseconds when there is a fraction."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%03d" % (moment.microsecond // 1000) if moment.microsecond % 1000 == 0 else ".%06d" % moment.microsecond
    return text + ("Z" if moment.tzinfo is not None else "")


def _parse_iso(text, anchored):
    match = (_ISO.match if anchored else _ISO.search)(text)
    if match:
        return _moment(*match.groups())
    return None


def _parse_us(text, anchored):
    match = (_US.match if anchored else _US.search)(text)
    if not match:
        return None
    month, day, year, hour, minute, second, fraction, half, zone = match.groups()
    hour = int(hour)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    return _moment(year, month, day, hour, minute, second, fraction, zone)


def line_time(line):
    """The time a log line was written, as ISO 8601, or None: lenient, a date that cannot be read gives None."""
    try:
        event = _EVENT_DATE.search(line)
        if event:
            value = event.group(2).strip()
            moment = _parse_iso(value, True) or _parse_us(value, True)
        else:
            stripped = line.lstrip()
            moment = _parse_iso(stripped, True) or _parse_us(stripped, True)
    except ValueError:  # 13/45/2026 and the like
        return None
    return iso_time(moment) if moment is not None else None


def log_search(lines_or_text, pattern):
    """{found, line, line_number, time, count}: the LAST line matching the regular expression ``pattern``."""
    if lines_or_text is None:
        lines = []
    elif isinstance(lines_or_text, (bytes, bytearray)):
        lines = lines_or_text.decode("utf-8", "replace").splitlines()
    elif isinstance(lines_or_text, str):
        lines = lines_or_text.splitlines()
    elif isinstance(lines_or_text, (list, tuple)):
        lines = ["" if line is None else str(line).rstrip("\r\n") for line in lines_or_text]
    else:
        raise InputError("cem_log_search needs a string or a list of lines, not %s." % type(lines_or_text).__name__)
    if not isinstance(pattern, str) or not pattern:
        raise InputError("cem_log_search needs a non-empty pattern (a regular expression).")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError("cem_log_search: the pattern %r is not a valid regular expression: %s." % (pattern, exc))
    hits = [(index, line) for index, line in enumerate(lines, 1) if regex.search(line)]
    if not hits:
        return dict(found=False, line=None, line_number=None, time=None, count=0)
    number, line = hits[-1]
    return dict(found=True, line=line, line_number=number, time=line_time(line), count=len(hits))


# --------------------------------------------------------------------------- summary

def check_line(check):
    verdict = check["verdict"].upper()
    return "[%s]%s step %d %s: %s" % (verdict, " " * (11 - len(verdict)), check["step"], check["id"], check["message"])


def _normal_check(index, check):
    if not isinstance(check, dict):
        raise InputError("cem_check_summary: checks[%d] is not a dict {id, step, verdict, message}." % index)
    verdict = str(check.get("verdict") or "").strip().lower()
    if verdict not in VERDICTS:
        raise InputError("cem_check_summary: checks[%d] (%s) has verdict %r, not one of %s."
                         % (index, check.get("id"), check.get("verdict"), ", ".join(VERDICTS)))
    try:
        step = int(check.get("step"))
    except (TypeError, ValueError):
        step = None
    if step not in STEPS:
        raise InputError("cem_check_summary: checks[%d] (%s) has step %r, not one of 1-7 (KB 216202)."
                         % (index, check.get("id"), check.get("step")))
    message = check.get("message")
    return dict(id=str(check.get("id") or "check%d" % (index + 1)), step=step, verdict=verdict,
                message="" if message is None else str(message))


def check_summary(checks):
    """{lines, failed, first_failing_step, ok}: one line per check; the lowest-numbered step with a failing check."""
    if checks is None:
        checks = []
    if not isinstance(checks, (list, tuple)):
        raise InputError("cem_check_summary needs a list of checks, not %s." % type(checks).__name__)
    normal = [_normal_check(index, check) for index, check in enumerate(checks)]
    failing = [c for c in normal if c["verdict"] == "fail"]
    first = None
    if failing:
        check = min(failing, key=lambda c: c["step"])  # min keeps the first of equal steps: list order breaks ties
        first = dict(step=check["step"], title=STEPS[check["step"]], check=check["id"], message=check["message"])
    return dict(lines=[check_line(c) for c in normal], failed=[c["id"] for c in failing], first_failing_step=first,
                ok=not failing)
