# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SEPM and EDR answers in the shape the enrollment rules judge (pure: no I/O).

SEPM 14.3 answers with keys that can differ from the specification only by case, so every field is read
with ``_http.field`` (exact key first, then ignoring case). The shapes produced here are the ``evidence``
of ``_edr_rules.evaluate``; ``docs/edr-enrollment.md`` lists which SEPM and EDR fields each comes from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import re

from ansible_collections.itms.cem.plugins.module_utils._edr_rules_cert import version_tuple
from ansible_collections.itms.cem.plugins.module_utils._edr_rules_groups import location_differs, read_group, uses_edr
from ansible_collections.itms.cem.plugins.module_utils._http import field

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def _list(value):
    return value if isinstance(value, list) else []


def _dict(value):
    return value if isinstance(value, dict) else {}


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value):
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def epoch_ms_iso(value):
    """SEPM's epoch milliseconds as ISO 8601 UTC, or None."""
    number = _int(value)
    if not number or number <= 0:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(number / 1000.0, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_sha256(content):
    """(SHA-256 of the DER certificate as uppercase hex, None) or (None, why) for a pushed certificate's content.

    SEPM's ``CloudServerCertificate.content`` is the certificate EDR handed to SEPM; whether it is PEM or bare
    base64 is not documented, so both are read.
    """
    text = _text(content)
    if not text:
        return None, "the certificate content is empty"
    found = _PEM.search(text)
    body = found.group(1) if found else text
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None, "the certificate content is neither PEM nor base64"
    if len(der) < 64 or der[:1] != b"\x30":
        return None, "the certificate content does not decode to a DER certificate"
    return hashlib.sha256(der).hexdigest().upper(), None


def private_cloud(configuration):
    """The ``privatecloud`` part of an external-communication ``configuration``, or None when absent."""
    pc = field(_dict(configuration), "privatecloud")
    if not isinstance(pc, dict):
        return None
    servers = []
    for group in _list(field(pc, "groups")):
        for server in _list(field(_dict(group), "servers")):
            server = _dict(server)
            certificates = []
            for cert in _list(field(server, "certificates")):
                sha256, problem = certificate_sha256(field(_dict(cert), "content"))
                entry = dict(name=_text(field(_dict(cert), "name")), sha256=sha256)
                if problem:
                    entry["error"] = problem
                certificates.append(entry)
            servers.append(dict(name=_text(field(server, "name")), address=_text(field(server, "address")),
                                port=_int(field(server, "port")), protocol=_text(field(server, "protocol")),
                                enabled=field(server, "enable") is not False, certificates=certificates))
    return dict(enabled=field(pc, "enableservers") is True, server_type=_text(field(pc, "servertype")), servers=servers)


def proxy(configuration):
    """The Windows ``proxy`` part of an external-communication ``configuration``, or None when absent."""
    value = field(_dict(configuration), "proxy")
    if not isinstance(value, dict):
        return None
    return dict(mode=_int(field(value, "http_mode")), host=_text(field(value, "http_host")),
                port=_int(field(value, "https_port")) or _int(field(value, "http_port")))


def configuration(settings):
    """The ``configuration`` object of a SEPM ``Settings`` answer (``{configuration, lockedoptions}``)."""
    return _dict(field(_dict(settings), "configuration"))


def group(raw, group_settings=None, location_settings=None, location_name=None):
    """One SEPM ``Group`` (with its two external-communication answers, when read) as evidence."""
    raw = _dict(raw)
    full_path = _text(field(raw, "fullPathName")) or _text(field(raw, "name"))
    result = dict(id=_text(field(raw, "id")), name=_text(field(raw, "name")), full_path=full_path,
                  inherits=field(raw, "policyInheritanceEnabled") is True,
                  computers=_int(field(raw, "numberOfPhysicalComputers")) or 0,
                  policy_serial=_text(field(raw, "policySerialNumber")),
                  default_location_id=_text(field(raw, "defaultLocationId")),
                  default_location_name=location_name, private_cloud=None, proxy=None,
                  location_private_cloud=None, location_proxy=None)
    if group_settings is not None:
        result.update(private_cloud=private_cloud(configuration(group_settings)), proxy=proxy(configuration(group_settings)))
    if location_settings is not None:
        result.update(location_private_cloud=private_cloud(configuration(location_settings)),
                      location_proxy=proxy(configuration(location_settings)))
    return result


def computer(raw):
    """One SEPM ``Computer`` as evidence (the fields the diagnosis reads; their meaning is in docs/edr-enrollment.md)."""
    raw = _dict(raw)
    summary = _dict(field(raw, "group"))
    addresses = [a for a in _list(field(raw, "ipAddresses")) if _text(a)]
    return dict(name=_text(field(raw, "computerName")), id=_text(field(raw, "uniqueId")),
                hardware_key=_text(field(raw, "hardwareKey")),
                group_path=_text(field(summary, "fullPathName")) or _text(field(summary, "name")),
                online=_int(field(raw, "onlineStatus")) == 1, profile_serial=_text(field(raw, "profileSerialNo")),
                profile_version=_text(field(raw, "profileVersion")), atp_server=_text(field(raw, "atpServer")),
                atp_device_id=_text(field(raw, "atpDeviceId")), edr_status=_int(field(raw, "edrStatus")),
                last_update=epoch_ms_iso(field(raw, "lastUpdateTime")),
                ip=_text(addresses[0]) if addresses else _text(field(raw, "lastConnectedIpAddr")),
                agent_version=_text(field(raw, "agentVersion")))


def location_name(locations, location_id):
    """The name of ``location_id`` in a ``/groups/{id}/locations`` answer (objects or bare ids), or None."""
    for entry in _list(locations):
        if isinstance(entry, dict):
            ident = _text(field(entry, "id")) or _text(field(entry, "locationId"))
            if ident and ident == location_id:
                return _text(field(entry, "name")) or _text(field(entry, "locationName"))
    return None


def effective_private_cloud(entry):
    """What a client at the group's default location gets: the location's settings if read, else the group's."""
    return entry.get("location_private_cloud") or entry.get("private_cloud")


def group_view(entry, raw=None):
    """A group as sepm_group_info returns it."""
    view = dict(entry)
    view["default_location"] = dict(id=view.pop("default_location_id"), name=view.pop("default_location_name"))
    judged = read_group(entry)
    view["location_settings_local"] = location_differs(judged) if judged else None
    view["uses_edr"] = bool(judged and uses_edr(judged))
    if raw is not None:
        view["raw"] = raw
    return view


def probe_targets(sepm_groups):
    """{(address, port): [group paths]} of every enabled private-cloud server of the groups that enable them."""
    targets = {}
    for entry in sepm_groups:
        pc = effective_private_cloud(entry)
        if not pc or not pc.get("enabled"):
            continue
        for server in pc.get("servers") or []:
            if server.get("enabled") and server.get("address"):
                key = (server["address"], server.get("port") or 443)
                paths = targets.setdefault(key, [])
                if entry.get("full_path") not in paths:
                    paths.append(entry.get("full_path"))
    return targets


def pushed_certificates(sepm_groups, address, port):
    """The certificates SEPM pushes for ``address:port``, de-duplicated by SHA-256."""
    seen, pushed = set(), []
    for entry in sepm_groups:
        pc = effective_private_cloud(entry) or {}
        for server in pc.get("servers") or []:
            if server.get("address") == address and (server.get("port") or 443) == port:
                for cert in server.get("certificates") or []:
                    key = cert.get("sha256") or cert.get("error")
                    if key not in seen:
                        seen.add(key)
                        pushed.append(dict(cert))
    return pushed


def certificate(description, trusted, finding_ids):
    """A ``_tls_rules.describe`` result and the ids of its ``findings`` as the rules' CERT."""
    return dict(sha256=description["sha256_thumbprint"], subject_cn=description.get("subject_cn"),
                issuer=description.get("issuer"), san_dns=list(description.get("san_dns") or []),
                san_ip=list(description.get("san_ip") or []), not_before=description.get("not_before"),
                not_after=description.get("not_after"), expired="expired" in finding_ids,
                not_yet_valid="not_yet_valid" in finding_ids, self_signed=bool(description.get("self_signed")),
                trusted=bool(trusted))


def appliance(raw):
    raw = _dict(raw)
    return dict(id=_text(field(raw, "appliance_id")), name=_text(field(raw, "appliance_name")),
                version=_text(field(raw, "software_version")), role=_text(field(raw, "role")))


def lowest_version(appliances):
    """The lowest software version among the appliances (the one that decides what EDR requires), or None."""
    versions = [a.get("version") for a in appliances if version_tuple(a.get("version"))]
    return min(versions, key=version_tuple) if versions else None


def health_event(raw):
    raw = _dict(raw)
    sepm = _dict(field(_dict(field(raw, "data")), "sepm_server"))
    return dict(time=_text(field(raw, "device_time")) or _text(field(raw, "log_time")) or _text(field(raw, "time")),
                status_detail=_text(field(raw, "status_detail")), message=_text(field(raw, "message")),
                remediation=_text(field(raw, "remediation")), sepm=_text(field(sepm, "sepm_name")))


def endpoint(raw):
    raw = _dict(raw)
    return dict(uid=_text(field(raw, "device_uid")), name=_text(field(raw, "device_name")),
                ip=_text(field(raw, "device_ip")))


def for_result(evidence):
    """The evidence as a task returns it: the computer and endpoint lists are counted, not listed (a fleet is large)."""
    sepms = []
    for sepm in evidence.get("sepms") or []:
        entry = dict((k, v) for k, v in sepm.items() if k != "computers")
        computers = sepm.get("computers") or []
        entry["computers"] = dict(total=len(computers), online=sum(1 for c in computers if c.get("online")))
        sepms.append(entry)
    edr = dict((k, v) for k, v in (evidence.get("edr") or {}).items() if k != "endpoints")
    endpoints = (evidence.get("edr") or {}).get("endpoints")
    edr["endpoints"] = None if endpoints is None else len(endpoints)
    return dict(collected_at=evidence.get("collected_at"), sepms=sepms, edr=edr, probes=evidence.get("probes") or [])
