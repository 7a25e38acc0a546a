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
  - Every catalog query of M(itms.cem.cmdb_query) (except the internal C(inventory_hosts)) is also a report of its
    own; distributions get a chart.
  - The HTML file is self-contained (inline CSS, inline SVG charts, no CDN or external file) with a filterable,
    sortable, paged table.
  - A report holds no timestamp, so the task reports C(changed) only when a file's content changes. Files are
    replaced atomically.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.CMDB
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
      - on_internet
      - over_http
  dest:
    description:
      - Path of the file to write on the controller. Missing directories are created.
      - With several O(formats), the extension of O(dest) is replaced by each format's (C(.json), C(.csv), C(.html)).
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
        The figures and charts always cover every row, and a note says when the table is capped.
      - C(0) embeds every row.
    type: int
    default: 20000
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
  - "JSON layout: C(report), C(title), C(source) (CMDB URL without password, profile name), C(summary), C(charts)
    (each C(id), C(title), C(total), C(data) of C(label)/C(value)), C(columns), C(rows) (lists in column order) and
    C(notes)."
  - In check mode the queries run and the task tells whether each file would change, without writing.
requirements:
  - sqlglot >= 25.0 (parses the read-only check and transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.cmdb_query
  - module: itms.cem.cmdb_schema_info
"""

EXAMPLES = r"""
- name: CEM connection state as JSON, CSV and HTML
  itms.cem.cem_report:
    cmdb_url: mssql://LAB%5Csvc_cem@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_password }}"
    cmdb_profile: "{{ playbook_dir }}/profiles/cmdb.yml"
    report: connection_state
    dest: /srv/reports/cem-report.json
    formats: [json, csv, html]
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
      description: Whether its content changed (or would, in check mode).
      type: bool
    sha256:
      description: SHA-256 of the new content.
      type: str
    size:
      description: Size in bytes of the new content.
      type: int
  sample: [{"path": "/srv/reports/cem-report.json", "format": "json", "changed": true, "sha256": "9f2c...", "size": 81234}]
summary:
  description: The report's figures. For V(connection_state), C(computers), C(cem_active), C(lan_active),
    C(gateways) (distinct computers and gateways) and C(rows).
  returned: success
  type: dict
  sample: {"rows": 1093, "computers": 950, "cem_active": 305, "lan_active": 645, "gateways": 3}
charts:
  description: The chart data, as in the JSON file.
  returned: success
  type: list
  elements: dict
  sample: [{"id": "connection_type", "title": "Connection type", "total": 950, "data": [{"label": "Intranet HTTPS", "value": 437}]}]
notes:
  description: What the report could not show, and why.
  returned: success
  type: list
  elements: str
  sample: ["Authentication type: not shown, because the schema profile does not map tables.authentication ..."]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _report
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile


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
    files, before, after = [], {}, {}
    for path, fmt in outputs:
        content = _report.render(document, fmt, max_rows)
        changed, old, new = _report.write_if_changed(path, content, module.check_mode)
        files.append(dict(path=path, format=fmt, changed=changed, sha256=new, size=len(content)))
        before[path] = old
        after[path] = new
    changed = any(f["changed"] for f in files)
    return changed, dict(files=files, summary=document["summary"], charts=document["charts"],
                         notes=document["notes"]), dict(before=before, after=after)


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            report=dict(type="str", required=True, choices=_report.REPORT_NAMES),
            dest=dict(type="path", required=True),
            formats=dict(type="list", elements="str", choices=list(_report.FORMATS)),
            html_max_rows=dict(type="int", default=20000),
        ),
        supports_check_mode=True,
    )
    if module.params["html_max_rows"] < 0:
        module.fail_json(msg="html_max_rows must be 0 (no cap) or a positive number of rows.")
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
