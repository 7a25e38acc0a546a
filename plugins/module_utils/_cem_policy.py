# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The CEM settings policy: profile, reading the item XML, the plan, and the edited XML. No I/O.

The XML of the "Default Cloud-Enabled Management Settings Policy" item is not publicly
documented, so nothing here knows where a setting lives: a *policy profile* maps each logical
setting (``allow_cloud_communication``, the gateway list, ...) to an ElementTree path and an
optional attribute. The profile is checked against the exported XML before anything is written;
a mismatch lists every path that was not found.

Profile (YAML file or dict)::

    name: itms-lab
    policy:
      type_name: CEMSettingsPolicy          # the type for item lookups; % wildcards allowed
      default_name: Default Cloud-Enabled Management Settings Policy
    settings:
      allow_cloud_communication: {path: policyData/cemSettings, attribute: allowCloudCommunication,
                                  type: bool, true: "True", false: "False"}
    gateways:
      path: policyData/cemSettings/gateways  # the container element
      element: gateway                       # one child per gateway
      host: {attribute: host}                # or {path: child} for the text of a child element
      port: {attribute: port}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
import xml.etree.ElementTree as ET

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch, VendorFault
from ansible_collections.itms.cem.plugins.module_utils._profile import coerce_value, load_profile_data
from ansible_collections.itms.cem.plugins.module_utils._xml import local_name, namespaces, parse_with_comments, to_string

SETTING_TYPES = ("bool", "int", "str")
TARGETS_MODES = ("merge", "replace")
EXPORT_HINT = ("Export the policy's real XML with itms.cem.ns_item_info (option export_xml: true), find where each "
               "setting lives, and correct the policy profile.")


# --------------------------------------------------------------------------- profile

class SettingSpec:
    def __init__(self, key, path, attribute=None, kind="str", true="True", false="False"):
        self.key = key
        self.path = path
        self.attribute = attribute
        self.kind = kind
        self.true = true
        self.false = false

    def where(self):
        return "%s/@%s" % (self.path, self.attribute) if self.attribute else self.path


class FieldSpec:
    """Where a gateway's host or port sits relative to its element: an attribute, a child's text, or both."""

    def __init__(self, path=None, attribute=None):
        self.path = path
        self.attribute = attribute

    def where(self):
        parts = []
        if self.path:
            parts.append(self.path)
        if self.attribute:
            parts.append("@" + self.attribute)
        return "/".join(parts) or "text()"


class GatewaySpec:
    def __init__(self, path, element, host, port):
        self.path = path
        self.element = element
        self.host = host
        self.port = port


class PolicyProfile:
    def __init__(self, name, type_name, default_name, settings, gateways, origin):
        self.name = name
        self.type_name = type_name
        self.default_name = default_name
        self.settings = settings
        self.gateways = gateways
        self.origin = origin

    def setting_keys(self):
        return sorted(self.settings)


