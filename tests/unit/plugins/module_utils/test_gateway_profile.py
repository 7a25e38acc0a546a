# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway profile: loading, the XPath subset, typed reading, missing detection and the plan. No mocks."""
import base64
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _gateway_profile as gp
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

PROFILE = {
    "name": "test-ig",
    "store": "xml_file",
    "root": "InternetGateway",
    "settings": {
        "listener_ip": {"xpath": "/InternetGateway/Listener", "attribute": "ip", "type": "str"},
        "listener_port": {"xpath": "/InternetGateway/Listener", "attribute": "port", "type": "int"},
        "status_reporting": {"xpath": "/InternetGateway/StatusReporting", "attribute": "enabled", "type": "bool",
                             "true": "true", "false": "false"},
        "troubleshooting_mode": {"xpath": "Troubleshooting", "attribute": "mode", "type": "bool"},
        "allow_ephemeral_certificates": {"xpath": "//Troubleshooting", "attribute": "allowEphemeralCertificates",
                                         "type": "bool", True: "True", False: "False"},
    },
}

CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<InternetGateway>
  <!-- written by the test -->
  <Listener ip="0.0.0.0" port="8443"/>
  <StatusReporting enabled="true"/>
  <Troubleshooting mode="false" allowEphemeralCertificates="false"/>
  <NotificationServer url="https://ns.example.com:4726/"/>
  <Version>8.8.1</Version>
