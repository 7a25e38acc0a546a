#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: agent_access
short_description: Approve or block agents the Internet Gateway blocked, by name or from evidence, in bulk and safely
version_added: 0.2.0
description:
  - KB 440752 - after a CMDB rollback the Internet Gateway blocks agents whose ephemeral certificates it cannot match to
    registration data, and they cannot reach the Notification Server until an administrator approves or blocks them on
    the console's C(Cloud-enabled Agents Access Troubleshooting) page, one page at a time. This module makes the
    decisions in bulk, in the access store behind that page.
  - O(state=approved) or O(state=blocked) sets the agents named in O(agents) (names or GUIDs). A name that is not in
    the store fails the task, listing the near matches; a name to approve that several agents with different GUIDs
    share fails too (another computer may reuse it) - name that one by its GUID.
  - O(decide=from_evidence) decides every pending or blocked agent from O(evidence) - V(approve) on a GUID match, or on
    a name match after normalising case, DNS suffix and NetBIOS domain; V(block) on a deny-list hit; V(hold) for
    anything else (unknown, conflicting evidence, one name with two GUIDs). Every decision carries its rule and reason.
    An agent an administrator blocked is never approved from evidence (rule C(administrator_block)); holds are never
    written, so those agents stay blocked.
  - Decisions are written set-based, in batches of O(batch_size), each batch one transaction, approvals first. Only
    the C(UPDATE) or stored procedure the schema profile defines (C(access.write)) is run, with bound values; the
    profile is checked against the live CMDB before the first write.
  - O(max_approvals) refuses, before any write, a run that would approve more agents than that - a flood of unknown
    agents after a rollback is an attack, not a recovery. The failure gives the count and the first 20 agents.
  - With O(journal), each batch is recorded before it is sent and after it is committed (flushed to disk), so that a
    run that was interrupted (a dropped connection, a killed controller) can simply be run again - nothing is written
    twice. Watch a long run live with C(tail -f) on the journal file - the module itself cannot print while it runs, so
    it returns RV(batches) for the play to print.
  - The tables and statements behind the page are not publicly documented; the built-in profile maps none and the task
    fails with a message saying so until O(cmdb_profile) maps C(tables.agent_access), C(values.agent_access_status) and
    C(access.write) (see the profiles guide, "The access store"). Writing to the CMDB outside the console is the
    administrator's decision to make.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.CMDB
