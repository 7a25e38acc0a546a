# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.ns_resource_target with a fake client, and the configXml builder."""
import xml.etree.ElementTree as ET

import ns_fake
from ns_fake import CONNECTION, LAPTOPS, PILOT, PILOT_GROUP, WKS1, WKS2

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _resource_target as rt
from ansible_collections.itms.cem.plugins.modules import ns_resource_target

fake_ns = ns_fake.fake_ns  # the fixture, under the name the tests take


FILTERS = [{"organizational_group": "CEM Pilot Group"}, {"collection": "CEM Laptops", "operation": "intersect"},
           {"resources": ["WKS-0002", WKS1], "operation": "except"}]


def test_config_xml_escapes_and_orders():
    definition = rt.normalize('Pilot <A & "B">', "d'x", None, None, [
        dict(type="organizational_group", operation="union", guids=["{%s}" % PILOT_GROUP.upper()]),
        dict(type="resources", operation="except", guids=[WKS2, WKS1, WKS2])])
    xml = rt.build_config_xml(definition)
    root = ET.fromstring(xml)
    assert root.find("name").text == 'Pilot <A & "B">' and root.find("description").text == "d'x"
    assert root.find("mode").text == "Computers" and root.find("baseOrganizationalGroupGuid") is None
    filters = root.findall("targetFilters/targetFilter")
    assert [(f.find("type").text, f.find("operation").text) for f in filters] == [
        ("Organizational Group", "Union"), ("Individual Resources", "Except")]
    assert filters[0].find("organizationalGroupGuid").text == PILOT_GROUP
    assert [g.text for g in filters[1].findall("resourceGuids/resourceGuid")] == [WKS1, WKS2]
    assert rt.definition_from_xml(xml)["filters"] == definition["filters"]
    assert rt.definition_from_xml("<item><name>x</name></item>") is None


def test_create_check_mode_then_real_then_unchanged(run_module, fake_ns):
    args = dict(CONNECTION, name="CEM Pilot Laptops", description="first wave", filters=FILTERS)
    result, failed = run_module(ns_resource_target.main, dict(args, _ansible_check_mode=True))
    assert not failed and result["changed"] and result["created"] and result["guid"] is None
    assert fake_ns.writes() == []
    assert result["resolved"] == {"CEM Pilot Group": PILOT_GROUP, "CEM Laptops": LAPTOPS, "WKS-0002": WKS2}
    assert result["diff"]["before"] == {"exists": False}

    result, failed = run_module(ns_resource_target.main, args)
    assert not failed and result["changed"] and fake_ns.writes() == ["CreateResourceTarget"]
    guid = result["guid"]
    assert fake_ns.items[guid]["name"] == "CEM Pilot Laptops"

    fake_ns.calls[:] = []
    again, failed = run_module(ns_resource_target.main, args)
    assert not failed and not again["changed"] and again["guid"] == guid and again["definition_verified"]
    assert fake_ns.writes() == [] and again["differences"] == []


def test_existing_with_other_definition_fails_unless_recreate(run_module, fake_ns):
    args = dict(CONNECTION, name="CEM Pilot", filters=[{"collection": "CEM Laptops"}])
    result, failed = run_module(ns_resource_target.main, args)
    assert failed and "exists with a different definition" in result["msg"] and "recreate: true" in result["msg"]
    assert result["differences"] == ["filters are union organizational_group %s, wanted union collection %s"
                                     % (PILOT_GROUP, LAPTOPS)]
    assert fake_ns.writes() == []
    result, failed = run_module(ns_resource_target.main, dict(args, recreate=True, _ansible_check_mode=True))
    assert not failed and result["changed"] and fake_ns.writes() == []
    result, failed = run_module(ns_resource_target.main, dict(args, recreate=True))
    assert not failed and result["changed"] and result["replaced_guid"] == PILOT
    assert fake_ns.writes() == ["CreateResourceTarget", "DeleteItem"] and PILOT not in fake_ns.items
    fake_ns.calls[:] = []
    result, failed = run_module(ns_resource_target.main, dict(args, recreate=True))
    assert not result["changed"] and fake_ns.writes() == []


def test_same_definition_is_unchanged(run_module, fake_ns):
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="CEM Pilot",
                                                              filters=[{"organizational_group": PILOT_GROUP}]))
    assert not failed and not result["changed"] and result["guid"] == PILOT and fake_ns.writes() == []


def test_unreadable_definition_warns_and_changes_nothing(run_module, fake_ns, monkeypatch):
    # Where a warning ends up depends on whether controller code was imported earlier in the session.
    warned = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: warned.append(msg))
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="All Windows Computers",
                                                              filters=[{"collection": "All Computers"}]))
    assert not failed and not result["changed"] and result["definition_verified"] is False
    assert len(warned) == 1 and "were not compared" in warned[0]


def test_filter_arguments(run_module, fake_ns):
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="X", filters=[{"operation": "union"}]))
    assert failed and "exactly one of organizational_group, collection or resources" in result["msg"]
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="X", filters=[
        {"collection": "CEM Laptops", "organizational_group": "Default"}]))
    assert failed and "it names organizational_group, collection" in result["msg"]
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="X", filters=[{"collection": "Nope"}]))
    assert failed and result["error_kind"] == "not_found" and "no collection named 'Nope'" in result["msg"]
    result, failed = run_module(ns_resource_target.main, dict(CONNECTION, name="X", filters=[
        {"collection": "CEM Laptops", "operation": "minus"}]))
    assert failed and "operation" in result["msg"]
