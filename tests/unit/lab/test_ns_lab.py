# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab Notification Server, started with ``itms-lab up`` and spoken to as a client would.

Windows authentication is the real thing (requests + requests_ntlm against the pyspnego acceptor),
over HTTPS checked against the lab CA.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pytest

requests = pytest.importorskip("requests")
requests_ntlm = pytest.importorskip("requests_ntlm")
pytest.importorskip("spnego")
pytest.importorskip("cryptography")

from itms_lab.ns import asdk, store  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ITMS_LAB = os.path.join(REPO, "tests", "lab", "itms-lab")
NS = "{http://Altiris.ASDK.NS.com}"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
POLICY = store.POLICY
SERVERS_POLICY = store.SERVERS_POLICY

RESULT_TYPES = {"ItemDetails": "tns:ItemDetails", "ArrayOfItemDetails": "tns:ArrayOfItemDetails",
                "ArrayOfGuid": "tns:ArrayOfGuid", "boolean": "s:boolean", "string": "s:string", "guid": "s1:guid",
                "ArrayOfPushPolicyResult": "tns:ArrayOfPushPolicyResult", "void": None}
PARAM_TYPES = {"string": "s:string", "guid": "s1:guid"}


def itms_lab(*args):
    env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    return subprocess.run([ITMS_LAB] + list(args), env=env, capture_output=True, text=True, timeout=60, check=False)


def lab_up(directory, *extra):
    done = itms_lab("up", "--dir", str(directory), "--cmdb-computers", "10", *extra)
    assert done.returncode == 0, done.stderr
    with open(os.path.join(str(directory), "lab.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ns-lab")
    description = lab_up(directory)
    yield description["ns"]
    itms_lab("down", "--dir", str(directory))


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "lab" in request.fixturenames:
        path = request.getfixturevalue("lab")["faults"]
        if os.path.exists(path):
            os.remove(path)


def session(lab, user=None, password=None):
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would replace the lab CA
    s.verify = lab["ca_path"]
    s.auth = requests_ntlm.HttpNtlmAuth(user or lab["username"], password or lab["password"])
    return s


def url(lab, service, method=None):
    return "%s/Altiris/ASDK.NS/%s.asmx%s" % (lab["url"], service, "/" + method if method else "")


def post(s, lab, service, method, **params):
    return s.post(url(lab, service, method), data=params, timeout=10)


def soap(s, lab, service, method, body=None, action=None, **params):
    if body is None:
        inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in params.items())
        body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>'
                '<%s xmlns="http://Altiris.ASDK.NS.com">%s</%s></soap:Body></soap:Envelope>'
                % (SOAP_ENV, method, inner, method))
    headers = {"Content-Type": "text/xml; charset=utf-8",
               "SOAPAction": action if action is not None else '"http://Altiris.ASDK.NS.com/%s"' % method}
    return s.post(url(lab, service), data=body.encode("utf-8"), headers=headers, timeout=10)


def soap_result(response, method):
    root = ET.fromstring(response.content)
    return root.find("{%s}Body/%s%sResponse/%s%sResult" % (SOAP_ENV, NS, method, NS, method))


def soap_fault(response):
    fault = ET.fromstring(response.content).find("{%s}Body/{%s}Fault" % (SOAP_ENV, SOAP_ENV))
    return fault.findtext("faultcode"), fault.findtext("faultstring"), fault.findtext("detail/exceptionType")


def guids(response):
    return [g.text for g in ET.fromstring(response.content)]


def log_lines(lab):
    if not os.path.exists(lab["request_log"]):
        return []
    with open(lab["request_log"]) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def set_faults(lab, config):
    with open(lab["faults"], "w") as handle:
        json.dump(config, handle)


# --------------------------------------------------------------------------- the contract

def test_methods_parameters_and_results_are_the_contracts(asdk_contract):
    contract = asdk_contract
    for method in asdk.METHODS_LIST:
        entries = contract[method.service]
        assert method.name in entries, method.name
        assert entries[method.name] == [(name, PARAM_TYPES[kind]) for name, kind in method.params], method.name
        response = entries[method.name + "Response"]
        expected = RESULT_TYPES[method.result]
        assert [t for _n, t in response] == ([expected] if expected else []), method.name
    for service, names in asdk.OPERATIONS_85.items():
        operations = [n for n in contract[service] if n + "Response" in contract[service]]
        assert sorted(names) == sorted(operations), service


