# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Why SEP clients stay in "Authentication Pending" in EDR: one verdict per cause of KB 236805. No I/O.

The domain layer (``_edr_diag``) reads SEPM, EDR and TLS probes into an evidence dict; the operator adds what only
the EDR console shows (``console``: the SEPM Controller connection name, Group Inclusion, the two options, the
edition, the number of SEPM connections). The evidence is what ``_edr_diag.gather`` reads and ``_edr_evidence``
shapes, the console is the ``console`` option of ``edr_enrollment_check``; the certificate rules live in
``_edr_rules_cert``, the SEPM group rules in ``_edr_rules_groups``, so that each file stays readable. ``evaluate``
decides each cause of ``CAUSES`` in that order, and never raises on odd evidence: a missing or unreadable value is
missing, so the rule that needs it says what to give (``needs_input``) instead of guessing. Within a rule a failure
found elsewhere still counts (fail > needs_input > pass). Several readings are inferred and not documented by
Broadcom (``docs/edr-enrollment.md``, "What is inferred"); the verdicts of those rules carry ``inferred: True``:

* ``policy_not_pushed``: a computer's profile serial lagging its group's policy serial means the policy did not
  reach it (the semantics of ``profileSerialNo`` are not documented);
* ``event_rate``: the rate is the average over the window, an estimate; peaks are higher;
* ``default_location_local``: a default location whose settings differ from its group's was set locally;
* ``edr_inventory``: EDR endpoints are matched to SEPM computers by name (short name too) or ATP device id;
* ``non_default_groups``: "non-default" groups are all but ``My Company`` and ``My Company\\Default Group``.

Choices where the cause table leaves a corner open:

* a group whose effective private cloud was not read at all is "unknown" (needs_input), never "does not use EDR";
  a flag that is missing or unreadable counts as off (a server is enabled only when it says so);
* a group's computer count is ``computers`` when readable, else the number of listed computers in it; groups and
  computers are matched by full path, case-insensitively, with redundant backslashes ignored; a group listed twice
  by one SEPM is read once (the first);
* ``group_inclusion``: "Include inherited sub-groups automatically" reaches a group through its chain of inheriting
  groups; a known group on the way that does not inherit breaks the chain (an unknown one does not);
* ``group_across_sepms``: groups whose private cloud is unknown in one SEPM are not compared; when EDR has more SEPM
  connections (``sepm_count``) than SEPMs were read, agreeing SEPMs give needs_input, not pass;
* ``non_default_groups`` with the option unknown: the "option off" pattern needs at least one non-default,
  non-inheriting group with computers; ``policy_not_pushed``, ``edr_inventory``, ``default_location_local`` and
  ``group_inclusion`` read the primary SEPM (peers are compared by ``group_across_sepms``); ``edr_inventory`` with no
  online computer in an EDR group gives needs_input (nothing was reconciled);
* ``multiple_edr_appliances`` counts the enabled servers of every group's effective private cloud, as the table
  says, even when that private cloud is disabled (the evidence line says so);
* ``sepm_certificate_name`` applies the Common Name rule of the EDR certificate to the SEPM certificate (which TLS
  stack EDR uses towards SEPM is not documented); a probe with a certificate is judged even if it reports an error;
  ``tls_interception`` leaves out the probes without a presented or a pushed fingerprint (cause 1 says why);
* ``edr.version`` missing: the lowest ``version`` of ``edr.appliances`` stands in for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._edr_rules_cert import (
    as_ip, certificate_name, certificate_san, flag, integer, items, number, path_key, read_probe, sepm_certificate_name,
    strings, text, tls_interception, version_tuple)
from ansible_collections.itms.cem.plugins.module_utils._edr_rules_groups import (
    default_location_local, group_across_sepms, group_inclusion, multiple_edr_appliances, non_default_groups,
    policy_not_pushed, proxy_set, read_sepm, show_proxy, unread, uses_edr)

VERDICTS = ("pass", "fail", "needs_input", "not_checkable")
MAX_EVIDENCE = 50
MAX_HEALTH_EVENTS = 20
HEALTH_ERRORS = ("certificate_error", "connection_error", "authentication_error")
INFERRED = frozenset(("policy_not_pushed", "event_rate", "default_location_local", "edr_inventory", "non_default_groups"))

