#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: edr_enrollment_report
short_description: Write the "Authentication Pending" diagnosis as an HTML and a JSON report
version_added: 0.2.0
description:
  - Writes the result of M(itms.cem.edr_enrollment_check) as a self-contained HTML page that looks like the reports
    of M(itms.cem.cem_report) (figures, a chart of the verdicts, a chart of the failing causes per SEPM group, a
    filterable table with one row per cause and its KB 236805 resolution steps) and as JSON (the verdicts, the
    per-group view, the console settings used and the evidence).
  - The report holds no timestamp, so the task reports C(changed) only when a file's content or attributes change.
    Files are replaced atomically.
  - Does not connect to SEPM or EDR.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - ansible.builtin.files
options:
  check:
    description: The registered result of M(itms.cem.edr_enrollment_check).
    type: dict
    required: true
  dest:
    description:
      - Path of the report on the controller, without extension - each format's extension (C(.html), C(.json)) is
        added; a C(.html) or C(.json) ending is replaced. Missing directories are created.
    type: path
    required: true
  formats:
    description: The formats to write.
    type: list
    elements: str
    choices: [html, json]
    default: [html, json]
  title:
    description: The report's title.
    type: str
    default: SEP clients in "Authentication Pending" (KB 236805)
seealso:
  - module: itms.cem.edr_enrollment_check
"""

EXAMPLES = r"""
- name: Diagnose
  itms.cem.edr_enrollment_check:
    console:
      sepm_controller_name: sepm.example.com
  delegate_to: localhost
  register: enrollment

- name: Write the report
  itms.cem.edr_enrollment_report:
    check: "{{ enrollment }}"
    dest: /srv/reports/edr-enrollment
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
files:
  description: Each file written (or that would be, in check mode) and whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/srv/reports/edr-enrollment.html", "format": "html", "changed": true, "sha256": "9c1...", "size": 24580}]
summary:
  description: The verdict counts and the first failing cause (C(none) when no cause failed).
  returned: always
  type: dict
  sample: {"fail": 1, "needs_input": 2, "not_checkable": 1, "pass": 11, "causes": 15, "first_fail": "edr_certificate_name"}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _report  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._edr_report import document  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._report_files import REPORT_FORMATS, outputs, write_all  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module  # noqa: E402


def run(module, _client):
    params = module.params
    report = document(params["check"], params["title"])
    paths = outputs(params["dest"], params["formats"])
    files, before, after = write_all(module, paths, lambda fmt: _report.render(report, fmt))
    return any(f["changed"] for f in files), dict(files=files, summary=report["summary"]), dict(before=before, after=after)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            check=dict(type="dict", required=True),
            dest=dict(type="path", required=True),
            formats=dict(type="list", elements="str", choices=list(REPORT_FORMATS), default=list(REPORT_FORMATS)),
            title=dict(type="str", default='SEP clients in "Authentication Pending" (KB 236805)'),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    # The report is made from its input: no connection.
    run_module(module, run, lambda params: None, "requests")


if __name__ == "__main__":
    main()