@pytest.mark.parametrize("text, expected", [
    ("{5C1E6A44-1B51-4D77-9E0F-4F0A5D2B7C10}", POLICY),
    ("5c1e6a441b514d779e0f4f0a5d2b7c10", POLICY),
    (" (5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10) ", POLICY),
    ("{0x5c1e6a44,0x1b51,0x4d77,{0x9e,0x0f,0x4f,0x0a,0x5d,0x2b,0x7c,0x10}}", POLICY),
    ("{5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10", None),
    ("5c1e6a44-1b51-4d77-9e0f", None),
    ("", None),
])
def test_guids_parse_as_dotnet_does(text, expected):
    assert asdk.parse_guid(text) == expected


# --------------------------------------------------------------------------- up, lab.json, inventory

def test_lab_json_and_inventory(lab):
    directory = os.path.dirname(lab["request_log"])
    assert lab["url"] == "https://127.0.0.1:%d" % lab["port"] and lab["host"] == "127.0.0.1"
    assert lab["username"] == "LAB\\cemadmin" and lab["readonly_username"] == "LAB\\cemreader" and lab["domain"] == "LAB"
    assert lab["ca_path"] == os.path.join(directory, "ca.pem") and lab["items"] == os.path.join(directory, "ns-items.json")
    assert lab["faults"] == os.path.join(directory, "ns-faults.json")
    assert lab["selfsigned_url"].startswith("https://127.0.0.1:")
    with open(os.path.join(directory, "lab.json")) as handle:
        whole = json.load(handle)
    assert whole["cmdb"]["url"] == "sqlite:///" + os.path.join(directory, "cmdb.sqlite")
    assert os.path.exists(whole["cmdb"]["path"]) and os.path.exists(whole["profiles"]["cem_policy"])
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(directory, "inventory.yml")) as handle:
        inventory = yaml.safe_load(handle)
    values = inventory["all"]["vars"]
    assert inventory["all"]["hosts"]["localhost"]["ansible_connection"] == "local"
    assert values["itms_ns_url"] == lab["url"] and values["itms_ns_username"] == lab["username"]
    assert values["itms_ns_password"] == lab["password"] and values["itms_ns_ca_path"] == lab["ca_path"]
    assert values["itms_cmdb_url"] == whole["cmdb"]["url"]
    assert values["itms_cem_policy_profile"] == whole["profiles"]["cem_policy"]


def test_self_signed_listener_fails_verification_without_its_certificate(lab):
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        requests.get(lab["selfsigned_url"], verify=lab["ca_path"], timeout=5)


# --------------------------------------------------------------------------- HttpPost binding

def test_post_binding_answers_with_aspnet_serialization(lab):
    s = session(lab)
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid="{5C1E6A44-1B51-4D77-9E0F-4F0A5D2B7C10}")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(r.content)
    assert root.tag == NS + "ItemDetails"
    fields = [child.tag[len(NS):] for child in root]
    assert fields == ["Guid", "Name", "TypeName", "LongTypeName", "TypeGuid", "Enabled", "ParentFolderGuid",
                      "ParentFolderName", "AppliedToResourceTargets", "Attributes", "IsSchedulableItem",
                      "ScheduleEnabled", "SharedScheduleGuid"]
    assert root.findtext(NS + "Guid") == POLICY and root.findtext(NS + "TypeName") == "CEMSettingsPolicy"
    assert [g.text for g in root.find(NS + "AppliedToResourceTargets")] == [store.ALL_WINDOWS]

    r = post(s, lab, "ItemManagementService", "GetItemsByNameAndType", name="%cloud%", type="%CEMSettingsPolicy%")
    assert sorted(guids(r)) == sorted([POLICY, SERVERS_POLICY])
    r = post(s, lab, "ItemManagementService", "ItemExists", itemGuid="00000000-0000-0000-0000-000000000000")
    assert ET.fromstring(r.content).tag == NS + "boolean" and ET.fromstring(r.content).text == "false"
    r = post(s, lab, "ItemManagementService", "ExportItemXmlString", itemGuid=POLICY.upper())
    item = ET.fromstring(ET.fromstring(r.content).text)
    assert item.get("guid") == "{%s}" % POLICY and item.find("policyData/cemSettings/gateways/gateway") is not None
    r = post(s, lab, "ItemManagementService", "GetItemsByType", typeName="ResourceTarget")
    assert [i.findtext(NS + "Name") for i in ET.fromstring(r.content)] == ["All Windows Computers", "CEM Pilot"]


