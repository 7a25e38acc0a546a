# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure shaping of agent access plans (KB 440752) for the modules: no I/O, no AnsibleModule.

* ``named_plan``: the plan of ``state: approved|blocked`` for agents given by name or GUID (unknown names are an
  error that lists the near matches);
* ``keep_administrator_blocks``: ``decide: from_evidence`` never lifts an administrator's block by itself;
* ``writes``, ``refuse_approvals``, ``diff``: what a run writes, the ``max_approvals`` refusal, the task diff;
* ``agent_row``: an agent with the console page's grid columns;
* ``document``: the report of ``agent_access_report``, in the shape ``_report.render_html`` and
  ``_report.render_json`` render for ``cem_report`` (so it has the same look).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import operator

from ansible_collections.itms.cem.plugins.module_utils._access_decide import (
    DECISIONS, normalize_guid, normalize_name, plan_counts, rule_counts,
)
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

TARGET = {"approve": "approved", "block": "blocked"}
DECISION_FOR = {"approved": "approve", "blocked": "block"}
GRID = (("Agent Name", "agent_name"), ("Reported by", "reported_by"), ("Creation Date", "created"))
DIFF_MAX_LINES = 1000
REFUSAL_SHOWN = 20
REPORT_COLUMNS = ["Decision", "Agent Name", "Agent GUID", "Reported by", "Creation Date", "Status before", "Rule",
                  "Reason", "Reconnected", "Last Success"]


def agent_row(agent):
    """An agent with the page's grid columns ("Agent Name", "Reported by", "Creation Date") and its fields."""
    row = dict((label, agent.get(key)) for label, key in GRID)
    row.update(agent)
    return row


def describe(agent):
    """``NAME (GUID, reported by GATEWAY)``: how a message names an agent."""
    return "%s (%s, reported by %s)" % (agent.get("agent_name"), agent.get("agent_guid") or "no GUID",
                                        agent.get("reported_by") or "no gateway")


# -- state: approved | blocked for named agents ---------------------------------------------------
def named_plan(agents, names, state):
    """The plan that sets the agents ``names`` (names or GUIDs) to ``state`` (approved or blocked).

    A name matches after ``normalize_name`` (case, DNS suffix, NetBIOS domain); a GUID matches the agent's GUID.
    InputError, before anything is written, for a name or GUID no agent has (with the near matches), and for
    ``approved`` with a name several agents with different GUIDs share (another computer may reuse the name).
    """
    if state not in DECISION_FOR:
        raise InputError("state must be approved or blocked, not %r." % (state,))
    decision = DECISION_FOR[state]
    by_guid, by_name = {}, {}
    for agent in agents:
        if agent.get("agent_guid"):
            by_guid.setdefault(agent["agent_guid"], []).append(agent)
        by_name.setdefault(normalize_name(agent.get("agent_name")), []).append(agent)
    chosen, unknown, missing, ambiguous = {}, [], [], []
    for given in names:
        text = str(given).strip()
        guid = normalize_guid(text)
        found = by_guid.get(guid, []) if guid else by_name.get(normalize_name(text), [])
        if not found:
            near = difflib.get_close_matches(normalize_name(text), [n for n in by_name if n], n=5, cutoff=0.6)
            unknown.append("%s (near: %s)" % (text, ", ".join(near)) if near and not guid else text)
            missing.append(text)
            continue
        if decision == "approve" and len(set(a.get("agent_guid") for a in found)) > 1:
            ambiguous.append("%s: %s" % (text, "; ".join(describe(a) for a in found)))
            continue
        for agent in found:
            chosen.setdefault(agent["id"], (agent, text))
    if unknown:
        raise InputError("%d of the agents named are not in the access store: %s."
                         % (len(unknown), ", ".join(unknown)),
                         hint="Names are compared without case, DNS suffix or DOMAIN\\ prefix; list the store with "
                              "itms.cem.agent_access_info (a gateway filter narrows it). Nothing was written.",
                         unknown=missing)
    if ambiguous:
        raise InputError("Several agents with different GUIDs share a name given to approve, and another computer "
                         "may reuse it: %s." % " | ".join(ambiguous),
                         hint="Name the agent to approve by its GUID. Nothing was written.")
    plan = []
    for agent, given in chosen.values():
        done = agent.get("status") == state
        reason = ("named in agents as %s; already %s" % (given, state) if done
                  else "named in agents as %s; %s -> %s" % (given, agent.get("status"), state))
        plan.append(dict(agent, decision=decision, rule="named", reason=reason))
    plan.sort(key=lambda d: (normalize_name(d.get("agent_name")), d.get("agent_guid") or "", str(d["id"])))
    return plan


