#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: agent_access_info
short_description: List the agents the Internet Gateway blocked, as the console's access troubleshooting page does
version_added: 0.2.0
description:
  - Reads the access store behind the console's C(Cloud-enabled Agents Access Troubleshooting) page (KB 440752) - the
    agents the Internet Gateway blocked because it could not match their ephemeral certificate to registration data
    (most often after a CMDB rollback), waiting for an administrator to approve or block them.
  - Each agent is returned with the page's grid columns (C(Agent Name), C(Reported by), C(Creation Date)) and the same
    fields in snake case, with counts per gateway and per status.
  - The tables behind that page are not publicly documented, so the built-in schema profile maps none of them; the
    task fails with a message saying so until O(cmdb_profile) maps C(tables.agent_access) and
    C(values.agent_access_status) (see the profiles guide, "The access store", for how to find them with SQL Server
    Extended Events while clicking Approve on the page). Every mapped table and column is checked against the live
    CMDB before it is read.
  - With O(verify_since), each approved agent also gets whether it is back - on the Internet
    (C(Inv_AeX_AC_Network_Zone.IsOnInternet)) with a C(Last Success) in C(Inv_AeX_AC_InternetGatewayDetails) at or
    after that time.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.CMDB
options:
  status:
    description:
      - The states to list. V(pending) is what the page lists (blocked by the gateway, waiting for a decision);
        V(blocked) are agents an administrator blocked; V(approved) those approved.
    type: list
    elements: str
    choices: [pending, approved, blocked]
    default: [pending, blocked]
  gateway:
    description:
      - Only agents reported by this gateway (C(Reported by)), compared without case.
    type: str
  name:
    description:
      - Only agents whose name matches this shell-style pattern (C(*), C(?), C([...])), compared without case, as the
        agent reports its name (it may carry a DNS suffix or a C(DOMAIN\\) prefix).
    type: str
  older_than_hours:
    description:
      - Only agents whose C(Creation Date) is more than this many hours ago (UTC).
    type: float
  newer_than_hours:
    description:
      - Only agents whose C(Creation Date) is at most this many hours ago (UTC).
    type: float
  verify_since:
    description:
      - An ISO 8601 time (UTC unless it carries an offset), typically when the agents were approved. Adds
        RV(agents[].reconnected), RV(agents[].on_internet) and RV(agents[].last_success) to each approved agent, and
        RV(verification). V(status) must include V(approved).
      - An agent is matched to its inventory by its GUID; an agent without one cannot be verified and counts as not
        reconnected.
    type: str
  limit:
    description:
      - The most agents to return; RV(counts) always covers every agent that matches. V(0) returns every one.
    type: int
    default: 10000
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
requirements:
  - sqlglot >= 25.0 (transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.agent_access
  - module: itms.cem.agent_access_report
  - module: itms.cem.cmdb_schema_info
"""

EXAMPLES = r"""
- name: The agents waiting for a decision, as the access troubleshooting page lists them
  itms.cem.agent_access_info:
    cmdb_url: mssql://LAB%5Csvc_cem@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_password }}"
    cmdb_profile: "{{ playbook_dir }}/profiles/cmdb.yml"   # maps tables.agent_access
    status: [pending]
  delegate_to: localhost
  register: waiting

- name: Those of one gateway that knocked in the last two hours
  itms.cem.agent_access_info:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    gateway: ig-emea.cem.example.com
    newer_than_hours: 2
    name: "LT-*"
  delegate_to: localhost

- name: Which approved agents are back since the approval
  itms.cem.agent_access_info:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    status: [approved]
    verify_since: "2026-11-02T12:00:00Z"
  delegate_to: localhost
  register: verified
"""

RETURN = r"""
agents:
  description:
    - The agents, ordered by the store's row key, at most O(limit).
  returned: success
  type: list
  elements: dict
  contains:
    Agent Name:
      description: The name the agent presented, as on the page.
      type: str
    Reported by:
      description: The gateway that reported it, as on the page.
      type: str
    Creation Date:
      description: When it was listed, as on the page.
      type: str
    id:
      description: The store's row key (what M(itms.cem.agent_access) writes by).
      type: raw
    agent_name:
      description: Same as C(Agent Name).
      type: str
    agent_guid:
      description: The agent's GUID, lower case, or null when the store has none.
      type: str
    reported_by:
      description: Same as C(Reported by).
      type: str
    created:
      description: Same as C(Creation Date).
      type: str
    status:
      description: C(pending), C(approved) or C(blocked); null for a value the profile does not name.
      type: str
    reconnected:
      description: With O(verify_since), approved agents only - on the Internet with a last success since then.
      type: bool
    on_internet:
      description: With O(verify_since), approved agents only - the Network Zone inventory says on the Internet.
      type: bool
    last_success:
      description: With O(verify_since), approved agents only - the latest C(Last Success) through a gateway, or null.
      type: str
  sample: [{"Agent Name": "LT-004211", "Reported by": "ig-emea.cem.example.com", "Creation Date": "2026-11-02 10:50:46",
            "id": 17, "agent_name": "LT-004211", "agent_guid": "d274541a-e1fd-4686-b345-dd787e3ae904",
            "reported_by": "ig-emea.cem.example.com", "created": "2026-11-02 10:50:46", "status": "pending"}]
counts:
  description: Counts over every agent that matches the filters (not only the first O(limit)).
  returned: success
  type: dict
  contains:
    by_gateway:
      description: "{gateway: {status: count}}"
      type: dict
    by_status:
      description: "{status: count}"
      type: dict
    total:
      description: Agents that match.
      type: int
  sample: {"by_gateway": {"ig-emea.cem.example.com": {"pending": 812}}, "by_status": {"pending": 812}, "total": 812}
truncated:
  description: Whether more agents match than RV(agents) holds (O(limit)).
  returned: success
  type: bool
  sample: false
verification:
  description: With O(verify_since), what was verified.
  returned: when O(verify_since) is set
  type: dict
  sample: {"since": "2026-11-02T12:00:00Z", "approved": 300, "reconnected": 297, "not_reconnected": 3, "without_guid": 0}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _access
from ansible_collections.itms.cem.plugins.module_utils._access_report import agent_row
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import ACCESS_STATUSES, load_cmdb_profile


def run(module, client):
    params = module.params
    if params["limit"] < 0:
        raise InputError("limit is %d; it must be 0 (every agent) or more." % params["limit"])
    if not params["status"]:
        raise InputError("status is empty; name at least one of %s." % ", ".join(ACCESS_STATUSES))
    if params["verify_since"] and "approved" not in params["status"]:
        raise InputError("verify_since checks the approved agents, but status does not include approved.",
                         hint="Add approved to status.")
    since = _access.parse_time(params["verify_since"], "verify_since")  # a bad time fails before the CMDB is read
    profile = load_cmdb_profile(params["cmdb_profile"])
    agents = _access.read_agents(client, profile, statuses=params["status"], gateway=params["gateway"],
                                 name_like=params["name"], older_than_hours=params["older_than_hours"],
                                 newer_than_hours=params["newer_than_hours"])
    counts = _access.counts(agents)
    truncated = bool(params["limit"]) and len(agents) > params["limit"]
    if truncated:
        agents = agents[:params["limit"]]
        module.warn("%d agents match; only the first %d are returned (truncated: true); counts cover all of them. "
                    "Raise limit or narrow the filters." % (counts["total"], params["limit"]))
    rows = [agent_row(a) for a in agents]
    result = dict(agents=rows, counts=counts, truncated=truncated)
    if since is not None:
        approved = [r for r in rows if r["status"] == "approved"]
        found = _access.verify_reconnected(client, profile, [r["agent_guid"] for r in approved if r["agent_guid"]],
                                           params["verify_since"])
        for row in approved:
            state = found.get(row["agent_guid"]) or dict(on_internet=False, last_success=None, reconnected=False)
            row.update(reconnected=state["reconnected"], on_internet=state["on_internet"],
                       last_success=state["last_success"])
        back = sum(1 for r in approved if r["reconnected"])
        without = sum(1 for r in approved if not r["agent_guid"])
        if without:
            module.warn("%d approved agents have no GUID in the access store, so their reconnection cannot be "
                        "checked; they count as not reconnected." % without)
        result["verification"] = dict(since=params["verify_since"], approved=len(approved), reconnected=back,
                                      not_reconnected=len(approved) - back, without_guid=without)
    return False, result, None


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            status=dict(type="list", elements="str", choices=list(ACCESS_STATUSES), default=["pending", "blocked"]),
            gateway=dict(type="str"),
            name=dict(type="str"),
            older_than_hours=dict(type="float"),
            newer_than_hours=dict(type="float"),
            verify_since=dict(type="str"),
            limit=dict(type="int", default=10000),
        ),
        supports_check_mode=True,
    )
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