KB_236805_STEPS = {
    1: "Check that the endpoint's SEPM group is in EDR's SEPM Group Inclusion: is it listed explicitly; is \"Include "
       "inherited sub-groups automatically\" enabled and does the group inherit its policy from My Company; if Group "
       "Inclusion is not used, is \"Apply private cloud policies to all non-default SEPM groups.\" enabled on the SEPM "
       "Controller's SEP Policies screen?",
    2: "Browse to the EDR appliance console by FQDN: if the browser rejects the certificate, clients do not trust it "
       "either; fix the certificate trust.",
    3: "Browse to the EDR appliance console by IP address: if the browser rejects the certificate, fix the trust.",
    4: "If the browser reaches the EDR UI but calls the certificate invalid, open it: without a Subject Alternative "
       "Name, generate a new certificate; if DNS does not resolve the SAN, fix DNS.",
    5: "Browse to the SEPM console by FQDN: if the browser rejects the certificate, fix the certificate trust.",
    6: "Browse to the SEPM console by IP address: if the browser rejects the certificate, fix the trust.",
    7: "If the EDR certificate is accepted only by IP or only by FQDN, make the URL in EDR Settings > Global > Endpoint "
       "Communication Channel > SEP Policies match what the certificate holds.",
    8: "If the SEPM certificate is accepted only by FQDN or only by IP, rename the connection in EDR Settings > Global > "
       "Endpoint Communication Channel > SEPM Controller Connection to match the SEPM server.crt.",
    9: "If changing the SEP Policies URL fixes it, see KB 171881 (SEP client does not accept the ATP certificate).",
    10: "In SEPM, Clients tab, go to the group of a client that failed to enroll.",
    11: "In SEPM, External Communications > Private Cloud: add the EDR appliance's host name or IP address if missing.",
    12: "In SEPM, Proxy Server tab: if a proxy is listed, move a test client to a copy of the group without the proxy, "
        "update its policy and click Connect Now in its EDR connection status; if it becomes Connected, troubleshoot "
        "the HTTPS proxy between SEP and EDR.",
    13: "If clients must reach EDR through a proxy and the proxy setting has gone, see the KB \"Proxy and Submission "
        "settings are reset to default values after updating the Private Cloud settings through Advanced Threat "
        "Protection or the REST API\".",
    14: "With ATP 3.1.0, update to EDR 4.0 or later.",
    15: "In the EDR console, Search > Database > Entities: show the columns Last EDR Contact, Last SEPM Contact and SEP "
        "Group, then isolate the cause.",
    16: "Check whether FIPS mode is enabled on the endpoints: EDR does not support FIPS mode.",
    17: "Install the EDR certificate in the Trusted Root store of the pending endpoints.",
    18: "In the SEPM console, Clients > <group> > Policies > Location-specific Policies and Settings > Location-specific "
        "Settings > External Communication Settings must say \"Group\".",
    19: "If the symptom remains after these steps, contact Broadcom technical support.",
}

_CAUSES = (  # id, KB 236805 cause, title, resolution steps, what to do first
    ("edr_certificate_name", 1, "The EDR certificate does not match the SEP Policies address", (2, 3, 4, 7, 9),
     "Make the SEP Policies address a name the EDR certificate holds, or reissue the certificate for it."),
    ("sepm_certificate_name", 2, "The SEPM certificate does not match the SEPM Controller connection name", (5, 6, 8),
     "Name the SEPM Controller connection as the SEPM server.crt does (FQDN or IP)."),
    ("policy_not_pushed", 3, "SEPM did not push the External Communication policy and the EDR certificate", (10, 11, 17),
     "Find why the listed clients do not take the current policy (offline, communication with SEPM)."),
    ("tls_interception", 4, "A network device between SEP clients and EDR intercepts TLS", (12, 13),
     "Exempt the EDR address from HTTPS inspection, or let clients reach EDR without the proxy."),
    ("multiple_edr_appliances", 5, "Several EDR appliances serve the same SEPM group", (1,),
     "Include each SEPM group in the Group Inclusion of one EDR appliance only."),
    ("group_across_sepms", 6, "The same SEP group is treated differently by several SEPMs", (1,),
     "Give the group the same private cloud settings on every SEPM that EDR connects to."),
    ("fips_mode", 7, "FIPS mode is enabled on the endpoints", (16,),
     "EDR does not support FIPS mode; FIPS, and other cipher changes, can leave no cipher EDR uses."),
    ("event_rate", 8, "EDR Virtual Edition receives more than 400 events per second", (),
     "KB 236805 names more than 400 events per second from SEP clients to EDR Virtual Edition as a cause and gives no "
     "resolution step for it; spreading the clients over more appliances or using a hardware appliance are the "
     "obvious remedies (not from the KB)."),
    ("edr_certificate_san", 9, "The EDR certificate has no Subject Alternative Name (EDR 4.6 needs one)", (4,),
     "Generate an EDR certificate whose Subject Alternative Name holds the SEP Policies address."),
    ("group_inclusion", 10, "The endpoint's group is not in EDR's SEPM Group Inclusion", (1,),
     "Add the group to SEPM Group Inclusion, or enable \"Include inherited sub-groups automatically\"."),
    ("non_default_groups", 11, "Private cloud policies are not applied to non-default SEPM groups", (1,),
     "Enable \"Apply private cloud policies to all non-default SEPM groups.\" or use Group Inclusion."),
    ("default_location_local", 12, "The default location's External Communication settings are set locally", (18,),
     "Set the default location's External Communication Settings back to the group's."),
    ("edr_health", None, "EDR System Health reports errors", (15,),
     "Fix what each System Health event's remediation says (certificate, connection or credentials)."),
    ("edr_inventory", None, "Online SEP clients that EDR does not know", (15,),
     "Compare the listed clients in EDR Search > Database > Entities."),
    ("edr_version", None, "ATP 3.x: EDR is too old", (14,), "Update to EDR 4.0 or later."),
)
CAUSES = [dict(id=cid, kb_cause=kb, title=title, steps=list(steps),
               resolution=" ".join([first] + ["Step %d: %s" % (n, KB_236805_STEPS[n]) for n in steps]))
          for cid, kb, title, steps, first in _CAUSES]


