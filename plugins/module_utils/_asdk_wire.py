# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ASDK's wire format: the methods the collection sends, request bodies, result parsers and faults. No I/O.

``METHODS`` lists every ASDK method the client sends, with its service, its parameter names exactly
as the 8.5.5713 WSDL spells them, the shape of its result, and whether it only reads. Requests go as
an HTTP form POST (``/Altiris/ASDK.NS/<Service>.asmx/<Method>``, the binding PoshAltiris uses) or as
SOAP 1.1 (namespace ``http://Altiris.ASDK.NS.com``); results are parsed into plain Python data and
faults into typed errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET
from collections import namedtuple
from urllib.parse import urlencode

from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, NotFound, VendorFault
from ansible_collections.itms.cem.plugins.module_utils._xml import child, children, escape, first, local_name

NAMESPACE = "http://Altiris.ASDK.NS.com"
LIBRARY = "ASDK.NS"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"

AsdkMethod = namedtuple("AsdkMethod", "service name params result read_only")

# Every ASDK method the collection sends. Parameter names and their order are the WSDL's
# (tests/unit/plugins/module_utils/test_asdk_contract.py checks them against the contract file);
# SOAP document/literal wants the elements in that order.
METHODS = dict((m.name, m) for m in (
    AsdkMethod("ItemManagementService", "GetItemByGuid", ("itemGuid",), "item_details", True),
    AsdkMethod("ItemManagementService", "GetItemsByName", ("itemName",), "item_details_list", True),
    AsdkMethod("ItemManagementService", "GetItemsByType", ("typeName",), "item_details_list", True),
    AsdkMethod("ItemManagementService", "GetItemsByNameAndType", ("name", "type"), "guids", True),
    AsdkMethod("ItemManagementService", "ItemExists", ("itemGuid",), "boolean", True),
    AsdkMethod("ItemManagementService", "ExportItemXmlString", ("itemGuid",), "string", True),
    AsdkMethod("ItemManagementService", "ImportItemXmlString", ("xml",), "void", False),
    AsdkMethod("ItemManagementService", "EnablePolicyItem", ("policyItemGuid",), "void", False),
    AsdkMethod("ItemManagementService", "DisablePolicyItem", ("policyItemGuid",), "void", False),
    AsdkMethod("ItemManagementService", "DeleteItem", ("itemGuid",), "void", False),
    AsdkMethod("ScopingManagementService", "GetResourceTargets", ("policyItemGuid",), "guids", True),
    AsdkMethod("ScopingManagementService", "AssignResourceTargetsToPolicy", ("policyItemGuid", "resourceTargetsGuids"),
               "void", False),
    AsdkMethod("ScopingManagementService", "CreateResourceTarget", ("configXml",), "guid", False),
    # PushPolicy(policy) takes an xs:guid; Guid is a SOAP parameter type but not one of the HTTP
    # GET/POST parameter types of ASP.NET web services (Microsoft KB 326791), so the client calls
    # PushPolicy2, the same method with a string parameter, which works over both bindings.
    AsdkMethod("ResourceManagementService", "PushPolicy2", ("policy",), "push_results", False),
))

# ItemDetails fields (ASDK CHM F_Altiris_ASDK_NS_ItemDetails_*) and the names modules return them as.
ITEM_FIELDS = (
    ("Guid", "guid"), ("Name", "name"), ("TypeName", "type_name"), ("LongTypeName", "long_type_name"),
    ("TypeGuid", "type_guid"), ("Enabled", "enabled"), ("ParentFolderGuid", "parent_folder_guid"),
    ("ParentFolderName", "parent_folder_name"), ("AppliedToResourceTargets", "applied_to_resource_targets"),
    ("Attributes", "attributes"), ("IsSchedulableItem", "is_schedulable_item"),
    ("ScheduleEnabled", "schedule_enabled"), ("ScheduleXml", "schedule_xml"),
    ("SharedScheduleGuid", "shared_schedule_guid"),
)
_ITEM_BOOL_FIELDS = frozenset(("Enabled", "IsSchedulableItem", "ScheduleEnabled"))
_ITEM_GUID_FIELDS = frozenset(("Guid", "TypeGuid", "ParentFolderGuid", "SharedScheduleGuid"))

# ASP.NET refuses a /<Method> URL before dispatching it when the HttpPost protocol is removed from web.config.
POST_REFUSED = re.compile(r"Request format is unrecognized for URL unexpectedly ending in", re.I)
# ASP.NET's own error page ("Server Error in '/Altiris/ASDK.NS' Application."): with customErrors
# mode="RemoteOnly", the default, a remote client gets it as a generic "Runtime Error" without the text above.
ASPNET_ERROR_PAGE = re.compile(r"Server Error in '[^']*' Application", re.I)
ASDK_EXCEPTION = re.compile(r"\b(ASDK[A-Za-z]*Exception)\b")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


# --------------------------------------------------------------------------- small helpers

def normalize_guid(value):
    """A GUID as the NS writes it: lower case, no braces. None for anything that is not a GUID."""
    if value is None:
        return None
    match = _GUID.match(str(value).strip())
    return match.group(1).lower() if match else None


def _text_bool(text):
    if text is None:
        return None
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def parse_xml(body, what):
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        snippet = body[:120].decode("utf-8", "replace") if isinstance(body, bytes) else str(body)[:120]
        raise VendorFault("The NS answered %s with XML that cannot be parsed (%s); it starts with %r." % (what, exc, snippet),
                          hint="A proxy or an IIS error page may be answering instead of the ASDK; try the URL in a "
                               "browser and check the ASDK logs in C:\\ProgramData\\Symantec\\SMP\\ASDK.")


# --------------------------------------------------------------------------- result parsers
# Each takes the result element (the POST binding's root element or SOAP's <MethodResult>) and
# returns plain Python data. ``None`` means the method returned nothing.

def parse_string(element):
    if element is None:
        return None
    return element.text or ""


def parse_boolean(element):
    if element is None:
        return None
    value = _text_bool(element.text)
    if value is None:
        raise VendorFault("The NS returned %r where a boolean was expected." % (element.text,))
    return value


def parse_guid(element):
    if element is None or not (element.text or "").strip():
        return None
    guid = normalize_guid(element.text)
    if guid is None:
        raise VendorFault("The NS returned %r where a GUID was expected." % (element.text,))
    return guid


def parse_guids(element):
    guids = []
    for node in children(element):
        guid = parse_guid(node)
        if guid is not None:
            guids.append(guid)
    return guids


def _item_value(field, element):
    kids = list(element)
    if kids:
        return [(k.text or "").strip() for k in kids]
    text = element.text
    if text is None or text == "":
        return None
    if field in _ITEM_BOOL_FIELDS:
        value = _text_bool(text)
        return text if value is None else value
    if field in _ITEM_GUID_FIELDS:
        return normalize_guid(text) or text
    return text


def parse_item_details(element):
    """An ItemDetails element as a dict with snake_case keys; fields the NS left out are None."""
    if element is None:
        return None
    raw = dict((local_name(node.tag), _item_value(local_name(node.tag), node)) for node in element)
    return dict((snake, raw.get(field)) for field, snake in ITEM_FIELDS)


def parse_item_details_list(element):
    return [parse_item_details(node) for node in children(element, "ItemDetails")]


def parse_push_results(element):
    results = []
    for node in children(element, "PushPolicyResult"):
        fields = dict((local_name(f.tag), (f.text or "").strip()) for f in node)
        results.append(dict(agent=normalize_guid(fields.get("Agent")) or fields.get("Agent"), status=fields.get("Status")))
    return results


PARSERS = dict(
    string=parse_string, boolean=parse_boolean, guid=parse_guid, guids=parse_guids,
    item_details=parse_item_details, item_details_list=parse_item_details_list,
    push_results=parse_push_results, void=lambda element: None,
)


# --------------------------------------------------------------------------- request building

def build_form_body(method, args):
    """``application/x-www-form-urlencoded`` body of the POST binding, in the WSDL's parameter order."""
    return urlencode([(name, "" if args.get(name) is None else str(args[name])) for name in method.params])


def build_soap_envelope(method, args):
    parts = []
    for name in method.params:
        value = args.get(name)
        parts.append("<%s>%s</%s>" % (name, "" if value is None else escape(value), name))
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:soap="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><%s xmlns="%s">%s</%s></soap:Body></soap:Envelope>'
            % (SOAP_ENV, method.name, NAMESPACE, "".join(parts), method.name)).encode("utf-8")


