# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake ASDK client for module tests: the client's ``call`` interface over an in-memory item store.

Every call is checked against the client's method table, so a module cannot call a method or pass a
parameter the real client would refuse.
"""
import copy
import re
import uuid
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _ns_args
from ansible_collections.itms.cem.plugins.module_utils._asdk_wire import METHODS, normalize_guid
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, NotFound, VendorFault

# The lab NS's items (tests/lab is on sys.path, see tests/unit/conftest.py): a GUID means the same in both.
from itms_lab.ns.store import (  # noqa: F401  (re-exported to the module tests)
    ALL_COMPUTERS, ALL_WINDOWS, CLASS_GUIDS, DEFAULT_GROUP, LAPTOPS, PILOT, PILOT_GROUP, POLICY, SERVERS_POLICY,
)
from itms_lab.ns.store import POLICY_XML as LAB_POLICY_XML

WKS1 = "a1a1a1a1-0000-4000-8000-000000000001"
WKS2 = "a1a1a1a1-0000-4000-8000-000000000002"
AGENT = "b2b2b2b2-0000-4000-8000-000000000001"

POLICY_XML = LAB_POLICY_XML.format(guid=POLICY, class_guid=CLASS_GUIDS["CEMSettingsPolicy"],
                                   name="Default Cloud-Enabled Management Settings Policy", enabled="False",
                                   allow="False", host="ig-emea.cem.example.com", port=443)

PROFILE = {
    "name": "unit",
    "policy": {"type_name": "CEMSettingsPolicy", "default_name": "Default Cloud-Enabled Management Settings Policy"},
    "settings": {
        "allow_cloud_communication": {"path": "policyData/cemSettings", "attribute": "allowCloudCommunication",
                                      "type": "bool", "true": "True", "false": "False"},
        "prefer_cem_when_on_vpn": {"path": "policyData/cemSettings", "attribute": "preferCemWhenOnVpn",
                                   "type": "bool", "true": "True", "false": "False"},
    },
    "gateways": {"path": "policyData/cemSettings/gateways", "element": "gateway",
                 "host": {"attribute": "host"}, "port": {"attribute": "port"}},
}


def _like(pattern, value):
    if not pattern:
        return True
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$"
    return re.match(regex, value or "", re.I) is not None


class FakeClient:
    def __init__(self, readonly=False):
        self.readonly = readonly
        self.items = {}
        self.targets = {POLICY: [ALL_WINDOWS], SERVERS_POLICY: []}
        self.calls = []
        self.warnings = []
        self.binding = "post"
        self.post_refused = False
        self.post_refusal = None
        self.asdk_calls = 0
        self.http_requests = 0
        self.server_headers = {"Server": "Microsoft-IIS/10.0"}
        self.username = "LAB\\cemadmin"
        self.base_url = "https://ns.lab.example"
        self.auth_name = "ntlm"
        self.verify = "/lab/ca.pem"
        self.closed = False
        self.fail_on = {}
        self.add(POLICY, "Default Cloud-Enabled Management Settings Policy", "CEMSettingsPolicy", enabled=False,
                 xml=POLICY_XML)
        self.add(SERVERS_POLICY, "Cloud-enabled Management Settings (Servers)", "CEMSettingsPolicy", enabled=True,
                 xml=POLICY_XML.replace(POLICY, SERVERS_POLICY))
        self.add(ALL_WINDOWS, "All Windows Computers", "ResourceTarget")
        self.add(PILOT, "CEM Pilot", "ResourceTarget",
                 xml=("<item guid='{%s}'><resourceTarget><name>CEM Pilot</name><mode>Computers</mode><targetFilters>"
                      "<targetFilter><type>Organizational Group</type><operation>Union</operation>"
                      "<organizationalGroupGuid>%s</organizationalGroupGuid></targetFilter></targetFilters>"
                      "</resourceTarget></item>" % (PILOT, PILOT_GROUP)))
        self.add(DEFAULT_GROUP, "Default", "OrganizationalGroup")
        self.add(PILOT_GROUP, "CEM Pilot Group", "OrganizationalGroup")
        self.add(ALL_COMPUTERS, "All Computers", "ResourceCollection")
        self.add(LAPTOPS, "CEM Laptops", "ResourceCollection")
        self.add(WKS1, "WKS-0001", "Computer")
        self.add(WKS2, "WKS-0002", "Computer")

    def add(self, guid, name, type_name, enabled=None, xml=None):
        self.items[guid] = dict(guid=guid, name=name, type_name=type_name, long_type_name="Altiris.Lab." + type_name,
                                type_guid=None, enabled=enabled, parent_folder_guid=None, parent_folder_name=None,
                                applied_to_resource_targets=None, attributes=None, is_schedulable_item=False,
                                schedule_enabled=None, schedule_xml=None, shared_schedule_guid=None,
                                xml=xml or "<item guid='{%s}'><name>%s</name></item>" % (guid, name))

    def details(self, guid):
        item = self.items.get(guid)
        if item is None:
            raise NotFound("The NS says the item does not exist (%s)." % guid)
        return dict((k, v) for k, v in item.items() if k != "xml")

    def writes(self):
        return [name for name, _args in self.calls if not METHODS[name].read_only]

    def call(self, _method, **args):
        method = METHODS[_method]
        assert set(args) == set(method.params), (_method, sorted(args))
        self.calls.append((_method, args))
        self.asdk_calls += 1
        self.http_requests += 1
        if _method in self.fail_on:
            raise self.fail_on[_method]
        if self.readonly and not method.read_only:
            raise AuthError("The NS refused %s for LAB\\cemreader: the account lacks the NS role right." % _method)
        return getattr(self, "_" + _method)(**args)

    def stats(self):
        return dict(asdk_calls=self.asdk_calls, http_requests=self.http_requests, binding=self.binding,
                    post_binding_refused=self.post_refused, post_refusal=self.post_refusal,
                    methods=[name for name, _args in self.calls])

    def close(self):
        self.closed = True

    # ----- ItemManagementService
    def _GetItemByGuid(self, itemGuid):
        return self.details(normalize_guid(itemGuid))

    def _GetItemsByName(self, itemName):
        return [self.details(g) for g, i in self.items.items() if i["name"].lower() == itemName.lower()]

    def _GetItemsByType(self, typeName):
        return [self.details(g) for g, i in self.items.items() if i["type_name"] == typeName]

    def _GetItemsByNameAndType(self, name, type):
        assert name or type
        return [g for g, i in self.items.items()
                if _like(name, i["name"]) and (not type or _like(type, i["type_name"]) or _like(type, i["long_type_name"]))]

    def _ItemExists(self, itemGuid):
        return normalize_guid(itemGuid) in self.items

    def _ExportItemXmlString(self, itemGuid):
        self.details(normalize_guid(itemGuid))
        return self.items[normalize_guid(itemGuid)]["xml"]

    def _ImportItemXmlString(self, xml):
        try:
            guid = normalize_guid(ET.fromstring(xml).get("guid"))
        except ET.ParseError as exc:
            raise VendorFault("The NS rejected a parameter of ImportItemXmlString: %s" % exc)
        self.items[guid]["xml"] = xml

    def _EnablePolicyItem(self, policyItemGuid):
        self.items[policyItemGuid]["enabled"] = True

    def _DisablePolicyItem(self, policyItemGuid):
        self.items[policyItemGuid]["enabled"] = False

    def _DeleteItem(self, itemGuid):
        self.details(itemGuid)
        del self.items[itemGuid]

    # ----- ScopingManagementService
    def _GetResourceTargets(self, policyItemGuid):
        if policyItemGuid not in self.targets:
            raise NotFound("The NS says the item does not exist (%s)." % policyItemGuid)
        return list(self.targets[policyItemGuid])

    def _AssignResourceTargetsToPolicy(self, policyItemGuid, resourceTargetsGuids):
        self.targets[policyItemGuid] = [g for g in resourceTargetsGuids.split(",") if g]

    def _CreateResourceTarget(self, configXml):
        root = ET.fromstring(configXml)
        guid = str(uuid.uuid4())
        self.add(guid, root.find("name").text, "ResourceTarget", xml="<item guid='{%s}'>%s</item>" % (guid, configXml))
        return guid

    # ----- ResourceManagementService
    def _PushPolicy2(self, policy):
        return [dict(agent=AGENT, status="Pushed")]

    def policy_state(self, guid=POLICY):
        return copy.deepcopy(dict(enabled=self.items[guid]["enabled"], xml=self.items[guid]["xml"],
                                  targets=self.targets[guid]))


@pytest.fixture
def fake_ns(monkeypatch):
    client = FakeClient()

    def connect(params):
        client.params = dict(params)  # what the real client would have been given, password included
        return client

    monkeypatch.setattr(_ns_args, "connect", connect)
    return client


CONNECTION = dict(ns_url="https://ns.lab.example", ns_username="LAB\\cemadmin", ns_password="S3cret-never-shown-4711")
