# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client for the Notification Server: the ASDK web services.

``https://NS/Altiris/ASDK.NS/<Service>.asmx/<Method>`` as an HTTP form POST (the binding
PoshAltiris uses), falling back to SOAP 1.1 (namespace ``http://Altiris.ASDK.NS.com``) when the
NS refuses the POST binding; the fallback is remembered for the rest of the client's life.

Windows authentication through pyspnego (the library requests-ntlm is built on): NTLM,
Negotiate (SPNEGO, NTLM inside unless Kerberos is available) or Kerberos. The first request of
a session carries the NTLM negotiate token, which IIS accepts, so authenticating costs one extra
round trip instead of two; NTLM then holds for the kept-alive connection.

Every method the client sends is in ``METHODS`` with its service, its parameter names exactly as
the 8.5.5713 WSDL spells them, the shape of its result, and whether it only reads. Only methods
that only read are retried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET
from collections import namedtuple

from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, CemError, InputError, MissingDependency, NotFound, TransportError, VendorFault,
)

try:
    from urllib.parse import urlencode, urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 is not supported on the controller
    from urllib import urlencode  # type: ignore
    from urlparse import urlsplit, urlunsplit  # type: ignore

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
except ImportError:
    requests = None
    HTTPAdapter = object
    HAS_REQUESTS = False

try:
    import spnego
    from spnego.channel_bindings import GssChannelBindings

    HAS_SPNEGO = True
except ImportError:
    spnego = None
    GssChannelBindings = None
    HAS_SPNEGO = False

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # pragma: no cover - always present where modules run
    env_fallback = None


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
    AsdkMethod("ScopingManagementService", "GetResourceTargetMembership", ("resourceTargetGuid",), "guids", True),
    # PushPolicy(policy) takes an xs:guid; Guid is a SOAP parameter type but not one of the HTTP
    # GET/POST parameter types of ASP.NET web services (Microsoft KB 326791), so the client calls
    # PushPolicy2, the same method with a string parameter, which works over both bindings.
    AsdkMethod("ResourceManagementService", "PushPolicy2", ("policy",), "push_results", False),
    AsdkMethod("ResourceManagementService", "GetDataClassData", ("dataClass", "resourceGuid"), "dataset", True),
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

# Transient failures worth another try, for methods that only read.
RETRY_STATUSES = frozenset((502, 503, 504))
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0

BINDINGS = ("auto", "post", "soap")  # ns_binding; auto: POST, then SOAP once the NS refuses POST
AUTH_SCHEMES = {"ntlm": "NTLM", "negotiate": "Negotiate", "kerberos": "Negotiate"}

_POST_REFUSED = re.compile(r"Request format is unrecognized for URL unexpectedly ending in", re.I)
# ASP.NET's own error page ("Server Error in '/Altiris/ASDK.NS' Application."): with customErrors
# mode="RemoteOnly", the default, a remote client gets it as a generic "Runtime Error" without the text above.
_ASPNET_ERROR_PAGE = re.compile(r"Server Error in '[^']*' Application", re.I)
_ASDK_TYPE = re.compile(r"\b(ASDK[A-Za-z]*Exception)\b")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_XML_NAME_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})_")


# --------------------------------------------------------------------------- argument spec

def _fallback(*names):
    return (env_fallback, list(names)) if env_fallback is not None else None


NS_SPEC = dict(
    ns_url=dict(type="str", required=True, fallback=_fallback("ITMS_NS_URL")),
    ns_username=dict(type="str", fallback=_fallback("ITMS_NS_USERNAME")),
    ns_password=dict(type="str", no_log=True, fallback=_fallback("ITMS_NS_PASSWORD")),
    ns_auth=dict(type="str", default="ntlm", choices=["ntlm", "negotiate", "kerberos"]),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    ns_timeout=dict(type="int", default=60),
    ns_retries=dict(type="int", default=3),
    ns_binding=dict(type="str", default="auto", choices=list(BINDINGS), fallback=_fallback("ITMS_NS_BINDING")),
)
NS_OPTION_NAMES = tuple(sorted(NS_SPEC))