def test_post_binding_errors_are_aspnets(lab):
    s = session(lab)
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemId=POLICY)
    assert r.status_code == 500 and r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text.startswith("System.InvalidOperationException: Missing parameter: itemGuid.")
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid="not-a-guid")
    assert r.status_code == 500 and "ASDKInvalidParameterException" in r.text
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid="11111111-2222-3333-4444-555555555555")
    assert r.status_code == 500 and r.text.startswith("System.Web.Services.Protocols.SoapException: ASDKDoesNotExistException")
    r = post(s, lab, "ItemManagementService", "NoSuchMethod", itemGuid=POLICY)
    assert r.status_code == 500 and "NoSuchMethod Web Service method name is not valid." in r.text
    r = post(s, lab, "ItemManagementService", "getitembyguid", itemGuid=POLICY)
    assert r.status_code == 500 and r.text.startswith("System.ArgumentException")
    r = s.post(url(lab, "ItemManagementService", "GetItemByGuid"), data="<x/>", headers={"Content-Type": "text/xml"})
    assert r.status_code == 500 and "Request format is invalid: text/xml" in r.text


def test_paths_are_case_insensitive_and_other_paths_404(lab):
    s = session(lab)
    r = s.post(lab["url"] + "/altiris/asdk.ns/itemmanagementservice.ASMX/ItemExists", data={"itemGuid": POLICY})
    assert r.status_code == 200 and ET.fromstring(r.content).text == "true"
    assert s.get(lab["url"] + "/Altiris/NS/Console.aspx").status_code == 404
    assert s.get(url(lab, "NoSuchService")).status_code == 404
    page = s.get(url(lab, "ScopingManagementService"))
    assert page.status_code == 200 and "AssignResourceTargetsToPolicy" in page.text
    r = s.get(url(lab, "ItemManagementService", "ItemExists"), params={"itemGuid": POLICY})  # the HttpGet binding
    assert r.status_code == 200 and ET.fromstring(r.content).text == "true"


# --------------------------------------------------------------------------- SOAP 1.1 binding

def test_soap_binding_results_and_faults(lab):
    s = session(lab)
    r = soap(s, lab, "ScopingManagementService", "GetResourceTargets", policyItemGuid=POLICY)
    assert r.status_code == 200
    assert [g.text for g in soap_result(r, "GetResourceTargets")] == [store.ALL_WINDOWS]
    r = soap(s, lab, "ItemManagementService", "ItemExists", itemGuid="{%s}" % POLICY.upper())
    assert soap_result(r, "ItemExists").text == "true"

    r = soap(s, lab, "ScopingManagementService", "GetResourceTargets", policyItemGuid="11111111-2222-3333-4444-555555555555")
    assert r.status_code == 500
    assert soap_fault(r)[0] == "soap:Server" and soap_fault(r)[2] == "ASDKDoesNotExistException"
    detail = ET.fromstring(r.content).find("{%s}Body/{%s}Fault/detail" % (SOAP_ENV, SOAP_ENV))
    assert [c.tag for c in detail] == ["exceptionType", "stackTrace", "innerException"]
    # A misspelt parameter element is ignored by XmlSerializer: the method gets null.
    r = soap(s, lab, "ItemManagementService", "GetItemByGuid", itemId=POLICY)
    assert r.status_code == 500 and soap_fault(r)[2] == "ASDKInvalidParameterException"
    r = soap(s, lab, "ItemManagementService", "GetItemByGuid", action='"http://Altiris.ASDK.NS.com/GetItemByGuidd"',
             itemGuid=POLICY)
    code, text, _type = soap_fault(r)
    assert code == "soap:Client" and text.startswith("Server did not recognize the value of HTTP Header SOAPAction")


def test_pushpolicy_takes_a_guid_so_only_soap_carries_it(lab):
    s = session(lab)
    r = post(s, lab, "ResourceManagementService", "PushPolicy", policy=POLICY)
    assert r.status_code == 500 and "PushPolicy Web Service method name is not valid." in r.text
    r = soap(s, lab, "ResourceManagementService", "PushPolicy", policy=SERVERS_POLICY)
    assert r.status_code == 200 and len(soap_result(r, "PushPolicy")) == 0  # no targets, no agents
    r = post(s, lab, "ResourceManagementService", "PushPolicy2", policy=POLICY)
    results = ET.fromstring(r.content)
    assert results.tag == NS + "ArrayOfPushPolicyResult" and len(results) > 0
    assert set(x.findtext(NS + "Status") for x in results) == {"EmptyPolicy"}  # the policy is disabled


