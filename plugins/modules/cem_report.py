#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cem_report
short_description: Write a Cloud-enabled Management report from the CMDB to JSON, CSV or HTML
version_added: 0.1.0
description:
  - Runs the queries of a named CEM report against the CMDB and writes the result to one or more files.
  - V(connection_state) answers the question "which computers are on CEM, through which gateway, with which kind of
    certificate?" with the KB 440752 Part 2 query as its table, with charts of the connection type, the authentication type (when the
    schema profile maps it) and the computers per gateway.
  - The KB 440752 Part 2 query INNER JOINs C(Inv_AeX_AC_Network_Zone), so it leaves out managed computers that never
    sent Network Zone inventory. V(connection_state) also counts every managed computer (catalog query
    C(managed_computers)) and puts C(managed_computers) and C(without_network_zone) in its summary, with a note,
    so that its figures reconcile with the M(itms.cem.cmdb) inventory plugin.
  - Every catalog query of M(itms.cem.cmdb_query) (except the internal C(inventory_hosts)) is also a report of its
    own; distributions get a chart.
  - The HTML file is self-contained (inline CSS, inline SVG charts, no CDN or external file) with a filterable,
    sortable, paged table.
  - A report holds no timestamp, so the task reports C(changed) only when a file's content or attributes change.
    Files are replaced atomically, through a temporary file in the destination directory; an existing file keeps
    its mode and owner, and a new file gets the umask's default, unless O(mode), O(owner) or O(group) say otherwise.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.CMDB
  - ansible.builtin.files