def ns_argument_spec(**extra):
    spec = copy.deepcopy(NS_SPEC)
    spec.update(extra)
    return spec


# --------------------------------------------------------------------------- small helpers

def local_name(tag):
    """An element's name without its namespace."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def normalize_guid(value):
    """A GUID as the NS writes it: lower case, no braces. None for anything that is not a GUID."""
    if value is None:
        return None
    match = _GUID.match(str(value).strip())
    return match.group(1).lower() if match else None


def is_guid(value):
    return normalize_guid(value) is not None


def decode_xml_name(name):
    """Undo .NET XmlConvert.EncodeName: ``Count_x0020_of_x0020_Computers`` -> ``Count of Computers``."""
    return _XML_NAME_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


def _text_bool(text):
    if text is None:
        return None
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def _children(element):
    return list(element) if element is not None else []


def _escape_text(value):
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _parse_xml(body, what):
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
    for child in _children(element):
        guid = parse_guid(child)
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
    raw = {}
    for child in element:
        raw[local_name(child.tag)] = _item_value(local_name(child.tag), child)
    item = dict((snake, raw.get(field)) for field, snake in ITEM_FIELDS)
    return item


def parse_item_details_list(element):
    return [parse_item_details(child) for child in _children(element) if local_name(child.tag) == "ItemDetails"]


def parse_push_results(element):
    results = []
    for child in _children(element):
        if local_name(child.tag) != "PushPolicyResult":
            continue
        fields = dict((local_name(f.tag), (f.text or "").strip()) for f in child)
        results.append(dict(agent=normalize_guid(fields.get("Agent")) or fields.get("Agent"), status=fields.get("Status")))
    return results


def parse_dataset(element):
    """A serialized .NET DataSet as ``{"columns": [...], "rows": [{column: value}]}``.

    Accepts the DataSet element itself, an element that holds it, or a string result whose text is
    the DataSet XML. Column names are XML-encoded (``Count_x0020_of_x0020_Computers``) and decoded
    here. An empty cell is missing from its row ("If the value of the cell is empty, then the
    column element will not be listed", ASDK CHM), so every row gets every column, None where missing.
    """
    if element is None:
        return dict(columns=[], rows=[])
    if not list(element) and (element.text or "").strip().startswith("<"):
        element = _parse_xml(element.text.strip().encode("utf-8"), "a DataSet")
    dataset = None
    for node in element.iter():
        if local_name(node.tag) == "NewDataSet":
            dataset = node
            break
    if dataset is None:
        dataset = element
    columns = []
    schema_columns = []
    for node in element.iter():
        if local_name(node.tag) == "schema":
            for decl in node.iter():
                if local_name(decl.tag) == "element" and decl.get("name") and decl.get("type") is not None:
                    schema_columns.append(decode_xml_name(decl.get("name")))
            break
    for name in schema_columns:
        if name not in columns:
            columns.append(name)
    rows = []
    for row in dataset:
        if local_name(row.tag) in ("schema", "diffgram"):
            continue
        cells = {}
        for cell in row:
            name = decode_xml_name(local_name(cell.tag))
            cells[name] = cell.text if cell.text is not None else ""
            if name not in columns:
                columns.append(name)
        rows.append(cells)
    return dict(columns=columns, rows=[dict((c, r.get(c)) for c in columns) for r in rows])


PARSERS = dict(
    string=parse_string, boolean=parse_boolean, guid=parse_guid, guids=parse_guids,
    item_details=parse_item_details, item_details_list=parse_item_details_list,
    push_results=parse_push_results, dataset=parse_dataset, void=lambda element: None,
)


# --------------------------------------------------------------------------- request building

def build_form_body(method, args):
    """``application/x-www-form-urlencoded`` body of the POST binding, in the WSDL's parameter order."""
    return urlencode([(name, "" if args.get(name) is None else str(args[name])) for name in method.params])


def build_soap_envelope(method, args):
    parts = []
    for name in method.params:
        value = args.get(name)
        parts.append("<%s>%s</%s>" % (name, "" if value is None else _escape_text(str(value)), name))
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<soap:Envelope xmlns:soap="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><%s xmlns="%s">%s</%s></soap:Body></soap:Envelope>'
            % (SOAP_ENV, method.name, NAMESPACE, "".join(parts), method.name)).encode("utf-8")


