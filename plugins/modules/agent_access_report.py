#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: agent_access_report
short_description: Write the report of an agent access run - approved, blocked and held agents, and who is back
version_added: 0.2.0
description:
  - Writes, in HTML and JSON, the decisions of M(itms.cem.agent_access) (its RV(itms.cem.agent_access#module:plan))
    - the approved, blocked and held agents with the rule and reason of each - and, from the agents of
    M(itms.cem.agent_access_info) with O(itms.cem.agent_access_info#module:verify_since), which approved agents have
    reconnected and which have not.
  - The HTML file looks like the reports of M(itms.cem.cem_report) - self-contained (inline CSS and SVG charts, no CDN),
    with figures, charts of the decisions, of the rules and of the agents per gateway, and a filterable, sortable,
    paged table.
  - The report holds no timestamp, so the task reports C(changed) only when a file's content or attributes change.
    Files are replaced atomically; an existing file keeps its mode and owner unless O(mode), O(owner) or O(group) say
    otherwise.
  - The CMDB options name the CMDB the plan was read from in the report's header (without any password), and let
    C(module_defaults) for C(group/itms.cem.cmdb) apply; this module does not connect to the CMDB.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.CMDB
  - ansible.builtin.files
options:
  dest:
    description:
      - Path of the report on the controller, without extension - each format's extension (C(.html), C(.json)) is
        added; a C(.html) or C(.json) ending is replaced. Missing directories are created.
    type: path
    required: true
  formats:
    description:
      - The formats to write.
    type: list
    elements: str
    choices: [html, json]
    default: [html, json]
  title:
    description:
      - The report's title.
    type: str
    default: "Agent access decisions (KB 440752)"
  plan:
    description:
      - The plan of M(itms.cem.agent_access) (its RV(itms.cem.agent_access#module:plan)) - every agent with
        C(decision), C(rule) and C(reason).
    type: list
    elements: dict
    required: true
  verification:
    description:
      - The agents of M(itms.cem.agent_access_info) read with O(itms.cem.agent_access_info#module:verify_since)
        (each with C(id), C(agent_guid) and C(reconnected), a boolean or a dictionary with C(reconnected) and
        C(last_success)). An approved agent of the plan is matched by C(id), else by GUID; one not in the list is
        reported as not verified.
    type: list
    elements: dict
    default: []
  html_max_rows:
    description:
      - Largest number of table rows embedded in the HTML file; the figures and charts always cover every agent, and
        the JSON file holds every row. V(0) embeds every row.
    type: int
    default: 20000
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
  - "JSON layout as M(itms.cem.cem_report)'s: C(report) (C(agent_access)), C(title), C(source), C(summary), C(charts),
    C(columns), C(rows) (lists in column order) and C(notes)."
  - In check mode the task tells whether each file would change, without writing.
requirements:
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.agent_access
  - module: itms.cem.agent_access_info
  - module: itms.cem.cem_report
"""

EXAMPLES = r"""
- name: Approve and block from the evidence
  itms.cem.agent_access:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    decide: from_evidence
    evidence: {reports: [/srv/reports/cem-report.json]}
    journal: /srv/dr/access-journal.jsonl
  delegate_to: localhost
  register: decided

- name: Which approved agents are back
  itms.cem.agent_access_info:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ itms_cmdb_profile }}"
    status: [approved]
    verify_since: "{{ approved_at }}"
  delegate_to: localhost
  register: verified

- name: The report, readable by the owner and the group only
  itms.cem.agent_access_report:
    cmdb_url: "{{ itms_cmdb_url }}"
    dest: /srv/dr/dr-report
    plan: "{{ decided.plan }}"
    verification: "{{ verified.agents }}"
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: One entry per file.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: Path of the file.
      type: str
    format:
      description: Its format.
      type: str
    changed:
      description: Whether its content or its attributes changed (or would, in check mode).
      type: bool
    sha256:
      description: SHA-256 of the new content.
      type: str
    size:
      description: Size in bytes of the new content.
      type: int
  sample: [{"path": "/srv/dr/dr-report.html", "format": "html", "changed": true, "sha256": "9f2c...", "size": 81234}]
summary:
  description: The report's figures.
  returned: success
  type: dict
  sample: {"agents": 2861, "approve": 2841, "block": 3, "hold": 17, "reconnected": 2838, "not_reconnected": 3,
           "not_verified": 0}
notes:
  description: What the report says besides its table (approved agents not back, held agents).
  returned: success
  type: list
  elements: str
  sample: ["3 approved agent(s) have not reconnected: LT-000417, LT-002210, WKS-000031. Filter the table on 'no'."]
diff:
  description: C(before) and C(after) give each file's C(state) (C(absent), C(present), C(created), C(changed)).
  returned: success
  type: dict
  sample: {"before": {"/srv/dr/dr-report.html": {"state": "absent"}},
           "after": {"/srv/dr/dr-report.html": {"state": "created"}}}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _report
from ansible_collections.itms.cem.plugins.module_utils._access_report import document
from ansible_collections.itms.cem.plugins.module_utils._cmdb import parse_cmdb_url
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile
from ansible_collections.itms.cem.plugins.module_utils._report_files import REPORT_FORMATS, outputs, write_all
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module


def run(module, _client):
    params = module.params
    if params["html_max_rows"] < 0:
        raise InputError("html_max_rows must be 0 (no cap) or a positive number of rows.")
    source = dict(cmdb=parse_cmdb_url(params["cmdb_url"]).display(), profile=load_cmdb_profile(params["cmdb_profile"]).name)
    report = document(params["plan"], params["verification"], params["title"], source)
    paths = outputs(params["dest"], params["formats"])
    full_files = [os.path.basename(path) for path, fmt in paths if fmt == "json"]
    files, before, after = write_all(
        module, paths, lambda fmt: _report.render(report, fmt, params["html_max_rows"] or None, True, full_files))
    return (any(f["changed"] for f in files), dict(files=files, summary=report["summary"], notes=report["notes"]),
            dict(before=before, after=after))


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            dest=dict(type="path", required=True),
            formats=dict(type="list", elements="str", choices=list(REPORT_FORMATS), default=list(REPORT_FORMATS)),
            title=dict(type="str", default="Agent access decisions (KB 440752)"),
            plan=dict(type="list", elements="dict", required=True),
            verification=dict(type="list", elements="dict", default=[]),
            html_max_rows=dict(type="int", default=20000),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    # The report is made from its inputs: no CMDB connection (the URL only names the source in the header).
    run_module(module, run, lambda params: None, "cmdb_requests")


if __name__ == "__main__":
    main()
