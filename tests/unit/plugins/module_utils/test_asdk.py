# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ASDK client against a fake transport: request building for both bindings, every result
shape, fault mapping, the SOAP fallback, retry rules, TLS and NTLM (with pyspnego's own acceptor)."""
import base64
import json
import xml.etree.ElementTree as ET

import pytest
import requests
import spnego
from requests.structures import CaseInsensitiveDict

from urllib.parse import parse_qsl, quote, urlsplit

from ansible_collections.itms.cem.plugins.module_utils import _asdk, _asdk_wire, _ns_args, _ns_items
from ansible_collections.itms.cem.plugins.module_utils._xml import escape, local_name
from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, MissingDependency, NotFound, TransportError, VendorFault,
)

NS = _asdk_wire.NAMESPACE
PASSWORD = "Pa55-never-shown-4711"
POLICY = "5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10"
TARGET = "3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11"


# --------------------------------------------------------------------------- fake NS transport

def response(status=200, body=b"", headers=None, request=None):
    resp = requests.Response()
    resp.status_code = status
    resp._content = body if isinstance(body, bytes) else body.encode("utf-8")
    resp.headers = CaseInsensitiveDict(headers or {"Content-Type": "text/xml; charset=utf-8"})
    resp.encoding = "utf-8"
    resp.request = request
    resp.url = request.url if request is not None else None
    return resp


def post_xml(root, inner):
    return '<?xml version="1.0" encoding="utf-8"?>\n<%s xmlns="%s">%s</%s>' % (root, NS, inner, root)


def soap_xml(method, inner=None):
    result = "" if inner is None else "<%sResult>%s</%sResult>" % (method, inner, method)
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap:Body><%sResponse xmlns="%s">%s</%sResponse></soap:Body></soap:Envelope>' % (method, NS, result, method))


def soap_fault(exception_type, message):
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
            '<soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>%s</faultstring><detail>'
            '<exceptionType>%s</exceptionType><stackTrace /><innerException /></detail></soap:Fault></soap:Body>'
            '</soap:Envelope>' % (message, exception_type))


def post_fault(exception_type, message):
    return ("System.Web.Services.Protocols.SoapException: Server was unable to process request. ---> "
            "Altiris.ASDK.Common.%s: %s\n   at Altiris.ASDK.NS.ItemManagement.GetItemByGuid(String itemGuid)\n"
            % (exception_type, message))


REFUSED = ("System.InvalidOperationException: Request format is unrecognized for URL unexpectedly ending in "
           "'/GetItemByGuid'.\n   at System.Web.Services.Protocols.WebServiceHandlerFactory.CoreGetHandler(...)")


class Seen:
    """One request as the fake NS saw it."""

    def __init__(self, prepared):
        parts = urlsplit(prepared.url)
        self.url = prepared.url
        self.path = parts.path
        self.headers = dict(prepared.headers)
        body = prepared.body.decode("utf-8") if isinstance(prepared.body, bytes) else prepared.body
        self.body = body
        segments = parts.path.split("/")
        if segments[-1].endswith(".asmx"):
            self.binding = "soap"
            self.service = segments[-1][:-5]
            self.method = self.headers.get("SOAPAction", "").strip('"').rsplit("/", 1)[-1]
            root = ET.fromstring(body)
            call = root[0][0]
            self.params = [(local_name(c.tag), c.text or "") for c in call]
        else:
            self.binding = "post"
            self.service = segments[-2][:-5]
            self.method = segments[-1]
            self.params = parse_qsl(body, keep_blank_values=True)
        self.args = dict(self.params)


class FakeNS(requests.Session):
    """requests.Session whose send() answers from ``handler(seen)`` -> Response or raises."""

    def __init__(self, handler):
        super(FakeNS, self).__init__()
        self.handler = handler
        self.seen = []

    def send(self, request, **kwargs):
        self.last_kwargs = kwargs
        seen = Seen(request)
        self.seen.append(seen)
        answer = self.handler(seen)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer[:2]
        headers = answer[2] if len(answer) > 2 else None
        return response(status, body, headers, request)


def client_for(handler, **kwargs):
    session = FakeNS(handler)
    options = dict(username="LAB\\cemadmin", password=PASSWORD, auth=None, sleep=sleeps.append)
    options.update(kwargs)
    return _asdk.AsdkClient("https://ns.lab.example", session=session, **options), session


