# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Resource targets on the Notification Server: resolve a definition's names, read a target back, apply a plan.

The domain layer between the ASDK client and ``itms.cem.ns_resource_target``; the configXml and the
plan are the pure ``_resource_target``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils import _resource_target as rt
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, VendorFault
from ansible_collections.itms.cem.plugins.module_utils._ns_items import (
    export_xml, find_one_named, guid_or_fail, resolve_all,
)

FILTER_KINDS = ("organizational_group", "collection", "resources")


def resolve_definition(client, name, description, mode, base_group, parent_folder, filters):
    """(normalized definition, {name given: GUID}): every group, collection and resource resolved to its GUID."""
    resolved = {}

    def guids_of(values, what):
        guids, names = resolve_all(client, values, "", what)
        resolved.update(names)
        return guids

    normalized = []
    for index, flt in enumerate(filters):
        given = [k for k in FILTER_KINDS if flt.get(k)]
        if len(given) != 1:
            raise InputError("filters[%d] must name exactly one of organizational_group, collection or resources%s."
                             % (index, " (it names %s)" % ", ".join(given) if given else ""))
        kind = given[0]
        values = flt[kind] if kind == "resources" else [flt[kind]]
        normalized.append(dict(type=kind, operation=flt["operation"],
                               guids=guids_of(values, "resource" if kind == "resources" else kind.replace("_", " "))))
    base = guids_of([base_group], "organizational group")[0] if base_group else None
    parent = guid_or_fail(parent_folder, "parent_folder") if parent_folder else None
    return rt.normalize(name, description, mode, base, normalized, parent), resolved


def read(client, name, target_type):
    """(GUID of the target with this name or None, its definition read back or None when unreadable)."""
    item = find_one_named(client, name, target_type, "resource target")
    if item is None:
        return None, None
    return item["guid"], rt.definition_from_xml(export_xml(client, item["guid"]))


def apply(client, plan, check_mode):
    """Carry out ``plan``; the GUID of the target afterwards (None for one that check mode would create)."""
    if plan.action is None:
        return plan.existing_guid
    if check_mode:
        return None
    guid = client.call("CreateResourceTarget", configXml=plan.config_xml)
    if not guid:
        raise VendorFault("The NS answered CreateResourceTarget without a GUID.")
    if plan.action == "recreate":
        client.call("DeleteItem", itemGuid=plan.existing_guid)
    return guid