options:
  state:
    description:
      - Set the agents of O(agents) to this state. Exactly one of O(state) and O(decide) is required.
    type: str
    choices: [approved, blocked]
  agents:
    description:
      - With O(state), the agents, by name (compared without case, DNS suffix or C(DOMAIN\\) prefix) or GUID. A name
        names every agent that has it.
    type: list
    elements: str
  decide:
    description:
      - V(from_evidence) decides every pending or blocked agent from O(evidence).
    type: str
    choices: [from_evidence]
  evidence:
    description:
      - With O(decide), what the decisions rest on. Empty, every agent is held unless it is deny-listed.
      - Paths are read on the controller; C(~) is expanded.
    type: dict
    suboptions:
      reports:
        description:
          - M(itms.cem.cem_report) files from before the rollback (JSON or CSV) - any report with a GUID and a computer
            name column, such as V(connection_state) (C(ResourceGuid), C(Computer Name)). Schedule C(playbooks/report.yml)
            so that there is one. A path, or C({path, label}).
        type: list
        elements: raw
      exports:
        description:
          - CSV or JSON exports of computer names and GUIDs (an inventory, a CMDB export).
        type: list
        elements: dict
        suboptions:
          path:
            description: The file.
            type: str
            required: true
          format:
            description: C(csv) or C(json); by the file's suffix when not set.
            type: str
            choices: [csv, json]
          name_column:
            description: The column of computer names; without it and O(evidence.exports[].guid_column), found by name.
            type: str
          guid_column:
            description: The column of GUIDs.
            type: str
          label:
            description: How reasons cite this file.
            type: str
      names:
        description:
          - Computer names known to belong (from AD, SEPM ...), or C({label, names}) groups.
        type: list
        elements: raw
      name_files:
        description:
          - Files with one computer name per line; C(#) starts a comment. A path, or C({path, label}).
        type: list
        elements: raw
      allow:
        description:
          - Shell-style patterns on the normalised name (C(LT-*)); they approve only agents no evidence contradicts.
        type: list
        elements: str
      deny:
        description:
          - GUIDs, names or shell-style patterns to block, whatever else matches.
        type: list
        elements: str
  apply:
    description:
      - Which decisions are written. V(hold) is never written.
    type: list
    elements: str
    choices: [approve, block]
    default: [approve, block]
  max_approvals:
    description:
      - The most agents this run may approve. A plan with more fails before any write. V(0) allows none.
    type: int
    default: 100
  journal:
    description:
      - A file (JSON lines) where each batch is recorded; its folder must exist. Run the task again with the same
        journal after an interruption - committed batches are skipped and a batch whose commit was not recorded is
        checked against the store first. Not written in check mode.
      - Without it an interrupted run cannot tell what was written; a rerun still writes only agents not yet in the
        decided state.
    type: path
  batch_size:
    description:
      - Decisions per batch (one transaction; statements are split under SQL Server's 2,100 parameters).
    type: int
    default: 1000
  gateway:
    description:
      - Only agents reported by this gateway (C(Reported by)), compared without case.
    type: str
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
  - Check mode returns the whole plan and writes nothing - neither the CMDB nor the journal.
  - With C(--diff), the diff shows the status counts before and after and one line per change (at most 1,000; a
    note says how many more).
  - C(changed) is true only when rows were written (in check mode, when rows would be); a repeat reports no change.
  - Use a login with C(UPDATE) (or C(EXECUTE) on the procedure) on the access store only for this module; the others
    only read.
requirements:
  - sqlglot >= 25.0 (checks the write statements and transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.agent_access_info
  - module: itms.cem.agent_access_report
  - module: itms.cem.cem_report
"""

EXAMPLES = r"""
- name: What would the evidence decide? (writes nothing)
  itms.cem.agent_access:
    cmdb_url: mssql://LAB%5Csvc_cem_access@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_access_password }}"
    cmdb_profile: "{{ playbook_dir }}/profiles/cmdb.yml"   # maps tables.agent_access and access.write
    decide: from_evidence
    evidence:
      reports: [/srv/reports/cem-report.json]
      name_files: [{path: /srv/exports/ad-computers.txt, label: AD}]
      deny: ["DESKTOP-*"]
  check_mode: true
  delegate_to: localhost
  register: plan

- name: Approve and block from the evidence, journaled, at most 5,000 approvals
  itms.cem.agent_access:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    decide: from_evidence
    evidence:
      reports: [/srv/reports/cem-report.json]
      exports: [{path: /srv/exports/sepm.csv, name_column: Computer Name, guid_column: Agent ID}]
    max_approvals: 5000
    journal: /srv/dr/access-journal.jsonl   # tail -f it to watch the batches
  delegate_to: localhost
  register: decided

- name: Print the batches
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.agents }} {{ item.decision }}, {{ item.rows }} rows"
  loop: "{{ decided.batches }}"

- name: Block two agents by name and one by GUID
  itms.cem.agent_access:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    state: blocked
    agents: [DESKTOP-7Q2KX9A, CORP\LT-000417, 3f2b9c4e-8a1d-4e6f-9b0c-2d7e5a1f4c8b]
  delegate_to: localhost
"""

RETURN = r"""
approve:
  description: Agents the plan approves.
  returned: success
  type: int
  sample: 2841
block:
  description: Agents the plan blocks.
  returned: success
  type: int
  sample: 3
hold:
  description: Agents the plan holds (not written; they stay blocked).
  returned: success
  type: int
  sample: 17
applied:
  description:
    - Rows written by this run (0 in check mode). For C(access.write.kind) C(procedure), the decisions in committed
      batches, as a procedure's row count is not reliable.
  returned: success
  type: int
  sample: 2844
pending:
  description: Decisions still to write - in check mode, what the run would write.
  returned: success
  type: int
  sample: 0
skipped_from_journal:
  description: Decisions of the plan the journal shows committed by an earlier, interrupted run.
  returned: success
  type: int
  sample: 0
confirmed_in_store:
  description: Decisions of a batch whose commit the journal did not record, found already written in the store.
  returned: success
  type: int
  sample: 0
batches:
  description: The batches committed, in order (the progress of the run; empty in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    key:
      description: The batch's name, as in the journal.
      type: str
    decision:
      description: C(approve) or C(block).
      type: str
    agents:
      description: Decisions in the batch.
      type: int
    rows:
      description: Rows it changed.
      type: int
  sample: [{"key": "approve-0001", "decision": "approve", "agents": 1000, "rows": 1000}]
plan:
  description: Every agent considered, with its decision and why, approvals first.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The store's row key.
      type: raw
    agent_name:
      description: The name the agent presented (C(Agent Name)).
      type: str
    agent_guid:
      description: Its GUID, or null.
      type: str
    reported_by:
      description: The gateway (C(Reported by)).
      type: str
    created:
      description: C(Creation Date).
      type: str
    status:
      description: Its state before this run - C(pending), C(approved) or C(blocked).
      type: str
    decision:
      description: C(approve), C(block) or C(hold).
      type: str
    rule:
      description:
        - The rule that decided - C(deny_list), C(duplicate_name), C(conflicting_evidence), C(guid_match),
          C(guid_mismatch), C(ambiguous_evidence), C(name_match), C(allow_pattern), C(no_evidence),
          C(administrator_block), or C(named) for O(state).
      type: str
    reason:
      description: Why, naming the evidence it rests on.
      type: str
  sample: [{"id": 17, "agent_name": "LT-004211.corp.example.com", "agent_guid": "d274541a-e1fd-4686-b345-dd787e3ae904",
            "reported_by": "ig-emea.cem.example.com", "created": "2026-11-02 10:50:46", "status": "pending",
            "decision": "approve", "rule": "guid_match",
            "reason": "GUID d274541a-e1fd-4686-b345-dd787e3ae904 is in cem-report.json (pre-rollback report)"}]
rules:
  description: Agents per rule.
  returned: success
  type: dict
  sample: {"guid_match": 2790, "name_match": 51, "deny_list": 3, "no_evidence": 12, "duplicate_name": 5}
evidence:
  description: What was read as evidence, one entry per source (C(kind), C(path), C(source), C(format), C(name_column),
    C(guid_column), C(rows), C(names), C(guids)); empty with O(state).
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "report", "path": "/srv/reports/cem-report.json", "source": "cem-report.json (pre-rollback report)",
            "format": "json", "name_column": "Computer Name", "guid_column": "ResourceGuid", "rows": 9420,
            "names": 9420, "guids": 9420}]