sleeps = []


@pytest.fixture(autouse=True)
def _reset_sleeps():
    del sleeps[:]


# --------------------------------------------------------------------------- request building

def test_form_post_request(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client, ns = client_for(lambda s: (200, post_xml("ArrayOfGuid", "<guid>%s</guid>" % POLICY)))
    assert client.call("GetItemsByNameAndType", name="Default CEM & <Policy>", type="%Policy") == [POLICY]
    seen = ns.seen[0]
    assert seen.url == "https://ns.lab.example/Altiris/ASDK.NS/ItemManagementService.asmx/GetItemsByNameAndType"
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.params == [("name", "Default CEM & <Policy>"), ("type", "%Policy")]
    assert ns.last_kwargs["verify"] is True and ns.last_kwargs["timeout"] == (60, 60)
    assert ns.last_kwargs["allow_redirects"] is False


def test_soap_request_escapes_and_orders_parameters():
    body = _asdk_wire.build_soap_envelope(_asdk_wire.METHODS["AssignResourceTargetsToPolicy"],
                                          dict(resourceTargetsGuids="a,b", policyItemGuid="<x&y>"))
    root = ET.fromstring(body)
    call = root[0][0]
    assert call.tag == "{%s}AssignResourceTargetsToPolicy" % NS
    assert [(local_name(c.tag), c.text) for c in call] == [("policyItemGuid", "<x&y>"), ("resourceTargetsGuids", "a,b")]


def test_unknown_method_or_parameter_is_refused_before_sending():
    client, ns = client_for(lambda s: (200, ""))
    with pytest.raises(InputError, match="does not know"):
        client.call("RunReport", reportItemGuid=POLICY)
    with pytest.raises(InputError, match="no parameter"):
        client.call("GetItemByGuid", guid=POLICY)
    assert ns.seen == []


@pytest.mark.parametrize("given,base", [
    ("https://ns.example.com", "https://ns.example.com"),
    ("https://ns.example.com/", "https://ns.example.com"),
    ("ns.example.com:8443", "https://ns.example.com:8443"),
    ("https://ns.example.com/Altiris/ASDK.NS/ItemManagementService.asmx", "https://ns.example.com"),
    ("https://proxy.example.com/ns1/altiris", "https://proxy.example.com/ns1"),
])
def test_base_url(given, base):
    client = _asdk.AsdkClient(given, username="u", password="p", auth=None, session=FakeNS(None))
    assert client.base_url == base
    assert client.service_url("ScopingManagementService") == base + "/Altiris/ASDK.NS/ScopingManagementService.asmx"


def test_url_with_credentials_is_refused_and_http_warns():
    for url in ("https://u:%s@ns" % PASSWORD, "ftp://u:%s@ns" % PASSWORD):
        with pytest.raises(InputError, match="credentials") as info:
            _asdk.AsdkClient(url, auth=None, session=FakeNS(None))
        assert PASSWORD not in str(info.value)
    client = _asdk.AsdkClient("http://ns", auth=None, session=FakeNS(None))
    assert any("unencrypted" in w for w in client.warnings)


def test_tls_options(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    client, ns = client_for(lambda s: (200, post_xml("boolean", "true")), ca_path=str(ca), timeout=7)
    client.call("ItemExists", itemGuid=POLICY)
    assert ns.last_kwargs["verify"] == str(ca) and ns.last_kwargs["timeout"] == (7, 7)
    client, ns = client_for(lambda s: (200, post_xml("boolean", "true")), validate_certs=False)
    client.call("ItemExists", itemGuid=POLICY)
    assert ns.last_kwargs["verify"] is False
    assert any("validate_certs is false" in w for w in client.warnings)
    with pytest.raises(InputError, match="does not exist"):
        client_for(None, ca_path=str(tmp_path / "missing.pem"))


def test_ca_bundle_from_the_environment_unless_ca_path(tmp_path, monkeypatch):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/pki/tls/certs/curl-bundle.crt")
    assert client_for(None)[0].verify == "/etc/pki/tls/certs/curl-bundle.crt"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/pki/tls/certs/ca-bundle.crt")
    assert client_for(None)[0].verify == "/etc/pki/tls/certs/ca-bundle.crt"
    assert client_for(None, ca_path=str(ca))[0].verify == str(ca)
    assert client_for(None, validate_certs=False)[0].verify is False
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE")
    assert client_for(None)[0].verify is True


# --------------------------------------------------------------------------- parsing every shape, both bindings

ITEM = ("<Guid>{5C1E6A44-1B51-4D77-9E0F-4F0A5D2B7C10}</Guid><Name>Default Cloud-Enabled Management Settings Policy</Name>"
        "<TypeName>CEMSettingsPolicy</TypeName><LongTypeName>Altiris.CEM.CEMSettingsPolicy</LongTypeName>"
        "<TypeGuid>0e0e9c1a-2a35-4a0c-9c62-7d3f1f6b7a10</TypeGuid><Enabled>false</Enabled>"
        "<ParentFolderName>Cloud-enabled Management Settings</ParentFolderName>"
        "<AppliedToResourceTargets><string>All Windows Computers</string></AppliedToResourceTargets>"
        "<IsSchedulableItem>false</IsSchedulableItem><ScheduleXml />")

SHAPES = [
    ("GetItemsByNameAndType", dict(name="x", type=""), "ArrayOfGuid",
     "<guid>%s</guid><guid>{%s}</guid>" % (POLICY, TARGET.upper()), [POLICY, TARGET]),
    ("GetItemsByNameAndType", dict(name="x", type=""), "ArrayOfGuid", "", []),
    ("ItemExists", dict(itemGuid=POLICY), "boolean", "true", True),
    ("ItemExists", dict(itemGuid=POLICY), "boolean", "false", False),
    ("CreateResourceTarget", dict(configXml="<resourceTarget/>"), "guid", TARGET.upper(), TARGET),
    ("ExportItemXmlString", dict(itemGuid=POLICY), "string", "&lt;item guid=\"{x}\"&gt;&lt;name&gt;A &amp;amp; B&lt;/name&gt;&lt;/item&gt;",
     '<item guid="{x}"><name>A &amp; B</name></item>'),
    ("ExportItemXmlString", dict(itemGuid=POLICY), "string", "", ""),
    ("PushPolicy2", dict(policy=POLICY), "ArrayOfPushPolicyResult",
     "<PushPolicyResult><Agent>%s</Agent><Status>Pushed</Status></PushPolicyResult>"
     "<PushPolicyResult><Agent>%s</Agent><Status>NotConnected</Status></PushPolicyResult>" % (TARGET, POLICY),
     [dict(agent=TARGET, status="Pushed"), dict(agent=POLICY, status="NotConnected")]),
]


@pytest.mark.parametrize("binding", ["post", "soap"])
@pytest.mark.parametrize("method,args,root,inner,expected", SHAPES)
def test_result_shapes(binding, method, args, root, inner, expected):
    def handler(seen):
        assert seen.binding == binding and seen.method == method
        return (200, post_xml(root, inner) if binding == "post" else soap_xml(method, inner))
    client, _ns = client_for(handler)
    client.binding = binding
    assert client.call(method, **args) == expected


@pytest.mark.parametrize("binding", ["post", "soap"])
def test_item_details_and_lists(binding):
    def handler(seen):
        if seen.method == "GetItemByGuid":
            return (200, post_xml("ItemDetails", ITEM) if binding == "post" else soap_xml("GetItemByGuid", ITEM))
        inner = "<ItemDetails>%s</ItemDetails><ItemDetails><Guid>%s</Guid><Name>CEM Pilot</Name></ItemDetails>" % (ITEM, TARGET)
        return (200, post_xml("ArrayOfItemDetails", inner) if binding == "post" else soap_xml("GetItemsByName", inner))
    client, _ns = client_for(handler)
    client.binding = binding
    item = client.call("GetItemByGuid", itemGuid=POLICY)
    assert item["guid"] == POLICY and item["enabled"] is False and item["type_name"] == "CEMSettingsPolicy"
    assert item["applied_to_resource_targets"] == ["All Windows Computers"]
    assert item["schedule_xml"] is None and item["shared_schedule_guid"] is None
    assert set(item) == set(snake for _f, snake in _asdk_wire.ITEM_FIELDS)
    items = client.call("GetItemsByName", itemName="x")
    assert [i["guid"] for i in items] == [POLICY, TARGET] and items[1]["enabled"] is None


@pytest.mark.parametrize("binding", ["post", "soap"])
def test_void_methods(binding):
    client, ns = client_for(lambda s: (200, "" if binding == "post" else soap_xml(s.method)))
    client.binding = binding
    assert client.call("EnablePolicyItem", policyItemGuid=POLICY) is None
    assert ns.seen[0].args == {"policyItemGuid": POLICY}


# --------------------------------------------------------------------------- faults

@pytest.mark.parametrize("binding", ["post", "soap"])
@pytest.mark.parametrize("exception_type,error,text", [
    ("ASDKDoesNotExistException", NotFound, "does not exist"),
    ("ASDKInsufficientPermissionException", AuthError, "the account lacks the NS role right"),
    ("ASDKInvalidParameterException", VendorFault, "rejected a parameter"),
    ("ASDKInvalidTypeException", VendorFault, "ASDKInvalidTypeException"),
    ("ASDKInternalException", VendorFault, "ASDKInternalException"),
])
def test_fault_mapping(binding, exception_type, error, text):
    message = "User LAB\\cemreader has insufficient permission to execute command GetItemByGuid."

    def handler(seen):
        if binding == "post":
            return (500, post_fault(exception_type, message), {"Content-Type": "text/plain; charset=utf-8"})
        return (500, soap_fault(exception_type, message))
    client, ns = client_for(handler)
    client.binding = binding
    with pytest.raises(error) as info:
        client.call("GetItemByGuid", itemGuid=POLICY)
    assert text in str(info.value) and "insufficient permission to execute command GetItemByGuid" in str(info.value)
    assert info.value.hint
    assert len(ns.seen) == 1  # a fault is an answer: never retried


def test_plain_500_and_html_error_page():
    client, _ns = client_for(lambda s: (500, "<html><head><title>Runtime Error</title></head><body>x</body></html>",
                                        {"Content-Type": "text/html"}))
    with pytest.raises(VendorFault, match="HTTP 500: Runtime Error"):
        client.call("ItemExists", itemGuid=POLICY)


@pytest.mark.parametrize("body", ["<ArrayOfGuid><guid>", "not xml at all", "<boolean xmlns='x'>maybe</boolean>"])
def test_malformed_xml_is_a_vendor_fault(body):
    client, ns = client_for(lambda s: (200, body))
    method = "ItemExists" if "boolean" in body else "GetResourceTargets"
    args = dict(itemGuid=POLICY) if method == "ItemExists" else dict(policyItemGuid=POLICY)
    with pytest.raises(VendorFault):
        client.call(method, **args)
    assert len(ns.seen) == 1


def test_http_404_403_and_redirect():
    for status, error, text in ((404, TransportError, "no ASDK web service"), (403, AuthError, "forbade"),
                                (302, TransportError, "redirected")):
        client, _ns = client_for(lambda s: (status, "", {"Location": "https://other/"}))
        with pytest.raises(error, match=text):
            client.call("ItemExists", itemGuid=POLICY)


# --------------------------------------------------------------------------- SOAP fallback

def test_post_refused_falls_back_to_soap_and_remembers():
    def handler(seen):
        if seen.binding == "post":
            return (500, REFUSED, {"Content-Type": "text/plain"})
        if seen.method == "GetItemByGuid":
            return (200, soap_xml("GetItemByGuid", ITEM))
        return (200, soap_xml(seen.method))
    client, ns = client_for(handler)
    assert client.call("GetItemByGuid", itemGuid=POLICY)["name"].startswith("Default")
    assert client.call("DisablePolicyItem", policyItemGuid=POLICY) is None
    assert [(s.binding, s.method) for s in ns.seen] == [("post", "GetItemByGuid"), ("soap", "GetItemByGuid"),
                                                        ("soap", "DisablePolicyItem")]
    soap = ns.seen[1]
    assert soap.url == "https://ns.lab.example/Altiris/ASDK.NS/ItemManagementService.asmx"
    assert soap.headers["SOAPAction"] == '"http://Altiris.ASDK.NS.com/GetItemByGuid"'
    assert soap.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert client.binding == "soap" and client.post_refused
    assert client.stats()["http_requests"] == 3


def test_explicit_binding_reports_refusal():
    client, _ns = client_for(lambda s: (500, REFUSED) if s.binding == "post" else (200, soap_xml("ItemExists", "false")))
    with pytest.raises(_asdk.PostBindingRefused):
        client.call_with_binding("post", "ItemExists", itemGuid=_asdk_wire.ZERO_GUID)
    assert client.binding == "post"  # probing does not switch the session
    assert client.call_with_binding("soap", "ItemExists", itemGuid=_asdk_wire.ZERO_GUID) is False


@pytest.mark.parametrize("method,args,result", [
    ("ItemExists", dict(itemGuid=POLICY), "true"),
    ("DisablePolicyItem", dict(policyItemGuid=POLICY), None),
])
def test_binding_soap_sends_soap_only(method, args, result):
    client, ns = client_for(lambda s: (500, REFUSED) if s.binding == "post" else (200, soap_xml(method, result)),
                            binding="soap")
    client.call(method, **args)
    client.call(method, **args)
    assert [s.binding for s in ns.seen] == ["soap", "soap"] and not client.post_refused
    assert client.stats()["binding"] == "soap"


RUNTIME_ERROR = ("<html><head><title>Runtime Error</title></head><body><span><H1>Server Error in '/Altiris/ASDK.NS' "
                 "Application.<hr></H1><h2> <i>Runtime Error</i> </h2></span> The current custom error settings for "
                 "this application prevent the details of the application error from being viewed remotely.</body></html>")


def test_hidden_refusal_of_post_on_a_first_read_falls_back_to_soap_and_warns():
    def handler(seen):
        if seen.binding == "post":
            return (500, RUNTIME_ERROR, {"Content-Type": "text/html; charset=utf-8"})
        return (200, soap_xml(seen.method, "true" if seen.method == "ItemExists" else None))
    client, ns = client_for(handler)
    assert client.call("ItemExists", itemGuid=POLICY) is True
    assert client.call("EnablePolicyItem", policyItemGuid=POLICY) is None
    assert [(s.binding, s.method) for s in ns.seen] == [("post", "ItemExists"), ("soap", "ItemExists"),
                                                        ("soap", "EnablePolicyItem")]
    assert client.post_refusal == "error_page" and "customErrors" in client.warnings[-1]
    assert "ns_binding: soap" in client.warnings[-1]


@pytest.mark.parametrize("case", ["write_first", "after_a_post_worked", "names_an_asdk_exception", "iis_page", "binding_post"])
def test_an_error_page_is_not_taken_for_a_refusal_where_resending_is_unsafe_or_post_works(case):
    page = RUNTIME_ERROR
    if case == "names_an_asdk_exception":
        page = RUNTIME_ERROR.replace("Runtime Error</i>", "Altiris.ASDK.Exceptions.ASDKInvalidParameterException</i>")
    if case == "iis_page":
        page = "<html><head><title>500 - Internal server error.</title></head><body>500</body></html>"
    answers = {"ok": (200, post_xml("boolean", "true")), "page": (500, page, {"Content-Type": "text/html"})}
    script = ["ok", "page"] if case == "after_a_post_worked" else ["page"]
    client, ns = client_for(lambda s: answers[script.pop(0)], binding="post" if case == "binding_post" else "auto")
    if case == "after_a_post_worked":
        client.call("ItemExists", itemGuid=POLICY)
    with pytest.raises(VendorFault):
        if case == "write_first":
            client.call("EnablePolicyItem", policyItemGuid=POLICY)
        else:
            client.call("ItemExists", itemGuid=POLICY)
    assert all(s.binding == "post" for s in ns.seen) and client.binding == "post" and not client.post_refused


def test_binding_post_fails_when_the_ns_refuses_post():
    client, ns = client_for(lambda s: (500, REFUSED) if s.binding == "post" else (200, soap_xml("ItemExists", "true")),
                            binding="post")
    with pytest.raises(_asdk.PostBindingRefused) as info:
        client.call("ItemExists", itemGuid=POLICY)
    assert "ns_binding" in info.value.hint and [s.binding for s in ns.seen] == ["post"]


def test_binding_choice_is_validated():
    with pytest.raises(InputError, match="ns_binding"):
        _asdk.AsdkClient("https://ns.lab.example", binding="rest", auth=None)
    assert _ns_args.NS_SPEC["ns_binding"]["choices"] == ["auto", "post", "soap"]
    assert _ns_args.NS_SPEC["ns_binding"]["default"] == "auto"


# --------------------------------------------------------------------------- retries

def scripted(*answers):
    queue = list(answers)

    def handler(seen):
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer
    return handler


OK_TARGETS = (200, post_xml("ArrayOfGuid", "<guid>%s</guid>" % TARGET))


@pytest.mark.parametrize("transient", [
    (503, "Service Unavailable"), (502, "Bad Gateway"), (504, "Gateway Timeout"),
    requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"),
    requests.exceptions.ReadTimeout("read timed out"),
])
def test_reads_are_retried_with_backoff(transient):
    client, ns = client_for(scripted(transient, transient, OK_TARGETS))
    assert client.call("GetResourceTargets", policyItemGuid=POLICY) == [TARGET]
    assert len(ns.seen) == 3 and sleeps == [0.5, 1.0]
    assert client.asdk_calls == 1 and client.http_requests == 3


@pytest.mark.parametrize("transient", [(503, ""), requests.exceptions.ConnectionError("Connection reset by peer"),
                                       requests.exceptions.ReadTimeout("read timed out")])
@pytest.mark.parametrize("method,args", [
    ("ImportItemXmlString", dict(xml="<item/>")),
    ("AssignResourceTargetsToPolicy", dict(policyItemGuid=POLICY, resourceTargetsGuids=TARGET)),
    ("EnablePolicyItem", dict(policyItemGuid=POLICY)),
    ("CreateResourceTarget", dict(configXml="<resourceTarget/>")),
    ("PushPolicy2", dict(policy=POLICY)),
])
def test_writes_are_never_retried(transient, method, args):
    client, ns = client_for(scripted(transient, (200, "")))
    with pytest.raises(TransportError) as info:
        client.call(method, **args)
    assert len(ns.seen) == 1 and sleeps == []
    assert "never retried" in info.value.hint and "may or may not" in info.value.hint


def test_retries_are_bounded():
    client, ns = client_for(lambda s: (503, "busy"), retries=2)
    with pytest.raises(TransportError, match="HTTP 503.*after 3 attempts"):
        client.call("ExportItemXmlString", itemGuid=POLICY)
    assert len(ns.seen) == 3 and sleeps == [0.5, 1.0]
    del sleeps[:]
    client, ns = client_for(lambda s: requests.exceptions.ConnectionError("Connection refused"), retries=6)
    with pytest.raises(TransportError, match="connection refused after 7 attempts"):
        client.call("ItemExists", itemGuid=POLICY)
    assert sleeps == [0.5, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0][1:] and len(ns.seen) == 7
    client, ns = client_for(lambda s: (503, "busy"), retries=0)
    with pytest.raises(TransportError):
        client.call("ItemExists", itemGuid=POLICY)
    assert len(ns.seen) == 1


def test_every_method_is_classified_and_writes_are_not_read_only():
    writes = set(n for n, m in _asdk_wire.METHODS.items() if not m.read_only)
    assert writes == {"ImportItemXmlString", "EnablePolicyItem", "DisablePolicyItem", "DeleteItem",
                      "AssignResourceTargetsToPolicy", "CreateResourceTarget", "PushPolicy2"}
    assert all(m.result in _asdk_wire.PARSERS for m in _asdk_wire.METHODS.values())


def test_tls_failure_says_to_set_ca_path():
    error = requests.exceptions.SSLError("HTTPSConnectionPool(host='ns', port=443): Max retries exceeded (Caused by "
                                         "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] "
                                         "certificate verify failed: self-signed certificate (_ssl.c:1006)')))")
    client, ns = client_for(lambda s: error)
    with pytest.raises(TransportError) as info:
        client.call("ItemExists", itemGuid=POLICY)
    assert "certificate verify failed: self-signed certificate" in str(info.value)
    assert "ca_path" in info.value.hint
    assert len(ns.seen) == 1  # a certificate does not fix itself: not retried


# --------------------------------------------------------------------------- NTLM with pyspnego's acceptor

@pytest.fixture
def ntlm_users(tmp_path, monkeypatch):
    users = tmp_path / "users"
    users.write_text("LAB:cemadmin:%s\n" % PASSWORD)
    monkeypatch.setenv("NTLM_USER_FILE", str(users))


class NtlmServer:
    """IIS-like: a 401 offers Negotiate and NTLM; authentication holds for the (one) connection."""

    def __init__(self, answer, ignore_first_token=False):
        self.answer = answer
        self.ignore_first_token = ignore_first_token
        self.authenticated = False
        self.context = None
        self.user = None
        self.legs = []

    def drop_connection(self):
        self.authenticated = False

    def __call__(self, seen):
        header = seen.headers.get("Authorization")
        if self.ignore_first_token:
            self.ignore_first_token = False
            header = None
        if header is None:
            if self.authenticated:
                return self.answer(seen)
            self.legs.append("anonymous 401")
            return (401, "", {"WWW-Authenticate": "Negotiate, NTLM"})
        scheme, token = header.split(" ", 1)
        if self.context is None:
            self.context = spnego.server(protocol=scheme.lower())
        try:
            out = self.context.step(base64.b64decode(token))
        except spnego.exceptions.SpnegoError:
            self.context = None
            self.legs.append("denied 401")
            return (401, "", {"WWW-Authenticate": "Negotiate, NTLM"})
        if not self.context.complete:
            self.legs.append("challenge 401")
            return (401, "", {"WWW-Authenticate": "%s %s" % (scheme, base64.b64encode(out).decode())})
        self.user = self.context.client_principal
        self.context = None
        self.authenticated = True
        self.legs.append("200")
        return self.answer(seen)


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_handshake_costs_one_extra_request_per_session(ntlm_users, auth):
    server = NtlmServer(lambda s: (200, post_xml("boolean", "true")))
    client, ns = client_for(server, auth=auth)
    client.call("ItemExists", itemGuid=POLICY)
    client.call("ItemExists", itemGuid=POLICY)
    client.call("ItemExists", itemGuid=POLICY)
    assert server.user == "LAB\\cemadmin"
    assert server.legs == ["challenge 401", "200"]
    assert ns.seen[0].headers["Authorization"].startswith("NTLM " if auth == "ntlm" else "Negotiate ")
    assert client.http_requests == 4 and client.asdk_calls == 3
    assert "Authorization" not in ns.seen[-1].headers


def test_new_connection_authenticates_again(ntlm_users):
    server = NtlmServer(lambda s: (200, post_xml("boolean", "true")))
    client, ns = client_for(server, auth="ntlm")
    client.call("ItemExists", itemGuid=POLICY)
    server.drop_connection()
    assert client.call("ItemExists", itemGuid=POLICY) is True
    assert server.legs == ["challenge 401", "200", "anonymous 401", "challenge 401", "200"]


def test_a_reset_connection_is_authenticated_again_without_an_anonymous_request(ntlm_users):
    server = NtlmServer(lambda s: (200, post_xml("boolean", "true")))
    state = dict(reset=False)

    def handler(seen):
        if state["reset"]:
            state["reset"] = False
            server.drop_connection()
            raise requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'reset'))")
        return server(seen)
    client, ns = client_for(handler, auth="ntlm")
    client.call("ItemExists", itemGuid=POLICY)
    state["reset"] = True
    assert client.call("ItemExists", itemGuid=POLICY) is True
    assert server.legs == ["challenge 401", "200", "challenge 401", "200"]
    assert client.http_requests == 5 and sleeps == [0.5]


