# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Cloud-enabled Management edge for ``itms-lab up`` / ``down`` / ``status``.

Four background services beside the NS, each a ``python -m itms_lab.daemon --dir DIR --service NAME``
process (see ``procs.py``): the lab Internet Gateway (``gateway.py``), the TLS endpoints with bad
certificates (``endpoints.py``), the lab DNS server (``dns.py``) and the lab SEPM and EDR
(``sepm_edr.py``). This module turns the ``up`` flags into their configuration files, starts and stops
them, and describes them for ``lab.json`` and ``inventory.yml``.

The gateway's process also lets the agents approved after ``itms-lab rollback`` reconnect to the lab CMDB, after
``--policy-interval`` seconds (``reconnect.py``).

Files in DIR: ``ig/config.xml``, ``ig/a.log``, ``ig/host.json``, ``ig/gateway.pem`` (its certificate),
``ig/gateway.key``, ``ig/gateway-ca.pem`` (what to trust for it), ``tls/<kind>.pem``/``.key``, and per
service ``<name>-config.json``, ``<name>.pid``, ``<name>-ready.json``, ``<name>-server.log``; the SEPM and
EDR's own files are listed in ``sepm_edr.py``.
"""

import argparse
import os
import sys

from itms_lab import gateway, procs, reconnect, sepm_edr, tlsserve

LAB = procs.LAB
GATEWAY_PROFILE = os.path.join(LAB, "profiles", "gateway.yml")
HOST = tlsserve.HOST
NS_FQDN = "ns.cem-lab.internal"
NS_VERSION = "8.8.1"
START_TIMEOUT_S = 20
SERVICES = (("gateway", "the lab Internet Gateway"), ("tls", "the lab TLS endpoints"), ("dns", "the lab DNS server"),
            ("edr", "the lab SEPM and EDR"))


def _kinds():
    try:
        from itms_lab import certs
    except ImportError:  # cryptography missing: up says so before it needs the kinds
        return []
    return list(certs.KINDS)


# --------------------------------------------------------------------------- command line

def _port(flag, low=0):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be a number" % flag)
        if not low <= value <= 65535:
            raise argparse.ArgumentTypeError("%s must be between %d and 65535" % (flag, low))
        return value
    return parse


def _kind(text):
    if text not in _kinds():
        raise argparse.ArgumentTypeError("--gateway-cert must be one of %s" % ", ".join(_kinds()))
    return text


def _offset(text):
    name, sep, value = text.partition("=")
    names = ["ns", "gateway"] + _kinds()
    if not sep or name.strip() not in names:
        raise argparse.ArgumentTypeError("--date-offset takes NAME=SECONDS with NAME one of %s" % ", ".join(names))
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("--date-offset %s: %r is not a number of seconds" % (name, value))
    return name.strip(), int(seconds) if seconds.is_integer() else seconds


def _interval(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--policy-interval must be a whole number of seconds, not %r" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("--policy-interval must be 1 second or more")
    return value


def add_arguments(parser):
    kinds = ", ".join(_kinds())
    parser.add_argument("--gateway-cert", type=_kind, default=None, metavar="KIND",
                        help="the lab gateway's certificate: good (self-signed, as KB 181705 says) or a bad kind (%s); "
                             "default good" % kinds)
    parser.add_argument("--gateway-port", type=_port("--gateway-port", 1), default=None, metavar="N",
                        help="the gateway listener port (DIR/ig/config.xml; default: the previous one if free, else any)")
    parser.add_argument("--policy-port", type=_port("--policy-port", 1), default=None, metavar="N",
                        help="the port of the gateway in the default CEM settings policy (default: the listener port)")
    parser.add_argument("--date-offset", type=_offset, action="append", default=None, metavar="NAME=SECONDS",
                        help="shift the Date header of ns, gateway or a TLS endpoint kind (%s); repeatable" % kinds)
    parser.add_argument("--policy-interval", type=_interval, default=None, metavar="N",
                        help="seconds after an approval before a lab agent reconnects (the agents' policy update "
                             "interval; default %d)" % reconnect.DEFAULT_POLICY_INTERVAL_S)
    sepm_edr.add_up_argument(parser)


# --------------------------------------------------------------------------- files and processes

def paths(directory):
    ig = os.path.join(directory, "ig")
    return {"ig": ig, "config_xml": os.path.join(ig, "config.xml"), "log": os.path.join(ig, "a.log"),
            "host_state": os.path.join(ig, "host.json"), "cert": os.path.join(ig, "gateway.pem"),
            "key": os.path.join(ig, "gateway.key"), "trust": os.path.join(ig, "gateway-ca.pem"),
            "tls_dir": os.path.join(directory, "tls")}


def services(directory):
    return dict((name, procs.Service(directory, title, name,
                                     ["-m", "itms_lab.daemon", "--dir", directory, "--service", name]))
                for name, title in SERVICES)


def _config_path(directory, name):
    return os.path.join(directory, "%s-config.json" % name)


def _offsets(args):
    return dict(args.date_offset or [])


def zone():
    return {gateway.NAME: [HOST], NS_FQDN: [HOST]}


def plan(directory, args, ns_running):
    """Before the NS starts: the gateway's listener port and what the NS config gets (policy gateway, Date offset)."""
    gw = services(directory)["gateway"]
    current = None
    if os.path.exists(paths(directory)["config_xml"]):
        try:
            with open(paths(directory)["config_xml"], encoding="utf-8") as handle:
                current = gateway.listener(handle.read())[1]
        except (OSError, ValueError):
            current = None
    if gw.running_pid() is not None:
        port = (gw.ready() or {}).get("port") or current
    elif args.gateway_port:
        if args.gateway_port != current and not tlsserve.port_free(args.gateway_port):
            raise procs.LabError("--gateway-port %d is in use on %s" % (args.gateway_port, HOST))
        port = args.gateway_port
    else:
        port = tlsserve.free_port(current or 0)
    extra = {"policy_gateways": [{"host": gateway.NAME, "port": args.policy_port or port}],
             "date_offset": _offsets(args).get("ns", 0)}
    if ns_running:
        running = procs.read_json(os.path.join(directory, "ns-config.json")) or {}
        _warn_ignored("the NS", [
            ("--policy-port", (running.get("policy_gateways") or [{}])[0].get("port"), args.policy_port),
            ("--date-offset ns=", running.get("date_offset", 0), _offsets(args).get("ns"))])
        named = (running.get("policy_gateways") or [{}])[0].get("port")
        if not args.policy_port and named not in (None, port):
            sys.stderr.write("itms-lab: the NS's default CEM settings policy names port %s, the gateway listens on %d "
                             "(itms-lab down, then up, to match them)\n" % (named, port))
    return port, extra


