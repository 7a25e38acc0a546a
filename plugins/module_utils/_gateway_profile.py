# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Internet Gateway's settings through a gateway profile: load, read, check, plan. No I/O.

KB 440752 names "Troubleshooting mode" and "Allow ephemeral certificates authentication" as settings of Internet
Gateway Manager, KB 440283 puts the listener port there, and KB 216202 turns "Status reporting" on; where the
gateway stores any of them is not publicly documented. A *gateway profile* says where, for one IG version: an XML
file (an XPath and an attribute, or the element's text) or registry values. The role reads the store, checks here
that every setting of the profile exists on the host, and writes only when it does.

Profile (YAML file or dict)::

    name: ig-8.8.1-corp
    store: xml_file                      # or registry
    root: InternetGateway                # xml_file: the document element the file must have
    path: C:\\ProgramData\\...\\config.xml  # xml_file, optional: the file (internet_gateway_config_path wins)
    settings:
      listener_port: {xpath: /InternetGateway/Listener, attribute: port, type: int}
      status_reporting: {xpath: /InternetGateway/StatusReporting, attribute: enabled, type: bool,
                         "true": "true", "false": "false"}
    # store: registry
    #   troubleshooting_mode: {key: 'HKLM:\\SOFTWARE\\Vendor\\IG', value: TroubleshootingMode, type: bool,
    #                          "true": 1, "false": 0, reg_type: dword}

XPaths are a subset that ElementTree (here) and .NET's SelectNodes (community.windows.win_xml on the host) read
the same way: ``/``- or ``//``-separated element names or ``*``, each with optional ``[@attr]``, ``[@attr='v']``
or ``[n]`` predicates. A path that does not start with ``/`` is relative to the document element. Documents in
an XML namespace are refused: win_xml could not select their elements with such paths.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import xml.etree.ElementTree as ET

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import coerce_value, load_profile_data
from ansible_collections.itms.cem.plugins.module_utils._xml import local_name, parse_with_comments

STORES = ("xml_file", "registry")
SETTING_TYPES = ("int", "str", "bool")
REG_TYPES = ("dword", "qword", "string", "expandstring")
HOW_TO = ("Write the gateway profile from the host: change the setting in Internet Gateway Manager while Process "
          "Monitor records the files and registry values it writes (see docs/internet-gateway.md).")
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_PREDICATE = r"\[(?:@%s(?:=(?:'[^'\]]*'|\"[^\"\]]*\"))?|[1-9][0-9]*)\]" % _NAME
_STEP = r"(?:\*|%s)(?:%s)*" % (_NAME, _PREDICATE)
_XPATH = re.compile(r"^(?://?)?%s(?://?%s)*$" % (_STEP, _STEP))
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DOCUMENT = "{urn:itms-cem:gateway-profile}document"  # a parent for the root, so absolute paths can be found


class SettingSpec:
    """Where one setting lives and how its stored text or value maps to a typed value."""

    def __init__(self, name, kind, true, false, xpath=None, attribute=None, key=None, value=None, reg_type=None):
        self.name = name
        self.kind = kind
        self.true = true
        self.false = false
        self.xpath = xpath
        self.attribute = attribute
        self.key = key
        self.value = value
        self.reg_type = reg_type

    def where(self):
        if self.key is not None:
            return "registry key %s value %s" % (self.key, self.value)
        return "XPath %s%s" % (self.xpath, " (attribute %s)" % self.attribute if self.attribute else " (text)")

    def to_dict(self):
        data = {"type": self.kind}
        if self.kind == "bool":
            data.update({"true": self.true, "false": self.false})
        if self.key is not None:
            data.update(key=self.key, value=self.value, reg_type=self.reg_type)
        else:
            data.update(xpath=self.xpath, attribute=self.attribute)
        return data


class GatewayProfile:
    def __init__(self, name, store, root, path, settings, origin):
        self.name = name
        self.store = store
        self.root = root
        self.path = path
        self.settings = settings
        self.origin = origin

    def names(self):
        return sorted(self.settings)

    def to_dict(self):
        """The normalized profile (defaults filled in, absolute XPaths): what the role loops over."""
        return dict(name=self.name, store=self.store, root=self.root, path=self.path,
                    settings=dict((name, self.settings[name].to_dict()) for name in self.names()))


# --------------------------------------------------------------------------- loading

def _text(value, what, origin, required=True):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("The gateway profile from %s needs %s as a non-empty string." % (origin, what))
    return value.strip()


def absolute_xpath(xpath, root):
    """The XPath from the document node (what win_xml needs); a relative one starts at the document element."""
    return xpath if xpath.startswith("/") else "/%s/%s" % (root, xpath)


def check_xpath(xpath, what="xpath", origin="the task"):
    """``xpath`` if it is inside the supported subset, else InputError saying what the subset is."""
    if not isinstance(xpath, str) or not _XPATH.match(xpath.strip()):
        raise InputError("%s %r in the gateway profile from %s is outside the XPath subset the role supports: element "
                         "names or * separated by / or //, each with optional [@attr], [@attr='value'] or [n]; no "
                         "axes, functions, namespace prefixes or trailing /@attr (put the attribute name in "
                         "'attribute')." % (what, xpath, origin))
    return xpath.strip()


def _bool_words(entry, store, what, origin):
    default_true, default_false = ("true", "false") if store == "xml_file" else (1, 0)
    # YAML reads unquoted true/false keys as booleans; accept both spellings of the key.
    true = entry.get("true", entry.get(True, default_true))
    false = entry.get("false", entry.get(False, default_false))
    allowed = (str,) if store == "xml_file" else (str, int)
    for word in (true, false):
        if isinstance(word, bool) or not isinstance(word, allowed) or (isinstance(word, str) and not word.strip()):
            raise InputError("%s in the gateway profile from %s needs the stored %s for true and false (quote them in "
                             "YAML: \"true\": \"1\")." % (what, origin, "text" if store == "xml_file" else "value"))
    if str(true).strip().lower() == str(false).strip().lower():
        raise InputError("%s in the gateway profile from %s stores true and false the same way (%r)." % (what, origin, true))
    return true, false


def _setting(name, entry, store, root, origin):
    what = "settings.%s" % name
    if not _SETTING_NAME.match(name):
        raise InputError("Setting name %r in the gateway profile from %s must be lower case letters, digits and _."
                         % (name, origin))
    if not isinstance(entry, dict):
        raise InputError("%s in the gateway profile from %s is not a mapping." % (what, origin))
    kind = entry.get("type", "str")
    if kind not in SETTING_TYPES:
        raise InputError("%s in the gateway profile from %s has type %r; use one of %s."
                         % (what, origin, kind, ", ".join(SETTING_TYPES)))
    true, false = _bool_words(entry, store, what, origin) if kind == "bool" else (None, None)
    if store == "xml_file":
        xpath = absolute_xpath(check_xpath(_text(entry.get("xpath"), what + ".xpath", origin), what + ".xpath", origin),
                               root)
        attribute = _text(entry.get("attribute"), what + ".attribute", origin, required=False)
        if attribute is not None and not re.match("^%s$" % _NAME, attribute):
            raise InputError("%s.attribute %r in the gateway profile from %s is not an attribute name."
                             % (what, attribute, origin))
        return SettingSpec(name, kind, true, false, xpath=xpath, attribute=attribute)
    key = _text(entry.get("key"), what + ".key", origin)
    if not key.upper().startswith("HK"):
        raise InputError("%s.key %r in the gateway profile from %s must start with the hive, as in HKLM:\\SOFTWARE\\..."
                         % (what, key, origin))
    value = _text(entry.get("value"), what + ".value", origin)
    reg_type = entry.get("reg_type")
    if reg_type is None:
        sample = true if kind == "bool" else None
        reg_type = "dword" if kind == "int" or isinstance(sample, int) else "string"
    if reg_type not in REG_TYPES:
        raise InputError("%s.reg_type %r in the gateway profile from %s is not one of %s."
                         % (what, reg_type, origin, ", ".join(REG_TYPES)))
    return SettingSpec(name, kind, true, false, key=key, value=value, reg_type=reg_type)


def load_gateway_profile(spec):
    """A GatewayProfile from a YAML file path or a dict; InputError that says what is wrong."""
    data, origin = load_profile_data(spec, "gateway profile", "internet_gateway_profile")
    if data is None:
        raise InputError("No gateway profile was given (internet_gateway_profile).",
                         hint="Where the Internet Gateway keeps its settings is not publicly documented, so the "
                              "collection ships none. " + HOW_TO)
    origin = "the task" if isinstance(spec, dict) else origin
    store = data.get("store")
    if store not in STORES:
        raise InputError("The gateway profile from %s has store %r; use xml_file or registry." % (origin, store))
    root = None
    if store == "xml_file":
        root = _text(data.get("root"), "root (the document element of the file)", origin)
        if not re.match("^%s$" % _NAME, root):
            raise InputError("root %r in the gateway profile from %s is not an element name." % (root, origin))
    path = _text(data.get("path"), "path", origin, required=False)
    entries = data.get("settings")
    if not isinstance(entries, dict) or not entries:
        raise InputError("The gateway profile from %s has no 'settings' mapping." % origin)
    settings = dict((str(name), _setting(str(name), entry, store, root, origin)) for name, entry in entries.items())
    name = str(data.get("name") or origin)
    return GatewayProfile(name, store, root, path, settings, origin)


# --------------------------------------------------------------------------- typed values

def _same(stored, word):
    if isinstance(stored, int) and not isinstance(stored, bool) and isinstance(word, int):
        return stored == word
    return str(stored).strip().lower() == str(word).strip().lower()


def typed(spec, raw):
    """(value, problem) for what the store holds: the setting's typed value, or why it cannot be read."""
    if spec.kind == "bool":
        if _same(raw, spec.true):
            return True, None
        if _same(raw, spec.false):
            return False, None
        return None, "has %r, neither %r (true) nor %r (false)" % (raw, spec.true, spec.false)
    if spec.kind == "int":
        if isinstance(raw, bool):
            return None, "has %r, not a whole number" % raw
        if isinstance(raw, int):
            return raw, None
        try:
            return int(str(raw).strip()), None
        except ValueError:
            return None, "has %r, not a whole number" % raw
    return raw if isinstance(raw, str) else str(raw), None


def coerce(spec, value):
    """A desired value checked against the setting's type; InputError naming the setting."""
    value = coerce_value(spec.kind, value, "Setting %s" % spec.name)
    if spec.name == "listener_port" and not 0 < value < 65536:
        raise InputError("Setting listener_port must be a TCP port (1-65535), not %d." % value)
    return value


def stored(spec, value, store):
    """How a typed value is written: text for an XML file, the value for the registry."""
    if spec.kind == "bool":
        word = spec.true if value else spec.false
        return str(word) if store == "xml_file" else word
    if spec.kind == "int":
        return str(value) if store == "xml_file" else int(value)
    return str(value)


def desired_settings(profile, desired):
    """The desired values by the profile's names, typed; None values are left alone."""
    desired = desired or {}
    if not isinstance(desired, dict):
        raise InputError("The desired gateway settings must be a dictionary of setting name to value.")
    unknown = sorted(set(str(k) for k in desired) - set(profile.settings))
    if unknown:
        raise InputError("The gateway profile %r does not map the setting(s) %s, so they cannot be set."
                         % (profile.name, ", ".join(unknown)),
                         hint="It maps: %s. %s" % (", ".join(profile.names()), HOW_TO))
    return dict((str(k), coerce(profile.settings[str(k)], v)) for k, v in desired.items() if v is not None)


# --------------------------------------------------------------------------- reading a store

def _xml_bytes(content):
    """The document from text, bytes, or an ansible.builtin.slurp result (base64)."""
    if isinstance(content, dict):
        if "content" not in content:
            raise InputError("The config content is a mapping without 'content': pass the file's text or the "
                             "result of ansible.builtin.slurp / ansible.windows.slurp.")
        data = content["content"]
        if content.get("encoding", "base64") == "base64":
            try:
                return base64.b64decode(data, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise InputError("The slurped config content is not valid base64.")
        return data.encode("utf-8") if isinstance(data, str) else data
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.lstrip("\ufeff").encode("utf-8")
    raise InputError("The config content must be text or a slurp result, not %s." % type(content).__name__)


def _parse(data):
    """(root, problem): the document element of ``data`` (bytes) with comments kept."""
    if not data.strip():
        return None, "the config file is empty"
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        parser.feed(data)
        return parser.close(), None
    except ET.ParseError as exc:
        return None, "the config file is not well-formed XML (%s)" % exc


class _Found(object):
    """What reading a store found: the settings, and for each missing one why."""

    def __init__(self):
        self.settings, self.missing, self.problems = {}, [], []

    def miss(self, name, problem):
        self.missing.append(name)
        self.problems.append(problem)

    def take(self, name, spec, raw):
        value, why = typed(spec, raw)
        if why:
            self.miss(name, "%s at %s %s" % (name, spec.where(), why))
        else:
            self.settings[name] = value

    def result(self):
        return dict(settings=self.settings, missing=self.missing, problems=self.problems)


def read_xml(content, profile):
    """dict(settings, missing, problems): every setting found, and every one that is not, with where."""
    root, problem = _parse(_xml_bytes(content))
    everything = profile.names()
    if root is None:
        return dict(settings={}, missing=everything, problems=[problem])
    if isinstance(root.tag, str) and root.tag.startswith("{"):
        return dict(settings={}, missing=everything, problems=[
            "the document element <%s> is in the XML namespace %s; the profile's XPaths (and win_xml) need a document "
            "without a namespace" % (local_name(root.tag), root.tag[1:].split("}")[0])])
    if root.tag != profile.root:
        return dict(settings={}, missing=everything, problems=[
            "the document element is <%s>, the profile expects <%s>" % (root.tag, profile.root)])
    document = ET.Element(_DOCUMENT)
    document.append(root)
    found = _Found()
    for name in everything:
        spec = profile.settings[name]
        nodes = document.findall("." + spec.xpath)
        if len(nodes) != 1:
            found.miss(name, "missing %s at XPath %s" % (name, spec.xpath) if not nodes else
                       "%s: XPath %s matches %d elements; make it select one" % (name, spec.xpath, len(nodes)))
            continue
        raw = nodes[0].get(spec.attribute) if spec.attribute else (nodes[0].text or "")
        if raw is None:
            found.miss(name, "missing %s at XPath %s: the element has no attribute %s" % (name, spec.xpath, spec.attribute))
            continue
        found.take(name, spec, raw)
    return found.result()


def read_registry(content, profile):
    """The same from a mapping of setting name to an ansible.windows.win_reg_stat result (or the bare value)."""
    if not isinstance(content, dict):
        raise InputError("For a registry gateway profile the content must map each setting name to the "
                         "ansible.windows.win_reg_stat result of its value.")
    found = _Found()
    for name in profile.names():
        spec = profile.settings[name]
        entry = content.get(name)
        raw = entry.get("value") if isinstance(entry, dict) and entry.get("exists") else (None if isinstance(entry, dict) else entry)
        if raw is None:
            found.miss(name, "missing %s at %s" % (name, spec.where()))
            continue
        found.take(name, spec, raw)
    return found.result()


def read(content, profile):
    return read_xml(content, profile) if profile.store == "xml_file" else read_registry(content, profile)


# --------------------------------------------------------------------------- plan and the lab's write

def plan(current, desired, profile):
    """The settings whose desired value differs from the current one, sorted by name, ready for one write each.

    Each change: name, before, after, data (what is written), and where: xpath/attribute/node_type (win_xml's
    ``type``) for an XML file, key/value/reg_type for the registry.
    """
    changes = []
    for name in sorted(desired):
        spec = profile.settings[name]
        if name in current and current[name] == desired[name]:
            continue
        change = dict(name=name, before=current.get(name), after=desired[name],
                      data=stored(spec, desired[name], profile.store))
        if profile.store == "xml_file":
            change.update(xpath=spec.xpath, attribute=spec.attribute,
                          node_type="attribute" if spec.attribute else "text")
        else:
            change.update(key=spec.key, value=spec.value, reg_type=spec.reg_type)
        changes.append(change)
    return changes


def render_xml(content, changes):
    """The UTF-8 document with ``changes`` written in; None when it is not UTF-8.

    The XML declaration, the document element and everything in it (comments included) are kept; comments outside
    the document element are not. Only the lab writes this (a real gateway is written by win_xml, change by change).
    """
    data = _xml_bytes(content)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    declaration = re.match(r"\s*(<\?xml[^>]*\?>)", text)
    if declaration and not re.search(r"encoding\s*=\s*[\"'](utf-?8)[\"']", declaration.group(1), re.I) \
            and "encoding" in declaration.group(1):
        return None
    root = parse_with_comments(text)
    document = ET.Element(_DOCUMENT)
    document.append(root)
    for change in changes:
        node = document.find("." + change["xpath"])
        if change["attribute"]:
            node.set(change["attribute"], change["data"])
        else:
            node.text = change["data"]
    rendered = ET.tostring(root, encoding="unicode")
    if declaration:
        rendered = declaration.group(1) + "\n" + rendered
    return rendered + ("\n" if text.endswith("\n") else "")


def settings_report(content, profile_spec, desired=None):
    """The filter's answer: the profile normalized, the settings read, what is missing, and the changes."""
    profile = load_gateway_profile(profile_spec)
    wanted = desired_settings(profile, desired)
    result = dict(profile=profile.to_dict(), settings={}, missing=[], problems=[], changes=[], updated_xml=None)
    if content is None:
        return result
    result.update(read(content, profile))
    if not result["missing"] and wanted:
        result["changes"] = plan(result["settings"], wanted, profile)
        if result["changes"] and profile.store == "xml_file":
            result["updated_xml"] = render_xml(content, result["changes"])
    return result
