# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.ns_item_info with a fake client."""
import ns_fake
from ns_fake import CONNECTION, LAPTOPS, PILOT, POLICY, SERVERS_POLICY

from ansible_collections.itms.cem.plugins.modules import ns_item_info

fake_ns = ns_fake.fake_ns  # the fixture, under the name the tests take


def calls(client):
    return [name for name, _args in client.calls]


def test_by_guid_with_missing(run_module, fake_ns):
    missing = "ffffffff-ffff-4fff-8fff-ffffffffffff"
    result, failed = run_module(ns_item_info.main, dict(CONNECTION, guid=["{%s}" % POLICY.upper(), missing]))
    assert not failed and result["changed"] is False
    assert [i["guid"] for i in result["ns_items"]] == [POLICY] and result["missing"] == [missing]
    assert result["ns_items"][0]["type_name"] == "CEMSettingsPolicy" and result["ns_items"][0]["enabled"] is False
    assert "xml" not in result["ns_items"][0]


def test_exact_name_is_one_call_and_export(run_module, fake_ns):
    result, failed = run_module(ns_item_info.main, dict(CONNECTION, name="CEM Pilot", export_xml=True))
    assert not failed and result["count"] == 1 and result["ns_items"][0]["guid"] == PILOT
    assert "<targetFilters>" in result["ns_items"][0]["xml"]
    assert calls(fake_ns) == ["GetItemsByName", "ExportItemXmlString"]


def test_exact_type_and_wildcards(run_module, fake_ns):
    result, _failed = run_module(ns_item_info.main, dict(CONNECTION, type="CEMSettingsPolicy"))
    assert sorted(i["guid"] for i in result["ns_items"]) == sorted([POLICY, SERVERS_POLICY])
    assert calls(fake_ns) == ["GetItemsByType"]
    fake_ns.calls[:] = []
    result, _failed = run_module(ns_item_info.main, dict(CONNECTION, name="%Laptops", type="%Collection"))
    assert [i["guid"] for i in result["ns_items"]] == [LAPTOPS]
    assert calls(fake_ns) == ["GetItemsByNameAndType", "GetItemByGuid"]
    assert fake_ns.calls[0][1] == {"name": "%Laptops", "type": "%Collection"}
    fake_ns.calls[:] = []
    result, _failed = run_module(ns_item_info.main, dict(CONNECTION, name="%Cloud%"))
    assert result["count"] == 2 and fake_ns.calls[0][1] == {"name": "%Cloud%", "type": ""}


def test_arguments(run_module, fake_ns):
    result, failed = run_module(ns_item_info.main, dict(CONNECTION))
    assert failed and "one of the following is required" in result["msg"]
    result, failed = run_module(ns_item_info.main, dict(CONNECTION, guid=[POLICY], name="x"))
    assert failed and "mutually exclusive" in result["msg"]
    result, failed = run_module(ns_item_info.main, dict(CONNECTION, guid=["not-a-guid"]))
    assert failed and "'not-a-guid' is not a GUID" in result["msg"]


def test_check_mode_and_env(run_module, fake_ns, monkeypatch):
    monkeypatch.setenv("ITMS_NS_URL", "https://ns.lab.example")
    monkeypatch.setenv("ITMS_NS_PASSWORD", "from-env")
    result, failed = run_module(ns_item_info.main, dict(name="CEM Pilot", _ansible_check_mode=True))
    assert not failed and result["count"] == 1
