# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cem_gateway_settings filter: its errors, its documentation, and the sample profile of the guide."""
import base64
import inspect
import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.itms.cem.plugins.filter import cem_gateway
from ansible_collections.itms.cem.plugins.filter.cem_gateway import FilterModule, cem_gateway_settings

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
DOC = os.path.join(REPO, "plugins", "filter", "cem_gateway_settings.yml")
GUIDE = os.path.join(REPO, "docs", "internet-gateway.md")

PROFILE = {
    "name": "unit",
    "store": "xml_file",
    "root": "InternetGateway",
    "settings": {
        "listener_ip": {"xpath": "/InternetGateway/Listener", "attribute": "ip"},
        "listener_port": {"xpath": "/InternetGateway/Listener", "attribute": "port", "type": "int"},
        "status_reporting": {"xpath": "/InternetGateway/StatusReporting", "attribute": "enabled", "type": "bool"},
        "troubleshooting_mode": {"xpath": "/InternetGateway/Troubleshooting", "attribute": "mode", "type": "bool"},
        "allow_ephemeral_certificates": {"xpath": "/InternetGateway/Troubleshooting",
                                         "attribute": "allowEphemeralCertificates", "type": "bool"},
    },
}

# The lab gateway's configuration file as the lab writes it (tests/lab/itms_lab/gateway.py, DIR/ig/config.xml).
LAB_CONFIG = ('<InternetGateway><Listener ip="0.0.0.0" port="8443"/><StatusReporting enabled="true"/>'
              '<Troubleshooting mode="false" allowEphemeralCertificates="false"/>'
              '<NotificationServer url="https://127.0.0.1:4726/"/><Version>8.8.1</Version></InternetGateway>')


def slurped(text):
    return {"content": base64.b64encode(text.encode("utf-8")).decode("ascii"), "encoding": "base64",
            "source": "config.xml", "changed": False}


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"cem_gateway_settings": cem_gateway_settings}


def test_reads_a_slurp_result_and_plans():
    result = cem_gateway_settings(slurped(LAB_CONFIG), PROFILE, {"troubleshooting_mode": True,
                                                                 "allow_ephemeral_certificates": "true",
                                                                 "listener_port": 8443})
    assert result["settings"] == {"listener_ip": "0.0.0.0", "listener_port": 8443, "status_reporting": True,
                                  "troubleshooting_mode": False, "allow_ephemeral_certificates": False}
    assert result["missing"] == [] and result["problems"] == []
    assert [(c["name"], c["data"], c["node_type"]) for c in result["changes"]] == [
        ("allow_ephemeral_certificates", "true", "attribute"), ("troubleshooting_mode", "true", "attribute")]
    assert '<Troubleshooting mode="true" allowEphemeralCertificates="true" />' in result["updated_xml"]


def test_mismatch_is_a_result_not_an_error():
    result = cem_gateway_settings(LAB_CONFIG.replace('<StatusReporting enabled="true"/>', ""), PROFILE)
    assert result["missing"] == ["status_reporting"]
    assert result["problems"] == ["missing status_reporting at XPath /InternetGateway/StatusReporting"]


@pytest.mark.parametrize("content, profile, desired, words", [
    (LAB_CONFIG, {"store": "xml_file"}, None, "needs root"),
    (LAB_CONFIG, PROFILE, {"auto_refresh": True}, "does not map the setting(s) auto_refresh"),
    (LAB_CONFIG, PROFILE, {"listener_port": "https"}, "listener_port must be a whole number"),
    (12, PROFILE, None, "must be text or a slurp result"),
    ({"content": "%%%", "encoding": "base64"}, PROFILE, None, "not valid base64"),
    (None, "", None, "No gateway profile was given"),
])
def test_bad_input_is_a_filter_error(content, profile, desired, words):
    with pytest.raises(AnsibleFilterError) as err:
        cem_gateway_settings(content, profile, desired)
    assert str(err.value).startswith("cem_gateway_settings: ")
    assert words in str(err.value)


def test_documentation_matches_the_signature():
    with open(DOC) as handle:
        doc = yaml.safe_load(handle)
    assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == "cem_gateway_settings"
    parameters = list(inspect.signature(cem_gateway.cem_gateway_settings).parameters)
    assert parameters == ["content", "profile", "desired"]
    assert [p.strip() for p in documentation["positional"].split(",")] == parameters[1:]
    assert sorted(documentation["options"]) == sorted(["_input"] + parameters[1:])
    returned = doc["RETURN"]["_value"]["contains"]
    report = cem_gateway_settings(LAB_CONFIG, PROFILE, {"status_reporting": False})
    assert sorted(returned) == sorted(report)
    assert yaml.safe_load(doc["EXAMPLES"])[1]["ansible.builtin.set_fact"]["gateway_settings"].count(
        "itms.cem.cem_gateway_settings") == 1


def test_the_guides_sample_profile_loads_and_reads_its_sample_config():
    with open(GUIDE) as handle:
        text = handle.read()
    profile_block = re.search(r"<!-- sample-profile -->\s*```yaml\n(.*?)```", text, re.S).group(1)
    config_block = re.search(r"<!-- sample-config -->\s*```xml\n(.*?)```", text, re.S).group(1)
    profile = yaml.safe_load(profile_block)
    result = cem_gateway_settings(config_block, profile)
    assert result["missing"] == []
    assert result["settings"] == {"listener_ip": "0.0.0.0", "listener_port": 8443, "status_reporting": True,
                                  "troubleshooting_mode": False, "allow_ephemeral_certificates": True}
