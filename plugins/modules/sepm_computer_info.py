#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sepm_computer_info
short_description: Read SEPM computers with their policy serial, online state and EDR fields
version_added: 0.2.0
description:
  - Walks SEPM's computers (C(GET /api/v1/computers), 100 per page, until SEPM says the last page was reached) and
    returns, per computer, its group, online state, profile serial number and version, and the EDR fields SEPM keeps
    (C(atpServer), C(atpDeviceId), C(edrStatus)).
  - With O(groups) and without O(name), only the computers of the matching groups are read
    (C(GET /api/v1/groups/{id}/computers)), not the whole fleet.
  - With O(compare_policy_serial), the groups are read too (one paged request, without their settings) and each
    computer says whether its profile serial equals its group's policy serial. That the two are equal once a client
    has its group's policy is inferred, not documented by Broadcom.
  - Broadcom does not document the values of C(edrStatus) or C(atpServer); they are returned as SEPM gives them.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.sepm
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.SEPM
options:
  name:
    description: Only computers whose name matches, with C(*) as a wildcard (SEPM filters).
    type: str
  groups:
    description: Only computers in groups whose full path matches one of these shell patterns (case-insensitive).
    type: list
    elements: str
  online:
    description: Only online (V(true)) or offline (V(false)) computers. Default both.
    type: bool
  limit:
    description: Stop after this many computers (after filtering). V(0) returns all.
    type: int
    default: 0
  compare_policy_serial:
    description: Read the groups' policy serial numbers and say, per computer, whether its profile serial matches.
    type: bool
    default: true
  raw:
    description: Also return each computer as SEPM answered it (all of its about 150 fields).
    type: bool
    default: false
requirements:
  - requests >= 2.28
seealso:
  - module: itms.cem.sepm_group_info
  - module: itms.cem.edr_enrollment_check
"""

EXAMPLES = r"""
- name: Online computers whose policy has not arrived
  itms.cem.sepm_computer_info:
    sepm_url: https://sepm.example.com:8446
    sepm_username: admin
    sepm_password: "{{ vault_sepm_password }}"
    sepm_fingerprint: "{{ sepm_sha256_fingerprint }}"
    online: true
  delegate_to: localhost
  register: sepm

- name: Show them
  ansible.builtin.debug:
    msg: "{{ sepm.computers | rejectattr('policy_current') | map(attribute='name') }}"

- name: One computer, every field
  itms.cem.sepm_computer_info:
    name: "WS-0042*"
    raw: true
  delegate_to: localhost
"""

RETURN = r"""
computers:
  description: The computers, in SEPM's order (by name).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The computer name.
      type: str
    id:
      description: SEPM's unique id of the computer.
      type: str
    hardware_key:
      description: SEPM's hardware key.
      type: str
    group_path:
      description: The full path of its group.
      type: str
    online:
      description: Whether SEPM reports it online (C(onlineStatus) 1).
      type: bool
    profile_serial:
      description: The profile serial number of the policy the client has.
      type: str
    profile_version:
      description: Its profile version.
      type: str
    group_policy_serial:
      description: The policy serial number of its group (with O(compare_policy_serial)).
      type: str
    policy_current:
      description: Whether RV(computers[].profile_serial) equals the group's (null when either is unknown or not compared).
      type: bool
    atp_server:
      description: SEPM's C(atpServer) field, as given.
      type: str
    atp_device_id:
      description: SEPM's C(atpDeviceId) field, as given.
      type: str
    edr_status:
      description: SEPM's C(edrStatus) field, as given (its values are not documented).
      type: int
    last_update:
      description: When the client last checked in (UTC, ISO 8601).
      type: str
    ip:
      description: Its first IP address.
      type: str
    agent_version:
      description: The SEP client version.
      type: str
    raw:
      description: The computer as SEPM answered (with O(raw)).
      type: dict
      returned: when O(raw=true)
total:
  description: How many computers were returned.
  returned: always
  type: int
  sample: 42
sepm_requests:
  description: Requests made to SEPM.
  returned: always
  type: dict
  sample: {"http_requests": 3, "logins": 1, "reauthentications": 0, "pages": 2}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_diag as diag  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._sepm_args import run_sepm_module, sepm_argument_spec  # noqa: E402


def run(module, client):
    params = module.params
    if params["limit"] < 0:
        raise InputError("limit must be 0 (all) or more, not %s." % params["limit"])
    groups = None
    if params["compare_policy_serial"] or params["groups"]:
        groups = [entry for _raw, entry in diag.read_groups(client, settings=False)]
    serials = dict(((g["full_path"] or "").lower(), g["policy_serial"]) for g in groups or [])
    computers = []
    for raw, entry in diag.read_computers(client, name=params["name"], group_paths=params["groups"],
                                          online=params["online"], max_items=params["limit"] or None, groups=groups):
        if params["compare_policy_serial"]:
            group_serial = serials.get((entry["group_path"] or "").lower())
            entry.update(group_policy_serial=group_serial,
                         policy_current=None if not (group_serial and entry["profile_serial"])
                         else entry["profile_serial"] == group_serial)
        if params["raw"]:
            entry["raw"] = raw
        computers.append(entry)
    return False, dict(computers=computers, total=len(computers)), None


def main():
    module = AnsibleModule(
        argument_spec=sepm_argument_spec(
            name=dict(type="str"),
            groups=dict(type="list", elements="str"),
            online=dict(type="bool"),
            limit=dict(type="int", default=0),
            compare_policy_serial=dict(type="bool", default=True),
            raw=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_sepm_module(module, run)


if __name__ == "__main__":
    main()