journal:
  description: The journal file, or null.
  returned: success
  type: str
  sample: /srv/dr/access-journal.jsonl
cmdb_requests:
  description: What the CMDB client did, with C(writes) (statements) and C(rows_written).
  returned: always
  type: dict
  sample: {"backend": "mssql", "queries": 3, "elapsed_ms": 812, "writes": 3, "rows_written": 2844}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _access, _evidence
from ansible_collections.itms.cem.plugins.module_utils import _access_report as shape
from ansible_collections.itms.cem.plugins.module_utils._access_decide import decide, plan_counts, rule_counts
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError, InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import ACCESS_STATUSES, load_cmdb_profile

_LIST = dict(type="list", elements="raw")
EVIDENCE = dict(reports=_LIST, names=_LIST, name_files=_LIST, allow=dict(type="list", elements="str"),
                deny=dict(type="list", elements="str"),
                exports=dict(type="list", elements="dict", options=dict(
                    path=dict(type="str", required=True), format=dict(type="str", choices=["csv", "json"]),
                    name_column=dict(type="str"), guid_column=dict(type="str"), label=dict(type="str"))))


def plan_for(params, client, profile):
    """(plan, evidence sources): the named agents' plan, or the decisions from the evidence."""
    if params["state"]:
        if not params["agents"]:
            raise InputError("state %s needs the agents to set, by name or GUID." % params["state"])
        agents = _access.read_agents(client, profile, statuses=ACCESS_STATUSES, gateway=params["gateway"])
        return shape.named_plan(agents, params["agents"], params["state"]), []
    evidence = _evidence.load(dict((k, v) for k, v in (params["evidence"] or {}).items() if v is not None))
    agents = _access.read_agents(client, profile, gateway=params["gateway"])
    return shape.keep_administrator_blocks(decide(agents, evidence)), evidence["sources"]


def run(module, client):
    params = module.params
    if params["max_approvals"] < 0:
        raise InputError("max_approvals is %d; it must be 0 or more." % params["max_approvals"])
    with _access.collector_paused():
        return _run(module, client, params)


def _run(module, client, params):
    profile = load_cmdb_profile(params["cmdb_profile"])
    plan, sources = plan_for(params, client, profile)
    counts = plan_counts(plan)
    todo = shape.writes(plan, params["apply"])
    shape.refuse_approvals(todo, params["max_approvals"], counts)  # before any write, in check mode too
    batches = []

    def progress(step):  # after each commit: the rows it changed are what the client counted since the last one
        rows = client.stats().get("rows_written", 0) - sum(b["rows"] for b in batches)
        agents = step["applied"] - sum(b["agents"] for b in batches)
        batches.append(dict(key=step["key"], decision=step["decision"], agents=agents, rows=rows))

    journal = _access.Journal(params["journal"]) if params["journal"] else None
    try:
        outcome = _access.apply(client, profile, todo, journal, params["batch_size"], module.check_mode, progress)
    except CemError as exc:
        exc.details.update(batches=batches, approve=counts["approve"], block=counts["block"], hold=counts["hold"])
        raise
    finally:
        if journal is not None:
            journal.close()
    procedure = bool(outcome["applied"]) and profile.access_write()["kind"] == "procedure"
    applied = outcome["applied"] if procedure else outcome["rows"]
    changed = outcome["pending"] > 0 if module.check_mode else applied > 0
    result = dict(counts, applied=applied, pending=outcome["pending"],
                  skipped_from_journal=outcome["skipped_from_journal"],
                  confirmed_in_store=outcome["confirmed_in_store"], batches=batches, plan=plan,
                  rules=rule_counts(plan), evidence=sources, journal=journal.path if journal else None)
    return changed, result, shape.diff(plan, todo)


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            state=dict(type="str", choices=["approved", "blocked"]),
            agents=dict(type="list", elements="str"),
            decide=dict(type="str", choices=["from_evidence"]),
            evidence=dict(type="dict", options=EVIDENCE),
            apply=dict(type="list", elements="str", choices=["approve", "block"], default=["approve", "block"]),
            max_approvals=dict(type="int", default=100),
            journal=dict(type="path"),
            batch_size=dict(type="int", default=1000),
            gateway=dict(type="str"),
        ),
        mutually_exclusive=[("state", "decide"), ("state", "evidence"), ("decide", "agents")],
        required_one_of=[("state", "decide")],
        required_by=dict(state=["agents"]),
        supports_check_mode=True,
    )
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