# --------------------------------------------------------------------------- authentication

def test_ntlm_handshake_legs_and_keep_alive_in_the_log(lab):
    before = len(log_lines(lab))
    s = session(lab)
    assert post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY).status_code == 200
    assert post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY).status_code == 200
    entries = log_lines(lab)[before:]
    assert [(e["status"], e["user"]) for e in entries] == [(401, None), (401, None), (200, "LAB\\cemadmin"),
                                                           (200, "LAB\\cemadmin")]
    assert len(set(e["conn"] for e in entries)) == 1  # NTLM authenticated the connection once
    assert all(e["method"] == "ItemExists" and e["binding"] == "post" and e["write"] is False for e in entries)


def test_wrong_password_gets_401(lab):
    before = len(log_lines(lab))
    r = post(session(lab, password=lab["password"] + "x"), lab, "ItemManagementService", "ItemExists", itemGuid=POLICY)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Negotiate, NTLM"
    assert "401 - Unauthorized: Access is denied due to invalid credentials." in r.text
    assert all(e["status"] == 401 and e["user"] is None for e in log_lines(lab)[before:])


def test_upn_and_negotiate_sign_in(lab):
    s = session(lab, user="cemadmin@LAB")
    assert post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY).status_code == 200
    spnego = pytest.importorskip("spnego")
    import base64
    context = spnego.client(lab["username"], lab["password"], hostname="127.0.0.1", service="http", protocol="negotiate")
    raw = requests.Session()
    raw.trust_env = False
    token = context.step()
    r = raw.post(url(lab, "ItemManagementService", "ItemExists"), data={"itemGuid": POLICY}, verify=lab["ca_path"],
                 headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()})
    assert r.status_code == 401
    challenge = base64.b64decode(r.headers["WWW-Authenticate"].split(" ", 1)[1])
    token = context.step(challenge)
    r = raw.post(url(lab, "ItemManagementService", "ItemExists"), data={"itemGuid": POLICY}, verify=lab["ca_path"],
                 headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()})
    assert r.status_code == 200 and ET.fromstring(r.content).text == "true"


def test_reader_reads_but_cannot_write(lab):
    s = session(lab, lab["readonly_username"], lab["readonly_password"])
    assert post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY).status_code == 200
    r = post(s, lab, "ItemManagementService", "EnablePolicyItem", policyItemGuid=POLICY)
    assert r.status_code == 500
    assert "ASDKInsufficientPermissionException: User LAB\\cemreader has insufficient permission to execute command " \
           "EnablePolicyItem." in r.text
    r = soap(s, lab, "ScopingManagementService", "AssignResourceTargetsToPolicy", policyItemGuid=POLICY,
             resourceTargetsGuids="")
    assert soap_fault(r)[2] == "ASDKInsufficientPermissionException"
    r = post(session(lab), lab, "ScopingManagementService", "GetResourceTargets", policyItemGuid=POLICY)
    assert guids(r) == [store.ALL_WINDOWS]


# --------------------------------------------------------------------------- what the methods do

def test_assign_targets_replaces_the_list_and_rejects_unknown_targets(lab):
    s = session(lab)

    def assign(value):
        return post(s, lab, "ScopingManagementService", "AssignResourceTargetsToPolicy", policyItemGuid=SERVERS_POLICY,
                    resourceTargetsGuids=value)

    def current():
        return guids(post(s, lab, "ScopingManagementService", "GetResourceTargets", policyItemGuid=SERVERS_POLICY))

    r = assign("{%s}, %s" % (store.PILOT.upper(), store.ALL_WINDOWS))
    assert r.status_code == 200 and r.content == b""
    assert current() == [store.PILOT, store.ALL_WINDOWS]
    assert assign(store.ALL_WINDOWS).status_code == 200 and current() == [store.ALL_WINDOWS]
    r = assign("%s,11111111-2222-3333-4444-555555555555" % store.PILOT)
    assert r.status_code == 500 and "ASDKDoesNotExistException" in r.text and current() == [store.ALL_WINDOWS]
    r = assign(store.PILOT_GROUP)  # an organizational group is not a resource target
    assert "ASDKInvalidTypeException" in r.text and current() == [store.ALL_WINDOWS]
    assert assign("").status_code == 200 and current() == []