def soap_result_element(root, method):
    """The <MethodResult> element of a SOAP response (None for a void method)."""
    body = None
    for child in root:
        if local_name(child.tag) == "Body":
            body = child
            break
    if body is None:
        raise VendorFault("The NS answered %s with a SOAP message that has no Body." % method.name)
    response = None
    for child in body:
        if local_name(child.tag) == method.name + "Response":
            response = child
            break
    if response is None:
        names = ", ".join(local_name(c.tag) for c in body) or "nothing"
        raise VendorFault("The NS answered %s with %s instead of %sResponse." % (method.name, names, method.name))
    for child in response:
        if local_name(child.tag) == method.name + "Result":
            return child
    return None


def fault_from_soap(root):
    """(exceptionType, message) of a SOAP fault, or None when the document is not a fault."""
    fault = None
    for node in root.iter():
        if local_name(node.tag) == "Fault":
            fault = node
            break
    if fault is None:
        return None
    message = exception_type = None
    for node in fault.iter():
        name = local_name(node.tag)
        if name == "faultstring" and message is None:
            message = (node.text or "").strip()
        elif name == "exceptionType" and exception_type is None:
            exception_type = (node.text or "").strip() or None
    if exception_type is None and message:
        found = _ASDK_TYPE.search(message)
        exception_type = found.group(1) if found else None
    return exception_type, message or "SOAP fault without a faultstring"


def fault_from_post_text(text):
    """(exceptionType, message) of the POST binding's plain-text HTTP 500 body."""
    found = _ASDK_TYPE.search(text)
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


# --------------------------------------------------------------------------- authentication

class _Authenticator:
    """One pyspnego context per handshake; the token exchange over HTTP headers."""

    def __init__(self, auth, username, password, hostname):
        if not HAS_SPNEGO:
            raise MissingDependency("The Python library pyspnego is required for Windows authentication to the NS.",
                                    hint="Install it on the controller with 'pip install pyspnego requests-ntlm'.")
        if auth == "kerberos":
            try:
                import gssapi  # noqa: F401  pylint: disable=unused-import
            except ImportError:
                raise MissingDependency("ns_auth: kerberos needs the Python library gssapi and the MIT Kerberos "
                                        "libraries on the controller.",
                                        hint="Install them with 'pip install pyspnego[kerberos]' (and the krb5 "
                                             "packages of your OS), or use ns_auth: ntlm.")
        elif not (username and password):
            raise InputError("ns_auth: %s needs ns_username and ns_password (or ITMS_NS_USERNAME and "
                             "ITMS_NS_PASSWORD)." % auth,
                             hint="Write the user as DOMAIN\\user or user@domain.")
        self.auth = auth
        self.scheme = AUTH_SCHEMES[auth]
        self.username = username
        self._password = password
        self.hostname = hostname

    def context(self):
        options = spnego.NegotiateOptions.use_ntlm if self.auth == "ntlm" else spnego.NegotiateOptions.none
        protocol = {"ntlm": "ntlm", "negotiate": "negotiate", "kerberos": "kerberos"}[self.auth]
        return spnego.client(self.username, self._password, hostname=self.hostname, service="http",
                             protocol=protocol, options=options)

    def header(self, token):
        return "%s %s" % (self.scheme, base64.b64encode(token or b"").decode("ascii"))

    def challenge(self, response):
        """The server's token for our scheme in a 401, or None if it offers none."""
        offered = response.headers.get("WWW-Authenticate", "")
        for part in offered.split(","):
            part = part.strip()
            if part.lower().startswith(self.scheme.lower() + " "):
                try:
                    return base64.b64decode(part.split(" ", 1)[1].strip())
                except (TypeError, ValueError):
                    return None
        return None

    def offered(self, response):
        schemes = []
        for part in response.headers.get("WWW-Authenticate", "").split(","):
            name = part.strip().split(" ", 1)[0]
            if name and name not in schemes:
                schemes.append(name)
        return schemes


