# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The enrollment report: ``edr_enrollment_check``'s result as a report document (pure; rendered by ``_report``).

One row per cause, charts of the verdicts and of the causes per group, the evidence in the JSON. The document
holds no timestamp, so writing it again is ``changed`` only when a verdict, its evidence or its scope changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

VERDICTS = ("fail", "needs_input", "not_checkable", "pass")
COLUMNS = ["KB cause", "check", "verdict", "summary", "affected groups", "affected computers", "KB 236805 steps",
           "inferred", "resolution"]
MAX_LISTED = 20


def _listed(values):
    values = [str(v) for v in values or []]
    if len(values) <= MAX_LISTED:
        return ", ".join(values)
    return "%s and %d more" % (", ".join(values[:MAX_LISTED]), len(values) - MAX_LISTED)


def _row(cause):
    resolution = cause.get("resolution") or {}
    return [cause.get("kb_cause") or "", "%s (%s)" % (cause.get("title"), cause.get("id")), cause.get("verdict"),
            cause.get("summary"), _listed(cause.get("affected_groups")), _listed(cause.get("affected_computers")),
            ", ".join(str(s) for s in resolution.get("steps") or []), "yes" if cause.get("inferred") else "",
            resolution.get("text") or ""]


def document(check, title):
    """The report document of an ``edr_enrollment_check`` result (its registered variable)."""
    if not isinstance(check, dict) or not isinstance(check.get("causes"), list):
        raise InputError("check must be the registered result of itms.cem.edr_enrollment_check (with causes).")
    causes = [c for c in check["causes"] if isinstance(c, dict)]
    counts = dict((v, sum(1 for c in causes if c.get("verdict") == v)) for v in VERDICTS)
    first = next((c for c in causes if c.get("verdict") == "fail"), None)
    summary = dict(counts, causes=len(causes), first_fail=first["id"] if first else "none")
    groups = [g for g in check.get("groups") or [] if isinstance(g, dict)]
    per_group = sorted(((g.get("group") or "?", len(g.get("fail") or [])) for g in groups if g.get("fail")),
                       key=lambda item: (-item[1], item[0]))
    charts = [dict(id="verdicts", title="Verdicts of the %d causes" % len(causes),
                   data=[dict(label=v, value=counts[v]) for v in VERDICTS], total=len(causes)),
              dict(id="groups", title="Failing causes per SEPM group",
                   data=[dict(label=group, value=n) for group, n in per_group], total=len(causes))]
    notes = ["%s: %s (%s)" % (c.get("verdict").upper(), c.get("summary"), c.get("id"))
             for c in causes if c.get("verdict") in ("fail", "needs_input")]
    notes.extend("Group %s: fails %s%s" % (g.get("group"), ", ".join(g.get("fail") or []) or "nothing",
                                           "; needs input for %s" % ", ".join(g["needs_input"]) if g.get("needs_input") else "")
                 for g in groups)
    evidence = dict((k, v) for k, v in (check.get("evidence") or {}).items() if k != "collected_at")
    sepms = evidence.get("sepms") or [{}]
    source = dict(sepm=(sepms[0] or {}).get("name") or "?", edr=(evidence.get("edr") or {}).get("url") or "not read")
    return dict(report="edr_enrollment", title=title, source=source, summary=summary, charts=charts,
                columns=list(COLUMNS), rows=[_row(c) for c in causes], notes=notes, table_title="Causes (KB 236805)",
                causes=causes, groups=groups, console=check.get("console") or {}, evidence=evidence)


def console_lines(causes):
    """One line per cause, as the role prints them: ``[FAIL] cause 1 edr_certificate_name: <summary>``."""
    lines = []
    for cause in causes:
        where = "cause %s" % cause["kb_cause"] if cause.get("kb_cause") else "related"
        lines.append("[%s] %s %s: %s" % ((cause.get("verdict") or "?").upper(), where, cause.get("id"), cause.get("summary")))
    return lines