def test_create_resource_target_validates_and_evaluates_filters_in_order(lab):
    s = session(lab)
    config = ("<resourceTarget><name>Pilot laptops &lt;wave 1&gt;</name><description>d</description><mode>Computers</mode>"
              "<targetFilters><targetFilter><type>Organizational Group</type><operation>Union</operation>"
              "<organizationalGroupGuid>{%s}</organizationalGroupGuid></targetFilter>"
              "<targetFilter><type>Resource Collection</type><operation>Intersect</operation>"
              "<resourceCollectionGuid>%s</resourceCollectionGuid></targetFilter></targetFilters></resourceTarget>"
              % (store.PILOT_GROUP.upper(), store.LAPTOPS))
    r = post(s, lab, "ScopingManagementService", "CreateResourceTarget", configXml=config)
    assert r.status_code == 200 and ET.fromstring(r.content).tag == NS + "guid"
    guid = ET.fromstring(r.content).text
    members = guids(post(s, lab, "ScopingManagementService", "GetResourceTargetMembership", resourceTargetGuid=guid))
    items = json.load(open(lab["items"]))["items"]
    expected = set(items[store.PILOT_GROUP]["members"]) & set(items[store.LAPTOPS]["members"])
    assert set(members) == expected
    exported = ET.fromstring(ET.fromstring(post(s, lab, "ItemManagementService", "ExportItemXmlString",
                                                itemGuid=guid).content).text)
    assert exported.findtext("resourceTarget/name") == "Pilot laptops <wave 1>"
    assert [f.findtext("operation") for f in exported.iter("targetFilter")] == ["Union", "Intersect"]

    for bad, exception in (
            ("<resourceTarget><name>x</name>", "ASDKInvalidParameterException"),
            ("<target><name>x</name></target>", "ASDKInvalidParameterException"),
            (config.replace("Organizational Group", "Organisational Group"), "ASDKInvalidParameterException"),
            (config.replace(store.PILOT_GROUP.upper(), "11111111-2222-3333-4444-555555555555"), "ASDKDoesNotExistException"),
            (config.replace(store.PILOT_GROUP.upper(), store.LAPTOPS), "ASDKInvalidTypeException"),
            ("<resourceTarget><name>x</name><targetFilters/></resourceTarget>", "ASDKInvalidParameterException")):
        r = post(s, lab, "ScopingManagementService", "CreateResourceTarget", configXml=bad)
        assert r.status_code == 500 and exception in r.text, (bad, r.text)
    r = post(s, lab, "ItemManagementService", "DeleteItem", itemGuid=guid)
    assert r.status_code == 200
    assert ET.fromstring(post(s, lab, "ItemManagementService", "ItemExists", itemGuid=guid).content).text == "false"


def test_import_replaces_the_item_and_enable_mirrors_into_the_xml(lab):
    s = session(lab)
    xml_text = ET.fromstring(post(s, lab, "ItemManagementService", "ExportItemXmlString", itemGuid=POLICY).content).text
    changed = xml_text.replace('allowCloudCommunication="False"', 'allowCloudCommunication="True"')
    r = soap(s, lab, "ItemManagementService", "ImportItemXmlString",
             xml=changed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    assert r.status_code == 200 and soap_result(r, "ImportItemXmlString") is None
    assert post(s, lab, "ItemManagementService", "EnablePolicyItem", policyItemGuid=POLICY).status_code == 200
    now = ET.fromstring(ET.fromstring(post(s, lab, "ItemManagementService", "ExportItemXmlString",
                                           itemGuid=POLICY).content).text)
    assert now.find("policyData/cemSettings").get("allowCloudCommunication") == "True"
    assert now.findtext("enabled") == "True"
    item = ET.fromstring(post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).content)
    assert item.findtext(NS + "Enabled") == "true"
    for bad in (changed[:-10], re.sub(r'port="\d+"', 'port="70000"', changed), "<policy/>",
                changed.replace(POLICY, "not-a-guid")):
        r = post(s, lab, "ItemManagementService", "ImportItemXmlString", xml=bad)
        assert r.status_code == 500 and "ASDKInvalidParameterException" in r.text, bad
    r = post(s, lab, "ItemManagementService", "EnablePolicyItem", policyItemGuid=store.PILOT)
    assert "ASDKInvalidTypeException" in r.text
    # put the lab back as it was
    assert post(s, lab, "ItemManagementService", "ImportItemXmlString", xml=xml_text).status_code == 200
    assert post(s, lab, "ItemManagementService", "DisablePolicyItem", policyItemGuid=POLICY).status_code == 200


