# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.edr_enrollment_check against a bare script that makes the same round trips, on the lab SEPMs and EDR.

    python bench/edr_enrollment.py [--rounds 5] [--scenario healthy]

Starts the lab SEPM, its peer, the EDR and the EDR listeners in this process (tests/lab), then times, each --rounds
times:

  (a) the module's run() in-process with its clients: every SEPM and EDR read, the TLS probes, the verdicts (what the
      task does, without Ansible around it);
  (b) a bare script with one requests.Session per server that makes the same requests (logon, the groups page, each
      group's settings, the computers, logout; the EDR token, appliances, health events, event count, endpoints) and
      the same TLS handshakes, parsing the JSON and deciding nothing;
  (c) the rules alone (_edr_rules.evaluate on the evidence (a) read).

Prints the median times, the ratio (a)/(b) and the share of (c). Asserts nothing.
"""
import argparse
import datetime
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

_collection.install()

import requests  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_diag, _edr_rules  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._enrollment_args import connect  # noqa: E402
from ansible_collections.itms.cem.plugins.modules import edr_enrollment_check  # noqa: E402
from itms_lab import sepm_edr  # noqa: E402  pylint: disable=wrong-import-order


class StandInModule:
    """What edr_enrollment_check.run uses of AnsibleModule."""

    def __init__(self, params):
        self.params = params
        self.check_mode = False


def module_params(lab, scenario):
    sepm, peer, edr = lab["sepm"], lab["sepm_peer"], lab["edr"]
    return dict(sepm_url=sepm["url"], sepm_username=sepm["username"], sepm_password=sepm["password"], sepm_domain="",
                sepm_validate_certs=True, sepm_ca_path=sepm["ca_path"], sepm_fingerprint=None, sepm_timeout=30,
                sepm_retries=3, edr_url=edr["url"], edr_client_id=edr["client_id"], edr_client_secret=edr["client_secret"],
                edr_validate_certs=True, edr_ca_path=edr["ca_path"], edr_fingerprint=None, edr_timeout=30, edr_retries=3,
                sepm_peers=[dict(url=peer["url"], username=peer["username"], password=peer["password"], domain="",
                                 validate_certs=True, ca_path=peer["ca_path"], fingerprint=None)],
                console=lab["edr_scenarios"][scenario]["console"], sepm_certificate_endpoint=None, health_window_hours=24,
                event_window_minutes=15, max_event_rate=400, probe_timeout=10.0, probe_ca_path=None)


def module_work(params):
    """(the module's result, its clients' statistics), as the runner would report them."""
    clients = connect(params)
    try:
        _changed, result, _diff = edr_enrollment_check.run(StandInModule(params), clients)
    finally:
        clients.close()
    return result, clients.stats()


def _session(ca_path):
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    return session


def _pages(session, url, headers, params=None):
    items, index = [], 1
    while True:
        page = session.get(url, headers=headers, params=dict(params or {}, pageIndex=index, pageSize=100)).json()
        items.extend(page["content"])
        if page.get("lastPage") or not page["content"]:
            return items
        index += 1


def bare_sepm(entry, computers):
    session = _session(entry["ca_path"])
    api = entry["url"] + "/sepm/api/v1"
    token = session.post(api + "/identity/authenticate", json=dict(username=entry["username"], password=entry["password"],
                                                                   domain="")).json()["token"]
    headers = {"Authorization": "Bearer " + token}
    session.get(api + "/version", headers=headers).json()
    for group in _pages(session, api + "/groups", headers):
        session.get("%s/groups/%s/external-communication" % (api, group["id"]), headers=headers).json()
        if not group.get("policyInheritanceEnabled"):
            where = "%s/groups/%s/locations/%s" % (api, group["id"], group["defaultLocationId"])
            session.get(where + "/external-communication", headers=headers).json()
            session.get("%s/groups/%s/locations" % (api, group["id"]), headers=headers, params={"hasName": "true"}).json()
    if computers:
        _pages(session, api + "/computers", headers, {"sort": "COMPUTER_NAME"})
    session.post(api + "/identity/logout", headers=headers)
    session.close()


def bare_edr(entry):
    session = _session(entry["ca_path"])
    token = session.post(entry["url"] + "/atpapi/oauth2/tokens", data={"grant_type": "client_credentials"},
                         auth=(entry["client_id"], entry["client_secret"])).json()["access_token"]
    headers = {"Authorization": "Bearer " + token}
    api = entry["url"] + "/atpapi/v2"
    now = datetime.datetime.now(datetime.timezone.utc)

    def iso(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    session.get(api + "/appliances", headers=headers).json()
    session.post(api + "/systemactivities", headers=headers, json=dict(
        verb="query", limit=1000, where="type_id:1000", start_time=iso(now - datetime.timedelta(hours=24)),
        end_time=iso(now))).json()
    session.post(api + "/events", headers=headers, json=dict(
        verb="query", limit=1, start_time=iso(now - datetime.timedelta(minutes=15)), end_time=iso(now))).json()
    body = dict(verb="query", limit=1000)
    while True:
        page = session.post(api + "/entities/endpoints", headers=headers, json=body).json()
        if not page.get("next") or not page.get("result"):
            break
        body = dict(verb="query", limit=1000, next=page["next"])
    session.close()


def handshake(host, port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host if not host[0].isdigit() else None) as tls:
            return tls.getpeercert(binary_form=True)


def bare_work(lab, probes):
    bare_sepm(lab["sepm"], computers=True)
    bare_sepm(lab["sepm_peer"], computers=False)
    bare_edr(lab["edr"])
    handshake(lab["sepm"]["host"], lab["sepm"]["port"])
    for address, port in probes:
        handshake(address, port)


def timed(function, *args):
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenario", default="healthy", choices=sepm_edr.edr_scenarios.names())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="itms-cem-bench-edr-") as directory:
        lab, service = sepm_edr.start_in_process(directory, args.scenario)
        try:
            params = module_params(lab, args.scenario)
            result, stats = module_work(params)  # warm-up, and what the bare script must match
            probes = [(p["address"], p["port"]) for p in result["evidence"]["probes"]]
            evidence = _edr_diag.gather(connect(params), params)
            requests_made = (stats["sepm"]["http_requests"] + stats["edr"]["http_requests"]
                             + sum(p["http_requests"] for p in stats["sepm_peers"]))
            module_times, bare_times, rule_times = [], [], []
            for _round in range(args.rounds):
                module_times.append(timed(module_work, params))
                bare_times.append(timed(bare_work, lab, probes))
                rule_times.append(timed(_edr_rules.evaluate, evidence, params["console"]))
        finally:
            service.stop()
    module_s, bare_s, rules_s = (statistics.median(t) for t in (module_times, bare_times, rule_times))
    print("scenario %s: %d HTTP requests and %d TLS probes a run; %d groups, %d computers on the SEPM"
          % (args.scenario, requests_made, len(probes) + 1, len(evidence["sepms"][0]["groups"]),
             len(evidence["sepms"][0]["computers"])))
    print("(a) edr_enrollment_check run():   %.3f s (median of %d)" % (module_s, args.rounds))
    print("(b) bare requests, same trips:     %.3f s" % bare_s)
    print("(c) the rules alone:               %.4f s (%.1f%% of (a))" % (rules_s, 100.0 * rules_s / module_s))
    print("ratio (a)/(b): %.2fx" % (module_s / bare_s))


if __name__ == "__main__":
    main()
