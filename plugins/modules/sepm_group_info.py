#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sepm_group_info
short_description: Read SEPM groups with their inheritance, default location and private-cloud (EDR) settings
version_added: 0.2.0
description:
  - Walks the SEPM client groups (one paged request per 100 groups) and, unless O(settings=false), reads for each group
    its external-communication settings and, for a group that does not inherit, those of its default location and the
    location's name (three requests per such group, one per inheriting group; SEPM has no bulk endpoint for them).
  - An inheriting group reports its non-inheriting parent's default location (as SEPM does) and no location settings
    of its own; its external-communication settings are what SEPM answers for the group.
  - Returns, per group, whether it inherits its policies, its default location, the private-cloud settings SEPM pushes
    to its clients (the EDR addresses, ports and certificates), the proxy, and whether the default location's external
    communication differs from the group's (set locally; KB 236805 cause 12).
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.sepm
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.SEPM
options:
  full_paths:
    description:
      - Only the groups whose full path matches one of these shell patterns (case-insensitive), for example
        C(My Company\Workstations*). Default every group.
    type: list
    elements: str
  settings:
    description: Read the external-communication settings of each group and of its default location.
    type: bool
    default: true
  raw:
    description: Also return the settings exactly as SEPM answered them (RV(groups[].raw)).
    type: bool
    default: false
requirements:
  - requests >= 2.28
  - cryptography >= 41.0 (fingerprints of the certificates SEPM pushes)
seealso:
  - module: itms.cem.sepm_computer_info
  - module: itms.cem.edr_enrollment_check
"""

EXAMPLES = r"""
- name: Which EDR does each group push to its clients?
  itms.cem.sepm_group_info:
    sepm_url: https://sepm.example.com:8446
    sepm_username: admin
    sepm_password: "{{ vault_sepm_password }}"
    sepm_ca_path: /etc/pki/sepm.pem
  delegate_to: localhost
  register: sepm

- name: Groups whose default location sets external communication locally
  ansible.builtin.debug:
    msg: "{{ sepm.groups | selectattr('location_settings_local') | map(attribute='full_path') }}"

- name: One branch, without the settings
  itms.cem.sepm_group_info:
    full_paths: ['My Company\Workstations*']
    settings: false
  delegate_to: localhost
"""

RETURN = r"""
groups:
  description: The groups, sorted by full path.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The group ID.
      type: str
    full_path:
      description: The full path, C(My Company\Workstations).
      type: str
    inherits:
      description: Whether the group inherits its policies from its parent.
      type: bool
    computers:
      description: The number of computers in the group (SEPM's C(numberOfPhysicalComputers)).
      type: int
    policy_serial:
      description: The group's policy serial number.
      type: str
    default_location:
      description: The default location's id and name (an inheriting group reports its non-inheriting parent's).
      type: dict
    private_cloud:
      description:
        - The group-level private-cloud settings, C({enabled, server_type, servers}); each server has C(address),
          C(port), C(enabled) and the SHA-256 of each certificate SEPM pushes. Null when not read.
      type: dict
    location_private_cloud:
      description: The default location's private-cloud settings (what a client at that location gets).
      type: dict
    proxy:
      description: The group-level proxy, C({mode, host, port}).
      type: dict
    location_proxy:
      description: The default location's proxy.
      type: dict
    location_settings_local:
      description:
        - Whether the default location's external communication differs from the group's, which means it is set
          locally instead of inherited from the group (inferred from the difference; null when not read).
      type: bool
    uses_edr:
      description: Whether the group's clients get an enabled EDR (ATP) private-cloud server.
      type: bool
    raw:
      description: The group, its settings and its default location's settings as SEPM answered (with O(raw)).
      type: dict
      returned: when O(raw=true)
sepm_requests:
  description: Requests made to SEPM.
  returned: always
  type: dict
  sample: {"http_requests": 12, "logins": 1, "reauthentications": 0}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_diag as diag  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _edr_evidence as shape  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._sepm_args import run_sepm_module, sepm_argument_spec  # noqa: E402


def run(module, client):
    params = module.params
    warnings = []
    groups = []
    for raw, entry in diag.read_groups(client, full_paths=params["full_paths"], settings=params["settings"],
                                       warnings=warnings, keep_raw=params["raw"]):
        groups.append(shape.group_view(entry, raw if params["raw"] else None))
    for warning in warnings:
        module.warn(warning)
    return False, dict(groups=sorted(groups, key=lambda g: (g["full_path"] or "").lower())), None


def main():
    module = AnsibleModule(
        argument_spec=sepm_argument_spec(
            full_paths=dict(type="list", elements="str"),
            settings=dict(type="bool", default=True),
            raw=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_sepm_module(module, run)


if __name__ == "__main__":
    main()
