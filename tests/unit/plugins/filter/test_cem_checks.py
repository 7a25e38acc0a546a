# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cem_checks filter plugin: the names it maps, bad input as AnsibleFilterError, its YAML docs, and a template."""
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.itms.cem.plugins.filter import cem_checks

FILTERS = cem_checks.FilterModule().filters()
FILTER_DIR = os.path.dirname(cem_checks.__file__)


def test_filter_names():
    assert sorted(FILTERS) == ["cem_check_summary", "cem_log_search", "cem_port_consistency", "cem_version_check"]


def test_filters_call_the_pure_code():
    ports = FILTERS["cem_port_consistency"](dict(gateway="ig", listener=dict(ip="0.0.0.0", port=8443),
                                                 policy_gateways=[dict(host="ig", port=8443)], iis_https_bindings=[],
                                                 firewall_ports=[8443]))
    assert ports["verdict"] == "pass"
    assert FILTERS["cem_version_check"]({"NS": "8.8"}) == [dict(
        component="NS", version="8.8", verdict="fail", message="NS: 8.8 is older than 8.8.1; upgrade it to 8.8.1 or later")]
    assert FILTERS["cem_version_check"]({"NS": "8.8"}, "8.8")[0]["verdict"] == "pass"
    assert FILTERS["cem_log_search"](["a", "b a"], "a")["line_number"] == 2
    assert FILTERS["cem_check_summary"]([dict(id="x", step=5, verdict="fail", message="m")])["first_failing_step"] == \
        dict(step=5, title="CEM policy", check="x", message="m")


@pytest.mark.parametrize("name, args, message", [
    ("cem_port_consistency", ([],), "cem_port_consistency needs a dict"),
    ("cem_version_check", ({"NS": "8.8.1"}, "8.8 RU1"), "minimum '8.8 RU1' is not a release version"),
    ("cem_log_search", ("x", "("), "is not a valid regular expression"),
    ("cem_check_summary", ([dict(id="x", step=1, verdict="maybe")],), "has verdict 'maybe'"),
])
def test_bad_input_is_a_filter_error(name, args, message):
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS[name](*args)
    assert message in str(info.value)


@pytest.mark.parametrize("name, positional", [
    ("cem_port_consistency", "_input"), ("cem_version_check", "_input, minimum"),
    ("cem_log_search", "_input, pattern"), ("cem_check_summary", "_input"),
])
def test_yaml_docs(name, positional):
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    assert sorted(doc) == ["DOCUMENTATION", "EXAMPLES", "RETURN"]
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["DOCUMENTATION"]["positional"] == positional
    assert doc["DOCUMENTATION"]["version_added"] == "0.2.0"
    assert set(p.strip() for p in positional.split(",")) <= set(doc["DOCUMENTATION"]["options"])
    assert "_value" in doc["RETURN"]
    assert "itms.cem." + name in doc["EXAMPLES"]


def test_in_a_template():
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    templar = Templar(loader=DataLoader(), variables=dict(
        checks=[dict(id="dns", step=1, verdict="pass", message="ok"),
                dict(id="ports", step=1, verdict="fail", message="closed")],
        log="x\n11/29/2026 9:54:22 PM registered\n"))
    lines = templar.template(trust_as_template("{{ (checks | itms.cem.cem_check_summary).lines }}"))
    assert lines == ["[PASS]        step 1 dns: ok", "[FAIL]        step 1 ports: closed"]
    found = templar.template(trust_as_template(
        "{{ log | itms.cem.cem_log_search('registered') }}"))
    assert found == dict(found=True, line="11/29/2026 9:54:22 PM registered", line_number=2,
                         time="2026-11-29T21:54:22", count=1)