# -- evidence as the rules read it ---------------------------------------------------------------
def _edr(raw):
    raw = raw if isinstance(raw, dict) else {}
    version = text(raw.get("version"))
    if version_tuple(version) is None:
        known = [v for v in (text(a.get("version")) for a in items(raw.get("appliances"))) if version_tuple(v)]
        version = min(known, key=version_tuple) if known else version
    listed = {name: items(raw.get(name)) if isinstance(raw.get(name), (list, tuple)) else None
              for name in ("health_events", "endpoints")}
    return dict(error=text(raw.get("error")), version=version, version_tuple=version_tuple(version),
                health_events=listed["health_events"], health_hours=integer(raw.get("health_window_hours")),
                event_count=number(raw.get("event_count")), event_window=number(raw.get("event_window_seconds")),
                endpoints=listed["endpoints"])


def _console(raw):
    raw = raw if isinstance(raw, dict) else {}
    inclusions = raw.get("group_inclusions")
    if isinstance(inclusions, (list, tuple, str)):
        inclusions = [shown for key, shown in (path_key(p) for p in strings(inclusions)) if key is not None]
    else:
        inclusions = None
    return dict(controller=text(raw.get("sepm_controller_name")), inclusions=inclusions,
                inherited=flag(raw.get("include_inherited_subgroups")), apply=flag(raw.get("apply_to_non_default_groups")),
                virtual=flag(raw.get("virtual_edition")), sepm_count=integer(raw.get("sepm_count")))


def _event_rate(edr, console, limit):
    count, window = edr["event_count"], edr["event_window"]
    if count is None:
        return "needs_input", "The EDR event count was not read.", [edr["error"] or "the evidence holds no event_count"], [], []
    if not window or window <= 0:
        return "needs_input", "The event count has no time window.", ["give edr.event_window_seconds"], [], []
    rate = count / window
    line = ["%d events in %g s: %.1f events per second on average (limit %g for EDR Virtual Edition; an estimate, peaks "
            "are higher)" % (count, window, rate, limit)]
    if rate <= limit:
        return "pass", "EDR receives %.1f events per second, at most %g." % (rate, limit), line, [], []
    if console["virtual"] is True:
        return "fail", "EDR Virtual Edition receives %.1f events per second, more than %g." % (rate, limit), line, [], []
    if console["virtual"] is False:
        return "pass", "%.1f events per second on a hardware appliance: the limit is that of the Virtual Edition." % rate, \
            line, [], []
    return "needs_input", "EDR receives %.1f events per second: is it the Virtual Edition?" % rate, \
        line + ["give console.virtual_edition (true for EDR Virtual Edition)"], [], []


def _event_line(event):
    line = "%s %s: %s" % (event["time"] or "(no time)", event["detail"], event["message"] or "(no message)")
    line += " (SEPM %s)" % event["sepm"] if event["sepm"] else ""
    return line + ("; remediation: %s" % event["remediation"] if event["remediation"] else "")