options:
  report:
    description:
      - Name of the report.
    type: str
    required: true
    choices:
      - authentication_type_distribution
      - cloud_enabled_by_authentication
      - computers_by_gateway
      - configured_vs_connected
      - connection_state
      - connection_type_distribution
      - managed_clients
      - managed_computers
      - on_internet
      - over_http
  dest:
    description:
      - Path of the file to write on the controller. Missing directories are created.
      - With several O(formats), the extension of O(dest) is replaced by each format's (C(.json), C(.csv), C(.html)).
      - The file options (O(mode), O(owner), O(group), ...) apply to every file written.
    type: path
    required: true
  formats:
    description:
      - Formats to write. By default the one named by the extension of O(dest).
    type: list
    elements: str
    choices: [json, csv, html]
  html_max_rows:
    description:
      - Largest number of table rows embedded in the HTML file, so that a page of a very large site stays usable.
        The figures and charts always cover every row. When the table is capped, a note and the text beside the
        filter say so (the filter searches only the embedded rows) and name the JSON or CSV file of the same task
        that holds every row, or say to add V(json) or V(csv) to O(formats) or to set O(html_max_rows=0).
      - C(0) embeds every row.
    type: int
    default: 20000
  csv_neutralize_formulas:
    description:
      - Write a text cell of the CSV file that a spreadsheet would run as a formula with a leading C(') so that it
        stays text (OWASP CSV Injection); a computer name such as C(=cmd|' /C calc'!A0) comes from the managed
        computer itself.
      - Such a cell starts with C(=), C(+), C(-), C(@), a tab or a carriage return, also after leading spaces, or with
        the full-width forms of the first four. Numbers stay numbers (C(-5) is written as C(-5)).
      - V(false) writes every cell as the CMDB holds it.
    type: bool
    default: true
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
  - "JSON layout: C(report), C(title), C(source) (CMDB URL without password, profile name), C(summary), C(charts)
    (each C(id), C(title), C(total), C(data) of C(label)/C(value), and a C(note) when the chart does not cover every
    computer of the report), C(columns), C(rows) (lists in column order) and C(notes)."
  - CSV layout - one header line, CRLF line ends, NULL as an empty field (never C(NULL) or C(None)).
  - The HTML file embeds the summary as C(<script type="application/json" id="report-summary">).
  - In check mode the queries run and the task tells whether each file would change (content or attributes),
    without writing.
  - With C(--diff), the diff shows the summary of the report as last written (read from the JSON file, else from the
    summary embedded in the HTML file, else recomputed from the CSV rows) against the new one, and the state of each
    file (C(absent), C(present), C(created), C(changed)) with its attribute changes.
requirements:
  - sqlglot >= 25.0 (parses the read-only check and transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.cmdb_query
  - module: itms.cem.cmdb_schema_info
"""

EXAMPLES = r"""
- name: CEM connection state as JSON, CSV and HTML, readable by the owner and the group only
  itms.cem.cem_report:
    cmdb_url: mssql://LAB%5Csvc_cem@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_password }}"
    cmdb_profile: "{{ playbook_dir }}/profiles/cmdb.yml"
    report: connection_state
    dest: /srv/reports/cem-report.json
    formats: [json, csv, html]
    mode: "0640"
    group: cem-reports
  delegate_to: localhost

- name: Would the gateway report change? (writes nothing)
  itms.cem.cem_report:
    cmdb_url: "{{ itms_cmdb_url }}"
    report: computers_by_gateway
    dest: /srv/reports/gateways.html
  check_mode: true
  delegate_to: localhost
  register: gateways
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
      description: Whether its content or its attributes (mode, owner, group, ...) changed (or would, in check mode).
      type: bool
    sha256:
      description: SHA-256 of the new content.
      type: str
    size:
      description: Size in bytes of the new content.
      type: int
  sample: [{"path": "/srv/reports/cem-report.json", "format": "json", "changed": true, "sha256": "9f2c...", "size": 81234}]
summary:
  description:
    - The report's figures.
    - For V(connection_state), C(rows), C(computers), C(cem_active), C(lan_active), C(gateways) (distinct computers
      and gateways), C(managed_computers) (every managed computer, as the inventory plugin lists them) and
      C(without_network_zone) (managed computers the KB 440752 query leaves out for want of Network Zone inventory).
  returned: success
  type: dict
  sample: {"rows": 1093, "computers": 942, "cem_active": 305, "lan_active": 637, "gateways": 3,
           "managed_computers": 961, "without_network_zone": 19}
charts:
  description: The chart data, as in the JSON file.
  returned: success
  type: list
  elements: dict
  sample: [{"id": "authentication_type", "title": "Authentication type", "total": 559,
            "data": [{"label": "Ephemeral", "value": 196}],
            "note": "Covers 559 of the 942 computers in the report; 383 have no authentication record."}]
notes:
  description: What the report could not show or leaves out, and why.
  returned: success
  type: list
  elements: str
  sample: ["The report lists 942 of the 961 managed computers: 19 have no Network Zone inventory, ..."]
cmdb_requests:
  description: What the CMDB client did.
  returned: always
  type: dict
  sample: {"backend": "mssql", "queries": 4, "elapsed_ms": 312}
diff:
  description:
    - C(before) is None when no file of the report existed; else C(summary), the summary of the report as last
      written (None when no file can be read), and C(files), each file's C(state) (C(present) or C(absent)) and
      attributes.
    - C(after) holds the new C(summary) and C(files), each file's C(state) (C(present) when unchanged,
      C(created) or C(changed)) and attributes.
  returned: success
  type: dict
  sample: {"before": {"summary": {"computers": 942}, "files": {"/srv/reports/cem-report.json": {"state": "present"}}},
           "after": {"summary": {"computers": 943}, "files": {"/srv/reports/cem-report.json": {"state": "changed"}}}}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _report
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile
from ansible_collections.itms.cem.plugins.module_utils._report_files import write_all


def plan_outputs(dest, formats):
    """Pure: the (path, format) pairs to write."""
    stem, extension = os.path.splitext(dest)
    if not formats:
        fmt = extension.lstrip(".").lower()
        if fmt not in _report.FORMATS:
            raise InputError("Cannot tell the report format from %r." % dest,
                             hint="End dest with .json, .csv or .html, or set formats.")
        return [(dest, fmt)]
    seen = []
    for fmt in formats:
        if fmt not in seen:
            seen.append(fmt)
    if len(seen) == 1:
        return [(dest, seen[0])]
    return [("%s.%s" % (stem, fmt), fmt) for fmt in seen]


def run(module, client):
    params = module.params
    outputs = plan_outputs(params["dest"], params["formats"])
    profile = load_cmdb_profile(params["cmdb_profile"])
    document = _report.build(params["report"], client, profile)
    max_rows = params["html_max_rows"] or None
    # A capped HTML page names the files of this task that hold every row.
    full_files = [os.path.basename(path) for path, fmt in outputs if fmt in ("json", "csv")]
    before_summary = _report.previous_summary(params["report"], document["columns"], outputs)
    files, before_files, after_files = write_all(
        module, outputs, lambda fmt: _report.render(document, fmt, max_rows, params["csv_neutralize_formulas"], full_files))
    changed = any(f["changed"] for f in files)
    # The diff shows the figures that change (the report as last written against the new one) and which files
    # are absent, created or changed; an unchanged file reads the same on both sides.
    existed_before = any(f["state"] == "present" for f in before_files.values())
    before = dict(summary=before_summary, files=before_files) if existed_before else None
    diff = dict(before=before, after=dict(summary=document["summary"], files=after_files))
    return changed, dict(files=files, summary=document["summary"], charts=document["charts"],
                         notes=document["notes"]), diff


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            report=dict(type="str", required=True, choices=_report.REPORT_NAMES),
            dest=dict(type="path", required=True),
            formats=dict(type="list", elements="str", choices=list(_report.FORMATS)),
            html_max_rows=dict(type="int", default=20000),
            csv_neutralize_formulas=dict(type="bool", default=True),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    if module.params["html_max_rows"] < 0:
        module.fail_json(msg="html_max_rows must be 0 (no cap) or a positive number of rows.")
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