def keep_administrator_blocks(plan):
    """An agent an administrator blocked is not approved from evidence: its approve becomes hold, with why."""
    if not any(e["decision"] == "approve" and e.get("status") == "blocked" for e in plan):
        return plan
    out = []
    for entry in plan:
        if entry["decision"] == "approve" and entry.get("status") == "blocked":
            entry = dict(entry, decision="hold", rule="administrator_block",
                         reason="an administrator blocked this agent; the evidence would approve it (%s): approve "
                                "it by name with state approved if it belongs" % entry["reason"])
        out.append(entry)
    out.sort(key=lambda d: DECISIONS.index(d["decision"]))  # stable: the core's order within each decision
    return out


# -- what a run writes ----------------------------------------------------------------------------
def _id_key(entry):
    ident = entry["id"]
    return (0, ident, "") if isinstance(ident, int) and not isinstance(ident, bool) else (1, 0, str(ident))


def writes(plan, apply):
    """The plan entries a run writes: decisions named in ``apply`` whose agent is not in that state already.

    In row-key order, so that each batch touches a narrow range of the store's pages (a batch in plan order touches
    pages all over the table, and each transaction then rewrites most of them).
    """
    todo = [e for e in plan if e["decision"] in apply and e["decision"] in TARGET
            and e.get("status") != TARGET[e["decision"]]]
    try:
        todo.sort(key=operator.itemgetter("id"))  # row keys of one store are of one type
    except TypeError:
        todo.sort(key=_id_key)
    return todo


def refuse_approvals(todo, max_approvals, counts):
    """InputError when ``todo`` approves more agents than ``max_approvals``: the count and the first agents."""
    approvals = [e for e in todo if e["decision"] == "approve"]
    if len(approvals) <= max_approvals:
        return
    first = [describe(e) for e in approvals[:REFUSAL_SHOWN]]
    raise InputError(
        "The plan approves %d agents, more than max_approvals %d; nothing was written. The first %d: %s."
        % (len(approvals), max_approvals, len(first), "; ".join(first)),
        hint="After a CMDB rollback a flood of unknown agents is an attack, not a recovery: read the plan in check "
             "mode, narrow the evidence (deny, allow, gateway) and raise max_approvals only to the number of agents "
             "you expect back.",
        would_approve=len(approvals), max_approvals=max_approvals, first_approvals=first,
        approve=counts["approve"], block=counts["block"], hold=counts["hold"])


def _status_counts(entries):
    counts = {}
    for entry in entries:
        counts[entry.get("status")] = counts.get(entry.get("status"), 0) + 1
    return counts


def _counts_line(counts):
    return "# agents: %s" % (", ".join("%s %d" % (k, counts[k]) for k in sorted(counts, key=str)) or "none")


def diff(plan, todo, max_lines=DIFF_MAX_LINES):
    """{before, after}: the status counts of the agents in the plan, then one line per change, capped."""
    before_counts = _status_counts(plan)
    after_counts = dict(before_counts)
    for entry in todo:
        after_counts[entry.get("status")] -= 1
        after_counts[TARGET[entry["decision"]]] = after_counts.get(TARGET[entry["decision"]], 0) + 1
    after_counts = dict((k, v) for k, v in after_counts.items() if v)
    before, after = [_counts_line(before_counts)], [_counts_line(after_counts)]
    for entry in todo[:max_lines]:
        name = "%s id %s" % (describe(entry), entry["id"])
        before.append("%s: %s" % (name, entry.get("status")))
        after.append("%s: %s" % (name, TARGET[entry["decision"]]))
    if len(todo) > max_lines:
        note = "# ... and %d more changes not shown (the first %d are); the plan lists every one" % (
            len(todo) - max_lines, max_lines)
        before.append(note)
        after.append(note)
    return dict(before="\n".join(before) + "\n", after="\n".join(after) + "\n")


