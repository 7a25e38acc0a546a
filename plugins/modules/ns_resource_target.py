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

from ansible_collections.itms.cem.plugins.module_utils import _resource_target as rt  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._asdk import (  # noqa: E402
    item_matches_type, normalize_guid, ns_argument_spec, resolve_item, run_ns_module,
)
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, VendorFault  # noqa: E402


def resolve_definition(client, params):
    resolved = {}

    def guid_of(value, what):
        guid = resolve_item(client, value, "", what)
        if normalize_guid(value) is None:
            resolved[value] = guid
        return guid

    filters = []
    for index, flt in enumerate(params["filters"]):
        given = [k for k in ("organizational_group", "collection", "resources") if flt.get(k)]
        if len(given) != 1:
            raise InputError("filters[%d] must name exactly one of organizational_group, collection or resources%s."
                             % (index, " (it names %s)" % ", ".join(given) if given else ""))
        kind = given[0]
        if kind == "resources":
            guids = [guid_of(value, "resource") for value in flt["resources"]]
        else:
            guids = [guid_of(flt[kind], kind.replace("_", " "))]
        filters.append(dict(type=kind, operation=flt["operation"], guids=guids))
    base = None
    if params["base_organizational_group"]:
        base = guid_of(params["base_organizational_group"], "organizational group")
    parent = None
    if params["parent_folder"]:
        parent = normalize_guid(params["parent_folder"])
        if parent is None:
            raise InputError("parent_folder %r is not a GUID." % params["parent_folder"])
    definition = rt.normalize(params["name"], params["description"], params["mode"], base, filters, parent)
    return definition, resolved


def find_target(client, name, target_type):
    items = [i for i in client.call("GetItemsByName", itemName=name) if item_matches_type(i, target_type)]
    if len(items) > 1:
        raise InputError("%d items named %r match target_type %r: %s." % (len(items), name, target_type,
                                                                          ", ".join(i["guid"] for i in items)),
                         hint="Narrow target_type, or rename one of them in the console.")
    return items[0] if items else None


def _view(definition):
    if definition is None:
        return dict(exists=False)
    return dict(exists=True, mode=definition.get("mode"),
                base_organizational_group_guid=definition.get("base_organizational_group_guid"),
                filters=definition.get("filters"))


def create(client, module, config_xml):
    if module.check_mode:
        return None
    guid = client.call("CreateResourceTarget", configXml=config_xml)
    if not guid:
        raise VendorFault("The NS answered CreateResourceTarget without a GUID.")
    return guid


def run(module, client):
    params = module.params
    definition, resolved = resolve_definition(client, params)
    config_xml = rt.build_config_xml(definition)
    existing = find_target(client, params["name"], params["target_type"])
    result = dict(definition=definition, resolved=resolved, config_xml=config_xml, differences=[])

    if existing is None:
        result.update(guid=create(client, module, config_xml), created=True, definition_verified=True)
        return True, result, dict(before=_view(None), after=_view(definition))

    current = rt.definition_from_xml(client.call("ExportItemXmlString", itemGuid=existing["guid"]))
    result.update(guid=existing["guid"], created=False)
    if current is None:
        module.warn("Resource target %r exists (%s), but its exported XML does not show its filters, so they were not "
                    "compared with the task. Check it in the console." % (params["name"], existing["guid"]))
        result["definition_verified"] = False
        view = dict(exists=True, filters="not readable from the exported XML")
        return False, result, dict(before=view, after=view)

    result["definition_verified"] = True
    differences = rt.differences(current, definition)
    result["differences"] = differences
    diff = dict(before=_view(current), after=_view(definition))
    if not differences:
        return False, result, dict(before=_view(current), after=_view(current))
    if not params["recreate"]:
        raise InputError("Resource target %r (%s) exists with a different definition: %s."
                         % (params["name"], existing["guid"], "; ".join(differences)),
                         hint="The ASDK cannot change a resource target. Set recreate: true to create a new one from "
                              "this definition and delete the old one (its GUID changes), or use another name.",
                         differences=differences, guid=existing["guid"])
    new_guid = create(client, module, config_xml)
    if not module.check_mode:
        client.call("DeleteItem", itemGuid=existing["guid"])
    result.update(guid=new_guid, created=True, replaced_guid=existing["guid"])
    return True, result, diff


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