def test_concurrent_writes_leave_a_valid_store(lab):
    errors = []

    def flip(count):
        s = session(lab)
        for index in range(count):
            method = "EnablePolicyItem" if index % 2 else "DisablePolicyItem"
            r = post(s, lab, "ItemManagementService", method, policyItemGuid=SERVERS_POLICY)
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=flip, args=(6,)) for _attempt in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open(lab["items"]) as handle:
        assert json.load(handle)["items"][SERVERS_POLICY]["enabled"] is True


# --------------------------------------------------------------------------- fault injection

def test_fault_rule_hits_times_matching_requests(lab):
    s = session(lab)
    post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY)  # authenticate first
    set_faults(lab, {"rules": [{"method": "GetItemByGuid", "fault": "http_503", "times": 2}]})
    before = len(log_lines(lab))
    statuses = [post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).status_code for _attempt in range(3)]
    assert statuses == [503, 503, 200]
    assert post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY).status_code == 200
    entries = log_lines(lab)[before:]
    assert [e["fault"] for e in entries] == ["http_503", "http_503", None, None]
    set_faults(lab, {"rules": [{"method": "GetItemByGuid", "fault": "http_504", "times": 1}]})  # a new file, new counts
    statuses = [post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).status_code for _attempt in range(2)]
    assert statuses == [504, 200]


def test_reset_malformed_slow_and_timeout_faults(lab):
    s = session(lab)
    post(s, lab, "ItemManagementService", "ItemExists", itemGuid=POLICY)
    set_faults(lab, {"rules": [{"method": "GetItemByGuid", "fault": "reset", "times": 1},
                               {"method": "GetItemByGuid", "fault": "malformed", "times": 1},
                               {"method": "GetItemByGuid", "fault": "slow", "delay_s": 0.3, "times": 1},
                               {"method": "GetItemByGuid", "fault": "timeout", "delay_s": 3, "times": 1},
                               {"method": "GetItemByGuid", "fault": "http_502"}]})
    with pytest.raises(requests.exceptions.ConnectionError):
        post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY)
    r = post(session(lab), lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY)
    assert r.status_code == 200
    with pytest.raises(ET.ParseError):
        ET.fromstring(r.content)
    started = time.monotonic()
    assert post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.post(url(lab, "ItemManagementService", "GetItemByGuid"), data={"itemGuid": POLICY}, timeout=1)
    assert post(session(lab), lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).status_code == 502


def test_disable_post_binding_refuses_form_posts_only(lab):
    s = session(lab)
    set_faults(lab, {"disable_post_binding": True, "rules": []})
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY)
    assert r.status_code == 500
    assert "<title>Request format is unrecognized for URL unexpectedly ending in &#39;/GetItemByGuid&#39;.</title>" in r.text
    r = soap(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY)
    assert r.status_code == 200 and soap_result(r, "GetItemByGuid").findtext(NS + "Guid") == POLICY
    entry = log_lines(lab)[-2]
    assert (entry["binding"], entry["method"], entry["status"]) == ("post", "GetItemByGuid", 500)
    set_faults(lab, {"disable_post_binding": True, "custom_errors": True, "rules": []})
    r = post(s, lab, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY)
    assert r.status_code == 500 and "<title>Runtime Error</title>" in r.text
    assert "Server Error in '/Altiris/ASDK.NS' Application." in r.text and "unrecognized" not in r.text


# --------------------------------------------------------------------------- down and up again

def _gone(pid):
    """No such process, or only its exit status left for whoever reaps orphans (it exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_store_and_accounts_survive_down_and_up(tmp_path):
    first = lab_up(tmp_path)["ns"]
    s = session(first)
    assert post(s, first, "ItemManagementService", "EnablePolicyItem", policyItemGuid=POLICY).status_code == 200
    s.close()
    pid = int(open(os.path.join(str(tmp_path), "ns.pid")).read())
    assert itms_lab("down", "--dir", str(tmp_path)).returncode == 0
    assert _gone(pid)
    assert itms_lab("down", "--dir", str(tmp_path)).returncode == 0  # nothing runs: still fine
    assert itms_lab("status", "--dir", str(tmp_path)).returncode == 3
    again = lab_up(tmp_path)["ns"]
    try:
        assert (again["port"], again["password"]) == (first["port"], first["password"])
        item = ET.fromstring(post(session(again), again, "ItemManagementService", "GetItemByGuid", itemGuid=POLICY).content)
        assert item.findtext(NS + "Enabled") == "true"
        assert itms_lab("status", "--dir", str(tmp_path)).returncode == 0
    finally:
        assert itms_lab("down", "--dir", str(tmp_path)).returncode == 0