def _peer_certificate(response):
    """DER certificate of the TLS peer of a streamed response, for NTLM channel binding."""
    raw = getattr(response, "raw", None)
    sockets = []
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    if connection is not None:
        sockets.append(getattr(connection, "sock", None))
    try:
        sockets.append(raw._fp.fp.raw._sock)  # pylint: disable=protected-access
    except AttributeError:
        pass
    for sock in sockets:
        getpeercert = getattr(sock, "getpeercert", None)
        if getpeercert is None:
            continue
        try:
            der = getpeercert(True)
        except (ValueError, OSError):
            der = None
        if der:
            return der
    return None


def _certificate_hash(der):
    """RFC 5929 tls-server-end-point hash: the certificate's signature hash, SHA-256 for MD5/SHA-1."""
    algorithm = "sha256"
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else "sha256"
        if name not in ("md5", "sha1"):
            algorithm = name
    except Exception:  # an unknown signature algorithm still gets the RFC's default
        pass
    return hashlib.new(algorithm, der).digest()


# --------------------------------------------------------------------------- the client

class AsdkClient:
    """A session with one Notification Server's ASDK web services."""

    def __init__(self, ns_url, username=None, password=None, auth="ntlm", validate_certs=True, ca_path=None,
                 timeout=60, retries=3, session=None, sleep=time.sleep, binding="auto"):
        if not HAS_REQUESTS:
            raise MissingDependency("The Python library requests is required to talk to the NS.",
                                    hint="Install it on the controller with 'pip install requests pyspnego requests-ntlm'.")
        self.base_url, self.host = self._parse_url(ns_url)
        self.username = username
        self._password = password or None
        self.auth_name = auth
        self.timeout = int(timeout)
        self.retries = max(0, int(retries))
        self.warnings = []
        self._sleep = sleep
        if self.timeout <= 0:
            raise InputError("ns_timeout must be a positive number of seconds, not %s." % timeout)
        if ca_path and not os.path.exists(ca_path):
            raise InputError("ca_path %s does not exist." % ca_path,
                             hint="Give the PEM file (or c_rehash directory) of the CA that issued the NS certificate.")
        if not validate_certs:
            self.verify = False
            self.warnings.append("validate_certs is false: the NS certificate is not checked, so anyone on the path "
                                 "can impersonate the NS. Set ca_path to the issuing CA instead.")
        else:
            # requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE only in Session.request, which this
            # client does not use (it sends prepared requests), so they are honoured here.
            self.verify = ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        if self.base_url.startswith("http://"):
            self.warnings.append("ns_url uses http://: ASDK requests and results travel unencrypted. Use https://.")
        self._authenticator = None
        if auth:
            self._authenticator = _Authenticator(auth, username, self._password, self.host)
        self._authenticated = False
        self._channel_bindings = None
        if binding not in BINDINGS:
            raise InputError("ns_binding must be auto, post or soap, not %r." % (binding,))
        # auto: POST first, SOAP for the rest of the client's life once the NS refuses POST.
        self.binding_choice = binding
        self.binding = "soap" if binding == "soap" else "post"
        self.post_refusal = None  # how the NS refused POST: "request_format_unrecognized" or "error_page"
        self._post_answered = False
        self.asdk_calls = 0
        self.http_requests = 0
        self.server_headers = {}
        self.calls = []
        if session is None:
            session = requests.Session()
            # NTLM authenticates a connection: one kept-alive connection carries the whole session.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.trust_env = False
        self._session = session
        if not self.verify and HAS_REQUESTS:
            try:
                import urllib3

                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # already a module warning
            except ImportError:  # pragma: no cover
                pass

    # ----- URL and text hygiene

    @staticmethod
    def _parse_url(ns_url):
        if not ns_url or not isinstance(ns_url, str):
            raise InputError("ns_url is empty.", hint="Set ns_url (or ITMS_NS_URL) to https://<your NS host>.")
        url = ns_url.strip()
        if "://" not in url:
            url = "https://" + url
        parts = urlsplit(url)
        if "@" in parts.netloc:  # checked first: the URL is quoted in the next message
            raise InputError("ns_url holds credentials; they would end up in logs and results.",
                             hint="Remove them and set ns_username and ns_password instead.")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError("ns_url %r is not an http(s) URL of a host." % ns_url,
                             hint="Use https://ns.example.com; the client appends /Altiris/ASDK.NS/<Service>.asmx.")
        path = parts.path
        cut = path.lower().find("/altiris")
        if cut >= 0:
            path = path[:cut]  # a full service URL was given: keep what precedes /Altiris
        base = urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))
        return base, parts.hostname

    def _scrub(self, text):
        text = str(text)
        if self._password:
            text = text.replace(self._password, "********")
        return text

    @property
    def post_refused(self):
        """Whether this session switched to SOAP because the NS refused the POST binding."""
        return self.post_refusal is not None

    def service_url(self, service):
        return "%s/Altiris/%s/%s.asmx" % (self.base_url, LIBRARY, service)

    # ----- public API

    def call(self, _method, **args):
        """Call one ASDK method by name with keyword arguments named as in the WSDL (``name`` is one of them)."""
        return self._call(_method, None, args)

    def call_with_binding(self, _binding, _method, **args):
        """Call over one binding (``post`` or ``soap``) without falling back; for probing what the NS offers."""
        if _binding not in ("post", "soap"):
            raise InputError("Unknown ASDK binding %r." % _binding)
        return self._call(_method, _binding, args)

    def _call(self, name, binding, args):
        method = METHODS.get(name)
        if method is None:
            raise InputError("The client does not know the ASDK method %s." % name)
        unknown = sorted(set(args) - set(method.params))
        if unknown:
            raise InputError("ASDK method %s has no parameter(s) %s; it takes %s."
                             % (name, ", ".join(unknown), ", ".join(method.params)))
        self.asdk_calls += 1
        self.calls.append(name)
        attempts = 1 + (self.retries if method.read_only else 0)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._call_once(method, args, binding)
            except _Retryable as exc:
                if attempt >= attempts:
                    raise exc.final(method, attempt)
                self._sleep(min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** (attempt - 1))))

    def close(self):
        try:
            self._session.close()
        except Exception:  # closing must never mask the task's own result
            pass

    # ----- one attempt

    def _call_once(self, method, args, binding=None):
        if binding is not None:
            response = self._exchange(method, binding, args)
            if binding == "post" and self._post_refusal(method, response):
                raise PostBindingRefused.of(method, "the modules use SOAP 1.1 instead.")
            return self._result(method, binding, response)
        if self.binding == "post":
            response = self._exchange(method, "post", args)
            refusal = self._post_refusal(method, response)
            if refusal:
                if self.binding_choice == "post":
                    raise PostBindingRefused.of(method, "set ns_binding to soap (or auto).")
                # ASP.NET refused the request before dispatching it (the HttpPost protocol is removed
                # from web.config), so nothing ran and sending it again over SOAP is safe, writes included.
                self.binding = "soap"
                self.post_refusal = refusal
                if refusal == "error_page":
                    self.warnings.append(
                        "The NS answered the HTTP POST binding of %s with an ASP.NET error page whose details are hidden "
                        "(customErrors), before any POST had worked; the task used SOAP 1.1 instead. If the NS has no "
                        "POST binding, set ns_binding: soap to save that request; if it has one, see the ASDK logs."
                        % method.name)
            else:
                return self._result(method, "post", response)
        response = self._exchange(method, "soap", args)
        return self._result(method, "soap", response)

    def _post_refusal(self, method, response):
        """Why a POST answer means the NS does not take the POST binding, or None.

        ASP.NET refuses a ``/<Method>`` URL before dispatching it when the HttpPost protocol is removed
        from web.config: "Request format is unrecognized ...". A remote client sees that text only with
        customErrors off; with the default (RemoteOnly) it gets a generic error page. That page is taken
        as a refusal only where it is safe to send the call again over SOAP: for a read, before any POST
        of this client has been answered, and when the page names no ASDK exception.
        """
        if response.status_code < 400:
            self._post_answered = True
            return None
        text = response.text or ""
        if _POST_REFUSED.search(text):
            return "request_format_unrecognized"
        if (response.status_code == 500 and method.read_only and not self._post_answered and self.binding_choice != "post"
                and _ASPNET_ERROR_PAGE.search(text) and not _ASDK_TYPE.search(text)):
            return "error_page"
        return None

    def _exchange(self, method, binding, args):
        if binding == "post":
            url = "%s/%s" % (self.service_url(method.service), method.name)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            body = build_form_body(method, args)
        else:
            url = self.service_url(method.service)
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s/%s"' % (NAMESPACE, method.name)}
            body = build_soap_envelope(method, args)
        headers["Accept"] = "text/xml"
        prepared = self._session.prepare_request(requests.Request("POST", url, data=body, headers=headers))
        return self._send_authenticated(prepared, method)

    def _send(self, prepared, method):
        self.http_requests += 1
        try:
            response = self._session.send(prepared, timeout=(self.timeout, self.timeout), verify=self.verify,
                                          allow_redirects=False, stream=True)
            if self._authenticator is not None and self._channel_bindings is None and self.base_url.startswith("https"):
                der = _peer_certificate(response)
                if der:
                    self._channel_bindings = GssChannelBindings(
                        application_data=b"tls-server-end-point:" + _certificate_hash(der))
            response.content  # read it all so the connection goes back to the pool for the next leg
        except Exception as exc:  # requests' and urllib3's exception trees, mapped below
            raise self._transport_error(exc, method)
        return response

    def _send_authenticated(self, prepared, method):
        if self._authenticator is None:
            return self._send(prepared, method)
        if self._authenticated:
            response = self._send(prepared, method)
            if response.status_code != 401:
                return response
            # The kept-alive connection was closed and the new one is not authenticated yet.
            self._authenticated = False
        return self._handshake(prepared, method)

    def _first_token(self):
        auth = self._authenticator
        try:
            context = auth.context()
            return context, context.step()
        except MissingDependency:
            raise
        except Exception as exc:
            raise AuthError("Cannot start %s authentication as %s: %s." % (auth.auth, self.username, self._scrub(exc)),
                            hint=self._auth_hint())

    def _handshake(self, prepared, method):
        auth = self._authenticator
        context, token = self._first_token()
        prepared.headers["Authorization"] = auth.header(token)
        response = self._send(prepared, method)
        legs = 1
        restarted = False
        while response.status_code == 401 and legs < 5:
            server_token = auth.challenge(response)
            if server_token is None:
                offered = [o.lower() for o in auth.offered(response)]
                if legs == 1 and not restarted and auth.scheme.lower() in offered:
                    # The server answered our first token as if the request were anonymous (a server that
                    # does not take a token on a connection's first request): start over once.
                    restarted = True
                    context, token = self._first_token()
                    prepared.headers["Authorization"] = auth.header(token)
                    response = self._send(prepared, method)
                    legs += 1
                    continue
                break
            if context.complete:
                break
            try:
                token = context.step(server_token, channel_bindings=self._channel_bindings)
            except TypeError:  # pyspnego < 0.10 takes channel bindings only at construction
                token = context.step(server_token)
            except Exception as exc:
                raise AuthError("%s authentication as %s failed on the controller: %s."
                                % (auth.auth, self.username, self._scrub(exc)), hint=self._auth_hint())
            prepared.headers["Authorization"] = auth.header(token)
            response = self._send(prepared, method)
            legs += 1
        prepared.headers.pop("Authorization", None)
        if response.status_code == 401:
            offered = auth.offered(response)
            if offered and auth.scheme.lower() not in [o.lower() for o in offered]:
                raise AuthError("The NS does not offer %s authentication (it offers %s)." % (auth.scheme, ", ".join(offered)),
                                hint="Set ns_auth to match: negotiate or kerberos for Negotiate, ntlm for NTLM.")
            raise AuthError("The NS refused the credentials of %s (HTTP 401 from %s)." % (self.username, self.host),
                            hint=self._auth_hint())
        self._authenticated = True
        return response

    def _auth_hint(self):
        return ("Check ns_username (DOMAIN\\user or user@domain) and ns_password (or ITMS_NS_USERNAME / "
                "ITMS_NS_PASSWORD), that the account is not locked or expired, and that IIS on the NS has Windows "
                "authentication enabled for /Altiris/ASDK.NS.")

    def _transport_error(self, exc, method):
        # The connection is gone: the next request opens a new one, which NTLM has not authenticated.
        self._authenticated = False
        text = self._scrub(exc)
        where = self.service_url(method.service)
        if HAS_REQUESTS and isinstance(exc, requests.exceptions.SSLError):
            reason = re.search(r"(certificate verify failed: .*?)(?: \(_ssl\.c:\d+\)|'\)|\"\)|$)", text)
            return TransportError("TLS verification of the NS certificate failed for %s: %s."
                                  % (self.base_url, (reason.group(1) if reason else _short_reason(text)).strip().rstrip(".")),
                                  hint="Set ca_path to the PEM file of the CA that issued the NS certificate (a "
                                       "self-signed NS certificate is its own CA), and check that ns_url uses a name "
                                       "the certificate covers. validate_certs: false skips the check (not recommended).")
        if HAS_REQUESTS and isinstance(exc, (requests.exceptions.Timeout,)):
            return _Retryable("timed out after %ss" % self.timeout, where, timeout=True)
        if HAS_REQUESTS and isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            return _Retryable(_short_reason(text), where)
        if isinstance(exc, (OSError, ConnectionError)):
            return _Retryable(_short_reason(text), where)
        if isinstance(exc, CemError):
            return exc
        return TransportError("Request to %s failed: %s." % (where, text))

    # ----- results

    def _remember_server(self, response):
        for name in ("Server", "X-AspNet-Version", "X-Powered-By"):
            value = response.headers.get(name)
            if value:
                self.server_headers[name] = value

    def _result(self, method, binding, response):
        status = response.status_code
        self._remember_server(response)
        where = self.service_url(method.service)
        if status in RETRY_STATUSES:
            raise _Retryable("HTTP %d" % status, where, status=status)
        if status == 403:
            raise AuthError("The NS forbade %s to %s (HTTP 403 from %s)." % (method.name, self.username, where),
                            hint="IIS refused the request before the ASDK saw it: check IP restrictions, required "
                                 "client certificates and SSL settings of the Altiris/ASDK.NS application.")
        if status == 404:
            raise TransportError("The NS has no ASDK web service at %s (HTTP 404)." % where,
                                 hint="ns_url must be the NS base URL (https://ns.example.com); check that the ASDK "
                                      "(Altiris/ASDK.NS) is installed on that server.")
        if status >= 300 and status < 400:
            raise TransportError("The NS redirected %s to %s (HTTP %d)." % (where, response.headers.get("Location"), status),
                                 hint="Set ns_url to the address the NS redirects to (often https:// and the FQDN).")
        body = response.content or b""
        if status >= 400:
            raise self._fault(method, binding, status, body)
        if method.result == "void":
            return None
        if not body.strip():
            raise VendorFault("The NS answered %s with an empty body where %s was expected." % (method.name, method.result))
        root = _parse_xml(body, method.name)
        if binding == "soap":
            element = soap_result_element(root, method)
        else:
            element = root
        return PARSERS[method.result](element)

    def _fault(self, method, binding, status, body):
        text = body.decode("utf-8", "replace")
        exception_type = message = None
        if text.lstrip().startswith("<"):
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                root = None
            fault = fault_from_soap(root) if root is not None else None
            if fault:
                exception_type, message = fault
        if message is None:
            if "<html" in text[:500].lower():
                message = _html_title(text) or "an HTML error page"
            else:
                exception_type, message = fault_from_post_text(text)
        return map_fault(method.name, exception_type, self._scrub(message), status, self.username)


