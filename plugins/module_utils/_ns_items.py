# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Notification Server items in the product's language: find by GUID, name or type, resolve a name, check the NS.

The domain layer over the ASDK client (``_asdk``): modules call these functions and never name an ASDK
method. Each function makes the fewest calls its question allows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.itms.cem.plugins.module_utils._asdk import PostBindingRefused
from ansible_collections.itms.cem.plugins.module_utils._asdk_wire import ZERO_GUID, normalize_guid
from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, NotFound, TransportError, VendorFault,
)


def guid_or_fail(value, what):
    """``value`` as a normalized GUID; InputError when it is not one."""
    guid = normalize_guid(value)
    if guid is None:
        raise InputError("%s %r is not a GUID." % (what, value))
    return guid


def get_item(client, guid):
    """The details of one item (NotFound when the NS has none with that GUID)."""
    return client.call("GetItemByGuid", itemGuid=guid)


def items_named(client, name):
    """The details of every item with exactly this name (any type), in one call."""
    return client.call("GetItemsByName", itemName=name)


def export_xml(client, guid):
    """The item's XML as the NS exports it."""
    return client.call("ExportItemXmlString", itemGuid=guid)


def item_matches_type(item, pattern):
    """Whether an item's TypeName or LongTypeName matches a type with ``%`` wildcards, case-insensitively."""
    if not pattern:
        return True
    regex = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.I | re.S)
    return any(regex.match(item.get(k) or "") for k in ("type_name", "long_type_name"))


def find_items(client, guids=None, name=None, type_name=None):
    """(items, GUIDs that do not exist) for GUIDs, or a name and/or type (``%`` wildcards), with the fewest calls."""
    missing = []
    if guids:
        items = []
        for guid in [guid_or_fail(value, "guid") for value in guids]:
            try:
                items.append(get_item(client, guid))
            except NotFound:
                missing.append(guid)
        return items, missing
    wild = (name and "%" in name) or (type_name and "%" in type_name)
    if name and not type_name and not wild:
        return items_named(client, name), missing
    if type_name and not name and not wild:
        return client.call("GetItemsByType", typeName=type_name), missing
    items = []
    for guid in client.call("GetItemsByNameAndType", name=name or "", type=type_name or ""):
        try:
            items.append(get_item(client, guid))
        except NotFound:  # deleted between the two calls
            continue
    return items, missing


def resolve_item(client, value, type_name="", what="item"):
    """The GUID of an item given by GUID or by name (``%`` wildcards), with GetItemsByNameAndType.

    A name that matches no item raises NotFound; one that matches several raises InputError listing
    them, because acting on a guess is worse than asking for the GUID.
    """
    guid = normalize_guid(value)
    if guid:
        return guid
    if not value or not str(value).strip():
        raise InputError("An empty name was given for a %s." % what)
    guids = client.call("GetItemsByNameAndType", name=value, type=type_name or "")
    typed = " of type %r" % type_name if type_name else ""
    if not guids:
        raise NotFound("The NS has no %s named %r%s." % (what, value, typed),
                       hint="Check the name (% wildcards allowed) with itms.cem.ns_item_info, or give the GUID.")
    if len(guids) > 1:
        raise InputError("%d items%s match the %s name %r: %s." % (len(guids), typed, what, value, ", ".join(guids)),
                         hint="Give the GUID instead of the name.")
    return guids[0]


def resolve_all(client, values, type_name, what):
    """(GUIDs in order without repeats, {name given: GUID}) for items given by GUID or by name."""
    guids, resolved = [], {}
    for value in values:
        guid = resolve_item(client, value, type_name, what)
        if normalize_guid(value) is None:
            resolved[value] = guid
        if guid not in guids:
            guids.append(guid)
    return guids, resolved


def find_one_named(client, name, type_pattern, what):
    """The one item with this exact name whose type matches ``type_pattern``; None when there is none."""
    items = [i for i in items_named(client, name) if item_matches_type(i, type_pattern)]
    if len(items) > 1:
        guids = ", ".join(i["guid"] for i in items)
        raise InputError("%d %ss named %r match type %r: %s." % (len(items), what, name, type_pattern, guids),
                         hint="Narrow the type, or rename one of them in the console.")
    return items[0] if items else None


def check_connection(client, probe_bindings):
    """(services, bindings, warnings): whether each ASDK service answers, and which bindings the NS takes.

    The first call authenticates, so a wrong password or an unreachable NS fails here with its hint.
    Only reads are sent; ResourceManagementService is not probed because its methods act on agents.
    """
    warnings = []
    bindings = dict(post=None, soap=None)
    answer = client.call("ItemExists", itemGuid=ZERO_GUID)
    bindings[client.binding] = True
    if client.post_refused:
        bindings["post"] = False
    services = dict(ItemManagementService=dict(reachable=True, probe="ItemExists", answer=str(answer).lower()))

    other = "soap" if client.binding == "post" else "post"
    if probe_bindings and bindings[other] is None:
        try:
            client.call_with_binding(other, "ItemExists", itemGuid=ZERO_GUID)
            bindings[other] = True
        except PostBindingRefused:
            bindings[other] = False
        except VendorFault as exc:
            bindings[other] = False
            warnings.append("The %s binding failed: %s" % (other, exc))

    reachable = True
    try:
        scoping = "%d target(s)" % len(client.call("GetResourceTargets", policyItemGuid=ZERO_GUID))
    except NotFound:
        scoping = "ASDKDoesNotExistException"
    except AuthError as exc:
        scoping = str(exc)
    except VendorFault as exc:
        scoping = exc.details.get("exception_type") or str(exc)
    except TransportError as exc:
        reachable = False
        scoping = str(exc)
    services["ScopingManagementService"] = dict(reachable=reachable, probe="GetResourceTargets", answer=scoping)
    services["ResourceManagementService"] = dict(reachable=None, probe=None,
                                                 answer="not probed: PushPolicy2 acts on agents")
    return services, bindings, warnings