def soap_result_element(root, method):
    """The <MethodResult> element of a SOAP response (None for a void method)."""
    body = child(root, "Body")
    if body is None:
        raise VendorFault("The NS answered %s with a SOAP message that has no Body." % method.name)
    response = child(body, method.name + "Response")
    if response is None:
        names = ", ".join(local_name(c.tag) for c in body) or "nothing"
        raise VendorFault("The NS answered %s with %s instead of %sResponse." % (method.name, names, method.name))
    return child(response, method.name + "Result")


def fault_from_soap(root):
    """(exceptionType, message) of a SOAP fault, or None when the document is not a fault."""
    fault = first(root, "Fault")
    if fault is None:
        return None
    message = first(fault, "faultstring")
    message = (message.text or "").strip() if message is not None else None
    exception_type = first(fault, "exceptionType")
    exception_type = ((exception_type.text or "").strip() or None) if exception_type is not None else None
    if exception_type is None and message:
        found = ASDK_EXCEPTION.search(message)
        exception_type = found.group(1) if found else None
    return exception_type, message or "SOAP fault without a faultstring"


def fault_from_post_text(text):
    """(exceptionType, message) of the POST binding's plain-text HTTP 500 body."""
    found = ASDK_EXCEPTION.search(text)
    exception_type = found.group(1) if found else None
    message = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("at "):
            continue
        if exception_type and exception_type in line:
            message = line.split(exception_type, 1)[1].lstrip(":").strip()
            message = message.split(" ---> ")[0].strip()
            break
        if message is None:
            message = line
    if message and message.startswith("System.Web.Services.Protocols.SoapException:"):
        message = message.split(":", 1)[1].strip()
    return exception_type, (message or text.strip()[:300] or "HTTP 500 without a message")


