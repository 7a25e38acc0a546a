#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: edr_appliance_info
short_description: Read the Symantec EDR appliances, their versions and recent System Health events
version_added: 0.2.0
description:
  - Obtains an OAuth token with the client credentials, reads C(/atpapi/v2/appliances) and, with
    O(health_window_hours), the System Health events (C(/atpapi/v2/systemactivities), type 1000) of that many hours.
  - Also a connectivity test of the EDR API with the given credentials.
  - The C(appliances) answer of API v2 is not publicly documented; the module reads the v1 shape
    (C(appliance_list) of C(appliance_id), C(appliance_name), C(software_version), C(role)) and a bare list.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.edr
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.EDR
options:
  health_window_hours:
    description: Hours of System Health events to return. V(0) reads none.
    type: int
    default: 0
  health_errors_only:
    description: Return only the events whose C(status_detail) is a certificate, connection or authentication error.
    type: bool
    default: true
requirements:
  - requests >= 2.28
seealso:
  - module: itms.cem.edr_enrollment_check
"""

EXAMPLES = r"""
- name: EDR version and the day's health errors
  itms.cem.edr_appliance_info:
    edr_url: https://edr.example.com
    edr_client_id: "{{ vault_edr_client_id }}"
    edr_client_secret: "{{ vault_edr_client_secret }}"
    edr_ca_path: /etc/pki/edr-ca.pem
    health_window_hours: 24
  delegate_to: localhost
  register: edr

- name: Show the version
  ansible.builtin.debug:
    msg: "EDR {{ edr.version }}, {{ edr.health_events | length }} health errors"
"""

RETURN = r"""
appliances:
  description: The appliances, C({id, name, version, role}).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "5b1a", "name": "edr01", "version": "4.9.0-123", "role": "all-in-one"}]
version:
  description: The lowest software version among the appliances (null when none reports one).
  returned: always
  type: str
  sample: 4.9.0-123
health_events:
  description: System Health events, C({time, status_detail, message, remediation, sepm}).
  returned: always
  type: list
  elements: dict
edr_requests:
  description: Requests made to EDR.
  returned: always
  type: dict
  sample: {"http_requests": 3, "tokens": 1, "reauthentications": 0}
"""

import datetime  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_diag as diag  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _edr_evidence as shape  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._edr_args import edr_argument_spec, run_edr_module  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError  # noqa: E402


def run(module, client):
    params = module.params
    if params["health_window_hours"] < 0:
        raise InputError("health_window_hours must be 0 or more, not %s." % params["health_window_hours"])
    appliances = diag.appliances(client)
    events = []
    if params["health_window_hours"]:
        events = diag.health_events(client, datetime.datetime.now(datetime.timezone.utc), params["health_window_hours"],
                                    errors_only=params["health_errors_only"])
    return False, dict(appliances=appliances, version=shape.lowest_version(appliances), health_events=events), None


def main():
    module = AnsibleModule(
        argument_spec=edr_argument_spec(
            health_window_hours=dict(type="int", default=0),
            health_errors_only=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    run_edr_module(module, run)


if __name__ == "__main__":
    main()