def test_server_that_ignores_the_first_token_gets_a_fresh_handshake(ntlm_users):
    server = NtlmServer(lambda s: (200, post_xml("boolean", "true")), ignore_first_token=True)
    client, ns = client_for(server, auth="ntlm")
    assert client.call("ItemExists", itemGuid=POLICY) is True
    assert server.legs == ["anonymous 401", "challenge 401", "200"] and client.http_requests == 3


def test_wrong_password_is_an_auth_error_naming_the_user(ntlm_users):
    server = NtlmServer(lambda s: (200, post_xml("boolean", "true")))
    client, ns = client_for(server, auth="ntlm", password="wrong-" + PASSWORD)
    with pytest.raises(AuthError) as info:
        client.call("ItemExists", itemGuid=POLICY)
    text = str(info.value)
    assert "credentials of LAB\\cemadmin (" in text and "HTTP 401" in text and "ns_password" in text
    assert PASSWORD not in text and PASSWORD not in json.dumps(info.value.to_fail_json())
    assert len(ns.seen) == 2  # negotiate + authenticate, no retry of a refused login


def test_scheme_not_offered():
    client, _ns = client_for(lambda s: (401, "", {"WWW-Authenticate": "Basic realm=ns"}), auth="ntlm")
    with pytest.raises(AuthError, match="does not offer NTLM"):
        client.call("ItemExists", itemGuid=POLICY)