class PostBindingRefused(VendorFault):
    """The NS answered the form POST binding with ASP.NET's "Request format is unrecognized"."""

    @classmethod
    def of(cls, method, remedy):
        return cls("The NS refuses the HTTP POST binding for %s." % method.name,
                   hint="The HttpPost protocol is removed from the ASDK web.config; " + remedy)


class _Retryable(Exception):
    """A transient failure; becomes a TransportError when no attempt is left."""

    def __init__(self, reason, where, status=None, timeout=False):
        super(_Retryable, self).__init__(reason)
        self.reason = reason
        self.where = where
        self.status = status
        self.timeout = timeout

    def final(self, method, attempts):
        tried = "after %d attempt%s" % (attempts, "" if attempts == 1 else "s")
        if method.read_only:
            hint = "Check that the NS and IIS are up and reachable from the controller; raise ns_timeout or ns_retries " \
                   "for a slow or busy NS."
        else:
            hint = ("%s changes the NS and is never retried: it may or may not have been applied. Run the task again; "
                    "it reads the current state first." % method.name)
        if self.status:
            return TransportError("The NS answered %s with HTTP %d (%s) %s." % (method.name, self.status, self.where, tried),
                                  hint=hint)
        return TransportError("Calling %s at %s failed: %s %s." % (method.name, self.where, self.reason, tried), hint=hint)


