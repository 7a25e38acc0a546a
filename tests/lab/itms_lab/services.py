# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``itms-lab up`` / ``down`` / ``status``: the lab's network services, run in the background.

``up --dir DIR`` prepares DIR (certificates of a lab CA, a self-signed certificate, the accounts and
their generated passwords, the CMDB) and starts the lab NS as a detached process (its own session,
so it outlives the shell that started it), waits until it answers HTTPS, then starts the lab Internet
Gateway, the TLS endpoints, the DNS server and the lab SEPM and EDR the same way (``edge.py``) and writes ``DIR/lab.json``
and ``DIR/inventory.yml``. What DIR holds is kept from one ``up`` to the next (item store, passwords,
certificates, ports when free), so a lab can be stopped and started again. ``down --dir DIR`` stops
every service; it is fine to run when nothing runs.

Files in DIR: ``ca.pem`` (the CA to trust), ``ca.key``, ``ns.pem``/``ns.key`` (127.0.0.1, localhost
and ns.cem-lab.internal), ``ns-selfsigned.pem``/``.key``, ``ns-secrets.json`` and ``ns-ntlm-users``
(mode 0600), ``ns-config.json``, ``ns.pid``, ``ns-ready.json``, ``ns-server.log``, ``ns-items.json``,
``ns-requests.jsonl``, ``ns-faults.json`` (yours to write), ``cmdb.sqlite``, ``rollback.json`` (written by
``itms-lab rollback``); the gateway's, the TLS endpoints' and the DNS server's files are listed in ``edge.py``,
the SEPM and EDR's in ``sepm_edr.py``.
"""

import argparse
import datetime
import ipaddress
import json
import os
import secrets
import socket
import sqlite3
import ssl
import string
import sys
import time
from urllib.parse import quote

from itms_lab import cmdb, edge, procs
from itms_lab.procs import LabError, read_json as _read_json

LAB = procs.LAB
PROFILES = os.path.join(LAB, "profiles")
HOST = "127.0.0.1"
DOMAIN = "LAB"
ADMIN = "cemadmin"
READER = "cemreader"
START_TIMEOUT_S = 15
NS_NAMES = ("localhost", edge.NS_FQDN)  # DNS names in the NS certificate, beside 127.0.0.1


# --------------------------------------------------------------------------- command line

def _port(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("--ns-port must be between 0 and 65535")
    return value


def add_subcommands(subparsers):
    p_up = subparsers.add_parser("up", help="start the lab services in the background; write lab.json and inventory.yml")
    p_up.add_argument("--dir", required=True, help="lab directory (created if needed; kept between runs)")
    p_up.add_argument("--cmdb-computers", type=cmdb.computers_option("--cmdb-computers"), default=1000,
                      help="computers in the lab CMDB (%d to %d, default 1000)" % (cmdb.MIN_COMPUTERS, cmdb.MAX_COMPUTERS))
    p_up.add_argument("--seed", type=int, default=1, help="random seed of the CMDB and of the NS computers (default 1)")
    p_up.add_argument("--ns-port", type=_port, default=0,
                      help="HTTPS port of the NS on 127.0.0.1 (default: the previous port if free, else any free port)")
    edge.add_arguments(p_up)
    p_up.set_defaults(func=_run(command_up))

    p_down = subparsers.add_parser("down", help="stop the lab services of a directory (fine if they are not running)")
    p_down.add_argument("--dir", required=True, help="lab directory")
    p_down.set_defaults(func=_run(command_down))

    p_status = subparsers.add_parser("status", help="say whether the lab services of a directory run (exit 3 if one does not)")
    p_status.add_argument("--dir", required=True, help="lab directory")
    p_status.set_defaults(func=_run(command_status))


def _run(command):
    def run(args):
        try:
            return command(args)
        except LabError as exc:
            sys.stderr.write("itms-lab: %s\n" % exc)
            return 2
    return run


# --------------------------------------------------------------------------- small helpers

def _paths(directory):
    def j(name):
        return os.path.join(directory, name)
    return {
        "ca": j("ca.pem"), "ca_key": j("ca.key"), "cert": j("ns.pem"), "key": j("ns.key"),
        "selfsigned_cert": j("ns-selfsigned.pem"), "selfsigned_key": j("ns-selfsigned.key"),
        "secrets": j("ns-secrets.json"), "ntlm_users": j("ns-ntlm-users"), "config": j("ns-config.json"),
        "pid": j("ns.pid"), "ready": j("ns-ready.json"), "server_log": j("ns-server.log"),
        "items": j("ns-items.json"), "faults": j("ns-faults.json"), "request_log": j("ns-requests.jsonl"),
        "cmdb": j("cmdb.sqlite"), "lab": j("lab.json"), "inventory": j("inventory.yml"),
    }


_write = procs.write_text


def _password():
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _index in range(20))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value


def _check_dependencies():
    import importlib.machinery

    # tests/lab/itms_lab is on sys.path when itms-lab runs __main__.py as a file: its dns.py is not dnspython.
    search = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]
    missing = [package for module, package in (("cryptography", "cryptography"), ("spnego", "pyspnego"), ("dns", "dnspython"))
               if importlib.machinery.PathFinder.find_spec(module, search) is None]
    if missing:
        raise LabError("the lab needs %s in %s; activate the project's .venv (make venv) or set ITMS_LAB_PYTHON "
                       "to a Python that has them" % (" and ".join(missing), sys.executable))


# --------------------------------------------------------------------------- certificates

def _load_cert(path):
    from cryptography import x509

    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return None


def _fresh(cert, days=30, names=()):
    """Valid for ``days`` more, and naming ``names`` in its SAN (a lab from before ns.cem-lab.internal gets a new one)."""
    from cryptography import x509

    if cert is None:
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
    if names:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            return False
        if not set(names) <= set(san):
            return False
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > datetime.timedelta(days=days)


def _new_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode("ascii"), 0o600)
    return key


def _load_key(path):
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def _name(common_name):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "itms.cem lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _server_extensions(builder, public_key):
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    return (builder
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in NS_NAMES]
                                                       + [x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _ensure_certificates(paths):
    """The lab CA, the NS certificate it issued, and a self-signed one; reused while they are valid."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=1)
    ca = _load_cert(paths["ca"])
    if not (_fresh(ca, 365) and os.path.exists(paths["ca_key"])):
        ca_key = _new_key(paths["ca_key"])
        subject = _name("itms.cem lab CA")
        ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(start)
              .not_valid_after(now + datetime.timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                           encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        _write(paths["ca"], ca.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    leaf = _load_cert(paths["cert"])
    issued_by_ca = False
    if leaf is not None:
        try:
            issued_by_ca = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
        except x509.ExtensionNotFound:
            issued_by_ca = False
    if not (_fresh(leaf, names=NS_NAMES) and issued_by_ca and os.path.exists(paths["key"])):
        ca_key = _load_key(paths["ca_key"])
        key = _new_key(paths["key"])
        builder = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(now + datetime.timedelta(days=825))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        leaf = _server_extensions(builder, key.public_key()).sign(ca_key, hashes.SHA256())
        _write(paths["cert"], leaf.public_bytes(serialization.Encoding.PEM).decode("ascii"))

    own = _load_cert(paths["selfsigned_cert"])
    if not (_fresh(own, names=NS_NAMES) and os.path.exists(paths["selfsigned_key"])):
        # Like a certificate IIS Manager makes: self-signed, no basic constraints, trusted only if given as its own CA.
        key = _new_key(paths["selfsigned_key"])
        subject = _name("localhost (self-signed)")
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(now + datetime.timedelta(days=825)))
        own = _server_extensions(builder, key.public_key()).sign(key, hashes.SHA256())
        _write(paths["selfsigned_cert"], own.public_bytes(serialization.Encoding.PEM).decode("ascii"))


# --------------------------------------------------------------------------- accounts and CMDB

def _ensure_accounts(paths):
    saved = _read_json(paths["secrets"]) or {}
    if not (saved.get("admin_password") and saved.get("reader_password")):
        saved = {"admin_password": _password(), "reader_password": _password()}
        _write(paths["secrets"], json.dumps(saved, indent=1, sort_keys=True) + "\n", 0o600)
    lines = []
    for user, key in ((ADMIN, "admin_password"), (READER, "reader_password")):
        # DOMAIN\user and user@DOMAIN both sign in; pyspnego looks the user up as the client wrote it.
        lines.append("%s:%s:%s" % (DOMAIN, user, saved[key]))
        lines.append(":%s@%s:%s" % (user, DOMAIN, saved[key]))
    _write(paths["ntlm_users"], "\n".join(lines) + "\n", 0o600)
    return saved


def _cmdb_matches(path, computers, seed):
    if not os.path.exists(path):
        return False
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % quote(path), uri=True)
        try:
            info = dict(conn.execute("SELECT Key, Value FROM Lab_Info").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return (info.get("computers") == str(computers) and info.get("seed") == str(seed)
            and info.get("generator") == cmdb.GENERATOR)


# --------------------------------------------------------------------------- the NS process

def _ns_service(directory):
    return procs.Service(directory, "the lab NS", "ns", ["-m", "itms_lab.ns", "--dir", directory])


def _probe(port, ca_path):
    """True when the NS answers HTTPS with the 401 of Windows authentication."""
    context = ssl.create_default_context(cafile=ca_path)
    try:
        with socket.create_connection((HOST, port), timeout=2) as raw:
            with context.wrap_socket(raw, server_hostname=HOST) as tls:
                tls.sendall(b"GET /Altiris/ASDK.NS/ItemManagementService.asmx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"Connection: close\r\n\r\n")
                return tls.recv(64).startswith(b"HTTP/1.1 401")
    except (OSError, ssl.SSLError):
        return False


def _start_ns(directory, paths):
    env = dict(os.environ)
    env["NTLM_USER_FILE"] = paths["ntlm_users"]
    return _ns_service(directory).start(START_TIMEOUT_S, probe=lambda ready: _probe(ready["port"], paths["ca"]), env=env)


# --------------------------------------------------------------------------- lab.json and inventory

def _lab_description(directory, paths, passwords, ready, computers, seed):
    url = "https://%s:%d" % (HOST, ready["port"])
    cmdb_profile = os.path.join(PROFILES, "cmdb.yml")
    policy_profile = os.path.join(PROFILES, "cem_policy.yml")
    ns_config = _read_json(paths["config"]) or {}
    return {
        "ns": {
            "url": url, "host": HOST, "port": ready["port"],
            "username": "%s\\%s" % (DOMAIN, ADMIN), "password": passwords["admin_password"], "domain": DOMAIN,
            "ca_path": paths["ca"], "request_log": paths["request_log"], "faults": paths["faults"],
            "items": paths["items"],
            "readonly_username": "%s\\%s" % (DOMAIN, READER), "readonly_password": passwords["reader_password"],
            "selfsigned_url": "https://%s:%d" % (HOST, ready["selfsigned_port"]), "selfsigned_port": ready["selfsigned_port"],
            "server_log": paths["server_log"],
            "version": edge.NS_VERSION, "fqdn": edge.NS_FQDN, "date_offset": ns_config.get("date_offset", 0),
        },
        "cmdb": {"url": "sqlite:///" + quote(paths["cmdb"]), "path": paths["cmdb"], "profile": cmdb_profile,
                 "computers": computers, "seed": seed},
        "profiles": {"cmdb": cmdb_profile, "cem_policy": policy_profile, "gateway": edge.GATEWAY_PROFILE},
    }


def _inventory(lab, directory):
    ns, cmdb_info = lab["ns"], lab["cmdb"]
    values = (("itms_ns_url", ns["url"]), ("itms_ns_username", ns["username"]), ("itms_ns_password", ns["password"]),
              ("itms_ns_ca_path", ns["ca_path"]), ("itms_cmdb_url", cmdb_info["url"]),
              ("itms_cmdb_profile", cmdb_info["profile"]), ("itms_cem_policy_profile", lab["profiles"]["cem_policy"]))
    all_vars, group_vars = edge.inventory_vars(lab)
    local = ["ansible_connection: local", 'ansible_python_interpreter: "{{ ansible_playbook_python }}"']
    # JSON strings are YAML double-quoted scalars, so every value (backslash included) reads back unchanged.
    lines = ["# Written by itms-lab up for the lab in %s; itms-lab down --dir %s stops it." % (directory, directory),
             "all:", "  hosts:", "    localhost:"] + ["      " + line for line in local] + ["  vars:"]
    lines.extend("    %s: %s" % (name, json.dumps(value)) for name, value in values + all_vars)
    lines.extend(["  children:", "    internet_gateways:", "      hosts:", "        lab-ig:"])
    lines.extend("          " + line for line in local)
    lines.append("      vars:")
    lines.extend("        %s: %s" % (name, json.dumps(value)) for name, value in group_vars)
    # The other host groups of playbooks/site.yml hold Windows hosts, which the lab does not have; declared empty, so
    # that their plays match no host rather than an unknown pattern.
    lines.extend(["    notification_servers:", "      hosts: {}", "    cem_agents:", "      hosts: {}"])
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commands

def command_up(args):
    _check_dependencies()
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    paths = _paths(directory)
    started = time.monotonic()

    passwords = _ensure_accounts(paths)
    ns = _ns_service(directory)
    pid = ns.running_pid()
    gateway_port, ns_extra = edge.plan(directory, args, pid is not None)
    if pid is None:
        _ensure_certificates(paths)
        if not _cmdb_matches(paths["cmdb"], args.cmdb_computers, args.seed):
            cmdb.write(paths["cmdb"], args.cmdb_computers, args.seed)
        previous = (_read_json(paths["lab"]) or {}).get("ns") or {}
        config = {
            "dir": directory, "host": HOST,
            "port": args.ns_port or previous.get("port") or 0, "port_fallback": not args.ns_port,
            "selfsigned_port": previous.get("selfsigned_port") or 0, "selfsigned_port_fallback": True,
            "cert": paths["cert"], "key": paths["key"],
            "selfsigned_cert": paths["selfsigned_cert"], "selfsigned_key": paths["selfsigned_key"],
            "items": paths["items"], "faults": paths["faults"], "request_log": paths["request_log"],
            "ntlm_user_file": paths["ntlm_users"], "domain": DOMAIN, "seed": args.seed,
            "accounts": [{"name": "%s\\%s" % (DOMAIN, ADMIN), "write": True},
                         {"name": "%s\\%s" % (DOMAIN, READER), "write": False}],
        }
        config.update(ns_extra)
        _write(paths["config"], json.dumps(config, indent=1, sort_keys=True) + "\n")
        ready = _start_ns(directory, paths)
        what = "started"
    else:
        ready = _read_json(paths["ready"])
        if not ready:
            raise LabError("the lab NS of %s runs (pid %d) but %s is missing; run itms-lab down --dir %s, then up again"
                           % (directory, pid, paths["ready"], directory))
        if args.ns_port and args.ns_port != ready["port"]:
            sys.stderr.write("itms-lab: the NS already runs on port %d; --ns-port %d is ignored (down, then up)\n"
                             % (ready["port"], args.ns_port))
        previous = (_read_json(paths["lab"]) or {}).get("cmdb") or {}
        args.cmdb_computers, args.seed = previous.get("computers", args.cmdb_computers), previous.get("seed", args.seed)
        what = "already running"
    readies, edge_started = edge.up(directory, args, gateway_port, ready, paths)
    lab = _lab_description(directory, paths, passwords, ready, args.cmdb_computers, args.seed)
    lab.update(edge.describe(directory, readies, _read_json(paths["config"]) or {}))
    _write(paths["lab"], json.dumps(lab, indent=1) + "\n", 0o600)
    _write(paths["inventory"], _inventory(lab, directory), 0o600)
    sys.stdout.write("itms-lab: NS %s at %s (pid %d, %.1f s); gateway at %s%s; SEPM at %s, EDR at %s (scenario %s); "
                     "lab: %s; inventory: %s\n"
                     % (what, lab["ns"]["url"], ready["pid"], time.monotonic() - started, lab["gateway"]["url"],
                        "" if "gateway" in edge_started else " (already running)", lab["sepm"]["url"], lab["edr"]["url"],
                        lab["edr_scenario"]["current"], paths["lab"], paths["inventory"]))
    return 0


def command_down(args):
    directory = os.path.abspath(args.dir)
    stopped = edge.down(directory)
    pid = _ns_service(directory).stop()
    if pid is not None:
        stopped.append(("the NS", pid))
    if not stopped:
        sys.stdout.write("itms-lab: nothing runs for %s\n" % directory)
        return 0
    sys.stdout.write("itms-lab: stopped %s of %s\n" % (", ".join("%s (pid %d)" % item for item in stopped), directory))
    return 0


def command_status(args):
    directory = os.path.abspath(args.dir)
    paths = _paths(directory)
    pid = _ns_service(directory).running_pid()
    ready = _read_json(paths["ready"]) or {}
    services = edge.status(directory)
    services["ns"] = {"running": pid is not None, "pid": pid,
                      "url": "https://%s:%d" % (HOST, ready["port"]) if pid and ready.get("port") else None}
    status = {"dir": directory, "running": pid is not None, "pid": pid, "url": services["ns"]["url"], "services": services}
    sys.stdout.write(json.dumps(status, sort_keys=True) + "\n")
    return 0 if all(entry["running"] for entry in services.values()) else 3