def test_credentials_required_and_kerberos_dependency():
    with pytest.raises(InputError, match="needs ns_username and ns_password"):
        _asdk.AsdkClient("https://ns", username="LAB\\u", password=None, auth="ntlm", session=FakeNS(None))
    try:
        import gssapi  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match="gssapi"):
            _asdk.AsdkClient("https://ns", username="u@LAB", password=None, auth="kerberos", session=FakeNS(None))


SPECIAL = "p@ss w0rd/%&?"  # a password with characters that a URL or a form body would encode


@pytest.mark.parametrize("password", [PASSWORD, SPECIAL])
@pytest.mark.parametrize("leak,error", [
    (lambda pw: requests.exceptions.ConnectionError("reset %s" % pw), TransportError),
    (lambda pw: requests.exceptions.ConnectionError("reset http://u:%s@ns/" % quote(pw, safe="")), TransportError),
    (lambda pw: (500, post_fault("ASDKException", "bad " + pw)), VendorFault),
    (lambda pw: (500, soap_fault("ASDKInvalidParameterException", escape(pw))), VendorFault),
])
def test_password_never_in_errors(password, leak, error):
    client, _ns = client_for(lambda s: leak(password), retries=0, password=password)
    client.binding = "post"
    with pytest.raises(error) as info:
        client.call("ItemExists", itemGuid=POLICY)
    shown = str(info.value) + json.dumps(info.value.to_fail_json())
    assert password not in shown and quote(password, safe="") not in shown and "********" in shown