def _short_reason(text):
    for pattern in (r"Connection reset by peer", r"Connection refused", r"Connection aborted",
                    r"Name or service not known", r"Temporary failure in name resolution",
                    r"Remote end closed connection without response", r"No route to host", r"Network is unreachable"):
        if re.search(pattern, text, re.I):
            return pattern.lower()
    return text[:300]


def _html_title(text):
    match = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    return match.group(1).strip() if match else None


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


# --------------------------------------------------------------------------- higher-level reads

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


def item_matches_type(item, pattern):
    """Whether an item's TypeName or LongTypeName matches a type with ``%`` wildcards, case-insensitively."""
    if not pattern:
        return True
    regex = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.I | re.S)
    return any(regex.match(item.get(k) or "") for k in ("type_name", "long_type_name"))


# --------------------------------------------------------------------------- module glue

def client_from_params(params):
    return AsdkClient(
        params["ns_url"], username=params.get("ns_username"), password=params.get("ns_password"),
        auth=params.get("ns_auth") or "ntlm", validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"), timeout=params.get("ns_timeout") or 60,
        retries=params.get("ns_retries") if params.get("ns_retries") is not None else 3,
        binding=params.get("ns_binding") or "auto",
    )


def request_stats(client):
    return dict(asdk_calls=client.asdk_calls, http_requests=client.http_requests, binding=client.binding,
                post_binding_refused=client.post_refused, post_refusal=client.post_refusal, methods=list(client.calls))


def _warn(module, client):
    for warning in client.warnings:  # TLS and binding warnings, some learned during the task
        module.warn(warning)


def run_ns_module(module, run, client_factory=None):
    """Open the client, call ``run(module, client)`` -> (changed, result, diff), close, exit.

    Typed errors become ``fail_json`` with their actionable message.
    """
    client = None
    outcome = None
    try:
        client = (client_factory or client_from_params)(module.params)
        outcome = run(module, client)
    except CemError as exc:
        failure = exc.to_fail_json()
        if client is not None:
            _warn(module, client)
            failure["ns_requests"] = request_stats(client)
            client.close()
        module.fail_json(**failure)
    _warn(module, client)
    client.close()
    changed, result, diff = outcome
    result = dict(result)
    result["ns_requests"] = request_stats(client)
    if diff is not None:
        result["diff"] = diff
    module.exit_json(changed=changed, **result)
