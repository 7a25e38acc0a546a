# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CEM policy planner: pure functions, no mocks."""
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _cem_policy as core
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch, VendorFault

PROFILE = {
    "name": "itms-lab",
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

XML = """<?xml version="1.0" encoding="utf-8"?>
<item guid="{5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10}" classGuid="{0e0e9c1a-2a35-4a0c-9c62-7d3f1f6b7a10}" version="1">
  <name>Default Cloud-Enabled Management Settings Policy</name>
  <typeName>CEMSettingsPolicy</typeName>
  <enabled>False</enabled>
  <!-- kept as exported -->
  <policyData>
    <cemSettings allowCloudCommunication="False" preferCemWhenOnVpn="False" other="x">
      <gateways>
        <gateway host="ig-emea.cem.example.com" port="443" site="emea" />
      </gateways>
    </cemSettings>
  </policyData>
</item>"""

T1, T2, T3 = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
              "33333333-3333-3333-3333-333333333333")


@pytest.fixture
def profile():
    return core.load_policy_profile(PROFILE)


def state(profile, xml=XML):
    root = core.parse_item_xml(xml)
    core.verify_profile(root, profile)
    return core.read_state(root, profile)


# --------------------------------------------------------------------------- profile

def test_profile_from_yaml_file(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("""
name: file-profile
policy:
  type_name: CEMSettingsPolicy
  default_name: Default Cloud-Enabled Management Settings Policy
settings:
  allow_cloud_communication: {path: policyData/cemSettings, attribute: allowCloudCommunication, type: bool, true: "True", false: "False"}
gateways:
  path: policyData/cemSettings/gateways
  element: gateway
  host: {attribute: host}
  port: {attribute: port}
""")
    loaded = core.load_policy_profile(str(path))
    assert loaded.name == "file-profile" and loaded.settings["allow_cloud_communication"].true == "True"
    assert loaded.gateways.element == "gateway"


@pytest.mark.parametrize("change,message", [
    (lambda p: p.pop("policy"), "no 'policy' mapping"),
    (lambda p: p["policy"].pop("type_name"), "policy.type_name"),
    (lambda p: p["settings"]["allow_cloud_communication"].pop("path"), "settings.allow_cloud_communication.path"),
    (lambda p: p["settings"]["allow_cloud_communication"].update(type="float"), "type 'float'"),
    (lambda p: p["settings"]["allow_cloud_communication"].update(path="/item/policyData"), "absolute"),
    (lambda p: p["settings"]["allow_cloud_communication"].update(path="policyData[@"), "not a valid ElementTree path"),
    (lambda p: p["settings"]["allow_cloud_communication"].update(true="X", false="X"), "two different strings"),
    (lambda p: p["gateways"].pop("element"), "gateways.element"),
    (lambda p: p["gateways"].update(host={}), "gateways.host"),
])
def test_profile_validation(change, message):
    data = __import__("copy").deepcopy(PROFILE)
    change(data)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        core.load_policy_profile(data)


def test_profile_is_required_and_says_how_to_get_one(tmp_path):
    with pytest.raises(InputError) as info:
        core.load_policy_profile(None)
    assert "ns_item_info" in str(info.value) and "export_xml" in str(info.value)
    with pytest.raises(InputError, match="does not exist"):
        core.load_policy_profile(str(tmp_path / "nope.yml"))


# --------------------------------------------------------------------------- reading and verifying

def test_read_state(profile):
    assert state(profile) == dict(settings={"allow_cloud_communication": False, "prefer_cem_when_on_vpn": False},
                                  gateways=[{"host": "ig-emea.cem.example.com", "port": 443}])


def test_mismatch_lists_every_path_and_says_how_to_export(profile):
    broken = XML.replace('preferCemWhenOnVpn="False" ', "").replace("<gateways>", "<gws>").replace("</gateways>", "</gws>")
    with pytest.raises(ProfileMismatch) as info:
        state(profile, broken)
    missing = info.value.details["missing"]
    assert missing == ["settings.prefer_cem_when_on_vpn: attribute preferCemWhenOnVpn not found on policyData/cemSettings",
                       "gateways: container element policyData/cemSettings/gateways not found"]
    text = str(info.value)
    assert all(m in text for m in missing)
    assert "itms.cem.ns_item_info" in text and "export_xml: true" in text
    assert info.value.to_fail_json()["error_kind"] == "profile_mismatch"


def test_mismatch_on_values_and_gateway_fields(profile):
    odd = XML.replace('allowCloudCommunication="False"', 'allowCloudCommunication="maybe"').replace(
        'port="443"', 'port="https"').replace('<gateway host', '<gateway name')
    missing = core.check_profile(core.parse_item_xml(odd), profile)
    assert missing == [
        "settings.allow_cloud_communication: policyData/cemSettings/@allowCloudCommunication has 'maybe', neither 'True' nor 'False'",
        "gateways.host: @host not found on policyData/cemSettings/gateways/gateway[1]",
        "gateways.port: policyData/cemSettings/gateways/gateway[1] has port 'https', not a number",
    ]


def test_whole_other_item_mismatches(profile):
    other = '<item guid="{x}"><name>Some report</name><reportData/></item>'
    assert len(core.check_profile(core.parse_item_xml(other), profile)) == 3


def test_unparseable_xml():
    with pytest.raises(VendorFault):
        core.parse_item_xml("<item>")
    with pytest.raises(VendorFault):
        core.parse_item_xml("")


def test_child_element_fields_and_text_settings():
    profile = core.load_policy_profile({
        "policy": {"type_name": "X"},
        "settings": {"mode": {"path": "data/mode"}, "interval": {"path": "data", "attribute": "interval", "type": "int"}},
        "gateways": {"path": "data/gws", "element": "gw", "host": {"path": "host"}, "port": {"path": "port"}},
    })
    xml = '<item><data interval="60"><mode>auto</mode><gws><gw><host>a.example</host><port>443</port></gw></gws></data></item>'
    current = state(profile, xml)
    assert current == dict(settings={"mode": "auto", "interval": 60}, gateways=[{"host": "a.example", "port": 443}])
    the_plan = core.plan(dict(current, enabled=None, targets=[]),
                         dict(settings={"interval": 30}, gateways=[{"host": "a.example", "port": 8443},
                                                                   {"host": "b.example", "port": 443}]))
    new = core.apply_plan_to_xml(xml, profile, the_plan)
    assert state(profile, new) == dict(settings={"mode": "auto", "interval": 30},
                                       gateways=[{"host": "a.example", "port": 8443}, {"host": "b.example", "port": 443}])


# --------------------------------------------------------------------------- desired state

def test_desired_settings_typed_and_checked(profile):
    assert core.desired_settings(profile, {"allow_cloud_communication": "yes", "prefer_cem_when_on_vpn": False}) == \
        {"allow_cloud_communication": True, "prefer_cem_when_on_vpn": False}
    assert core.desired_settings(profile, None) == {}
    with pytest.raises(InputError, match="no setting.*allow_cloud") as info:
        core.desired_settings(profile, {"allow_cloud": True})
    assert "allow_cloud_communication, prefer_cem_when_on_vpn" in str(info.value)
    with pytest.raises(InputError, match="true or false"):
        core.desired_settings(profile, {"allow_cloud_communication": "sometimes"})


def test_desired_gateways(profile):
    assert core.desired_gateways(profile, None) is None
    assert core.desired_gateways(profile, [{"host": "ig.example", "port": None}, {"host": "ig2", "port": "8443"}]) == \
        [{"host": "ig.example", "port": 443}, {"host": "ig2", "port": 8443}]
    for bad, message in (([{"port": 1}], "needs a host"), ([{"host": "a", "port": 70000}], "outside"),
                         ([{"host": "a", "port": 1}, {"host": "A", "port": 1}], "twice")):
        with pytest.raises(InputError, match=message):
            core.desired_gateways(profile, bad)
    no_gateways = core.load_policy_profile(dict(PROFILE, gateways=None))
    with pytest.raises(InputError, match="does not describe the gateway list"):
        core.desired_gateways(no_gateways, [])


# --------------------------------------------------------------------------- plan

def current(profile, **override):
    base = state(profile)
    base.update(enabled=False, targets=[T1])
    base.update(override)
    return base


def test_plan_everything_changes(profile):
    the_plan = core.plan(current(profile), dict(enabled=True, settings={"allow_cloud_communication": True},
                                                gateways=[{"host": "ig-emea.cem.example.com", "port": 8443}],
                                                targets=[T2]))
    assert the_plan.changed and the_plan.xml_changed
    assert the_plan.enable is True and the_plan.settings == {"allow_cloud_communication": True}
    assert the_plan.gateways == [{"host": "ig-emea.cem.example.com", "port": 8443}]
    assert the_plan.targets == [T1, T2]  # merge keeps what was there
    assert the_plan.changes == ["enable the policy", "set allow_cloud_communication from False to True",
                                "set the gateways to ig-emea.cem.example.com:8443", "add target(s) %s" % T2]
    assert the_plan.before == dict(enabled=False, settings={"allow_cloud_communication": False, "prefer_cem_when_on_vpn": False},
                                   gateways=[{"host": "ig-emea.cem.example.com", "port": 443}], targets=[T1])
    assert the_plan.after["enabled"] is True and the_plan.after["targets"] == [T1, T2]
    assert the_plan.after["settings"]["prefer_cem_when_on_vpn"] is False


def test_plan_nothing_to_do(profile):
    now = current(profile, enabled=True)
    the_plan = core.plan(now, dict(enabled=True, settings={"allow_cloud_communication": False},
                                   gateways=[{"host": "IG-EMEA.cem.example.com", "port": 443}], targets=[T1]))
    assert not the_plan.changed and not the_plan.xml_changed and the_plan.enable is None and the_plan.targets is None
    assert the_plan.before == the_plan.after


def test_plan_leaves_unmanaged_alone(profile):
    the_plan = core.plan(current(profile), dict(enabled=None, settings={}, gateways=None, targets=None))
    assert not the_plan.changed and the_plan.before == the_plan.after


@pytest.mark.parametrize("mode,now,wanted,after", [
    ("merge", [T1], [T1], None),
    ("merge", [T1, T2], [T2], None),
    ("merge", [T1], [T2, T3, T2], [T1, T2, T3]),
    ("merge", [], [], None),
    ("replace", [T1, T2], [T2, T1], None),
    ("replace", [T1, T2], [T3], [T3]),
    ("replace", [T1], [], []),
    ("replace", [], [], None),
])
def test_plan_targets(profile, mode, now, wanted, after):
    the_plan = core.plan(current(profile, targets=now), dict(targets=wanted), mode)
    assert the_plan.targets == after
    assert the_plan.changed == (after is not None)


def test_targets_mode_checked():
    with pytest.raises(InputError, match="merge or replace"):
        core.merge_targets([], [], "append")


def test_gateway_order_matters(profile):
    two = [{"host": "a", "port": 443}, {"host": "b", "port": 443}]
    the_plan = core.plan(dict(enabled=None, settings={}, gateways=two, targets=[]), dict(gateways=list(reversed(two))))
    assert the_plan.gateways == list(reversed(two))


# --------------------------------------------------------------------------- writing the XML

def test_apply_changes_only_the_profile_paths(profile):
    the_plan = core.plan(current(profile), dict(settings={"allow_cloud_communication": True},
                                                gateways=[{"host": "ig-us.cem.example.com", "port": 8443},
                                                          {"host": "IG-EMEA.cem.example.com", "port": 443}]))
    new = core.apply_plan_to_xml(XML, profile, the_plan)
    assert new.startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert "<!-- kept as exported -->" in new
    root = ET.fromstring(new.split("?>", 1)[1])
    settings = root.find("policyData/cemSettings")
    assert settings.get("allowCloudCommunication") == "True" and settings.get("preferCemWhenOnVpn") == "False"
    assert settings.get("other") == "x" and root.find("enabled").text == "False"
    assert root.get("guid") == "{5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10}" and root.get("version") == "1"
    gateways = root.findall("policyData/cemSettings/gateways/gateway")
    assert [(g.get("host"), g.get("port")) for g in gateways] == [("ig-us.cem.example.com", "8443"),
                                                                  ("IG-EMEA.cem.example.com", "443")]
    assert gateways[1].get("site") == "emea"  # an existing gateway keeps its other attributes
    assert state(profile, new)["settings"]["allow_cloud_communication"] is True
    # the written XML reads back as the plan's "after"
    again = core.plan(dict(state(profile, new), enabled=False, targets=[T1]),
                      dict(settings={"allow_cloud_communication": True},
                           gateways=[{"host": "ig-us.cem.example.com", "port": 8443},
                                     {"host": "IG-EMEA.cem.example.com", "port": 443}]))
    assert not again.changed


def test_apply_removes_all_gateways_and_adds_to_empty(profile):
    empty = core.apply_plan_to_xml(XML, profile, core.plan(current(profile), dict(gateways=[])))
    assert state(profile, empty)["gateways"] == []
    added = core.apply_plan_to_xml(empty, profile, core.plan(dict(state(profile, empty), enabled=None, targets=[]),
                                                             dict(gateways=[{"host": "ig", "port": 443}])))
    assert state(profile, added)["gateways"] == [{"host": "ig", "port": 443}]


def test_apply_keeps_a_default_namespace():
    profile = core.load_policy_profile({"policy": {"type_name": "X"},
                                        "settings": {"on": {"path": "{*}data", "attribute": "on", "type": "bool"}}})
    xml = '<item xmlns="urn:x"><data on="False"/></item>'
    the_plan = core.plan(dict(state(profile, xml), enabled=None, targets=[]), dict(settings={"on": True}))
    new = core.apply_plan_to_xml(xml, profile, the_plan)
    assert new == '<item xmlns="urn:x"><data on="True" /></item>'


def test_policy_view(profile):
    view = core.policy_view(dict(enabled=True, settings={"a": 1}, gateways=None, targets=[T1]), profile)
    assert view == dict(enabled=True, settings={"a": 1}, gateways=[], targets=[T1])
    no_gw = core.load_policy_profile(dict(PROFILE, gateways=None))
    assert "gateways" not in core.policy_view(dict(enabled=True), no_gw)
