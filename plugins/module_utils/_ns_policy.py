# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The CEM settings policy on the Notification Server: find it, read its state, apply a plan, push it.

The domain layer between the ASDK client and ``itms.cem.cem_policy``; what the policy's XML means and
what to change are decided in the pure ``_cem_policy``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils import _cem_policy as core
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError, InputError, NotFound
from ansible_collections.itms.cem.plugins.module_utils._ns_items import (
    export_xml, get_item, guid_or_fail, item_matches_type, items_named,
)


class Policy:
    """A policy as read from the NS: its details, GUID, exported XML and current state (see ``read``)."""

    def __init__(self, item, guid, xml_text, current):
        self.item = item
        self.guid = guid
        self.xml_text = xml_text
        self.current = current


def find(client, profile, name=None, guid=None, need_details=True):
    """(item details, GUID) of the policy. By GUID only GetItemByGuid when details are needed; by name one call."""
    if guid:
        guid = guid_or_fail(guid, "guid")
        if not need_details:
            return dict(guid=guid, name=None, type_name=None, enabled=None), guid
        return get_item(client, guid), guid
    name = name or profile.default_name
    if not name:
        raise InputError("Give the policy's name or guid; the profile %r has no policy.default_name." % profile.name)
    if "%" in name:
        guids = client.call("GetItemsByNameAndType", name=name, type=profile.type_name)
        if len(guids) != 1:
            raise _no_single_policy(name, profile, len(guids), guids)
        return get_item(client, guids[0]), guids[0]
    # One call returns the GUID, the type and the enabled state (GetItemsByNameAndType returns GUIDs only).
    items = items_named(client, name)
    matching = [i for i in items if item_matches_type(i, profile.type_name)]
    if len(matching) != 1:
        others = sorted(set(i.get("type_name") or "?" for i in items if i not in matching))
        raise _no_single_policy(name, profile, len(matching), [i.get("guid") for i in matching], others)
    return matching[0], matching[0]["guid"]


def _no_single_policy(name, profile, count, guids, other_types=None):
    if count == 0:
        extra = " (items of type %s have that name)" % ", ".join(other_types) if other_types else ""
        return NotFound("The NS has no policy named %r of type %r%s." % (name, profile.type_name, extra),
                        hint="Check the name with itms.cem.ns_item_info (name: '%Cloud%'), or give the guid; the "
                             "type comes from policy.type_name in the profile.")
    return InputError("%d policies named %r of type %r: %s." % (count, name, profile.type_name, ", ".join(guids)),
                      hint="Give the guid of the one to manage.")


def read(client, profile, name=None, guid=None, need_enabled=True):
    """The policy and its current state, with the profile verified against its XML before anything is written."""
    item, guid = find(client, profile, name, guid, need_enabled)
    if need_enabled and item.get("enabled") is None:
        item = get_item(client, guid)  # the list answer left Enabled out
    xml_text = export_xml(client, guid)
    root = core.parse_item_xml(xml_text)
    core.verify_profile(root, profile)
    state = core.read_state(root, profile)
    targets = client.call("GetResourceTargets", policyItemGuid=guid)
    current = dict(enabled=item.get("enabled"), settings=state["settings"], gateways=state["gateways"], targets=targets)
    return Policy(item, guid, xml_text, current)


def apply(client, policy, profile, plan):
    """Write what ``plan`` changes: the edited XML, then the enabled state, then the targets.

    If a write fails half way, the error says which writes were already applied (and lists them in
    ``applied``); running the task again completes the rest, because it reads the current state first.
    """
    done = []
    try:
        if plan.xml_changed:
            client.call("ImportItemXmlString", xml=core.apply_plan_to_xml(policy.xml_text, profile, plan))
            done.append("ImportItemXmlString")
        if plan.enable is not None:
            method = "EnablePolicyItem" if plan.enable else "DisablePolicyItem"
            client.call(method, policyItemGuid=policy.guid)
            done.append(method)
        if plan.targets is not None:
            # AssignResourceTargetsToPolicy replaces the whole list, so the plan holds the merged one.
            client.call("AssignResourceTargetsToPolicy", policyItemGuid=policy.guid,
                        resourceTargetsGuids=",".join(plan.targets))
            done.append("AssignResourceTargetsToPolicy")
    except CemError as exc:
        if done:
            exc.msg = "%s Already applied before this failure: %s." % (exc.msg, ", ".join(done))
            exc.details["applied"] = done
        raise
    return done


def push(client, guid):
    """Ask the NS to push the policy to its agents now; the per-agent statuses it answers."""
    return client.call("PushPolicy2", policy=guid)