def test_resolve_item():
    answers = {"CEM Pilot": [TARGET], "Dup": [TARGET, POLICY], "None": []}

    def handler(seen):
        return (200, post_xml("ArrayOfGuid", "".join("<guid>%s</guid>" % g for g in answers[seen.args["name"]])))
    client, ns = client_for(handler)
    assert _ns_items.resolve_item(client, "{%s}" % TARGET.upper(), "", "target") == TARGET
    assert ns.seen == []
    assert _ns_items.resolve_item(client, "CEM Pilot", "%Target%", "resource target") == TARGET
    assert ns.seen[0].args == {"name": "CEM Pilot", "type": "%Target%"}
    with pytest.raises(InputError, match="2 items"):
        _ns_items.resolve_item(client, "Dup", "", "resource target")
    with pytest.raises(NotFound, match="no resource target named 'None'"):
        _ns_items.resolve_item(client, "None", "", "resource target")


def test_item_matches_type():
    item = dict(type_name="CEMSettingsPolicy", long_type_name="Altiris.CEM.CEMSettingsPolicy")
    assert _ns_items.item_matches_type(item, "CEMSettingsPolicy")
    assert _ns_items.item_matches_type(item, "cemsettingspolicy")
    assert _ns_items.item_matches_type(item, "%.CEMSettingsPolicy")
    assert _ns_items.item_matches_type(item, "%Settings%")
    assert not _ns_items.item_matches_type(item, "ResourceTarget")
    assert _ns_items.item_matches_type(item, "")