def _need_str(value, what, origin, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("The policy profile from %s needs %s as a non-empty string." % (origin, what))
    return value


def _check_path(path, what, origin):
    if path.startswith("/"):
        raise InputError("Path %r of %s in the policy profile from %s is absolute; paths are relative to the item's "
                         "root element (for example policyData/cemSettings)." % (path, what, origin))
    try:
        ET.Element("root").find(path)
    except (SyntaxError, KeyError, TypeError) as exc:  # ElementPath raises TypeError for an unclosed predicate
        raise InputError("Path %r of %s in the policy profile from %s is not a valid ElementTree path (%s)."
                         % (path, what, origin, exc.__class__.__name__))
    return path


def _field(entry, what, origin):
    if not isinstance(entry, dict) or not (entry.get("attribute") or entry.get("path")):
        raise InputError("%s in the policy profile from %s needs 'attribute' and/or 'path'." % (what, origin))
    path = entry.get("path")
    if path is not None:
        _check_path(_need_str(path, what + ".path", origin), what, origin)
    return FieldSpec(path=path, attribute=_need_str(entry.get("attribute"), what + ".attribute", origin, required=False))


def _validate(data, origin):
    if not isinstance(data, dict):
        raise InputError("The policy profile from %s is not a mapping." % origin)
    name = data.get("name") or os.path.basename(str(origin))
    policy = data.get("policy")
    if not isinstance(policy, dict):
        raise InputError("The policy profile from %s has no 'policy' mapping (type_name, default_name)." % origin)
    type_name = _need_str(policy.get("type_name"), "policy.type_name", origin)
    default_name = _need_str(policy.get("default_name"), "policy.default_name", origin, required=False)
    settings_data = data.get("settings") or {}
    if not isinstance(settings_data, dict):
        raise InputError("The 'settings' entry of the policy profile from %s is not a mapping." % origin)
    settings = {}
    for key, entry in settings_data.items():
        what = "settings.%s" % key
        if not isinstance(entry, dict):
            raise InputError("%s in the policy profile from %s is not a mapping (path, attribute, type)." % (what, origin))
        path = _check_path(_need_str(entry.get("path"), what + ".path", origin), what, origin)
        attribute = _need_str(entry.get("attribute"), what + ".attribute", origin, required=False)
        kind = entry.get("type", "str")
        if kind not in SETTING_TYPES:
            raise InputError("%s in the policy profile from %s has type %r; use one of %s."
                             % (what, origin, kind, ", ".join(SETTING_TYPES)))
        # YAML reads bare true/false keys as booleans; accept both spellings.
        true = entry.get("true", entry.get(True, "True"))
        false = entry.get("false", entry.get(False, "False"))
        if kind == "bool" and (not isinstance(true, str) or not isinstance(false, str) or true == false):
            raise InputError("%s in the policy profile from %s needs two different strings for true and false "
                             "(quote them in YAML: true: \"True\")." % (what, origin))
        settings[str(key)] = SettingSpec(str(key), path, attribute, kind, true, false)
    gateways = None
    gw = data.get("gateways")
    if gw is not None:
        if not isinstance(gw, dict):
            raise InputError("The 'gateways' entry of the policy profile from %s is not a mapping." % origin)
        path = _check_path(_need_str(gw.get("path"), "gateways.path", origin), "gateways", origin)
        element = _need_str(gw.get("element"), "gateways.element", origin)
        gateways = GatewaySpec(path, element, _field(gw.get("host"), "gateways.host", origin),
                               _field(gw.get("port"), "gateways.port", origin))
    return PolicyProfile(str(name), type_name, default_name, settings, gateways, origin)


def load_policy_profile(value):
    """A PolicyProfile from a YAML file path or a dict; InputError that says what is wrong."""
    data, origin = load_profile_data(value, "policy profile", "profile")
    if data is None:
        raise InputError("The CEM policy needs a policy profile (option profile).",
                         hint="The policy's XML is not publicly documented, so the collection ships no default. "
                              "Export the real XML with itms.cem.ns_item_info (export_xml: true) and write a profile "
                              "as described in docs/ns-and-cem-policy.md; set it once with module_defaults.")
    return _validate(data, "the task" if isinstance(value, dict) else origin)


# --------------------------------------------------------------------------- reading the XML

def parse_item_xml(xml_text):
    if not xml_text or not str(xml_text).strip():
        raise VendorFault("The NS exported an empty XML document for the policy.",
                          hint="Check the item in the console; an item that cannot be exported cannot be managed.")
    try:
        return parse_with_comments(xml_text)
    except ET.ParseError as exc:
        raise VendorFault("The policy XML exported by the NS cannot be parsed: %s." % exc)


def _field_node(element, field):
    """(node that holds the value, value or None)."""
    node = element.find(field.path) if field.path else element
    if node is None:
        return None, None
    if field.attribute:
        return node, node.get(field.attribute)
    return node, node.text


def _typed(spec, raw):
    """(value, problem) for a setting's raw text."""
    if spec.kind == "bool":
        if raw == spec.true or raw.strip().lower() == spec.true.strip().lower():
            return True, None
        if raw == spec.false or raw.strip().lower() == spec.false.strip().lower():
            return False, None
        return None, "has %r, neither %r nor %r" % (raw, spec.true, spec.false)
    if spec.kind == "int":
        try:
            return int(raw.strip()), None
        except ValueError:
            return None, "has %r, not a whole number" % raw
    return raw, None


def check_profile(root, profile):
    """Every profile path or attribute that the XML does not have, as readable strings."""
    missing = []
    for key in profile.setting_keys():
        spec = profile.settings[key]
        node = root.find(spec.path)
        if node is None:
            missing.append("settings.%s: element %s not found" % (key, spec.path))
        elif spec.attribute and node.get(spec.attribute) is None:
            missing.append("settings.%s: attribute %s not found on %s" % (key, spec.attribute, spec.path))
        else:
            raw = node.get(spec.attribute) if spec.attribute else (node.text or "")
            problem = _typed(spec, raw)[1]
            if problem:
                missing.append("settings.%s: %s %s" % (key, spec.where(), problem))
    gw = profile.gateways
    if gw is not None:
        container = root.find(gw.path)
        if container is None:
            missing.append("gateways: container element %s not found" % gw.path)
        else:
            for index, element in enumerate(container.findall(gw.element)):
                for label, field in (("host", gw.host), ("port", gw.port)):
                    node, value = _field_node(element, field)
                    if value is None or not value.strip():
                        missing.append("gateways.%s: %s not found on %s/%s[%d]"
                                       % (label, field.where(), gw.path, gw.element, index + 1))
                    elif label == "port" and not value.strip().isdigit():
                        missing.append("gateways.port: %s/%s[%d] has port %r, not a number"
                                       % (gw.path, gw.element, index + 1, value))
    return missing


def verify_profile(root, profile):
    """Raise ProfileMismatch listing every path that is not found."""
    missing = check_profile(root, profile)
    if missing:
        raise ProfileMismatch("The policy XML does not match the policy profile %r: %s."
                              % (profile.name, "; ".join(missing)), hint=EXPORT_HINT, missing=missing)


def read_state(root, profile):
    """Settings and gateways as the XML holds them (verify_profile first)."""
    settings = {}
    for key in profile.setting_keys():
        spec = profile.settings[key]
        node = root.find(spec.path)
        raw = node.get(spec.attribute) if spec.attribute else (node.text or "")
        settings[key] = _typed(spec, raw)[0]
    gateways = None
    if profile.gateways is not None:
        gateways = []
        for element in root.find(profile.gateways.path).findall(profile.gateways.element):
            host = _field_node(element, profile.gateways.host)[1].strip()
            port = int(_field_node(element, profile.gateways.port)[1].strip())
            gateways.append(dict(host=host, port=port))
    return dict(settings=settings, gateways=gateways)


# --------------------------------------------------------------------------- desired state

def coerce_setting(spec, value):
    return coerce_value(spec.kind, value, "settings.%s" % spec.key)


def desired_settings(profile, settings):
    """The task's settings checked against the profile and typed."""
    settings = settings or {}
    if not isinstance(settings, dict):
        raise InputError("settings must be a dictionary of setting name to value.")
    unknown = sorted(set(settings) - set(profile.settings))
    if unknown:
        raise InputError("The policy profile %r has no setting(s) %s." % (profile.name, ", ".join(unknown)),
                         hint="Settings it knows: %s." % (", ".join(profile.setting_keys()) or "none"))
    return dict((key, coerce_setting(profile.settings[key], value)) for key, value in settings.items()
                if value is not None)


def desired_gateways(profile, gateways):
    if gateways is None:
        return None
    if profile.gateways is None:
        raise InputError("The policy profile %r does not describe the gateway list, so gateways cannot be set."
                         % profile.name, hint=EXPORT_HINT)
    result = []
    seen = set()
    for index, entry in enumerate(gateways):
        if not isinstance(entry, dict) or not entry.get("host"):
            raise InputError("gateways[%d] needs a host." % index)
        host = str(entry["host"]).strip()
        try:
            port = int(entry.get("port") if entry.get("port") is not None else 443)
        except (TypeError, ValueError):
            raise InputError("gateways[%d] (%s) has port %r, not a number." % (index, host, entry.get("port")))
        if not 0 < port < 65536:
            raise InputError("gateways[%d] (%s) has port %d, outside 1-65535." % (index, host, port))
        key = (host.lower(), port)
        if key in seen:
            raise InputError("gateways lists %s:%d twice." % (host, port))
        seen.add(key)
        result.append(dict(host=host, port=port))
    return result


# --------------------------------------------------------------------------- plan

def _same_gateways(a, b):
    return [(g["host"].lower(), g["port"]) for g in a] == [(g["host"].lower(), g["port"]) for g in b]


def merge_targets(current, desired, mode):
    """The target GUID list to assign: ``merge`` adds to what is there, ``replace`` is exactly ``desired``."""
    if mode not in TARGETS_MODES:
        raise InputError("targets_mode must be merge or replace, not %r." % mode)
    if mode == "replace":
        result = []
        for guid in desired:
            if guid not in result:
                result.append(guid)
        return result
    result = list(current)
    for guid in desired:
        if guid not in result:
            result.append(guid)
    return result


class Plan:
    def __init__(self):
        self.enable = None            # True/False when Enable/DisablePolicyItem must run
        self.settings = {}            # key -> new value, for settings that change
        self.gateways = None          # the new list when it changes
        self.targets = None           # the new GUID list when it changes
        self.before = {}
        self.after = {}
        self.changes = []

    @property
    def xml_changed(self):
        return bool(self.settings) or self.gateways is not None

    @property
    def changed(self):
        return bool(self.changes)


def plan(current, desired, targets_mode="merge"):
    """Compare the current state with the desired one.

    ``current``: dict(enabled, settings, gateways, targets); ``desired``: dict(enabled (None = leave),
    settings (only the managed keys), gateways (None = leave), targets (None = leave; GUIDs)).
    """
    result = Plan()
    before = dict(enabled=current.get("enabled"), settings=dict(current.get("settings") or {}),
                  gateways=copy.deepcopy(current.get("gateways")), targets=list(current.get("targets") or []))
    after = copy.deepcopy(before)

    if desired.get("enabled") is not None and desired["enabled"] != before["enabled"]:
        result.enable = bool(desired["enabled"])
        after["enabled"] = result.enable
        result.changes.append("%s the policy" % ("enable" if result.enable else "disable"))

    for key in sorted(desired.get("settings") or {}):
        value = desired["settings"][key]
        if before["settings"].get(key) != value:
            result.settings[key] = value
            after["settings"][key] = value
            result.changes.append("set %s from %r to %r" % (key, before["settings"].get(key), value))

    gateways = desired.get("gateways")
    if gateways is not None and not _same_gateways(before["gateways"] or [], gateways):
        result.gateways = copy.deepcopy(gateways)
        after["gateways"] = copy.deepcopy(gateways)
        result.changes.append("set the gateways to %s" % (", ".join("%s:%d" % (g["host"], g["port"]) for g in gateways)
                                                          or "none"))

    targets = desired.get("targets")
    if targets is not None:
        new = merge_targets(before["targets"], targets, targets_mode)
        if set(new) != set(before["targets"]):
            result.targets = new
            after["targets"] = new
            added = [g for g in new if g not in before["targets"]]
            removed = [g for g in before["targets"] if g not in new]
            text = []
            if added:
                text.append("add target(s) %s" % ", ".join(added))
            if removed:
                text.append("remove target(s) %s" % ", ".join(removed))
            result.changes.append(" and ".join(text))
    result.before = before
    result.after = after
    return result


# --------------------------------------------------------------------------- writing the XML

def _set_field(element, field, value):
    node = element
    if field.path:
        node = element.find(field.path)
        if node is None:
            node = element
            for part in field.path.split("/"):
                child = node.find(part)
                if child is None:
                    child = ET.SubElement(node, part)
                node = child
    if field.attribute:
        node.set(field.attribute, value)
    else:
        node.text = value


def _gateway_tag(container, name):
    for node in container:
        if local_name(node.tag) == name:
            return node.tag
    if isinstance(container.tag, str) and container.tag.startswith("{") and ":" not in name:
        return container.tag.split("}")[0] + "}" + name
    return name


def apply_plan_to_xml(xml_text, profile, the_plan):
    """The item XML with the plan's settings and gateways written in; everything else kept."""
    root = parse_item_xml(xml_text)
    for key, value in the_plan.settings.items():
        spec = profile.settings[key]
        node = root.find(spec.path)
        if spec.kind == "bool":
            text = spec.true if value else spec.false
        else:
            text = str(value)
        if spec.attribute:
            node.set(spec.attribute, text)
        else:
            node.text = text
    if the_plan.gateways is not None:
        gw = profile.gateways
        container = root.find(gw.path)
        old = container.findall(gw.element)
        by_host = {}
        for element in old:
            host = (_field_node(element, gw.host)[1] or "").strip().lower()
            by_host.setdefault(host, element)
        position = list(container).index(old[0]) if old else len(container)
        tail = old[0].tail if old else None
        for element in old:
            container.remove(element)
        tag = _gateway_tag(container, gw.element) if not old else old[0].tag
        new_elements = []
        for gateway in the_plan.gateways:
            existing = by_host.pop(gateway["host"].lower(), None)
            element = copy.deepcopy(existing) if existing is not None else ET.Element(tag)
            _set_field(element, gw.host, gateway["host"])
            _set_field(element, gw.port, str(gateway["port"]))
            if tail is not None:
                element.tail = tail
            new_elements.append(element)
        for offset, element in enumerate(new_elements):
            container.insert(position + offset, element)
        if not new_elements and len(container) == 0:
            container.text = None
        elif new_elements and old and tail is not None and position + len(new_elements) == len(container):
            new_elements[-1].tail = old[-1].tail
    text = to_string(root, namespaces(xml_text))
    declaration = re.match(r"\s*(<\?xml[^>]*\?>)", xml_text)
    if declaration:
        text = declaration.group(1) + "\n" + text
    return text


def policy_view(state, profile):
    """A compact, JSON-friendly view of one side of the diff."""
    view = dict(enabled=state.get("enabled"), settings=dict(state.get("settings") or {}),
                targets=list(state.get("targets") or []))
    if profile.gateways is not None:
        view["gateways"] = copy.deepcopy(state.get("gateways") or [])
    return view