</InternetGateway>
"""

REGISTRY_PROFILE = {
    "name": "test-reg",
    "store": "registry",
    "settings": {
        "troubleshooting_mode": {"key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "TroubleshootingMode", "type": "bool"},
        "listener_port": {"key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "Port", "type": "int"},
        "status_reporting": {"key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "StatusReporting", "type": "bool",
                             "true": "Enabled", "false": "Disabled"},
    },
}


def profile(**changes):
    data = dict(PROFILE, settings=dict(PROFILE["settings"]))
    data.update(changes)
    return gp.load_gateway_profile(data)


# --------------------------------------------------------------------------- loading

def test_load_normalizes_relative_and_descendant_xpaths_and_bool_words():
    loaded = profile()
    assert loaded.name == "test-ig"
    assert loaded.origin == "the task"
    assert loaded.names() == ["allow_ephemeral_certificates", "listener_ip", "listener_port", "status_reporting",
                              "troubleshooting_mode"]
    normalized = loaded.to_dict()
    assert normalized["settings"]["troubleshooting_mode"] == {
        "type": "bool", "true": "true", "false": "false", "xpath": "/InternetGateway/Troubleshooting",
        "attribute": "mode"}
    assert normalized["settings"]["allow_ephemeral_certificates"]["xpath"] == "//Troubleshooting"
    assert normalized["settings"]["allow_ephemeral_certificates"]["true"] == "True"
    assert normalized["settings"]["listener_port"] == {
        "type": "int", "xpath": "/InternetGateway/Listener", "attribute": "port"}
    assert normalized["root"] == "InternetGateway" and normalized["store"] == "xml_file"


def test_load_from_yaml_file(tmp_path):
    path = tmp_path / "gateway.yml"
    path.write_text("name: from-file\nstore: xml_file\nroot: IG\nsettings:\n"
                    "  status_reporting: {xpath: /IG/Status, attribute: state, type: bool, \"true\": \"1\", \"false\": \"0\"}\n")
    loaded = gp.load_gateway_profile(str(path))
    assert loaded.origin == str(path)
    assert loaded.settings["status_reporting"].true == "1"
    assert loaded.settings["status_reporting"].false == "0"


def test_registry_profile_defaults():
    loaded = gp.load_gateway_profile(REGISTRY_PROFILE)
    mode = loaded.settings["troubleshooting_mode"]
    assert (mode.true, mode.false, mode.reg_type) == (1, 0, "dword")
    assert loaded.settings["listener_port"].reg_type == "dword"
    assert loaded.settings["status_reporting"].reg_type == "string"
    assert mode.where() == "registry key HKLM:\\SOFTWARE\\Example\\IG value TroubleshootingMode"


@pytest.mark.parametrize("data, words", [
    (None, "No gateway profile was given"),
    ({"store": "ini", "settings": {}}, "has store 'ini'"),
    ({"store": "xml_file", "settings": {"a": {"xpath": "/A", "type": "int"}}}, "needs root"),
    ({"store": "xml_file", "root": "A", "settings": {}}, "has no 'settings' mapping"),
    ({"store": "xml_file", "root": "A", "settings": {"a": {"xpath": "/A", "type": "float"}}}, "has type 'float'"),
    ({"store": "xml_file", "root": "A", "settings": {"Bad-Name": {"xpath": "/A"}}}, "must be lower case"),
    ({"store": "xml_file", "root": "A", "settings": {"a": {"type": "str"}}}, "needs settings.a.xpath"),
    ({"store": "xml_file", "root": "A", "settings": {"a": {"xpath": "/A", "type": "bool", "true": "x", "false": "X"}}},
     "stores true and false the same way"),
    ({"store": "xml_file", "root": "A", "settings": {"a": {"xpath": "/A", "type": "bool", "true": 1, "false": 0}}},
     "needs the stored text for true and false"),
    ({"store": "registry", "settings": {"a": {"key": "SOFTWARE\\X", "value": "V"}}}, "must start with the hive"),
    ({"store": "registry", "settings": {"a": {"key": "HKLM:\\X", "value": "V", "reg_type": "binary"}}},
     "reg_type 'binary'"),
    ({"store": "registry", "settings": {"a": {"key": "HKLM:\\X"}}}, "needs settings.a.value"),
])
def test_bad_profiles_say_what_is_wrong(data, words):
    with pytest.raises(InputError) as err:
        gp.load_gateway_profile(data)
    assert words in str(err.value)


def test_missing_profile_file():
    with pytest.raises(InputError) as err:
        gp.load_gateway_profile("/nonexistent/gateway.yml")
    assert "does not exist" in str(err.value)


# --------------------------------------------------------------------------- the XPath subset

@pytest.mark.parametrize("xpath", [
    "/InternetGateway/Listener", "//Listener", "Listener", "/A/B[@name='x']/C", '/A/B[@name="x"]', "/A/*/C[2]",
    "/A//B[@enabled]", "A/B-c/d.e",
])
def test_xpath_subset_accepts(xpath):
    assert gp.check_xpath(xpath) == xpath


@pytest.mark.parametrize("xpath", [
    "/A/B/@port", "/A/B[contains(@x,'y')]", "/A/../B", "/ns:A/B", "/A/B | /A/C", "/A/B[0]", "/A/B[last()]",
    "", "/", "A/", "/A/child::B", "./A",
])
def test_xpath_subset_refuses(xpath):
    with pytest.raises(InputError) as err:
        gp.check_xpath(xpath)
    assert "outside the XPath subset" in str(err.value)


def test_absolute_xpath():
    assert gp.absolute_xpath("Listener", "IG") == "/IG/Listener"
    assert gp.absolute_xpath("/IG/Listener", "IG") == "/IG/Listener"
    assert gp.absolute_xpath("//Listener", "IG") == "//Listener"


def test_every_accepted_xpath_is_valid_elementtree():
    document = ET.Element("doc")
    document.append(ET.fromstring("<A><B name='x' enabled='1'><C/></B></A>"))
    for xpath in ("/A/B[@name='x']/C", "//B[@enabled]", "/A/*/C[1]"):
        assert len(document.findall("." + xpath)) == 1


# --------------------------------------------------------------------------- reading

def test_read_xml_types_every_setting():
    found = gp.read_xml(CONFIG, profile())
    assert found == {"settings": {"listener_ip": "0.0.0.0", "listener_port": 8443, "status_reporting": True,
                                  "troubleshooting_mode": False, "allow_ephemeral_certificates": False},
                     "missing": [], "problems": []}


def test_read_xml_from_slurp_result_and_utf16():
    slurped = {"content": base64.b64encode(CONFIG.encode("utf-8")).decode("ascii"), "encoding": "base64",
               "source": "C:\\x\\config.xml"}
    assert gp.read_xml(slurped, profile())["settings"]["listener_port"] == 8443
    utf16 = CONFIG.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    slurped16 = {"content": base64.b64encode(utf16).decode("ascii"), "encoding": "base64"}
    assert gp.read_xml(slurped16, profile())["settings"]["status_reporting"] is True


def test_bool_words_are_compared_without_case():
    text = CONFIG.replace('enabled="true"', 'enabled="TRUE"').replace('allowEphemeralCertificates="false"',
                                                                      'allowEphemeralCertificates="True"')
    settings = gp.read_xml(text, profile())["settings"]
    assert settings["status_reporting"] is True
    assert settings["allow_ephemeral_certificates"] is True


def test_missing_element_and_attribute_are_named_with_their_xpath():
    text = CONFIG.replace('<StatusReporting enabled="true"/>', "").replace(' allowEphemeralCertificates="false"', "")
    found = gp.read_xml(text, profile())
    assert found["missing"] == ["allow_ephemeral_certificates", "status_reporting"]
    assert found["problems"] == [
        "missing allow_ephemeral_certificates at XPath //Troubleshooting: the element has no attribute "
        "allowEphemeralCertificates",
        "missing status_reporting at XPath /InternetGateway/StatusReporting",
    ]
    assert found["settings"]["listener_port"] == 8443


def test_value_of_the_wrong_type_is_a_mismatch():
    text = CONFIG.replace('port="8443"', 'port="eighty"').replace('mode="false"', 'mode="maybe"')
    found = gp.read_xml(text, profile())
    assert found["missing"] == ["listener_port", "troubleshooting_mode"]
    assert found["problems"] == [
        "listener_port at XPath /InternetGateway/Listener (attribute port) has 'eighty', not a whole number",
        "troubleshooting_mode at XPath /InternetGateway/Troubleshooting (attribute mode) has 'maybe', neither "
        "'true' (true) nor 'false' (false)",
    ]


def test_an_xpath_that_matches_several_elements_is_a_mismatch():
    text = CONFIG.replace("<Version>", '<Troubleshooting mode="true"/><Version>')
    found = gp.read_xml(text, profile())
    assert found["missing"] == ["allow_ephemeral_certificates", "troubleshooting_mode"]
    assert "troubleshooting_mode: XPath /InternetGateway/Troubleshooting matches 2 elements; make it select one" \
        in found["problems"]


def test_wrong_root_namespace_and_bad_xml_miss_everything():
    everything = profile().names()
    wrong = gp.read_xml("<Other><Listener port='1'/></Other>", profile())
    assert wrong["missing"] == everything
    assert wrong["problems"] == ["the document element is <Other>, the profile expects <InternetGateway>"]
    namespaced = gp.read_xml("<InternetGateway xmlns='urn:x'/>", profile())
    assert namespaced["missing"] == everything
    assert "XML namespace urn:x" in namespaced["problems"][0]
    broken = gp.read_xml("<InternetGateway><Listener></InternetGateway>", profile())
    assert broken["missing"] == everything and "not well-formed XML" in broken["problems"][0]
    empty = gp.read_xml("  ", profile())
    assert empty["problems"] == ["the config file is empty"]


def test_element_text_setting():
    loaded = profile(settings={"version": {"xpath": "/InternetGateway/Version"}})
    assert gp.read_xml(CONFIG, loaded)["settings"] == {"version": "8.8.1"}


def test_read_registry_from_win_reg_stat_results():
    loaded = gp.load_gateway_profile(REGISTRY_PROFILE)
    content = {
        "troubleshooting_mode": {"changed": False, "exists": True, "type": "REG_DWORD", "value": 1, "raw_value": 1},
        "listener_port": {"exists": True, "type": "REG_DWORD", "value": 8443},
        "status_reporting": {"exists": False},
    }
    found = gp.read_registry(content, loaded)
    assert found["settings"] == {"listener_port": 8443, "troubleshooting_mode": True}
    assert found["missing"] == ["status_reporting"]
    assert found["problems"] == ["missing status_reporting at registry key HKLM:\\SOFTWARE\\Example\\IG value "
                                 "StatusReporting"]
    bare = gp.read_registry({"troubleshooting_mode": 0, "listener_port": "443", "status_reporting": "enabled"}, loaded)
    assert bare == {"settings": {"troubleshooting_mode": False, "listener_port": 443, "status_reporting": True},
                    "missing": [], "problems": []}
    with pytest.raises(InputError):
        gp.read_registry("text", loaded)


# --------------------------------------------------------------------------- desired values and the plan

@pytest.mark.parametrize("kind, value, expected", [
    ("bool", True, True), ("bool", "yes", True), ("bool", "Off", False), ("bool", 0, False),
    ("int", "8443", 8443), ("int", 443, 443), ("str", 10, "10"),
])
def test_coerce(kind, value, expected):
    spec = gp.SettingSpec("x", kind, "true", "false", xpath="/A")
    assert gp.coerce(spec, value) == expected


@pytest.mark.parametrize("kind, value, words", [
    ("bool", "perhaps", "must be true or false"), ("int", True, "must be a whole number"),
    ("int", "8443.5", "must be a whole number"), ("str", {"a": 1}, "must be a string"),
])
def test_coerce_refuses(kind, value, words):
    with pytest.raises(InputError) as err:
        gp.coerce(gp.SettingSpec("x", kind, "true", "false", xpath="/A"), value)
    assert words in str(err.value)


def test_listener_port_range():
    with pytest.raises(InputError) as err:
        gp.desired_settings(profile(), {"listener_port": 70000})
    assert "TCP port" in str(err.value)


def test_desired_names_must_be_in_the_profile():
    with pytest.raises(InputError) as err:
        gp.desired_settings(profile(), {"status_reporting": True, "auto_refresh": True})
    assert "does not map the setting(s) auto_refresh" in str(err.value)
    assert "It maps: allow_ephemeral_certificates, listener_ip" in str(err.value)


def test_plan_lists_only_the_settings_that_differ():
    loaded = profile()
    current = gp.read_xml(CONFIG, loaded)["settings"]
    wanted = gp.desired_settings(loaded, {"status_reporting": "yes", "troubleshooting_mode": True,
                                          "listener_port": "8443", "allow_ephemeral_certificates": None})
    assert gp.plan(current, wanted, loaded) == [
        {"name": "troubleshooting_mode", "before": False, "after": True, "data": "true",
         "xpath": "/InternetGateway/Troubleshooting", "attribute": "mode", "node_type": "attribute"},
    ]
    assert gp.plan(current, {"status_reporting": True, "listener_port": 8443}, loaded) == []


def test_plan_for_text_and_registry():
    text_profile = profile(settings={"version": {"xpath": "/InternetGateway/Version"}})
    assert gp.plan({"version": "8.8"}, {"version": "8.8.1"}, text_profile) == [
        {"name": "version", "before": "8.8", "after": "8.8.1", "data": "8.8.1", "xpath": "/InternetGateway/Version",
         "attribute": None, "node_type": "text"}]
    loaded = gp.load_gateway_profile(REGISTRY_PROFILE)
    changes = gp.plan({"troubleshooting_mode": False, "listener_port": 443, "status_reporting": False},
                      {"troubleshooting_mode": True, "listener_port": 8443, "status_reporting": True}, loaded)
    assert changes == [
        {"name": "listener_port", "before": 443, "after": 8443, "data": 8443,
         "key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "Port", "reg_type": "dword"},
        {"name": "status_reporting", "before": False, "after": True, "data": "Enabled",
         "key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "StatusReporting", "reg_type": "string"},
        {"name": "troubleshooting_mode", "before": False, "after": True, "data": 1,
         "key": "HKLM:\\SOFTWARE\\Example\\IG", "value": "TroubleshootingMode", "reg_type": "dword"},
    ]


def test_render_xml_writes_the_changes_and_keeps_the_rest():
    loaded = profile()
    changes = gp.plan({"troubleshooting_mode": False, "listener_port": 8443},
                      {"troubleshooting_mode": True, "listener_port": 9443}, loaded)
    text = gp.render_xml(CONFIG, changes)
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<InternetGateway>')
    assert "<!-- written by the test -->" in text
    assert '<Listener ip="0.0.0.0" port="9443" />' in text
    assert '<Troubleshooting mode="true" allowEphemeralCertificates="false" />' in text
    assert '<NotificationServer url="https://ns.example.com:4726/" />' in text
    assert gp.read_xml(text, loaded)["settings"]["listener_port"] == 9443
    utf16 = CONFIG.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert gp.render_xml(utf16, changes) is None


def test_settings_report_end_to_end():
    report = gp.settings_report(CONFIG, PROFILE, {"status_reporting": False})
    assert report["settings"]["status_reporting"] is True
    assert report["missing"] == []
    assert [c["name"] for c in report["changes"]] == ["status_reporting"]
    assert 'enabled="false"' in report["updated_xml"]
    assert report["profile"]["name"] == "test-ig"
    unread = gp.settings_report(None, PROFILE, {"status_reporting": False})
    assert (unread["settings"], unread["missing"], unread["changes"], unread["updated_xml"]) == ({}, [], [], None)


def test_no_changes_are_planned_on_a_host_that_does_not_match():
    text = CONFIG.replace('<StatusReporting enabled="true"/>', "")
    report = gp.settings_report(text, PROFILE, {"troubleshooting_mode": True})
    assert report["missing"] == ["status_reporting"]
    assert report["changes"] == [] and report["updated_xml"] is None
