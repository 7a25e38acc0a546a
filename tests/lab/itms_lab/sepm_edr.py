# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab SEPM and EDR service (``python -m itms_lab.daemon --dir DIR --service edr``), its files and commands.

One process serves, on 127.0.0.1: the lab SEPM (``sepm.py``) and its peer (another SEPM site with the same group
tree), the lab EDR API (``edr.py``), and the EDR "client-facing" TLS listeners the private-cloud settings point
at (``tlsserve``): ``edr_good`` (DNS localhost; lab CA), ``edr_no_san`` (CN localhost, no SAN; lab CA),
``edr_proxy`` (DNS localhost; the "itms.cem lab intercepting proxy" CA) and ``edr_second`` (DNS localhost; a
second appliance's own certificate). What they hold is the scenario of ``DIR/edr-scenario.json``
(``edr_scenarios.py``); faults come from ``DIR/sepm-edr-faults.json``; both are read again per request.

Files in DIR: ``edr-config.json`` (written by ``up``), ``sepm-secrets.json`` and ``edr-secrets.json`` (0600: the
SEPM accounts' and the EDR OAuth client's generated secrets, kept between runs), ``edr-scenario.json``,
``sepm-edr-faults.json``, ``sepm-edr-requests.jsonl``, and ``sepm-edr/<name>.pem``/``.key`` (the certificates,
issued again at every start; ``proxy-ca.pem`` is the intercepting proxy's CA).
"""

import hashlib
import json
import os
import secrets
import ssl
import string
import sys
import threading
import time

from itms_lab import edr_scenarios, procs, tlsserve
from itms_lab.procs import LabError
from itms_lab.sepm_edr_http import FAULTS, FAULTS_FILE, REQUEST_LOG, SCENARIO_FILE

HOST = tlsserve.HOST
SEPM_USER = "sepmadmin"
CERT_DIR = "sepm-edr"
SERVERS = (edr_scenarios.PRIMARY, edr_scenarios.PEER, "edr")
CERT_NAMES = {  # certificate: (CN, DNS names, IP addresses, SAN at all, issuer, own key)
    "sepm": (edr_scenarios.FQDNS["sepm"], ("localhost", edr_scenarios.FQDNS["sepm"]), (HOST,), True, "lab", False),
    "sepm_peer": (edr_scenarios.FQDNS["sepm_peer"], ("localhost", edr_scenarios.FQDNS["sepm_peer"]), (HOST,), True, "lab",
                  False),
    "edr": (edr_scenarios.EDR_FQDN, ("localhost", edr_scenarios.EDR_FQDN), (HOST,), True, "lab", False),
    "edr_good": ("localhost", ("localhost",), (), True, "lab", False),
    "edr_no_san": ("localhost", (), (), False, "lab", False),
    "edr_proxy": ("localhost", ("localhost",), (), True, "proxy", True),
    "edr_second": ("localhost", ("localhost",), (), True, "lab", True),
}
PROXY_CA = "itms.cem lab intercepting proxy"
WORLD_TTL_S = 60


def files(directory):
    def j(*name):
        return os.path.join(directory, *name)
    return {"config": j("edr-config.json"), "sepm_secrets": j("sepm-secrets.json"), "edr_secrets": j("edr-secrets.json"),
            "scenario": j(SCENARIO_FILE), "faults": j(FAULTS_FILE), "request_log": j(REQUEST_LOG),
            "cert_dir": j(CERT_DIR), "ca": j("ca.pem"), "ca_key": j("ca.key")}


def _secret(length=24):
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _index in range(length))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value


def ensure_secrets(directory):
    """({role: {"username", "password"}}, {"client_id", "client_secret"}), generated once and kept (mode 0600)."""
    paths = files(directory)
    sepm = procs.read_json(paths["sepm_secrets"]) or {}
    if not all((sepm.get(role) or {}).get("password") for role in (edr_scenarios.PRIMARY, edr_scenarios.PEER)):
        sepm = dict((role, {"username": SEPM_USER, "password": _secret(20)})
                    for role in (edr_scenarios.PRIMARY, edr_scenarios.PEER))
        procs.write_json(paths["sepm_secrets"], sepm, 0o600)
    edr = procs.read_json(paths["edr_secrets"]) or {}
    if not (edr.get("client_id") and edr.get("client_secret")):
        edr = {"client_id": "O2ID.itms-cem-lab." + _secret(12).lower(), "client_secret": _secret(32)}
        procs.write_json(paths["edr_secrets"], edr, 0o600)
    return sepm, edr


def _need_lab(directory):
    if not os.path.isdir(directory):
        raise LabError("no lab at %s: run itms-lab up --dir %s first" % (directory, directory))


def read_scenario(directory):
    name = (procs.read_json(files(directory)["scenario"]) or {}).get("scenario")
    return name if name in edr_scenarios.SCENARIOS else edr_scenarios.DEFAULT_SCENARIO


def write_scenario(directory, name):
    if name not in edr_scenarios.SCENARIOS:
        raise LabError("unknown EDR scenario %r; one of %s" % (name, ", ".join(edr_scenarios.SCENARIOS)))
    procs.write_json(files(directory)["scenario"], {"scenario": name})


def read_faults(directory):
    data = procs.read_json(files(directory)["faults"]) or {}
    return dict((system, [n for n in data.get(system) or [] if n in FAULTS[system]]) for system in FAULTS)


def set_faults(directory, sepm=None, edr=None):
    """Set the faults of the SEPMs and/or the EDR (None keeps that system's); the faults now set."""
    _need_lab(directory)
    current = read_faults(directory)
    for system, names in (("sepm", sepm), ("edr", edr)):
        if names is not None:
            unknown = [n for n in names if n not in FAULTS[system]]
            if unknown:
                raise LabError("unknown %s fault %s; one of %s" % (system.upper(), ", ".join(unknown), ", ".join(FAULTS[system])))
            current[system] = sorted(set(names))
    procs.write_json(files(directory)["faults"], current)
    return current


def clear_faults(directory):
    """Remove the SEPM and EDR faults; True when one was set."""
    path = files(directory)["faults"]
    had = any(read_faults(directory).values())
    if os.path.exists(path):
        os.remove(path)
    return had


def config(directory, previous_lab, ca_path, ca_key_path):
    """``DIR/edr-config.json``: where things are, and the ports of the previous run (kept when free)."""
    previous_lab = previous_lab or {}
    ports = dict((name, (previous_lab.get(name) or {}).get("port")) for name in SERVERS)
    ports.update(((previous_lab.get("edr") or {}).get("listeners") or {}))
    return {"dir": directory, "ca_cert": ca_path, "ca_key": ca_key_path, "ports": ports}


def prepare(directory, scenario):
    """Before the service starts: its secrets, the scenario it starts in, and no faults (a new up is a clean lab)."""
    ensure_secrets(directory)
    write_scenario(directory, scenario or edr_scenarios.DEFAULT_SCENARIO)
    clear_faults(directory)


def fingerprint(pem_path):
    """SHA-256 of a PEM certificate's DER, colon-separated upper-case hex."""
    with open(pem_path, encoding="ascii") as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# --------------------------------------------------------------------------- the service

class Worlds:
    """The lab's data per scenario, built again after ``WORLD_TTL_S`` (computers' last contact follows the clock)."""

    def __init__(self, ports, pems):
        self.ports, self.pems = ports, pems
        self._cache = {}
        self._lock = threading.Lock()

    def get(self, scenario):
        with self._lock:
            built = self._cache.get(scenario)
            if built is None or time.monotonic() - built[0] > WORLD_TTL_S:
                built = (time.monotonic(), edr_scenarios.World(scenario, self.ports, self.pems))
                self._cache[scenario] = built
            return built[1]


def issue_certificates(cert_dir, ca_cert_path, ca_key_path):
    """Issue every certificate of ``CERT_NAMES`` into ``cert_dir``; {name: (cert path, key path)}."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from itms_lab import certs

    with open(ca_cert_path, "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(ca_key_path, "rb") as handle:
        issuers = {"lab": (ca_cert, serialization.load_pem_private_key(handle.read(), password=None)),
                   "proxy": certs.make_ca(PROXY_CA)}
    os.makedirs(cert_dir, exist_ok=True)
    certs.write_pem(os.path.join(cert_dir, "proxy-ca.pem"), issuers["proxy"][0])
    issued = {}
    for name, (common_name, dns, ips, san, issuer, own_key) in CERT_NAMES.items():
        cert, key = certs.issue_named(common_name, issuers[issuer], dns=dns, ips=ips, san=san, fresh_key=own_key)
        issued[name] = certs.write_pair(cert_dir, name, cert, key)
    return issued


class SepmEdr:
    """The whole service of one lab directory: ``start()``, ``ready()``, ``stop()``."""

    def __init__(self, config_data):
        self.config = config_data
        self.listeners, self.servers = {}, {}

    def start(self):
        from itms_lab.edr import EdrApp
        from itms_lab.sepm import SepmApp
        from itms_lab.procs import RequestLog
        from itms_lab.sepm_edr_http import Switches, bind_app

        directory = self.config["dir"]
        paths = files(directory)
        previous = self.config.get("ports") or {}
        issued = issue_certificates(paths["cert_dir"], self.config["ca_cert"], self.config["ca_key"])
        try:
            for name in edr_scenarios.LISTENERS:
                context = tlsserve.server_context(*issued[name])
                self.listeners[name] = tlsserve.bind(
                    int(previous.get(name) or 0), context, fallback=True,
                    body=("itms-lab EDR listener: %s\r\n" % name).encode("ascii"),
                    server_header="itms-lab-edr-listener", name="lab-edr-%s" % name).start()
            pems = {}
            for name in edr_scenarios.LISTENERS:
                with open(issued[name][0], encoding="ascii") as handle:
                    pems[name] = handle.read()
            worlds = Worlds(dict((name, server.port) for name, server in self.listeners.items()), pems)
            sepm_accounts, client = ensure_secrets(directory)
            switches, log = Switches(directory), RequestLog(paths["request_log"])
            apps = [SepmApp(role, sepm_accounts[role], switches, log, worlds) for role in (edr_scenarios.PRIMARY, edr_scenarios.PEER)]
            apps.append(EdrApp(client, switches, log, worlds))
            for app in apps:
                context = tlsserve.server_context(*issued[app.name])
                self.servers[app.name] = bind_app(int(previous.get(app.name) or 0), context, app).start()
        except BaseException:
            self.stop()
            raise
        return self

    def ready(self):
        ports = dict((name, server.port) for name, server in self.servers.items())
        ports.update((name, server.port) for name, server in self.listeners.items())
        return {"ports": ports}

    def stop(self):
        for server in list(self.servers.values()) + list(self.listeners.values()):
            server.stop()
        self.servers, self.listeners = {}, {}


# --------------------------------------------------------------------------- lab.json and inventory

def start_in_process(directory, scenario="healthy"):
    """(lab.json's SEPM/EDR part with ``_dir``, the running service) of a new lab in ``directory``, in this process.

    For tests: a CA of its own, the SEPMs, the EDR and the listeners on free ports; ``service.stop()`` ends it.
    """
    from cryptography.hazmat.primitives import serialization

    from itms_lab import certs

    ca_cert, ca_key = certs.make_ca("itms.cem lab CA")
    ca_path, ca_key_path = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    certs.write_pem(ca_path, ca_cert)
    with open(ca_key_path, "wb") as handle:
        handle.write(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    prepare(directory, scenario)
    service = SepmEdr(config(directory, {}, ca_path, ca_key_path)).start()
    description = describe(directory, service.ready())
    description["_dir"] = directory
    return description, service


def describe(directory, ready):
    """What lab.json gains: sepm, sepm_peer, edr, edr_scenario, edr_scenarios."""
    paths = files(directory)
    ports = ready["ports"]
    sepm_accounts, client = ensure_secrets(directory)
    result = {}
    for role in (edr_scenarios.PRIMARY, edr_scenarios.PEER):
        result[role] = {"url": "https://%s:%d" % (HOST, ports[role]), "host": HOST, "port": ports[role],
                        "username": sepm_accounts[role]["username"], "password": sepm_accounts[role]["password"],
                        "domain": "", "ca_path": paths["ca"],
                        "fingerprint": fingerprint(os.path.join(paths["cert_dir"], role + ".pem")),
                        "fqdn": edr_scenarios.FQDNS[role]}
    result["edr"] = {"url": "https://%s:%d" % (HOST, ports["edr"]), "host": HOST, "port": ports["edr"],
                     "client_id": client["client_id"], "client_secret": client["client_secret"], "ca_path": paths["ca"],
                     "fingerprint": fingerprint(os.path.join(paths["cert_dir"], "edr.pem")), "fqdn": edr_scenarios.EDR_FQDN,
                     "listeners": dict((name, ports[name]) for name in edr_scenarios.LISTENERS)}
    result["edr_scenario"] = {"file": paths["scenario"], "current": read_scenario(directory), "faults": paths["faults"],
                              "fault_names": dict((system, list(names)) for system, names in FAULTS.items()),
                              "request_log": paths["request_log"]}
    result["edr_scenarios"] = edr_scenarios.catalogue()
    return result


def inventory_vars(lab):
    sepm, peer, edr = lab["sepm"], lab["sepm_peer"], lab["edr"]
    return (("itms_sepm_url", sepm["url"]), ("itms_sepm_username", sepm["username"]),
            ("itms_sepm_password", sepm["password"]), ("itms_sepm_domain", sepm["domain"]),
            ("itms_sepm_ca_path", sepm["ca_path"]),
            ("itms_sepm_peers", [dict((key, peer[key]) for key in ("url", "username", "password", "domain", "ca_path"))]),
            ("itms_edr_url", edr["url"]), ("itms_edr_client_id", edr["client_id"]),
            ("itms_edr_client_secret", edr["client_secret"]), ("itms_edr_ca_path", edr["ca_path"]))


# --------------------------------------------------------------------------- command line

def add_up_argument(parser):
    parser.add_argument("--edr-scenario", choices=edr_scenarios.names(), default=None, metavar="NAME",
                        help="the scenario the lab SEPM and EDR start in (default %s): %s"
                             % (edr_scenarios.DEFAULT_SCENARIO, ", ".join(edr_scenarios.names())))


def add_subcommands(subparsers):
    p_switch = subparsers.add_parser("edr-scenario", help="switch the lab SEPM and EDR to another scenario (at once, "
                                                          "while they run)")
    p_switch.add_argument("--dir", required=True, help="lab directory")
    p_switch.add_argument("name", choices=edr_scenarios.names(), metavar="NAME",
                          help="one of %s" % ", ".join(edr_scenarios.names()))
    p_switch.set_defaults(func=command_edr_scenario)


def command_edr_scenario(args):
    directory = os.path.abspath(args.dir)
    try:
        _need_lab(directory)
        write_scenario(directory, args.name)
    except LabError as exc:
        sys.stderr.write("itms-lab: %s\n" % exc)
        return 2
    entry = edr_scenarios.catalogue()[args.name]
    sys.stdout.write(json.dumps({"scenario": args.name, "file": files(directory)["scenario"], "description": entry["description"],
                                 "expected_fail": entry["expected_fail"], "console": entry["console"]}, sort_keys=True) + "\n")
    from itms_lab import edge

    if edge.services(directory)["edr"].running_pid() is None:
        sys.stderr.write("itms-lab: the lab SEPM and EDR of %s do not run; itms-lab up starts them in the scenario of "
                         "its --edr-scenario (default %s)\n" % (directory, edr_scenarios.DEFAULT_SCENARIO))
    return 0