def _warn_ignored(title, flags):
    """Tell which flags a service that already runs does not take: [(flag, running value, given value or None)]."""
    for flag, running, given in flags:
        if given is not None and running != given:
            sys.stderr.write("itms-lab: %s: already running with %s%s%s; %s%s%s is ignored (itms-lab down, then up)\n"
                             % (title, flag, "" if flag.endswith("=") else " ", running, flag,
                                "" if flag.endswith("=") else " ", given))


def _previous(directory):
    return procs.read_json(os.path.join(directory, "lab.json")) or {}


def up(directory, args, port, ns_ready, ns_paths):
    """Write the configs of the services that do not run, start them, wait until each is ready; {name: ready}."""
    files = paths(directory)
    os.makedirs(files["ig"], exist_ok=True)
    offsets = _offsets(args)
    previous = _previous(directory)
    ns_url = "https://%s:%d" % (HOST, ns_ready["port"])
    configs = {
        "gateway": {"config_xml": files["config_xml"], "log": files["log"], "host_state": files["host_state"],
                    "cert": files["cert"], "key": files["key"], "trust": files["trust"],
                    "ca_cert": ns_paths["ca"], "ca_key": ns_paths["ca_key"], "ns_url": ns_url, "ns_ca": ns_paths["ca"],
                    "cert_kind": args.gateway_cert or "good", "date_offset": offsets.get("gateway", 0),
                    "cmdb": ns_paths["cmdb"],
                    "policy_interval_seconds": args.policy_interval or reconnect.DEFAULT_POLICY_INTERVAL_S},
        "tls": {"cert_dir": files["tls_dir"], "ca_cert": ns_paths["ca"], "ca_key": ns_paths["ca_key"],
                "ports": dict((kind, entry.get("port")) for kind, entry in (previous.get("tls_endpoints") or {}).items()),
                "date_offsets": dict((kind, value) for kind, value in offsets.items() if kind in _kinds())},
        "dns": {"zone": zone(), "host": HOST, "port": (previous.get("dns") or {}).get("port") or 0},
        "edr": sepm_edr.config(directory, previous, ns_paths["ca"], ns_paths["ca_key"]),
    }
    started, readies = {}, {}
    for name, service in services(directory).items():
        if service.running_pid() is not None:
            running = procs.read_json(_config_path(directory, name)) or {}
            if name == "gateway":
                _warn_ignored(service.title, [
                    ("--gateway-cert", running.get("cert_kind"), args.gateway_cert),
                    ("--gateway-port", (service.ready() or {}).get("port"), args.gateway_port),
                    ("--date-offset gateway=", running.get("date_offset", 0), offsets.get("gateway")),
                    ("--policy-interval", running.get("policy_interval_seconds", reconnect.DEFAULT_POLICY_INTERVAL_S),
                     args.policy_interval)])
            elif name == "tls":
                _warn_ignored(service.title, [("--date-offset %s=" % kind, (running.get("date_offsets") or {}).get(kind, 0),
                                               value) for kind, value in sorted(configs["tls"]["date_offsets"].items())])
            elif name == "edr" and args.edr_scenario:
                sepm_edr.write_scenario(directory, args.edr_scenario)  # a scenario switches at run time
            readies[name] = service.ready() or {}
            continue
        if name == "edr":
            sepm_edr.prepare(directory, args.edr_scenario)
        if name == "gateway":
            existing = None
            if os.path.exists(files["config_xml"]):
                with open(files["config_xml"], encoding="utf-8") as handle:
                    existing = handle.read()
            procs.write_text(files["config_xml"], gateway.config_xml(port, ns_url, existing))
        procs.write_json(_config_path(directory, name), configs[name])
        started[name] = (service, service.spawn())
    try:
        for name, (service, process) in started.items():
            readies[name] = service.wait_ready(process, START_TIMEOUT_S)
    except procs.LabError:
        for service, _process in started.values():
            service.stop()
        raise
    return readies, sorted(started)


