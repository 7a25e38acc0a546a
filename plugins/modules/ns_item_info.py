#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ns_item_info
short_description: Find Notification Server items by GUID, name or type, optionally with their XML
version_added: 0.1.0
description:
  - Looks items up through the ASDK ItemManagementService - by GUID (C(GetItemByGuid)), by exact name
    (C(GetItemsByName)), by exact type (C(GetItemsByType)), or by name and/or type with C(%) wildcards
    (C(GetItemsByNameAndType), then C(GetItemByGuid) for each match).
  - With O(export_xml=true), adds each item's XML (C(ExportItemXmlString)). This is how to see the real XML of the
    CEM settings policy on your NS and write the policy profile that M(itms.cem.cem_policy) needs.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.ns
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.NS
options:
  guid:
    description:
      - GUIDs of the items. Items that do not exist are listed in RV(missing) rather than failing the task.
      - Mutually exclusive with O(name) and O(type).
    type: list
    elements: str
    aliases: [guids]
  name:
    description:
      - Item name. Without C(%) it must match exactly; with C(%) wildcards it is matched like SQL C(LIKE).
    type: str
  type:
    description:
      - Item type. Without C(%) it must be the exact type name; with C(%) wildcards (for example C(%Collection)) it is
        matched like SQL C(LIKE). Can be combined with O(name).
    type: str
  export_xml:
    description:
      - Add each item's exported XML as RV(ns_items[].xml).
    type: bool
    default: false
notes:
  - Without wildcards a name or a type is one ASDK call. A wildcard query costs one call for the GUIDs and one per
    item for its details.
requirements:
  - requests >= 2.28
  - pyspnego >= 0.9.0 (NTLM and Negotiate authentication)
  - cryptography >= 41.0 (the channel-binding hash of NS certificates signed with SHA-384 or SHA-512)
seealso:
  - module: itms.cem.cem_policy
  - module: itms.cem.ns_info
"""

EXAMPLES = r"""
- name: Export the CEM settings policy's XML to write a policy profile
  itms.cem.ns_item_info:
    ns_url: https://ns.example.com
    ns_username: EXAMPLE\svc_cem
    ns_password: "{{ vault_ns_password }}"
    name: "%Cloud-enabled Management Settings%"
    export_xml: true
  delegate_to: localhost
  register: cem_items

- name: Save the XML for reading
  ansible.builtin.copy:
    content: "{{ cem_items.ns_items[0].xml }}"
    dest: "{{ playbook_dir }}/files/cem-policy-export.xml"
    mode: "0600"
  delegate_to: localhost

- name: All collections, connection from module_defaults
  module_defaults:
    group/itms.cem.ns:
      ns_url: https://ns.example.com
      ns_username: EXAMPLE\svc_cem
      ns_password: "{{ vault_ns_password }}"
  itms.cem.ns_item_info:
    type: "%Collection"
  delegate_to: localhost
"""

RETURN = r"""
ns_items:
  description: The items found, with the ASDK ItemDetails fields; fields the NS left out are null.
  returned: always
  type: list
  elements: dict
  contains:
    guid:
      description: GUID of the item.
      type: str
    name:
      description: Name of the item.
      type: str
    type_name:
      description: Short type name.
      type: str
    long_type_name:
      description: Fully qualified type name.
      type: str
    type_guid:
      description: GUID of the item's class.
      type: str
    enabled:
      description: Whether the item (a policy) is enabled.
      type: bool
    parent_folder_guid:
      description: GUID of the folder that holds the item.
      type: str
    parent_folder_name:
      description: Name of that folder.
      type: str
    applied_to_resource_targets:
      description: The item's AppliedToResourceTargets field as the NS returns it.
      type: raw
    attributes:
      description: The item's Attributes field.
      type: str
    is_schedulable_item:
      description: Whether the item can be scheduled.
      type: bool
    schedule_enabled:
      description: Whether its schedule is enabled.
      type: bool
    schedule_xml:
      description: Its schedule XML.
      type: str
    shared_schedule_guid:
      description: GUID of its shared schedule.
      type: str
    xml:
      description: The item's exported XML.
      type: str
      returned: when O(export_xml=true)
  sample: [{"guid": "5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10", "name": "Default Cloud-Enabled Management Settings Policy",
            "type_name": "CEMSettingsPolicy", "enabled": false}]
count:
  description: Number of items found.
  returned: always
  type: int
  sample: 1
missing:
  description: GUIDs from O(guid) that the NS does not have.
  returned: always
  type: list
  elements: str
  sample: []
ns_requests:
  description: ASDK calls and HTTP requests the task made, and the binding in use.
  returned: always
  type: dict
  sample: {"asdk_calls": 2, "http_requests": 3, "binding": "post", "post_binding_refused": false, "post_refusal": null,
           "methods": ["GetItemsByName", "ExportItemXmlString"]}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils._ns_args import ns_argument_spec, run_ns_module  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._ns_items import export_xml, find_items  # noqa: E402


def run(module, client):
    params = module.params
    items, missing = find_items(client, params["guid"], params["name"], params["type"])
    if params["export_xml"]:
        for item in items:
            item["xml"] = export_xml(client, item["guid"])
    return False, dict(ns_items=items, count=len(items), missing=missing), None


def main():
    module = AnsibleModule(
        argument_spec=ns_argument_spec(
            guid=dict(type="list", elements="str", aliases=["guids"]),
            name=dict(type="str"),
            type=dict(type="str"),
            export_xml=dict(type="bool", default=False),
        ),
        required_one_of=[("guid", "name", "type")],
        mutually_exclusive=[("guid", "name"), ("guid", "type")],
        supports_check_mode=True,
    )
    run_ns_module(module, run)


if __name__ == "__main__":
    main()
