#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ns_resource_target
short_description: Ensure a Notification Server resource target built from groups, collections or resources
version_added: 0.1.0
description:
  - Makes sure a resource target with the given name exists, built from organizational groups, resource collections
    and individual resources (ASDK C(CreateResourceTarget)), so that policies such as the CEM settings policy can be
    assigned to it with M(itms.cem.cem_policy).
  - The target is found by name. When it does not exist it is created.
  - When it exists, its definition is read from its exported item XML and compared with the task's. The ASDK has no
    method that changes a resource target, so a target that differs fails the task with the differences, unless
    O(recreate=true).
  - The item XML of a resource target is not publicly documented. When the exported XML does not show the filters, the
    module cannot compare them - it then reports RV(definition_verified=false), warns, and changes nothing.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.ns
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.NS
options:
  name:
    description:
      - Name of the resource target.
    type: str
    required: true
  description:
    description:
      - Description stored with a target the module creates.
    type: str
    default: ""
  mode:
    description:
      - The C(mode) of the target's definition.
    type: str
    default: Computers
  base_organizational_group:
    description:
      - Organizational group the target starts from, by name or GUID. The NS default applies when omitted.
    type: str
  parent_folder:
    description:
      - GUID of the folder to create the target in (ITMS 8.5 and later).
    type: str
  filters:
    description:
      - The target's filters, applied in order. Each names exactly one of O(filters[].organizational_group),
        O(filters[].collection) or O(filters[].resources).
    type: list
    elements: dict
    required: true
    suboptions:
      organizational_group:
        description: An organizational group, by name or GUID.
        type: str
      collection:
        description: A resource collection (filter), by name or GUID.
        type: str
      resources:
        description: Individual resources (computers), by name or GUID.
        type: list
        elements: str
      operation:
        description: How the filter combines with what comes before it.
        type: str
        default: union
        choices: [union, intersect, except]
  target_type:
    description:
      - Item type that the target is looked up by, with C(%) wildcards, matched against the item's short and long type
        names. Narrow it if other kinds of items share the target's name.
    type: str
    default: "%Target%"
  recreate:
    description:
      - When the existing target's definition differs, create a new target from the task's definition and then delete
        the old one (C(CreateResourceTarget), then C(DeleteItem)).
      - The new target has a new GUID, so policies that were assigned to the old one must be assigned again, for example
        with M(itms.cem.cem_policy). RV(replaced_guid) returns the old GUID.
    type: bool
    default: false
notes:
  - Each group, collection or resource given by name costs one lookup (C(GetItemsByNameAndType)); a name must match
    exactly one item. GUIDs cost nothing.
  - In check mode every name is resolved and the definitions compared; nothing is created or deleted.
requirements:
  - requests >= 2.28
  - pyspnego >= 0.9.0 (NTLM and Negotiate authentication)
  - cryptography >= 41.0 (the channel-binding hash of NS certificates signed with SHA-384 or SHA-512)
seealso:
  - module: itms.cem.cem_policy
"""

EXAMPLES = r"""
- name: A pilot target of the laptops in the CEM pilot group
  itms.cem.ns_resource_target:
    ns_url: https://ns.example.com
    ns_username: EXAMPLE\svc_cem
    ns_password: "{{ vault_ns_password }}"
    name: CEM Pilot Laptops
    description: Computers that get the CEM settings policy first
    filters:
      - organizational_group: CEM Pilot Group
      - collection: CEM Laptops
        operation: intersect
      - resources: [WKS-0042]
        operation: except
  delegate_to: localhost
  register: pilot

- name: Assign it to the CEM settings policy
  module_defaults:
    group/itms.cem.ns:
      ns_url: https://ns.example.com
      ns_username: EXAMPLE\svc_cem
      ns_password: "{{ vault_ns_password }}"
  itms.cem.cem_policy:
    profile: "{{ playbook_dir }}/files/cem_policy_profile.yml"
    targets:
      - "{{ pilot.guid }}"
  delegate_to: localhost
"""

RETURN = r"""
guid:
  description: GUID of the resource target (null in check mode when it would be created).
  returned: success
  type: str
  sample: 3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11
created:
  description: Whether the target was created (or would be, in check mode).
  returned: success
  type: bool
  sample: false
replaced_guid:
  description: GUID of the target that O(recreate) replaced.
  returned: when the target was recreated
  type: str
  sample: 0b7f0c0e-3d0c-4c55-8e0f-1f7f2b6f7a90
definition_verified:
  description: Whether the existing target's filters could be read and compared.
  returned: success
  type: bool
  sample: true
differences:
  description: How the existing target differs from the task.
  returned: success
  type: list
  elements: str
  sample: []
definition:
  description: The wanted definition with every name resolved to a GUID.
  returned: success
  type: dict
  sample: {"name": "CEM Pilot", "mode": "Computers", "filters": [{"type": "organizational_group", "operation": "union",
           "guids": ["6f1d7c8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"]}]}
resolved:
  description: Each name in the task and the GUID it was resolved to.
  returned: success
  type: dict
  sample: {"CEM Pilot Group": "6f1d7c8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}
config_xml:
  description: The C(CreateResourceTarget) XML the module sends (or would send) to create the target.
  returned: success
  type: str
ns_requests:
  description: ASDK calls and HTTP requests the task made.
  returned: always
  type: dict
  sample: {"asdk_calls": 3, "http_requests": 4, "binding": "post", "post_binding_refused": false, "post_refusal": null,
           "methods": ["GetItemsByNameAndType", "GetItemsByName", "ExportItemXmlString"]}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _ns_targets as targets  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _resource_target as rt  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._ns_args import ns_argument_spec, run_ns_module  # noqa: E402


def run(module, client):
    params = module.params
    wanted, resolved = targets.resolve_definition(client, params["name"], params["description"], params["mode"],
                                                  params["base_organizational_group"], params["parent_folder"],
                                                  params["filters"])
    existing_guid, current = targets.read(client, params["name"], params["target_type"])
    plan = rt.plan(existing_guid, current, wanted, params["recreate"])
    if not plan.verified:
        module.warn("Resource target %r exists (%s), but its exported XML does not show its filters, so they were not "
                    "compared with the task. Check it in the console." % (params["name"], existing_guid))
    result = dict(definition=wanted, resolved=resolved, config_xml=plan.config_xml, differences=plan.differences,
                  guid=targets.apply(client, plan, module.check_mode), created=plan.changed,
                  definition_verified=plan.verified)
    if plan.action == "recreate":
        result["replaced_guid"] = existing_guid
    return plan.changed, result, plan.diff


def main():
    module = AnsibleModule(
        argument_spec=ns_argument_spec(
            name=dict(type="str", required=True),
            description=dict(type="str", default=""),
            mode=dict(type="str", default="Computers"),
            base_organizational_group=dict(type="str"),
            parent_folder=dict(type="str"),
            filters=dict(type="list", elements="dict", required=True, options=dict(
                organizational_group=dict(type="str"),
                collection=dict(type="str"),
                resources=dict(type="list", elements="str"),
                operation=dict(type="str", default="union", choices=["union", "intersect", "except"]),
            )),
            target_type=dict(type="str", default="%Target%"),
            recreate=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_ns_module(module, run)


if __name__ == "__main__":
    main()
