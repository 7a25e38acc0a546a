# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read what the enrollment diagnosis needs from SEPM, EDR and the TLS endpoints (the domain layer).

Only these functions call the SEPM and EDR clients for the enrollment modules; they hand the answers to
``_edr_evidence`` to be shaped and the rules (``_edr_rules``) decide. Reading is batch-first where the
APIs allow it: one paged walk of the groups and one of the computers per SEPM; the external-communication
settings have no bulk endpoint, so they cost three requests per group that does not inherit and one per group that
does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
from urllib.parse import urlsplit

from ansible_collections.itms.cem.plugins.module_utils import _edr_evidence as shape
from ansible_collections.itms.cem.plugins.module_utils._edr_rules import HEALTH_ERRORS
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError, NotFound
from ansible_collections.itms.cem.plugins.module_utils._http import field
from ansible_collections.itms.cem.plugins.module_utils._tls import inspect_endpoint
from ansible_collections.itms.cem.plugins.module_utils._tls_rules import describe, findings

PAGE_SIZE = 100  # what PSSymantecSEPM uses against SEPM 14.3; the largest size SEPM accepts is not documented


def _matches(path, patterns):
    text = (path or "").lower()
    return any(fnmatch.fnmatchcase(text, p.lower()) for p in patterns)


def _optional(warnings, what, client, operation, **args):
    """An answer, or None (and a warning) when SEPM says the object is gone (deleted while the task ran)."""
    try:
        return client.get(operation, **args)
    except NotFound as exc:
        warnings.append("%s: %s" % (what, exc))
        return None


def read_groups(client, full_paths=None, settings=True, warnings=None, keep_raw=False):
    """[(raw, evidence group)] of the groups (all, or those whose full path matches a pattern of ``full_paths``).

    ``raw`` is None, or with ``keep_raw`` the answers as SEPM gave them: {group, external_communication,
    location_external_communication}.

    With ``settings``, each group's external-communication settings are read as well, and for a group that does not
    inherit, its default location's settings and name (three requests per such group, one per inheriting group).
    """
    warnings = warnings if warnings is not None else []
    found = []
    for raw in client.pages("groups", page_size=PAGE_SIZE):
        if not isinstance(raw, dict):
            continue
        path = field(raw, "fullPathName") or field(raw, "name")
        if full_paths and not _matches(path, full_paths):
            continue
        if not settings:
            found.append((dict(group=raw) if keep_raw else None, shape.group(raw)))
            continue
        ident, location = field(raw, "id"), field(raw, "defaultLocationId")
        ids = {"groupId": ident}
        group_settings = _optional(warnings, "external communication of %s" % path, client,
                                   "group_external_communication", path=ids)
        location_settings = name = None
        # An inheriting group's default location is its non-inheriting parent's (SEPM's Group.defaultLocationId), read
        # with that parent; its clients get what the group's own answer says.
        if location and field(raw, "policyInheritanceEnabled") is not True:
            where = {"groupId": ident, "locationId": location}
            location_settings = _optional(warnings, "external communication of the default location of %s" % path,
                                          client, "location_external_communication", path=where)
            locations = _optional(warnings, "locations of %s" % path, client, "group_locations", path=ids,
                                  query={"hasName": "true"})
            name = shape.location_name(locations, location)
        bundle = dict(group=raw, external_communication=group_settings,
                      location_external_communication=location_settings) if keep_raw else None
        found.append((bundle, shape.group(raw, group_settings if group_settings is not None else {},
                                          location_settings, name)))
    return found


def read_computers(client, name=None, group_paths=None, online=None, max_items=None, groups=None):
    """[(raw Computer, evidence computer)] by name pattern, group and online state.

    With ``group_paths`` and the ``groups`` already read (evidence groups) and no ``name``, only the matching groups'
    computers are read (``/groups/{id}/computers``, paged); otherwise one paged walk of ``/computers`` (SEPM filters
    ``name``), filtered here by group. Online state is filtered here: SEPM has no parameter for it.
    """
    if group_paths and groups is not None and not name:
        sources = [("group_computers", {"groupId": g["id"]}, {}) for g in groups
                   if g.get("id") and _matches(g["full_path"], group_paths)]
    else:
        sources = [("computers", None, {"sort": "COMPUTER_NAME", "computerName": name})]
    found = []
    for operation, path, query in sources:
        for raw in client.pages(operation, path=path, query=query, page_size=PAGE_SIZE):
            if not isinstance(raw, dict):
                continue
            entry = shape.computer(raw)
            if group_paths and not _matches(entry["group_path"], group_paths):
                continue
            if online is not None and entry["online"] != online:
                continue
            found.append((raw, entry))
            if max_items and len(found) >= max_items:
                return found
    return found


def endpoint_of(url, default_port):
    parts = urlsplit(url if "://" in url else "https://" + url)
    return parts.hostname, parts.port or default_port


