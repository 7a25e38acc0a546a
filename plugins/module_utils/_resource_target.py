# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Resource targets: the ``configXml`` of CreateResourceTarget, reading it back, and the plan. No I/O.

Shape (ASDK CHM, CreateResourceTarget)::

    <resourceTarget><name/><description/><mode>Computers</mode>
      <baseOrganizationalGroupGuid/>
      <targetFilters>
        <targetFilter><type>Organizational Group|Resource Collection|Individual Resources</type>
          <operation>Intersect|Union|Except</operation>
          <organizationalGroupGuid/> | <resourceCollectionGuid/> | <resourceGuids><resourceGuid/>...</resourceGuids>
        </targetFilter>
      </targetFilters>
    </resourceTarget>

Filters are evaluated in document order. Every value is escaped, names included.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._xml import children, element, first, first_text, local_name

FILTER_TYPES = {
    "organizational_group": "Organizational Group",
    "collection": "Resource Collection",
    "resources": "Individual Resources",
}
OPERATIONS = {"union": "Union", "intersect": "Intersect", "except": "Except"}
_TYPE_KEYS = dict((v.lower(), k) for k, v in FILTER_TYPES.items())


def build_config_xml(definition):
    """CreateResourceTarget's configXml for a normalized definition (see ``normalize``)."""
    parts = ["<resourceTarget>", element("name", definition["name"]),
             element("description", definition.get("description") or ""),
             element("mode", definition.get("mode") or "Computers")]
    if definition.get("base_organizational_group_guid"):
        parts.append(element("baseOrganizationalGroupGuid", definition["base_organizational_group_guid"]))
    if definition.get("parent_folder_guid"):
        parts.append(element("parentFolderGuid", definition["parent_folder_guid"]))
    parts.append("<targetFilters>")
    for flt in definition["filters"]:
        parts.append("<targetFilter>")
        parts.append(element("type", FILTER_TYPES[flt["type"]]))
        parts.append(element("operation", OPERATIONS[flt["operation"]]))
        if flt["type"] == "organizational_group":
            parts.append(element("organizationalGroupGuid", flt["guids"][0]))
        elif flt["type"] == "collection":
            parts.append(element("resourceCollectionGuid", flt["guids"][0]))
        else:
            parts.append("<resourceGuids>%s</resourceGuids>"
                         % "".join(element("resourceGuid", g) for g in flt["guids"]))
        parts.append("</targetFilter>")
    parts.append("</targetFilters></resourceTarget>")
    return "".join(parts)


def normalize(name, description, mode, base_group_guid, filters, parent_folder_guid=None):
    """A definition with resolved GUIDs (lower case, no braces), validated."""
    if not name or not str(name).strip():
        raise InputError("A resource target needs a name.")
    if not filters:
        raise InputError("A resource target needs at least one filter (organizational_group, collection or resources).")
    out = []
    for index, flt in enumerate(filters):
        if flt["type"] not in FILTER_TYPES:
            raise InputError("filters[%d] has type %r; use one of %s." % (index, flt["type"], ", ".join(sorted(FILTER_TYPES))))
        if flt["operation"] not in OPERATIONS:
            raise InputError("filters[%d] has operation %r; use union, intersect or except." % (index, flt["operation"]))
        guids = [g.strip("{}").lower() for g in flt["guids"]]
        if not guids or (flt["type"] != "resources" and len(guids) != 1):
            raise InputError("filters[%d] (%s) needs exactly one %s." % (index, flt["type"], flt["type"].replace("_", " ")))
        if flt["type"] == "resources":
            guids = sorted(set(guids))
        out.append(dict(type=flt["type"], operation=flt["operation"], guids=guids))
    return dict(name=str(name), description=description or "", mode=mode or "Computers",
                base_organizational_group_guid=(base_group_guid or "").strip("{}").lower() or None,
                parent_folder_guid=(parent_folder_guid or "").strip("{}").lower() or None, filters=out)


def _guid(text):
    return (text or "").strip().strip("{}").lower()


