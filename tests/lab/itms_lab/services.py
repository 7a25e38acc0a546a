# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``itms-lab up`` / ``down`` / ``status``: the lab's network services, run in the background.

``up --dir DIR`` prepares DIR (certificates of a lab CA, a self-signed certificate, the accounts and
their generated passwords, the CMDB) and starts the lab NS as a detached process (its own session,
so it outlives the shell that started it), waits until it answers HTTPS, then writes
``DIR/lab.json`` and ``DIR/inventory.yml``. What DIR holds is kept from one ``up`` to the next
(item store, passwords, certificates, ports when free), so a lab can be stopped and started again.
``down --dir DIR`` stops it; it is fine to run when nothing runs.

Files in DIR: ``ca.pem`` (the CA to trust), ``ca.key``, ``ns.pem``/``ns.key`` (127.0.0.1 and
localhost), ``ns-selfsigned.pem``/``.key``, ``ns-secrets.json`` and ``ns-ntlm-users`` (mode 0600),
``ns-config.json``, ``ns.pid``, ``ns-ready.json``, ``ns-server.log``, ``ns-items.json``,
``ns-requests.jsonl``, ``ns-faults.json`` (yours to write), ``cmdb.sqlite``.
"""

import argparse
import datetime
import ipaddress
import json
import os
import secrets
import signal
import socket
import sqlite3
import ssl
import string
import subprocess
import sys
import time
from urllib.parse import quote

from itms_lab import cmdb

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILES = os.path.join(LAB, "profiles")
HOST = "127.0.0.1"
DOMAIN = "LAB"
ADMIN = "cemadmin"
READER = "cemreader"
START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 5


class LabError(Exception):
    """A failure of a lab command, with what to do about it."""


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
    p_up.set_defaults(func=_run(command_up))

    p_down = subparsers.add_parser("down", help="stop the lab services of a directory (fine if they are not running)")
    p_down.add_argument("--dir", required=True, help="lab directory")
    p_down.set_defaults(func=_run(command_down))

    p_status = subparsers.add_parser("status", help="say whether the lab services of a directory run (exit 3 if not)")
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


def _write(path, text, mode=0o644):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _password():
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _index in range(20))
        if any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value):
            return value


def _check_dependencies():
    missing = []
    for module, package in (("cryptography", "cryptography"), ("spnego", "pyspnego")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise LabError("the lab NS needs %s in %s; activate the project's .venv (make venv) or set ITMS_LAB_PYTHON "
                       "to a Python that has them" % (" and ".join(missing), sys.executable))


# --------------------------------------------------------------------------- certificates

def _load_cert(path):
    from cryptography import x509

    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return None


def _fresh(cert, days=30):
    if cert is None:
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
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
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
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
    if not (_fresh(leaf) and issued_by_ca and os.path.exists(paths["key"])):
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
    if not (_fresh(own) and os.path.exists(paths["selfsigned_key"])):
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
    return info.get("computers") == str(computers) and info.get("seed") == str(seed)


# --------------------------------------------------------------------------- the process

def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        return True


def _is_lab_ns(pid, directory):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            args = handle.read().decode("utf-8", "replace").split("\0")
    except OSError:
        ready = _read_json(_paths(directory)["ready"]) or {}
        return ready.get("pid") == pid  # no /proc: trust the file the server itself wrote
    return "itms_lab.ns" in args and directory in args


def _pid_file(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return None


def _running_pid(paths, directory):
    """The pid of the lab NS of ``directory``: from ns.pid (written by up), else ns-ready.json (by the server)."""
    for pid in (_pid_file(paths["pid"]), (_read_json(paths["ready"]) or {}).get("pid")):
        if pid and _alive(pid) and _is_lab_ns(pid, directory):
            return pid
    return None


def _log_tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:]).strip()
    except OSError:
        return "(no server log)"


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
    env["PYTHONPATH"] = LAB + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    if os.path.exists(paths["ready"]):
        os.remove(paths["ready"])
    with open(paths["server_log"], "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "itms_lab.ns", "--dir", directory], cwd=directory, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                   start_new_session=True)
    _write(paths["pid"], "%d\n" % process.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            os.remove(paths["pid"])
            raise LabError("the lab NS exited at start (code %s); %s says:\n%s"
                           % (process.returncode, paths["server_log"], _log_tail(paths["server_log"])))
        ready = _read_json(paths["ready"])
        if ready and ready.get("pid") == process.pid and _probe(ready["port"], paths["ca"]):
            process.returncode = 0  # detached on purpose: no warning that it still runs when this process exits
            return ready
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(5)
    os.remove(paths["pid"])
    raise LabError("the lab NS did not answer within %d s; %s says:\n%s"
                   % (START_TIMEOUT_S, paths["server_log"], _log_tail(paths["server_log"])))


# --------------------------------------------------------------------------- lab.json and inventory

def _lab_description(directory, paths, passwords, ready, computers, seed):
    url = "https://%s:%d" % (HOST, ready["port"])
    cmdb_profile = os.path.join(PROFILES, "cmdb.yml")
    policy_profile = os.path.join(PROFILES, "cem_policy.yml")
    return {
        "ns": {
            "url": url, "host": HOST, "port": ready["port"],
            "username": "%s\\%s" % (DOMAIN, ADMIN), "password": passwords["admin_password"], "domain": DOMAIN,
            "ca_path": paths["ca"], "request_log": paths["request_log"], "faults": paths["faults"],
            "items": paths["items"],
            "readonly_username": "%s\\%s" % (DOMAIN, READER), "readonly_password": passwords["reader_password"],
            "selfsigned_url": "https://%s:%d" % (HOST, ready["selfsigned_port"]), "selfsigned_port": ready["selfsigned_port"],
            "server_log": paths["server_log"],
        },
        "cmdb": {"url": "sqlite:///" + quote(paths["cmdb"]), "path": paths["cmdb"], "profile": cmdb_profile,
                 "computers": computers, "seed": seed},
        "profiles": {"cmdb": cmdb_profile, "cem_policy": policy_profile},
    }


def _inventory(lab, directory):
    ns, cmdb_info = lab["ns"], lab["cmdb"]
    values = (("itms_ns_url", ns["url"]), ("itms_ns_username", ns["username"]), ("itms_ns_password", ns["password"]),
              ("itms_ns_ca_path", ns["ca_path"]), ("itms_cmdb_url", cmdb_info["url"]),
              ("itms_cmdb_profile", cmdb_info["profile"]), ("itms_cem_policy_profile", lab["profiles"]["cem_policy"]))
    # JSON strings are YAML double-quoted scalars, so every value (backslash included) reads back unchanged.
    lines = ["# Written by itms-lab up for the lab in %s; itms-lab down --dir %s stops it." % (directory, directory),
             "all:", "  hosts:", "    localhost:", "      ansible_connection: local",
             '      ansible_python_interpreter: "{{ ansible_playbook_python }}"', "  vars:"]
    lines.extend("    %s: %s" % (name, json.dumps(value)) for name, value in values)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commands

def command_up(args):
    _check_dependencies()
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    paths = _paths(directory)
    started = time.monotonic()

    passwords = _ensure_accounts(paths)
    pid = _running_pid(paths, directory)
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
    lab = _lab_description(directory, paths, passwords, ready, args.cmdb_computers, args.seed)
    _write(paths["lab"], json.dumps(lab, indent=1) + "\n", 0o600)
    _write(paths["inventory"], _inventory(lab, directory), 0o600)
    sys.stdout.write("itms-lab: NS %s at %s (pid %d, %.1f s); lab: %s; inventory: %s\n"
                     % (what, lab["ns"]["url"], ready["pid"], time.monotonic() - started, paths["lab"], paths["inventory"]))
    return 0


def command_down(args):
    directory = os.path.abspath(args.dir)
    paths = _paths(directory)
    pid = _running_pid(paths, directory)
    if pid is None:
        for name in ("pid", "ready"):
            if os.path.exists(paths[name]):
                os.remove(paths[name])
        sys.stdout.write("itms-lab: nothing runs for %s\n" % directory)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    if _alive(pid):
        raise LabError("the lab NS (pid %d) of %s did not stop" % (pid, directory))
    for name in ("pid", "ready"):
        if os.path.exists(paths[name]):
            os.remove(paths[name])
    sys.stdout.write("itms-lab: stopped the NS of %s (pid %d)\n" % (directory, pid))
    return 0


def command_status(args):
    directory = os.path.abspath(args.dir)
    paths = _paths(directory)
    pid = _running_pid(paths, directory)
    ready = _read_json(paths["ready"]) or {}
    status = {"dir": directory, "running": pid is not None, "pid": pid,
              "url": "https://%s:%d" % (HOST, ready["port"]) if pid and ready.get("port") else None}
    sys.stdout.write(json.dumps(status) + "\n")
    return 0 if pid else 3