def down(directory):
    """Stop the gateway, the TLS endpoints, the DNS server and the SEPM and EDR: [(title, pid)] of those that ran."""
    stopped = []
    for _name, service in services(directory).items():
        pid = service.stop()
        if pid is not None:
            stopped.append((service.title, pid))
    return stopped


def status(directory):
    result = {}
    for name, service in services(directory).items():
        pid = service.running_pid()
        ready = (service.ready() or {}) if pid else {}
        entry = {"running": pid is not None, "pid": pid}
        if name == "gateway":
            entry["url"] = "https://%s:%d" % (HOST, ready["port"]) if ready.get("port") else None
        elif name == "tls":
            entry["ports"] = ready.get("ports") if pid else None
        elif name == "edr":
            entry["ports"] = ready.get("ports") if pid else None
            entry["scenario"] = sepm_edr.read_scenario(directory) if pid else None
        else:
            entry["port"] = ready.get("port") if pid else None
        result[name] = entry
    return result


# --------------------------------------------------------------------------- lab.json and inventory

def describe(directory, readies, ns_config):
    """What lab.json gains: gateway, tls_endpoints, dns, access, and the SEPM and EDR's (from the running services' configs
    and ready files)."""
    from itms_lab import endpoints

    files = paths(directory)
    gw_config = procs.read_json(_config_path(directory, "gateway")) or {}
    tls_config = procs.read_json(_config_path(directory, "tls")) or {}
    port = readies["gateway"]["port"]
    policy = (ns_config.get("policy_gateways") or [{}])[0]
    description = sepm_edr.describe(directory, readies["edr"])
    description.update({
        "gateway": {"name": gateway.NAME, "host": HOST, "port": port, "url": "https://%s:%d" % (HOST, port),
                    "certificate": files["cert"], "ca_path": files["trust"], "config": files["config_xml"],
                    "log": files["log"], "state": files["host_state"], "profile": GATEWAY_PROFILE,
                    "version": gateway.VERSION, "date_offset": gw_config.get("date_offset", 0),
                    "cert_kind": gw_config.get("cert_kind", "good"), "policy_port": policy.get("port")},
        "tls_endpoints": endpoints.describe(readies["tls"]["ports"], tls_config.get("date_offsets")),
        "dns": {"host": HOST, "port": readies["dns"]["port"], "names": zone()},
        "access": {"policy_interval_seconds": gw_config.get("policy_interval_seconds", reconnect.DEFAULT_POLICY_INTERVAL_S),
                   "rollback": os.path.join(directory, "rollback.json")},
    })
    return description


def inventory_vars(lab):
    """(all-vars, internet_gateways group vars) for inventory.yml, as (name, value) pairs."""
    gw, ns = lab["gateway"], lab["ns"]
    all_vars = (("itms_gateway_name", gw["name"]), ("itms_gateway_address", gw["host"]), ("itms_gateway_port", gw["port"]),
                ("itms_gateway_ca_path", gw["ca_path"]),
                ("itms_dns_resolvers", ["%s:%d" % (lab["dns"]["host"], lab["dns"]["port"])]),
                ("itms_ns_version", ns["version"]), ("itms_ns_fqdn", ns["fqdn"]), ("itms_ns_address", ns["host"]),
                ("itms_ns_port", ns["port"]), ("itms_ns_agent_port", ns["port"]),
                ("itms_policy_interval_seconds", lab["access"]["policy_interval_seconds"])) + sepm_edr.inventory_vars(lab)
    group_vars = (("internet_gateway_name", gw["name"]), ("internet_gateway_profile", gw["profile"]),
                  ("internet_gateway_config_path", gw["config"]), ("internet_gateway_log_path", gw["log"]),
                  ("internet_gateway_host_state_file", gw["state"]))
    return all_vars, group_vars
