# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``configXml`` of ScopingManagementService.CreateResourceTarget, and reading it back. No I/O.

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

FILTER_TYPES = {
    "organizational_group": "Organizational Group",
    "collection": "Resource Collection",
    "resources": "Individual Resources",
}
OPERATIONS = {"union": "Union", "intersect": "Intersect", "except": "Except"}
_TYPE_KEYS = dict((v.lower(), k) for k, v in FILTER_TYPES.items())


def _escape(value):
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def _element(name, value):
    if value is None or value == "":
        return "<%s />" % name
    return "<%s>%s</%s>" % (name, _escape(value), name)


def build_config_xml(definition):
    """CreateResourceTarget's configXml for a normalized definition (see ``normalize``)."""
    parts = ["<resourceTarget>", _element("name", definition["name"]),
             _element("description", definition.get("description") or ""),
             _element("mode", definition.get("mode") or "Computers")]
    if definition.get("base_organizational_group_guid"):
        parts.append(_element("baseOrganizationalGroupGuid", definition["base_organizational_group_guid"]))
    if definition.get("parent_folder_guid"):
        parts.append(_element("parentFolderGuid", definition["parent_folder_guid"]))
    parts.append("<targetFilters>")
    for flt in definition["filters"]:
        parts.append("<targetFilter>")
        parts.append(_element("type", FILTER_TYPES[flt["type"]]))
        parts.append(_element("operation", OPERATIONS[flt["operation"]]))
        if flt["type"] == "organizational_group":
            parts.append(_element("organizationalGroupGuid", flt["guids"][0]))
        elif flt["type"] == "collection":
            parts.append(_element("resourceCollectionGuid", flt["guids"][0]))
        else:
            parts.append("<resourceGuids>%s</resourceGuids>"
                         % "".join(_element("resourceGuid", g) for g in flt["guids"]))
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


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element, name):
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


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
    holder = None
    for node in root.iter():
        if _local(node.tag) == "targetFilters":
            holder = node
            break
    if holder is None:
        return None
    filters = []
    for flt in holder:
        if _local(flt.tag) != "targetFilter":
            continue
        kind = _TYPE_KEYS.get((_child_text(flt, "type") or "").lower())
        operation = (_child_text(flt, "operation") or "").lower()
        if kind is None or operation not in OPERATIONS:
            return None
        if kind == "resources":
            guids = []
            for node in flt.iter():
                if _local(node.tag) == "resourceGuid" and (node.text or "").strip():
                    guids.append(node.text.strip().strip("{}").lower())
            guids = sorted(set(guids))
        else:
            tag = "organizationalGroupGuid" if kind == "organizational_group" else "resourceCollectionGuid"
            value = None
            for node in flt.iter():
                if _local(node.tag) == tag:
                    value = (node.text or "").strip().strip("{}").lower()
            guids = [value] if value else []
        filters.append(dict(type=kind, operation=operation, guids=guids))
    base = None
    for node in root.iter():
        if _local(node.tag) == "baseOrganizationalGroupGuid":
            base = (node.text or "").strip().strip("{}").lower() or None
            break
    mode = None
    for node in root.iter():
        if _local(node.tag) == "mode":
            mode = (node.text or "").strip() or None
            break
    return dict(filters=filters, base_organizational_group_guid=base, mode=mode)


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