def test_argument_spec_env_fallbacks_and_no_log():
    spec = _ns_args.ns_argument_spec(extra=dict(type="str"))
    assert spec["ns_password"]["no_log"] is True
    assert spec["ns_url"]["fallback"][1] == ["ITMS_NS_URL"]
    assert spec["ns_username"]["fallback"][1] == ["ITMS_NS_USERNAME"]
    assert spec["ns_password"]["fallback"][1] == ["ITMS_NS_PASSWORD"]
    assert spec["ns_auth"]["choices"] == ["ntlm", "negotiate", "kerberos"] and spec["ns_retries"]["default"] == 3
    assert "extra" in spec and "extra" not in _ns_args.NS_SPEC
    # TLS verification is on unless the task turns it off; ns_url is required (or ITMS_NS_URL)
    assert spec["validate_certs"]["default"] is True and spec["ns_url"]["required"] is True
    assert spec["ns_timeout"]["default"] == 60 and spec["ns_binding"]["fallback"][1] == ["ITMS_NS_BINDING"]


def test_connect_verifies_tls_by_default(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    params = dict((k, v.get("default")) for k, v in _ns_args.NS_SPEC.items())
    params.update(ns_url="https://ns.lab.example", ns_username="LAB\\u", ns_password="p")
    client = _ns_args.connect(params)
    try:
        assert client.verify is True and client.timeout == 60 and client.retries == 3 and client.warnings == []
    finally:
        client.close()
