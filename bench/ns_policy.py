# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cem_policy's unchanged-policy path against the lab NS, beside a minimal requests-ntlm script.

    python bench/ns_policy.py [--rounds 20]

Starts a lab NS (tests/lab/itms-lab up) in a temporary directory and converges the default CEM
settings policy once (enabled, cloud communication allowed). Then, each round:

* module work: what itms.cem.cem_policy does in-process on an unchanged policy (its ``run`` with a
  stand-in for AnsibleModule): a new client (TLS with the lab CA, NTLM), the policy by name, its
  exported XML checked against the profile and read through it, its targets, the plan;
* minimal script: a new requests Session with requests_ntlm's HttpNtlmAuth making the same three
  form POSTs and reading the two values it compares with ElementTree, no profile check.

Both start a new TLS and NTLM session each round, as each task does. Prints the median time of
each, their ratio, and the HTTP requests of one round of each counted in the lab's request log.
Checks that both see "no change"; asserts nothing about time.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

_collection.install()

import requests  # noqa: E402  pylint: disable=wrong-import-position
from requests_ntlm import HttpNtlmAuth  # noqa: E402  pylint: disable=wrong-import-position,import-error
from ansible_collections.itms.cem.plugins.module_utils import _ns_args  # noqa: E402
from ansible_collections.itms.cem.plugins.modules import cem_policy  # noqa: E402

ITMS_LAB = os.path.join(_collection.LAB, "itms-lab")
POLICY_NAME = "Default Cloud-Enabled Management Settings Policy"
ASDK_NS = "{http://Altiris.ASDK.NS.com}"


class StandInModule:
    """What cem_policy.run uses of AnsibleModule."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def module_params(ns, profile):
    return dict(ns_url=ns["url"], ns_username=ns["username"], ns_password=ns["password"], ns_auth="ntlm",
                validate_certs=True, ca_path=ns["ca_path"], ns_timeout=60, ns_retries=3, ns_binding="auto",
                name=None, guid=None, enabled=True, settings={"allow_cloud_communication": True}, gateways=None,
                targets=None, targets_mode="merge", target_type="", push_policy="never", profile=profile)


def module_work(params):
    client = _ns_args.connect(params)
    try:
        changed, _result, _diff = cem_policy.run(StandInModule(params), client)
    finally:
        client.close()
    return changed


def minimal_script(ns):
    session = requests.Session()
    session.auth = HttpNtlmAuth(ns["username"], ns["password"])
    base = ns["url"] + "/Altiris/ASDK.NS/"
    ca = ns["ca_path"]  # per request: REQUESTS_CA_BUNDLE in the environment would override Session.verify
    try:
        answer = session.post(base + "ItemManagementService.asmx/GetItemsByName", data={"itemName": POLICY_NAME}, verify=ca)
        answer.raise_for_status()
        item = [i for i in ET.fromstring(answer.content) if i.findtext(ASDK_NS + "TypeName") == "CEMSettingsPolicy"][0]
        guid = item.findtext(ASDK_NS + "Guid")
        enabled = item.findtext(ASDK_NS + "Enabled") == "true"
        answer = session.post(base + "ItemManagementService.asmx/ExportItemXmlString", data={"itemGuid": guid}, verify=ca)
        answer.raise_for_status()
        policy = ET.fromstring(ET.fromstring(answer.content).text)
        allow = policy.find("policyData/cemSettings").get("allowCloudCommunication") == "True"
        answer = session.post(base + "ScopingManagementService.asmx/GetResourceTargets", data={"policyItemGuid": guid},
                              verify=ca)
        answer.raise_for_status()
        ET.fromstring(answer.content)  # the targets: parsed, as cem_policy parses them
    finally:
        session.close()
    return not (enabled and allow)


def log_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as handle:
        return sum(1 for _line in handle)


def timed(function, *args):
    started = time.perf_counter()
    changed = function(*args)
    elapsed = time.perf_counter() - started
    if changed:
        raise SystemExit("%s saw a change on a converged policy; the comparison would be unfair" % function.__name__)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="itms-cem-bench-ns-")
    env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    try:
        subprocess.run([ITMS_LAB, "up", "--dir", work, "--cmdb-computers", "10"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(work, "lab.json")) as handle:
            lab = json.load(handle)
        ns, log = lab["ns"], lab["ns"]["request_log"]
        params = module_params(ns, lab["profiles"]["cem_policy"])
        client = _ns_args.connect(params)
        try:
            cem_policy.run(StandInModule(params), client)  # converge once: the rounds find nothing to change
        finally:
            client.close()

        requests_per_round = {}
        for name, function, argument in (("module", module_work, params), ("minimal", minimal_script, ns)):
            before = log_lines(log)
            timed(function, argument)
            requests_per_round[name] = log_lines(log) - before

        times = {"module": [], "minimal": []}
        for _round in range(args.rounds):
            times["module"].append(timed(module_work, params))
            times["minimal"].append(timed(minimal_script, ns))
        module_s = statistics.median(times["module"])
        minimal_s = statistics.median(times["minimal"])
        print("cem_policy, unchanged policy, against the lab NS (%d rounds, a new TLS + NTLM session each)" % args.rounds)
        print("  module work:    %7.1f ms median, %d HTTP requests per round" % (module_s * 1000, requests_per_round["module"]))
        print("  minimal script: %7.1f ms median, %d HTTP requests per round (requests-ntlm: anonymous request first)"
              % (minimal_s * 1000, requests_per_round["minimal"]))
        print("  ratio module / minimal: %.2fx time, %.2fx requests"
              % (module_s / minimal_s, requests_per_round["module"] / float(requests_per_round["minimal"])))
    finally:
        subprocess.run([ITMS_LAB, "down", "--dir", work], env=env, check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
