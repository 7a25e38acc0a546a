# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ASDK.NS methods of the lab: what each one accepts, does and returns, and the ASDK exceptions.

Method and parameter names, parameter order and types are the SMP 8.5.5713 WSDL's
(``contracts/smp-8.5.5713-webservices.json``; tests/unit/lab/test_ns_lab.py checks them). The
string-GUID forms are implemented, and PushPolicy in both of its forms: ``PushPolicy(policy)``
takes a ``Guid`` and ``PushPolicy2(policy)`` a string.

Behaviour documented by the ASDK help (reference section 1.5) is reproduced: GetItemsByType is a
strict match; GetItemsByNameAndType takes ``%`` wildcards and either argument empty but not both;
AssignResourceTargetsToPolicy takes a comma-delimited list that replaces the policy's list, and an
empty string removes every target; CreateResourceTarget takes the ``resourceTarget`` configXml and
its filters are evaluated in document order. What the documentation leaves open is decided here
once and marked "lab rule".
"""

import re
import uuid
import xml.etree.ElementTree as ET
from collections import namedtuple

from itms_lab.ns.store import CLASS_GUIDS, DEFAULT_FOLDER, TYPE_BY_CLASS, TYPES, ZERO_GUID

NAMESPACE = "http://Altiris.ASDK.NS.com"

DOES_NOT_EXIST = "ASDKDoesNotExistException"
INSUFFICIENT_PERMISSION = "ASDKInsufficientPermissionException"
INVALID_PARAMETER = "ASDKInvalidParameterException"
INVALID_TYPE = "ASDKInvalidTypeException"


class AsdkFault(Exception):
    """An ASDK exception: over SOAP a fault whose detail names it, over HttpPost an HTTP 500 text."""

    def __init__(self, exception_type, message):
        super(AsdkFault, self).__init__(message)
        self.exception_type = exception_type
        self.message = message


# --------------------------------------------------------------------------- GUIDs as .NET parses them

_HEX = "[0-9A-Fa-f]"
_D = "({0}{{8}})-({0}{{4}})-({0}{{4}})-({0}{{4}})-({0}{{12}})".format(_HEX)
_GUID_FORMS = (
    re.compile(r"^%s$" % _D),
    re.compile(r"^\{%s\}$" % _D),
    re.compile(r"^\(%s\)$" % _D),
    re.compile(r"^({0}{{8}})({0}{{4}})({0}{{4}})({0}{{4}})({0}{{12}})$".format(_HEX)),
)
_GUID_X = re.compile(r"^\{0[xX](%s{1,8}),0[xX](%s{1,4}),0[xX](%s{1,4}),\{((?:0[xX]%s{1,2},){7}0[xX]%s{1,2})\}\}$"
                     % ((_HEX,) * 5))


def parse_guid(text):
    """A GUID in any form ``System.Guid(string)`` accepts (D, B, P, N, X; any case; surrounding
    white space), as the NS writes it: lower case, hyphens, no braces. None if it is not one."""
    if text is None:
        return None
    text = text.strip()
    for form in _GUID_FORMS:
        match = form.match(text)
        if match:
            return "-".join(match.groups()).lower()
    match = _GUID_X.match(text)
    if match:
        tail = [int(b, 16) for b in re.findall(r"0[xX]([0-9A-Fa-f]{1,2})", match.group(4))]
        return str(uuid.UUID(fields=(int(match.group(1), 16), int(match.group(2), 16), int(match.group(3), 16),
                                     tail[0], tail[1], int("".join("%02x" % b for b in tail[2:]), 16))))
    return None


def _need_guid(value, param):
    if value is None or not value.strip():
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s' cannot be null or empty." % param)
    guid = parse_guid(value)
    if guid is None:
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s' is not a valid GUID: '%s'." % (param, value))
    return guid


def _need_text(value, param):
    if value is None or not value.strip():
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s' cannot be null or empty." % param)
    return value


def _need_item(store, guid):
    item = store.get(guid)
    if item is None:
        raise AsdkFault(DOES_NOT_EXIST, "Item '{%s}' does not exist." % guid)
    return item


def _need_kind(store, item, kind, what):
    if store.kind(item) != kind:
        raise AsdkFault(INVALID_TYPE, "Item '{%s}' (%s, %s) is not %s." % (item["guid"], item["name"], item["type"], what))
    return item


def _like(pattern, value):
    """SQL ``LIKE`` with ``%`` as the NS compares names and types: case-insensitive, whole value."""
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$"
    return re.match(regex, value or "", re.I | re.S) is not None


def _type_names(item):
    long_name = TYPES[item["type"]][0]
    return (item["type"], long_name, long_name.rsplit(".", 1)[-1])


def _by_name(items):
    return sorted(items, key=lambda i: (i["name"].lower(), i["guid"]))


# --------------------------------------------------------------------------- XML inputs

def parse_xml(text, param):
    """Parse XML given to a method; ASDKInvalidParameterException when it is not usable."""
    if text is None or not text.strip():
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s' cannot be null or empty." % param)
    if re.search(r"<!DOCTYPE", text, re.I):
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s': DTDs are not allowed in the XML." % param)
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        return ET.fromstring(text, parser=parser)
    except ET.ParseError as exc:
        raise AsdkFault(INVALID_PARAMETER, "Parameter '%s' is not well-formed XML: %s." % (param, exc))


def _text(element, tag):
    child = element.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


FILTER_TYPES = {
    "organizational group": ("Organizational Group", "organizationalGroupGuid", "group", "an organizational group"),
    "resource collection": ("Resource Collection", "resourceCollectionGuid", "collection", "a resource collection"),
    "individual resources": ("Individual Resources", "resourceGuids", "resource", "a resource"),
}
OPERATIONS = {"union": "Union", "intersect": "Intersect", "except": "Except"}
MODES = {"computers": "Computers", "users": "Users"}
MODE_KINDS = {"Computers": ("Computer",), "Users": ()}  # the lab has no user resources


def _referenced(store, text, what, expected_kind, where):
    guid = parse_guid(text)
    if guid is None:
        raise AsdkFault(INVALID_PARAMETER, "configXml: %s '%s' is not a valid GUID." % (where, text or ""))
    item = store.get(guid)
    if item is None:
        raise AsdkFault(DOES_NOT_EXIST, "configXml: %s '{%s}' does not exist." % (where, guid))
    if store.kind(item) != expected_kind:
        raise AsdkFault(INVALID_TYPE, "configXml: %s '{%s}' (%s, %s) is not %s."
                        % (where, guid, item["name"], item["type"], what))
    return guid


def parse_target_config(store, root):
    """The definition in a ``resourceTarget`` element (CreateResourceTarget's configXml), validated."""
    if root.tag != "resourceTarget":
        raise AsdkFault(INVALID_PARAMETER, "configXml must have the root element resourceTarget, not %s." % root.tag)
    name = _text(root, "name")
    if not name:
        raise AsdkFault(INVALID_PARAMETER, "configXml: the resource target needs a name.")
    mode_text = _text(root, "mode") or "Computers"  # lab rule: the CHM's only example mode is the default
    mode = MODES.get(mode_text.lower())
    if mode is None:
        raise AsdkFault(INVALID_PARAMETER, "configXml: mode '%s' is not valid; use Computers or Users." % mode_text)
    base = _text(root, "baseOrganizationalGroupGuid")
    if base:
        base = _referenced(store, base, "an organizational group", "group", "baseOrganizationalGroupGuid")
    parent = _text(root, "parentFolderGuid")
    if parent:
        parent = _referenced(store, parent, "a folder", "folder", "parentFolderGuid")
    holder = root.find("targetFilters")
    filters = []
    for index, node in enumerate(holder.findall("targetFilter") if holder is not None else [], 1):
        where = "targetFilter %d" % index
        type_text = _text(node, "type") or ""
        spec = FILTER_TYPES.get(type_text.lower())
        if spec is None:
            raise AsdkFault(INVALID_PARAMETER, "configXml: %s has type '%s'; use Organizational Group, Resource "
                                               "Collection or Individual Resources." % (where, type_text))
        label, tag, kind, what = spec
        operation_text = _text(node, "operation") or ""
        operation = OPERATIONS.get(operation_text.lower())
        if operation is None:
            raise AsdkFault(INVALID_PARAMETER, "configXml: %s has operation '%s'; use Intersect, Union or Except."
                                               % (where, operation_text))
        if kind == "resource":
            container = node.find(tag)
            texts = [(r.text or "").strip() for r in container.findall("resourceGuid")] if container is not None else []
            if not [t for t in texts if t]:
                raise AsdkFault(INVALID_PARAMETER, "configXml: %s (%s) needs resourceGuids/resourceGuid." % (where, label))
            guids = []
            for text in texts:
                if text:
                    guid = _referenced(store, text, what, kind, "%s resourceGuid" % where)
                    if guid not in guids:
                        guids.append(guid)
        else:
            text = _text(node, tag)
            if not text:
                raise AsdkFault(INVALID_PARAMETER, "configXml: %s (%s) needs %s." % (where, label, tag))
            guids = [_referenced(store, text, what, kind, "%s %s" % (where, tag))]
        filters.append({"type": label, "operation": operation, "guids": guids})
    if not filters:
        # lab rule: a target without a filter would have no defined membership
        raise AsdkFault(INVALID_PARAMETER, "configXml: targetFilters has no targetFilter.")
    return {"name": name, "description": _text(root, "description") or "", "mode": mode, "base": base or None,
            "parent": parent or None, "filters": filters}


_TRUE = ("true", "1")
_FALSE = ("false", "0")


def _xml_bool(text, where):
    value = (text or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise AsdkFault(INVALID_PARAMETER, "%s must be True or False, not '%s'." % (where, text))


def _check_cem_settings(root):
    """The lab's CEM settings stand-in must stay readable by the agent side: reject broken values."""
    cem = root.find("policyData/cemSettings")
    if cem is None:
        raise AsdkFault(INVALID_PARAMETER, "The CEM settings policy XML has no policyData/cemSettings element.")
    for attribute in ("allowCloudCommunication", "preferCemWhenOnVpn"):
        if cem.get(attribute) is not None:
            _xml_bool(cem.get(attribute), "cemSettings/@%s" % attribute)
    gateways = cem.find("gateways")
    for index, gateway in enumerate(gateways.findall("gateway") if gateways is not None else [], 1):
        host = (gateway.get("host") or "").strip()
        if not host or re.search(r"\s", host):
            raise AsdkFault(INVALID_PARAMETER, "gateway %d has no valid host ('%s')." % (index, gateway.get("host") or ""))
        port = (gateway.get("port") or "").strip()
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise AsdkFault(INVALID_PARAMETER, "gateway %d (%s) has port '%s'; use 1 to 65535."
                            % (index, host, gateway.get("port") or ""))


def _set_child(root, tag, text, after=("name",)):
    """Set a child's text, adding the child after the last of ``after`` when the XML lacks it."""
    child = root.find(tag)
    if child is None:
        position = 0
        for index, node in enumerate(root):
            if node.tag in after:
                position = index + 1
        child = ET.Element(tag)
        child.tail = (root.text if position == 0 else root[position - 1].tail) or None  # keep the indentation
        root.insert(position, child)
    child.text = text


def _bool_text(value):
    return "True" if value else "False"


# --------------------------------------------------------------------------- results

def item_details(store, item):
    """ItemDetails, fields in the order of the spec; ``None`` values are left out as XmlSerializer does."""
    long_name, kind = TYPES[item["type"]]
    parent = store.get(item.get("parent")) if item.get("parent") else None
    applied = list(item.get("targets") or []) if kind == "policy" else None
    return [
        ("Guid", item["guid"]), ("Name", item["name"]), ("TypeName", item["type"]), ("LongTypeName", long_name),
        ("TypeGuid", CLASS_GUIDS[item["type"]]), ("Enabled", bool(item.get("enabled")) if kind == "policy" else False),
        ("ParentFolderGuid", parent["guid"] if parent else ZERO_GUID),
        ("ParentFolderName", parent["name"] if parent else None),
        ("AppliedToResourceTargets", applied), ("Attributes", "None"), ("IsSchedulableItem", False),
        ("ScheduleEnabled", False), ("ScheduleXml", None), ("SharedScheduleGuid", ZERO_GUID),
    ]


def export_xml(store, item):
    """The item XML of ExportItemXmlString."""
    if item.get("xml"):
        return item["xml"]
    root = ET.Element("item", {"guid": "{%s}" % item["guid"], "classGuid": "{%s}" % CLASS_GUIDS[item["type"]],
                               "version": "1"})
    ET.SubElement(root, "name").text = item["name"]
    ET.SubElement(root, "typeName").text = item["type"]
    if item.get("description"):
        ET.SubElement(root, "description").text = item["description"]
    config = item.get("config")
    if config is not None:
        target = ET.SubElement(root, "resourceTarget")
        ET.SubElement(target, "name").text = item["name"]
        ET.SubElement(target, "description").text = item.get("description") or ""
        ET.SubElement(target, "mode").text = config["mode"]
        if config.get("base"):
            ET.SubElement(target, "baseOrganizationalGroupGuid").text = config["base"]
        filters = ET.SubElement(target, "targetFilters")
        for flt in config["filters"]:
            node = ET.SubElement(filters, "targetFilter")
            ET.SubElement(node, "type").text = flt["type"]
            ET.SubElement(node, "operation").text = flt["operation"]
            tag = FILTER_TYPES[flt["type"].lower()][1]
            if tag == "resourceGuids":
                holder = ET.SubElement(node, tag)
                for guid in flt["guids"]:
                    ET.SubElement(holder, "resourceGuid").text = guid
            else:
                ET.SubElement(node, tag).text = flt["guids"][0]
    if item.get("members") is not None:
        members = ET.SubElement(root, "members")
        for guid in item["members"]:
            ET.SubElement(members, "resource", {"guid": "{%s}" % guid})
    resource = item.get("resource")
    if resource:
        data = ET.SubElement(root, "resourceData")
        for key, tag in (("domain", "domain"), ("ip", "ipAddress"), ("os", "osName")):
            ET.SubElement(data, tag).text = resource.get(key) or ""
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode")


def target_members(store, target):
    """Members of a resource target (lab rule: filters in document order, starting from no resource;
    Union adds, Intersect keeps the common ones, Except removes; then the base organizational group
    limits the result; only resources of the target's mode count)."""
    config = target.get("config") or {}
    current = set()
    for flt in config.get("filters", []):
        found = set()
        for guid in flt["guids"]:
            item = store.get(guid)
            if item is None:
                continue
            if store.kind(item) == "resource":
                found.add(guid)
            else:
                found.update(m for m in item.get("members") or [] if m in store.items)
        if flt["operation"] == "Union":
            current |= found
        elif flt["operation"] == "Intersect":
            current &= found
        else:
            current -= found
    base = store.get(config.get("base")) if config.get("base") else None
    if base is not None:
        current &= set(base.get("members") or [])
    kinds = MODE_KINDS.get(config.get("mode") or "Computers", ())
    members = [store.items[g] for g in current if g in store.items and store.items[g]["type"] in kinds]
    return [m["guid"] for m in _by_name(members)]


# --------------------------------------------------------------------------- the methods

Method = namedtuple("Method", "service name params result write handler")


def _get_item_by_guid(store, itemGuid):
    return item_details(store, _need_item(store, _need_guid(itemGuid, "itemGuid")))


def _get_items_by_name(store, itemName):
    name = _need_text(itemName, "itemName")
    return [item_details(store, i) for i in _by_name(i for i in store.items.values() if i["name"].lower() == name.lower())]


def _get_items_by_type(store, typeName):
    wanted = _need_text(typeName, "typeName").strip().lower()
    found = [i for i in store.items.values() if wanted in (i["type"].lower(), TYPES[i["type"]][0].lower())]
    return [item_details(store, i) for i in _by_name(found)]


def _get_items_by_name_and_type(store, name, type):  # pylint: disable=redefined-builtin
    name = (name or "").strip()
    type_pattern = (type or "").strip()
    if not name and not type_pattern:
        raise AsdkFault(INVALID_PARAMETER, "Parameters 'name' and 'type' cannot both be null or empty.")
    found = []
    for item in store.items.values():
        if name and not _like(name, item["name"]):
            continue
        if type_pattern and not any(_like(type_pattern, t) for t in _type_names(item)):
            continue
        found.append(item)
    return [i["guid"] for i in _by_name(found)]


def _item_exists(store, itemGuid):
    return _need_guid(itemGuid, "itemGuid") in store.items


def _export_item_xml_string(store, itemGuid):
    return export_xml(store, _need_item(store, _need_guid(itemGuid, "itemGuid")))


def _import_item_xml_string(store, xml):
    root = parse_xml(xml, "xml")
    if root.tag != "item":
        raise AsdkFault(INVALID_PARAMETER, "The item XML must have the root element item, not %s." % root.tag)
    guid = parse_guid(root.get("guid"))
    if guid is None:
        raise AsdkFault(INVALID_PARAMETER, "The item element has no valid guid attribute ('%s')." % (root.get("guid") or ""))
    type_name = None
    if root.get("classGuid"):
        class_guid = parse_guid(root.get("classGuid"))
        type_name = TYPE_BY_CLASS.get(class_guid)
        if type_name is None:
            raise AsdkFault(INVALID_TYPE, "Class '%s' of item '{%s}' is not a known item class." % (root.get("classGuid"), guid))
    named_type = _text(root, "typeName")
    if named_type:
        if named_type not in TYPES:
            raise AsdkFault(INVALID_TYPE, "Type '%s' of item '{%s}' is not a known item type." % (named_type, guid))
        if type_name and type_name != named_type:
            raise AsdkFault(INVALID_PARAMETER, "classGuid and typeName of item '{%s}' disagree." % guid)
        type_name = named_type
    existing = store.get(guid)
    if existing is not None:
        if type_name and type_name != existing["type"]:
            raise AsdkFault(INVALID_TYPE, "Item '{%s}' is a %s; the XML describes a %s." % (guid, existing["type"], type_name))
        type_name = existing["type"]
    elif type_name is None:
        raise AsdkFault(INVALID_PARAMETER, "Item '{%s}' does not exist and the XML has no classGuid or typeName to "
                                           "create it from." % guid)
    kind = TYPES[type_name][1]
    name = _text(root, "name")
    if name is None and existing is None:
        raise AsdkFault(INVALID_PARAMETER, "The XML of new item '{%s}' has no name." % guid)
    if name is not None and not name:
        raise AsdkFault(INVALID_PARAMETER, "The name of item '{%s}' cannot be empty." % guid)
    enabled_text = _text(root, "enabled")
    enabled = _xml_bool(enabled_text, "enabled") if enabled_text is not None else None

    if existing:
        item = dict(existing)
    else:
        item = {"guid": guid, "type": type_name, "parent": DEFAULT_FOLDER.get(kind), "enabled": False, "description": ""}
    if name:
        item["name"] = name
    if enabled is not None and kind == "policy":
        item["enabled"] = enabled
    description = _text(root, "description")
    if description is not None:
        item["description"] = description
    if kind == "policy":
        if type_name == "CEMSettingsPolicy":
            _check_cem_settings(root)
        item.setdefault("targets", [])
        root.set("guid", "{%s}" % guid)
        root.set("classGuid", "{%s}" % CLASS_GUIDS[type_name])
        _set_child(root, "name", item["name"], after=())
        _set_child(root, "typeName", type_name)
        _set_child(root, "enabled", _bool_text(item["enabled"]), after=("name", "typeName"))
        item["xml"] = ET.tostring(root, encoding="unicode")
    elif kind == "target":
        node = root.find("resourceTarget")
        if node is not None:
            config = parse_target_config(store, node)
            item["config"] = {"mode": config["mode"], "base": config["base"], "filters": config["filters"]}
        elif existing is None:
            raise AsdkFault(INVALID_PARAMETER, "The XML of new resource target '{%s}' has no resourceTarget element." % guid)
    elif kind in ("group", "collection"):
        holder = root.find("members")
        if holder is not None:
            members = []
            for node in holder.findall("resource"):
                member = _referenced(store, node.get("guid"), "a resource", "resource", "members/resource")
                if member not in members:
                    members.append(member)
            item["members"] = members
        item.setdefault("members", [])
    store.items[guid] = item
    store.commit()


def _set_enabled(store, policyItemGuid, enabled):
    item = _need_item(store, _need_guid(policyItemGuid, "policyItemGuid"))
    _need_kind(store, item, "policy", "a policy")
    if bool(item.get("enabled")) == enabled:
        return
    item["enabled"] = enabled
    if item.get("xml"):
        root = parse_xml(item["xml"], "xml")
        _set_child(root, "enabled", _bool_text(enabled), after=("name", "typeName"))
        item["xml"] = ET.tostring(root, encoding="unicode")
    store.commit()


def _enable_policy_item(store, policyItemGuid):
    _set_enabled(store, policyItemGuid, True)


def _disable_policy_item(store, policyItemGuid):
    _set_enabled(store, policyItemGuid, False)


def _delete_item(store, itemGuid):
    guid = _need_guid(itemGuid, "itemGuid")
    item = _need_item(store, guid)
    if store.kind(item) == "folder" and any(i.get("parent") == guid for i in store.items.values()):
        raise AsdkFault(INVALID_PARAMETER, "Folder '{%s}' (%s) is not empty." % (guid, item["name"]))
    del store.items[guid]
    for other in store.items.values():
        if guid in (other.get("targets") or []):
            other["targets"] = [t for t in other["targets"] if t != guid]
        if guid in (other.get("members") or []):
            other["members"] = [m for m in other["members"] if m != guid]
    store.commit()


def _get_resource_targets(store, policyItemGuid):
    item = _need_item(store, _need_guid(policyItemGuid, "policyItemGuid"))
    _need_kind(store, item, "policy", "a policy")
    return [t for t in item.get("targets") or [] if t in store.items]


def _assign_resource_targets_to_policy(store, policyItemGuid, resourceTargetsGuids):
    item = _need_item(store, _need_guid(policyItemGuid, "policyItemGuid"))
    _need_kind(store, item, "policy", "a policy")
    if resourceTargetsGuids is None:
        raise AsdkFault(INVALID_PARAMETER, "Parameter 'resourceTargetsGuids' cannot be null.")
    targets = []
    for text in resourceTargetsGuids.split(","):
        if not text.strip():
            continue  # "" removes every target; a trailing comma adds nothing
        guid = parse_guid(text)
        if guid is None:
            raise AsdkFault(INVALID_PARAMETER, "Parameter 'resourceTargetsGuids': '%s' is not a valid GUID." % text.strip())
        target = _need_item(store, guid)
        _need_kind(store, target, "target", "a resource target")
        if guid not in targets:
            targets.append(guid)
    item["targets"] = targets
    store.commit()


def _create_resource_target(store, configXml):
    config = parse_target_config(store, parse_xml(configXml, "configXml"))
    guid = str(uuid.uuid4())
    store.items[guid] = {"guid": guid, "name": config["name"], "type": "ResourceTarget",
                         "parent": config["parent"] or DEFAULT_FOLDER["target"], "enabled": False,
                         "description": config["description"],
                         "config": {"mode": config["mode"], "base": config["base"], "filters": config["filters"]}}
    store.commit()
    return guid


def _get_resource_target_membership(store, resourceTargetGuid):
    item = _need_item(store, _need_guid(resourceTargetGuid, "resourceTargetGuid"))
    return target_members(store, _need_kind(store, item, "target", "a resource target"))


def _push(store, guid):
    """Lab rule: the agents are the members of the policy's targets; a disabled policy has nothing to
    push (EmptyPolicy), an agent without a TCM persistent connection is NotConnected."""
    item = _need_item(store, guid)
    _need_kind(store, item, "policy", "a policy")
    agents = []
    for target_guid in item.get("targets") or []:
        target = store.get(target_guid)
        if target is not None:
            agents.extend(g for g in target_members(store, target) if g not in agents)
    results = []
    for agent in agents:
        resource = store.items[agent].get("resource") or {}
        if not item.get("enabled"):
            status = "EmptyPolicy"
        elif not resource.get("tcm_connected"):
            status = "NotConnected"
        elif resource.get("push_fails"):
            status = "ActionFailed"
        else:
            status = "Pushed"
        results.append((agent, status))
    return results


def _push_policy(store, policy):
    return _push(store, policy)  # a Guid parameter: the binding already parsed it


def _push_policy2(store, policy):
    return _push(store, _need_guid(policy, "policy"))


ITEM = "ItemManagementService"
SCOPING = "ScopingManagementService"
RESOURCE = "ResourceManagementService"
COLLECTION = "CollectionManagementService"

_S = "string"
_G = "guid"

METHODS_LIST = (
    Method(ITEM, "GetItemByGuid", (("itemGuid", _S),), "ItemDetails", False, _get_item_by_guid),
    Method(ITEM, "GetItemsByName", (("itemName", _S),), "ArrayOfItemDetails", False, _get_items_by_name),
    Method(ITEM, "GetItemsByType", (("typeName", _S),), "ArrayOfItemDetails", False, _get_items_by_type),
    Method(ITEM, "GetItemsByNameAndType", (("name", _S), ("type", _S)), "ArrayOfGuid", False, _get_items_by_name_and_type),
    Method(ITEM, "ItemExists", (("itemGuid", _S),), "boolean", False, _item_exists),
    Method(ITEM, "ExportItemXmlString", (("itemGuid", _S),), "string", False, _export_item_xml_string),
    Method(ITEM, "ImportItemXmlString", (("xml", _S),), "void", True, _import_item_xml_string),
    Method(ITEM, "EnablePolicyItem", (("policyItemGuid", _S),), "void", True, _enable_policy_item),
    Method(ITEM, "DisablePolicyItem", (("policyItemGuid", _S),), "void", True, _disable_policy_item),
    Method(ITEM, "DeleteItem", (("itemGuid", _S),), "void", True, _delete_item),
    Method(SCOPING, "GetResourceTargets", (("policyItemGuid", _S),), "ArrayOfGuid", False, _get_resource_targets),
    Method(SCOPING, "AssignResourceTargetsToPolicy", (("policyItemGuid", _S), ("resourceTargetsGuids", _S)), "void", True,
           _assign_resource_targets_to_policy),
    Method(SCOPING, "CreateResourceTarget", (("configXml", _S),), "guid", True, _create_resource_target),
    Method(SCOPING, "GetResourceTargetMembership", (("resourceTargetGuid", _S),), "ArrayOfGuid", False,
           _get_resource_target_membership),
    Method(RESOURCE, "PushPolicy", (("policy", _G),), "ArrayOfPushPolicyResult", True, _push_policy),
    Method(RESOURCE, "PushPolicy2", (("policy", _S),), "ArrayOfPushPolicyResult", True, _push_policy2),
)
METHODS = dict(((m.service, m.name), m) for m in METHODS_LIST)

# Every operation of the ASDK.NS services in the 8.5.5713 WSDL, so that a method the lab does not
# implement is told apart from a name that no NS has.
OPERATIONS_85 = {
    COLLECTION: (
        "GetCollectionMembershipX GetCollectionMembership CreateResourceCollectionX CreateResourceCollection GetInclusionsX "
        "GetInclusions GetInclusionGuids IsInclusionX IsInclusion GetExclusionsX GetExclusions GetExclusionGuids IsExclusionX "
        "IsExclusion AddInclusionsX AddInclusions AddExclusionsX AddExclusions RemoveInclusionsX RemoveInclusions "
        "RemoveExclusionsX RemoveExclusions SetCollectionDataSourceToRawSqlQueryX SetCollectionDataSourceToRawSqlQuery "
        "UpdateCollections"),
    ITEM: (
        "ImportItemXmlFile ImportItemXmlString ItemExistsX ItemExists ImportItemXmlFiles ExportItemXmlX ExportItemXml "
        "ExportItemXmlStringX ExportItemXmlString ExportItemProfileXmlStringX ExportItemProfileXmlString DeleteItemX DeleteItem "
        "CloneItemX CloneItem MoveItemX MoveItem RenameItemX RenameItem CreateFolderX CreateFolder SetItemsScheduleX "
        "SetItemsSchedule ExecuteSchedulableItemX ExecuteSchedulableItem GetItemByGuidX GetItemByGuid GetItemsByName "
        "GetItemsInFolderX GetItemsInFolder GetItemsByType EnablePolicyItemX EnablePolicyItem DisablePolicyItemX "
        "DisablePolicyItem GetItemsByNameAndType RunAutomationPolicyTaskX RunAutomationPolicyTask"),
    RESOURCE: (
        "PushPolicy PushPolicy2 PushAltirisAgentToComputers PushAltirisAgentToComputersStrict GetResourceByName "
        "GetComputerByNameAndDomain GetUserByUserIdAndDomain GetDataClassDataX GetDataClassData GetResourceByContext "
        "MergeResourceX MergeResource CreateResourceAssociationX CreateResourceAssociation SetAssetStateX SetAssetState "
        "SetAssetOwnerX SetAssetOwner"),
    SCOPING: (
        "CreateOrganizationalView DeleteOrganizationalViewX DeleteOrganizationalView CreateOrganizationalGroupX "
        "CreateOrganizationalGroup DeleteOrganizationalGroupX DeleteOrganizationalGroup "
        "MoveOrganizationalGroupWithinOrganizationalViewX MoveOrganizationalGroupWithinOrganizationalView "
        "GetOrganizationalViewsFolderGuid GetOrganizationalViews GetOrganizationalGroupsFromOrganizationalViewX "
        "GetOrganizationalGroupsFromOrganizationalView GetOrganizationalGroupDirectMembershipX "
        "GetOrganizationalGroupDirectMembership GetOrganizationalGroupMembershipX GetOrganizationalGroupMembership "
        "AssignResourcesToOrganizationalGroupX AssignResourcesToOrganizationalGroup RemoveResourcesFromOrganizationalGroupX "
        "RemoveResourcesFromOrganizationalGroup InvalidateTargetMembershipX InvalidateTargetMembership CreateResourceTarget "
        "GetResourceTargetsX GetResourceTargets GetResourceTargetMembershipX GetResourceTargetMembership "
        "GetResourcesTargetedByPolicyX GetResourcesTargetedByPolicy AssignResourceTargetsToPolicyX "
        "AssignResourceTargetsToPolicy AssignRoleToOrganizationalGroupX AssignRoleToOrganizationalGroup "
        "IsInOrganizationalGroupX IsInOrganizationalGroup IsInOrganizationalGroupDirectMembershipX "
        "IsInOrganizationalGroupDirectMembership"),
}
OPERATIONS_85 = dict((service, tuple(names.split())) for service, names in OPERATIONS_85.items())
SERVICES = tuple(sorted(OPERATIONS_85))

# ASP.NET's HttpGet/HttpPost protocols only carry parameters ScalarFormatter supports (primitives,
# string, DateTime, decimal, enums; not Guid), so a method with a Guid parameter is SOAP-only.
POST_TYPES = frozenset((_S,))


def post_capable(method):
    return all(kind in POST_TYPES for _name, kind in method.params)


def operation_names(service):
    return OPERATIONS_85.get(service, ())


class Asdk:
    """Runs ASDK methods against a store for an authenticated user."""

    def __init__(self, store, writers):
        self.store = store
        self.writers = frozenset(w.lower() for w in writers)

    def can_write(self, user):
        return (user or "").lower() in self.writers

    def call(self, method, args, user):
        """The method's result, or AsdkFault. ``args`` holds every parameter (None when absent)."""
        if method.write and not self.can_write(user):
            raise AsdkFault(INSUFFICIENT_PERMISSION, "User %s has insufficient permission to execute command %s."
                            % (user, method.name))
        with self.store.lock:
            return method.handler(self.store, **args)