def _edr_health(edr):
    if edr["error"] or edr["health_events"] is None:
        return "needs_input", "The EDR System Health events were not read.", [
            edr["error"] or "the evidence holds no edr.health_events"], [], []
    bad = [dict(time=text(e.get("time")), detail=(text(e.get("status_detail")) or "").lower(),
                message=text(e.get("message")), remediation=text(e.get("remediation")), sepm=text(e.get("sepm")))
           for e in edr["health_events"]]
    bad = [e for e in bad if e["detail"] in HEALTH_ERRORS]
    bad = sorted((e for e in bad if e["time"]), key=_time, reverse=True) + [e for e in bad if not e["time"]]
    window = "in the last %d hours" % edr["health_hours"] if edr["health_hours"] else "in the window read"
    if not bad:
        return "pass", "No System Health error %s." % window, ["%d System Health events read, none with %s" % (
            len(edr["health_events"]), ", ".join(HEALTH_ERRORS))], [], []
    kinds = ", ".join("%s (%d)" % (k, len([e for e in bad if e["detail"] == k])) for k in HEALTH_ERRORS
                      if any(e["detail"] == k for e in bad))
    lines = [_event_line(e) for e in bad[:MAX_HEALTH_EVENTS]]
    lines += ["... and %d more" % (len(bad) - MAX_HEALTH_EVENTS)] if len(bad) > MAX_HEALTH_EVENTS else []
    return "fail", "%d System Health errors %s: %s." % (len(bad), window, kinds), lines, [], []


def _time(event):
    return event["time"]


def _name_keys(name):
    name = (text(name) or "").casefold().rsplit("\\", 1)[-1]
    return {name, name if as_ip(name) is not None else name.split(".", 1)[0]} - {""}


def _edr_inventory(sepm, edr):
    if edr["endpoints"] is None:
        return "needs_input", "The EDR endpoints were not read.", [edr["error"] or "the evidence holds no edr.endpoints"], \
            [], []
    if sepm is None or sepm["error"]:
        return unread(sepm)
    names, uids = set(), set()
    for endpoint in edr["endpoints"]:
        names.update(_name_keys(endpoint.get("name")))
        uids.add((text(endpoint.get("uid")) or "").casefold())
    edr_groups = {g["key"]: g for g in sepm["groups"] if uses_edr(g)}
    online = [c for c in sepm["computers"] if c["online"] and c["group"] in edr_groups]
    if not online:
        return "needs_input", "No online computer in a group that uses EDR to look for in EDR.", [
            "SEPM %s lists %d computers, none online in a group that uses EDR" % (sepm["name"], len(sepm["computers"]))], \
            [], []
    uids.discard("")
    missing = [c for c in online if not _name_keys(c["name"]) & names and (c["device"] or "").casefold() not in uids]
    if not missing:
        return "pass", "EDR knows all %d online computers of the groups that use EDR." % len(online), [
            "%d online computers matched among %d EDR endpoints" % (len(online), len(edr["endpoints"]))], [], []
    lines = ["%s (%s, ATP device id %s) is online in SEPM but not among the %d EDR endpoints" % (
        c["name"], edr_groups[c["group"]]["path"], c["device"] or "none", len(edr["endpoints"])) for c in missing]
    return "fail", "%d of %d online computers in groups that use EDR are unknown to EDR." % (len(missing), len(online)), \
        lines, [edr_groups[c["group"]]["path"] for c in missing], [c["name"] for c in missing]


def _edr_version(edr):
    if edr["version"] is None:
        return "needs_input", "The EDR version was not read.", [edr["error"] or "the evidence holds no edr.version"], [], []
    if edr["version_tuple"] is None:
        return "needs_input", "The EDR version %s cannot be read." % edr["version"], [
            "%r is not a dotted version" % edr["version"]], [], []
    if edr["version_tuple"] < (4, 0):
        return "fail", "EDR %s is ATP 3.x: update to EDR 4.0 or later." % edr["version"], [
            "the lowest appliance version is %s" % edr["version"]], [], []
    return "pass", "EDR %s is 4.0 or later." % edr["version"], ["the lowest appliance version is %s" % edr["version"]], [], []


# -- the API -------------------------------------------------------------------------------------
def _one_line(value):
    return " ".join(str(value).split())


def _unique_sorted(names):
    first = {}
    for name in names:
        first.setdefault(str(name).casefold(), str(name))
    return [first[key] for key in sorted(first)]