def html_title(text):
    match = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    return match.group(1).strip() if match else None


def fault(method_name, status, body, username, scrub=str):
    """The typed error for an HTTP 4xx/5xx answer: a SOAP fault, the POST binding's text, or an HTML error page.

    ``scrub`` removes secrets from the NS's own message before it is quoted.
    """
    text = body.decode("utf-8", "replace")
    exception_type = message = None
    if text.lstrip().startswith("<"):
        try:
            found = fault_from_soap(ET.fromstring(body))
        except ET.ParseError:
            found = None
        if found:
            exception_type, message = found
    if message is None:
        if "<html" in text[:500].lower():
            message = html_title(text) or "an HTML error page"
        else:
            exception_type, message = fault_from_post_text(text)
    return map_fault(method_name, exception_type, scrub(message), status, username)


def map_fault(method_name, exception_type, message, status, username):
    """An ASDK fault (SOAP detail or POST 500 text) as a typed error."""
    message = (message or "").strip().rstrip(".")
    if exception_type == "ASDKDoesNotExistException":
        return NotFound("The NS says the item does not exist (%s: %s)." % (method_name, message),
                        hint="Check the GUID or name; find items with itms.cem.ns_item_info.")
    if exception_type == "ASDKInsufficientPermissionException":
        return AuthError("The NS refused %s for %s: the account lacks the NS role right (%s)." % (method_name, username, message),
                         hint="Give the account an NS security role with the right to change this item (for example "
                              "Symantec Administrators), or run the task with an account that has it.")
    if exception_type == "ASDKInvalidParameterException":
        return VendorFault("The NS rejected a parameter of %s: %s (%s)." % (method_name, message, exception_type),
                           hint="Check GUIDs and XML passed to the task.", exception_type=exception_type)
    if exception_type:
        return VendorFault("The NS failed %s: %s (%s)." % (method_name, message, exception_type),
                           hint="See the NS log (C:\\ProgramData\\Symantec\\SMP\\Logs\\a.log) and the ASDK logs "
                                "(C:\\ProgramData\\Symantec\\SMP\\ASDK).", exception_type=exception_type)
    return VendorFault("The NS failed %s with HTTP %d: %s." % (method_name, status, message),
                       hint="See the NS log (C:\\ProgramData\\Symantec\\SMP\\Logs\\a.log) for the cause.")