def inspect(address, port, timeout, ca_path=None, now=None):
    """(CERT, None) of what ``address:port`` presents in a TLS handshake, or (None, why it could not be read)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        inspection = inspect_endpoint(address, int(port), ca_path=ca_path, timeout=timeout)
    except CemError as exc:
        return None, str(exc)
    ids = [f["id"] for f in findings(inspection, [], now, 0)]
    return shape.certificate(describe(inspection.leaf, now), inspection.trusted, ids), None


def sepm_evidence(client, name, computers=True, certificate_endpoint=None, timeout=10.0, ca_path=None, warnings=None):
    """One SEPM as the rules' evidence (``sepms[i]``)."""
    version = client.get("version")
    evidence = dict(name=name, error=None, version=field(version, "version") if isinstance(version, dict) else None,
                    groups=[entry for _raw, entry in read_groups(client, warnings=warnings)], computers=[],
                    certificate=None, certificate_error=None)
    if computers:
        evidence["computers"] = [entry for _raw, entry in read_computers(client)]
    if certificate_endpoint:
        evidence["certificate"], evidence["certificate_error"] = inspect(
            certificate_endpoint[0], certificate_endpoint[1], timeout, ca_path)
    return evidence


def appliances(client):
    """The EDR appliances, shaped (``{id, name, version, role}``)."""
    return [shape.appliance(a) for a in client.appliances()]


def health_events(client, now, hours, errors_only=True):
    """EDR System Health events (type 1000) of the last ``hours``; only certificate, connection and authentication errors."""
    raw = client.query("systemactivities", where="type_id:1000", start=now - datetime.timedelta(hours=hours), end=now)
    events = [shape.health_event(r) for r in raw]
    return [e for e in events if e["status_detail"] in HEALTH_ERRORS] if errors_only else events


def edr_evidence(client, url, now, health_hours, event_minutes, endpoints=True):
    """The EDR part of the evidence; a failure is recorded in ``error`` so the SEPM-side verdicts still stand."""
    evidence = dict(url=url, error=None, appliances=[], version=None, health_events=[], health_window_hours=health_hours,
                    event_count=None, event_window_seconds=event_minutes * 60, endpoints=None)
    if client is None:
        evidence["error"] = "edr_url was not given, so the EDR API was not read"
        return evidence
    try:
        evidence["appliances"] = appliances(client)
        evidence["version"] = shape.lowest_version(evidence["appliances"])
        if health_hours > 0:
            evidence["health_events"] = health_events(client, now, health_hours)
        if event_minutes > 0:
            evidence["event_count"] = client.count("events", start=now - datetime.timedelta(minutes=event_minutes), end=now)
        if endpoints:
            evidence["endpoints"] = [shape.endpoint(r) for r in client.query("endpoints")]
    except CemError as exc:
        evidence["error"] = str(exc)
    return evidence


def probes(groups, timeout, ca_path=None):
    """One TLS handshake per distinct enabled private-cloud server (``probes`` of the evidence)."""
    result = []
    for (address, port), paths in sorted(shape.probe_targets(groups).items()):
        cert, error = inspect(address, port, timeout, ca_path)
        result.append(dict(address=address, port=port, groups=sorted(p for p in paths if p), certificate=cert,
                           error=error, pushed=shape.pushed_certificates(groups, address, port)))
    return result


def gather(clients, params, now=None):
    """The whole evidence of ``_edr_rules.evaluate`` for an ``edr_enrollment_check`` task."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    warnings = clients.own_warnings
    sepm_host, sepm_port = endpoint_of(params["sepm_url"], 8446)
    certificate_endpoint = params.get("sepm_certificate_endpoint")
    if certificate_endpoint:
        certificate_endpoint = endpoint_of(certificate_endpoint, 443)
    else:
        certificate_endpoint = (sepm_host, sepm_port)
    primary = sepm_evidence(clients.sepm, "%s:%s" % (sepm_host, sepm_port), computers=True,
                            certificate_endpoint=certificate_endpoint, timeout=params["probe_timeout"],
                            ca_path=params.get("sepm_ca_path"), warnings=warnings)
    sepms = [primary]
    for peer, options in zip(clients.peers, params.get("sepm_peers") or []):
        host, port = endpoint_of(options["url"], 8446)
        try:
            sepms.append(sepm_evidence(peer, "%s:%s" % (host, port), computers=False, warnings=warnings))
        except CemError as exc:
            sepms.append(dict(name="%s:%s" % (host, port), error=str(exc), version=None, groups=[], computers=[],
                              certificate=None, certificate_error=None))
    edr = edr_evidence(clients.edr, params.get("edr_url"), now, params["health_window_hours"],
                       params["event_window_minutes"])
    return dict(collected_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"), sepms=sepms, edr=edr,
                probes=probes(primary["groups"], params["probe_timeout"], params.get("probe_ca_path")))