def _verdict(cause, verdict, summary, evidence, groups, computers):
    lines = [_one_line(line) for line in evidence]
    if len(lines) > MAX_EVIDENCE:
        lines = lines[:MAX_EVIDENCE] + ["... and %d more" % (len(lines) - MAX_EVIDENCE)]
    return dict(id=cause["id"], kb_cause=cause["kb_cause"], title=cause["title"], verdict=verdict,
                summary=_one_line(summary), evidence=lines, affected_groups=_unique_sorted(groups),
                affected_computers=_unique_sorted(computers),
                resolution=dict(steps=list(cause["steps"]), text=cause["resolution"]), inferred=cause["id"] in INFERRED)


def evaluate(evidence, console, max_event_rate=400):
    """The verdicts of every cause, in ``CAUSES`` order; only evidence that is not a dict raises (InputError)."""
    if not isinstance(evidence, dict):
        raise InputError("The EDR diagnosis needs the evidence as a dict (sepms, edr, probes), not %s."
                         % type(evidence).__name__, hint="This is a bug in the caller: report it.")
    limit = number(max_event_rate)
    if limit is None or limit <= 0:
        raise InputError("max_event_rate must be a positive number of events per second, not %r." % (max_event_rate,),
                         hint="KB 236805 gives 400 for EDR Virtual Edition.")
    sepms = evidence.get("sepms")
    sepms = [sepms] if isinstance(sepms, dict) else sepms if isinstance(sepms, (list, tuple)) else []
    sepms = [read_sepm(raw if isinstance(raw, dict) else dict(error="its evidence is %s, not a dict" % type(raw).__name__),
                       index) for index, raw in enumerate(sepms)]
    primary, edr, console = sepms[0] if sepms else None, _edr(evidence.get("edr")), _console(console)
    probes = [read_probe(p) for p in items(evidence.get("probes"))]
    proxy_of = {g["key"]: show_proxy(g["proxy"]) for g in (primary or dict(groups=[]))["groups"] if proxy_set(g["proxy"])}
    decided = dict(
        edr_certificate_name=certificate_name(probes, edr["version_tuple"]),
        sepm_certificate_name=sepm_certificate_name(primary, console["controller"], edr["version_tuple"]),
        policy_not_pushed=policy_not_pushed(primary),
        tls_interception=tls_interception(probes, proxy_of),
        multiple_edr_appliances=multiple_edr_appliances(sepms),
        group_across_sepms=group_across_sepms(sepms, console),
        fips_mode=("not_checkable", "Neither the SEPM REST API nor the EDR API exposes FIPS mode; check the endpoints.",
                   ["neither the SEPM REST API nor the EDR API exposes FIPS mode; check the endpoints"], [], []),
        event_rate=_event_rate(edr, console, limit),
        edr_certificate_san=certificate_san(probes, edr["version_tuple"], edr["version"] or "unknown"),
        group_inclusion=group_inclusion(primary, console),
        non_default_groups=non_default_groups(primary, console),
        default_location_local=default_location_local(primary),
        edr_health=_edr_health(edr),
        edr_inventory=_edr_inventory(primary, edr),
        edr_version=_edr_version(edr),
    )
    return [_verdict(cause, *decided[cause["id"]]) for cause in CAUSES]


def summarize(verdicts):
    """{pass, fail, needs_input, not_checkable: counts, first_fail: the id of the first failing verdict or None}."""
    result = dict.fromkeys(VERDICTS, 0)
    result["first_fail"] = None
    for verdict in (v for v in verdicts or [] if isinstance(v, dict)):
        kind = verdict.get("verdict")
        if kind in VERDICTS:
            result[kind] += 1
        if kind == "fail" and result["first_fail"] is None:
            result["first_fail"] = verdict.get("id")
    return result


def by_group(verdicts):
    """[{group, fail: [ids], needs_input: [ids]}] of the groups that failing or undecided verdicts name, by path."""
    rows = {}
    for verdict in (v for v in verdicts or [] if isinstance(v, dict)):
        kind = verdict.get("verdict")
        if kind not in ("fail", "needs_input"):
            continue
        for path in verdict.get("affected_groups") or []:
            row = rows.setdefault(str(path).casefold(), dict(group=str(path), fail=[], needs_input=[]))
            if verdict.get("id") not in row[kind]:
                row[kind].append(verdict.get("id"))
    return [rows[key] for key in sorted(rows)]