# -- the report -----------------------------------------------------------------------------------
def _reconnection(verification):
    """{id or guid: (reconnected bool, last_success)} from agent_access_info's agents (verify_since)."""
    found = {}
    for agent in verification or []:
        if not isinstance(agent, dict):
            raise InputError("Each entry of verification must be an agent of itms.cem.agent_access_info, not %r."
                             % (agent,))
        if "reconnected" not in agent:
            continue  # not verified (agent_access_info adds it to approved agents with verify_since)
        state = agent.get("reconnected")
        details = state if isinstance(state, dict) else agent
        entry = (bool(details.get("reconnected") if isinstance(state, dict) else state), details.get("last_success"))
        if agent.get("id") is not None:
            found[("id", str(agent["id"]))] = entry
        guid = normalize_guid(agent.get("agent_guid"))
        if guid:
            found[("guid", guid)] = entry
    return found


def document(plan, verification, title, source):
    """The report (cem_report's document shape): approved, blocked and held agents with their reasons, and the
    approved agents that have not reconnected. Holds no timestamp: the same input, the same bytes."""
    if not isinstance(plan, list) or not all(isinstance(e, dict) and e.get("decision") in DECISIONS for e in plan):
        raise InputError("plan must be the plan of itms.cem.agent_access: a list of agents, each with a decision "
                         "(%s)." % ", ".join(DECISIONS))
    seen = _reconnection(verification)
    rows, gateways, reconnection = [], {}, {"reconnected": 0, "not reconnected": 0, "not verified": 0}
    not_back = []
    for entry in sorted(plan, key=lambda e: (DECISIONS.index(e["decision"]), normalize_name(e.get("agent_name")),
                                             e.get("agent_guid") or "", str(e.get("id")))):
        back, last = None, None
        if entry["decision"] == "approve":
            found = seen.get(("id", str(entry.get("id")))) or seen.get(("guid", normalize_guid(entry.get("agent_guid"))))
            if found is None:
                reconnection["not verified"] += 1
            else:
                back, last = found
                reconnection["reconnected" if back else "not reconnected"] += 1
                if not back:
                    not_back.append(entry)
        gateway = entry.get("reported_by") or "(none)"
        gateways[gateway] = gateways.get(gateway, 0) + 1
        rows.append([entry["decision"], entry.get("agent_name"), entry.get("agent_guid"), entry.get("reported_by"),
                     entry.get("created"), entry.get("status"), entry.get("rule"), entry.get("reason"),
                     None if back is None else ("yes" if back else "no"), last])
    counts = plan_counts(plan)
    summary = dict(agents=len(plan), approve=counts["approve"], block=counts["block"], hold=counts["hold"],
                   reconnected=reconnection["reconnected"], not_reconnected=reconnection["not reconnected"],
                   not_verified=reconnection["not verified"])
    charts = [_chart("decisions", "Decisions", [(d, counts[d]) for d in DECISIONS]),
              _chart("rules", "Decisions by rule", sorted(rule_counts(plan).items(), key=lambda i: (-i[1], i[0]))),
              _chart("gateways", "Agents per gateway (Reported by)",
                     sorted(gateways.items(), key=lambda i: (-i[1], i[0])))]
    notes = []
    if counts["approve"]:
        charts.append(_chart("reconnection", "Approved agents: reconnection", list(reconnection.items())))
        if not_back:
            names = ", ".join(str(e.get("agent_name")) for e in not_back[:50])
            more = " and %d more" % (len(not_back) - 50) if len(not_back) > 50 else ""
            notes.append("%d approved agent(s) have not reconnected: %s%s. Filter the table on 'no'." % (
                len(not_back), names, more))
        if reconnection["not verified"]:
            notes.append("%d approved agent(s) were not verified (no verification given for them)."
                         % reconnection["not verified"])
    if counts["hold"]:
        notes.append("%d agent(s) are held: they stay blocked until an administrator decides; each row says why."
                     % counts["hold"])
    return dict(report="agent_access", title=title, source=source, summary=summary, charts=charts,
                columns=list(REPORT_COLUMNS), rows=rows, notes=notes)


def _chart(chart_id, title, items):
    data = [dict(label=str(label), value=value) for label, value in items]
    return dict(id=chart_id, title=title, data=data, total=sum(d["value"] for d in data))