def definition_from_xml(xml_text):
    """The definition written in an exported resource target, or None when the XML does not show one.

    The item XML of a resource target is not publicly documented; this reads the configXml shape
    wherever it appears in the document (a lab or an NS that keeps it), and returns None otherwise so
    the caller can say it could not compare.
    """
    try:
        root = ET.fromstring(xml_text)
    except (ET.ParseError, TypeError, ValueError):
        return None
    holder = first(root, "targetFilters")
    if holder is None:
        return None
    filters = []
    for node in children(holder, "targetFilter"):
        kind = _TYPE_KEYS.get((first_text(node, "type") or "").lower())
        operation = (first_text(node, "operation") or "").lower()
        if kind is None or operation not in OPERATIONS:
            return None
        if kind == "resources":
            guids = sorted(set(_guid(n.text) for n in node.iter() if local_name(n.tag) == "resourceGuid" and _guid(n.text)))
        else:
            value = _guid(first_text(node, "organizationalGroupGuid" if kind == "organizational_group"
                                     else "resourceCollectionGuid"))
            guids = [value] if value else []
        filters.append(dict(type=kind, operation=operation, guids=guids))
    return dict(filters=filters, base_organizational_group_guid=_guid(first_text(root, "baseOrganizationalGroupGuid")) or None,
                mode=first_text(root, "mode") or None)


def differences(existing, wanted):
    """What differs between an exported definition and the wanted one, as readable strings."""
    diffs = []
    if existing.get("mode") and existing["mode"].lower() != (wanted.get("mode") or "Computers").lower():
        diffs.append("mode is %s, wanted %s" % (existing["mode"], wanted.get("mode")))
    if (existing.get("base_organizational_group_guid") or None) != (wanted.get("base_organizational_group_guid") or None):
        diffs.append("base organizational group is %s, wanted %s"
                     % (existing.get("base_organizational_group_guid"), wanted.get("base_organizational_group_guid")))
    mine = [(f["type"], f["operation"], tuple(f["guids"])) for f in wanted["filters"]]
    theirs = [(f["type"], f["operation"], tuple(f["guids"])) for f in existing["filters"]]
    if mine != theirs:
        diffs.append("filters are %s, wanted %s" % (_describe(existing["filters"]), _describe(wanted["filters"])))
    return diffs


def _describe(filters):
    return "; ".join("%s %s %s" % (f["operation"], f["type"], ",".join(f["guids"])) for f in filters) or "none"


def view(definition):
    """One side of the diff: what a resource target is, or that it does not exist."""
    if definition is None:
        return dict(exists=False)
    return dict(exists=True, mode=definition.get("mode"),
                base_organizational_group_guid=definition.get("base_organizational_group_guid"),
                filters=definition.get("filters"))


class TargetPlan:
    """What to do about one resource target: ``create``, ``recreate`` (create, then delete ``replaces``) or nothing.

    ``verified`` is False when the target exists but its exported XML does not show its definition.
    """

    def __init__(self, action, wanted, existing_guid=None, found=(), verified=True, before=None, after=None):
        self.action = action
        self.wanted = wanted
        self.config_xml = build_config_xml(wanted)
        self.existing_guid = existing_guid
        self.differences = list(found)
        self.verified = verified
        self.diff = dict(before=before, after=after)

    @property
    def changed(self):
        return self.action is not None


def plan(existing_guid, current, wanted, recreate):
    """The plan for ``wanted`` given the target of that name (its GUID or None) and its readable definition.

    ``current`` is the definition read back from the existing target (``definition_from_xml``), None
    when it cannot be read. The ASDK cannot change a resource target, so a different definition is an
    error unless ``recreate`` allows a new target to replace the old one.
    """
    if existing_guid is None:
        return TargetPlan("create", wanted, before=view(None), after=view(wanted))
    if current is None:
        unreadable = dict(exists=True, filters="not readable from the exported XML")
        return TargetPlan(None, wanted, existing_guid, verified=False, before=unreadable, after=unreadable)
    found = differences(current, wanted)
    if not found:
        return TargetPlan(None, wanted, existing_guid, before=view(current), after=view(current))
    if not recreate:
        raise InputError("Resource target %r (%s) exists with a different definition: %s."
                         % (wanted["name"], existing_guid, "; ".join(found)),
                         hint="The ASDK cannot change a resource target. Set recreate: true to create a new one from "
                              "this definition and delete the old one (its GUID changes), or use another name.",
                         differences=found, guid=existing_guid)
    return TargetPlan("recreate", wanted, existing_guid, found, before=view(current), after=view(wanted))
