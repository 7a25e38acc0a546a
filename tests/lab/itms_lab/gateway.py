# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab Internet Gateway: a TLS listener, its configuration, its ``a.log`` and its host's state.

What it stands for (KB 216202, KB 181705, KB 440283): a gateway that listens for agents on the port of its
listener with a certificate of its own ("The Internet Gateway strictly uses a self-signed certificate"),
registers with the Notification Server, and writes "Internet Gateway successfully registered with
Notification Server" to ``a.log``. How the real gateway stores its settings is not publicly documented:
``DIR/ig/config.xml`` is the lab's own stand-in, mapped by the gateway profile
``tests/lab/profiles/gateway.yml``, and ``DIR/ig/host.json`` stands for what the Windows host would tell
(the service, IIS HTTPS bindings, firewall rules, the installed version). How the real gateway registers
is not public either: the lab gateway counts the NS as reached when it answers an HTTPS request whose
certificate verifies against the lab CA.

The process (``python -m itms_lab.daemon --dir DIR --service gateway``) reads ``DIR/gateway-config.json``. When
that names the lab CMDB (``cmdb``), the process also runs the loop that lets the agents approved after a rollback
reconnect, ``policy_interval_seconds`` after their approval (``reconnect.py``).
"""

import datetime
import json
import os
import socket
import ssl
import sys
import threading
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from itms_lab import tlsserve

NAME = "ig.cem-lab.example"
HOST_NAME = "lab-ig"
VERSION = "8.8.1"
DISPLAY_NAME = "Symantec Internet Gateway Service"
SERVICE_NAME = "ItmsLabInternetGateway"  # the real service's short name is not publicly documented
FIREWALL_RULE = "Symantec Internet Gateway (TCP-In)"  # the lab's name; the installer's rule name is not documented
REGISTERED = "Internet Gateway successfully registered with Notification Server"
REGISTER_PATH = "/Altiris/ASDK.NS/ItemManagementService.asmx"
RETRY_S = 5.0
SEVERITY_ERROR = 1
SEVERITY_INFO = 4


# --------------------------------------------------------------------------- pure: files of the gateway

def config_xml(port, ns_url, existing=None):
    """The text of ``config.xml`` with the listener ``port`` and the NS ``ns_url``.

    ``existing`` (the current text) keeps every other setting as it is (a role may have changed status
    reporting or troubleshooting mode); text that does not parse, or another root, starts again.
    """
    root = None
    if existing:
        try:
            root = ET.fromstring(existing)
        except ET.ParseError:
            root = None
    if root is None or root.tag != "InternetGateway":
        root = ET.Element("InternetGateway")
    defaults = (("Listener", {"ip": "0.0.0.0", "port": "443"}), ("StatusReporting", {"enabled": "true"}),
                ("Troubleshooting", {"mode": "false", "allowEphemeralCertificates": "false"}),
                ("NotificationServer", {"url": ""}))
    for tag, attributes in defaults:
        element = root.find(tag)
        if element is None:
            element = ET.SubElement(root, tag)
        for name, value in attributes.items():
            if element.get(name) is None:
                element.set(name, value)
    root.find("Listener").set("port", str(port))
    root.find("NotificationServer").set("url", ns_url)
    if root.find("Version") is None:
        ET.SubElement(root, "Version")
    root.find("Version").text = VERSION
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def listener(text):
    """(ip, port) of the listener in ``config.xml`` text; ValueError when it has none."""
    try:
        element = ET.fromstring(text).find("Listener")
    except ET.ParseError as exc:
        raise ValueError("config.xml does not parse: %s" % exc)
    if element is None:
        raise ValueError("config.xml has no Listener element")
    try:
        port = int(element.get("port"))
    except (TypeError, ValueError):
        raise ValueError("config.xml: the Listener port %r is not a number" % element.get("port"))
    if not 0 < port < 65536:
        raise ValueError("config.xml: the Listener port %d is not 1 to 65535" % port)
    return element.get("ip") or "0.0.0.0", port


def host_state(port, state="running"):
    """What ``DIR/ig/host.json`` says of the gateway's Windows host."""
    return {
        "service": {"name": SERVICE_NAME, "display_name": DISPLAY_NAME, "state": state},
        "iis_https_bindings": [],
        "firewall_rules": [{"name": FIREWALL_RULE, "direction": "in", "action": "allow", "enabled": True,
                            "protocol": "tcp", "local_ports": [port]}],
        "version": VERSION,
    }


def event_line(text, when, severity=SEVERITY_INFO, pid=0):
    """One ``a.log`` event as the Altiris log writes it, ``when`` an aware datetime (written as UTC)."""
    stamp = when.astimezone(datetime.timezone.utc)
    date = "%s.%03d +00:00" % (stamp.strftime("%m/%d/%Y %H:%M:%S"), stamp.microsecond // 1000)
    return ("<event date='%s' severity='%d' hostName='%s' source='InternetGateway' module='lab' process='itms-lab' "
            "pid='%d' thread='1' tickCount='0' ><![CDATA[%s]]></event>\n"
            % (date, severity, HOST_NAME, pid, text.replace("]]>", "]] >")))


# --------------------------------------------------------------------------- I/O

def reach_ns(ns_url, ca_path, timeout=5.0):
    """(True, 'HTTP 401') when the NS answers HTTPS with a certificate the lab CA verifies, else (False, why)."""
    parts = urlsplit(ns_url)
    host, port = parts.hostname, parts.port or 443
    context = ssl.create_default_context(cafile=ca_path)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: itms-lab-internet-gateway\r\n"
                             "Connection: close\r\n\r\n" % (REGISTER_PATH, host, port)).encode("ascii"))
                status = tls.recv(64).split(b"\r\n", 1)[0].decode("ascii", "replace")
    except ssl.SSLError as exc:
        return False, "TLS error with %s: %s" % (ns_url, exc)
    except OSError as exc:
        return False, "cannot reach %s: %s" % (ns_url, exc)
    if not status.startswith("HTTP/1."):
        return False, "%s answered something that is not HTTP" % ns_url
    return True, status.split(" ", 1)[1] if " " in status else status


def _write(path, text):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Gateway:
    """The lab gateway of one lab directory (see the module docstring); ``start()``, ``ready()``, ``stop()``."""

    def __init__(self, config):
        self.config = config
        self.offset = float(config.get("date_offset") or 0)
        self.retry_s = float(config.get("retry_s") or RETRY_S)
        self.server = None
        self.port = None
        self.registered = threading.Event()
        self.stopping = threading.Event()
        self._thread = None
        self.reconnector = None

    def _now(self):
        # The gateway's clock: off by its Date offset, in a.log as in its answers.
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.offset)

    def log_event(self, text, severity):
        with open(self.config["log"], "a", encoding="utf-8") as handle:
            handle.write(event_line(text, self._now(), severity, os.getpid()))

    def _make_certificate(self):
        from itms_lab import certs
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        kind = self.config.get("cert_kind") or "good"
        ca = None
        if kind not in ("good", "self_signed", "untrusted"):
            with open(self.config["ca_cert"], "rb") as handle:
                ca_cert = x509.load_pem_x509_certificate(handle.read())
            with open(self.config["ca_key"], "rb") as handle:
                ca = (ca_cert, serialization.load_pem_private_key(handle.read(), password=None))
        # KB 181705: the gateway's own certificate is self-signed; a bad kind carries its defect instead.
        cert, key = certs.issue("self_signed" if kind == "good" else kind, ca=ca, names=(NAME,), ips=("127.0.0.1",))
        certs.write_pem(self.config["cert"], cert)
        certs.write_pem(self.config["key"], cert, key)
        # What a client must trust to verify this gateway: its own certificate when it is self-signed, else the lab CA.
        if cert.issuer == cert.subject:
            certs.write_pem(self.config["trust"], cert)
        else:
            with open(self.config["ca_cert"], encoding="utf-8") as handle:
                _write(self.config["trust"], handle.read())

    def start(self):
        with open(self.config["config_xml"], encoding="utf-8") as handle:
            self.port = listener(handle.read())[1]
        self._make_certificate()
        context = tlsserve.server_context(self.config["cert"], self.config["key"])
        self.server = tlsserve.bind(self.port, context, fallback=False, date_offset=self.offset,
                                    body=b"itms-lab Internet Gateway\r\n", server_header="itms-lab-internet-gateway",
                                    name="lab-ig").start()
        _write(self.config["host_state"], json.dumps(host_state(self.port), indent=1, sort_keys=True) + "\n")
        if self.config.get("cmdb"):  # agents approved after a rollback come back (reconnect.py)
            from itms_lab import reconnect

            self.reconnector = reconnect.Reconnector(
                self.config["cmdb"], self.config.get("policy_interval_seconds", reconnect.DEFAULT_POLICY_INTERVAL_S),
                self.config.get("reconnect_poll_s", reconnect.POLL_S)).start()
        # The first attempt before the ready file: when up returns, the registration request is in the NS log.
        if not self._register():
            self._thread = threading.Thread(target=self._retry, name="lab-ig-register", daemon=True)
            self._thread.start()
        return self

    def _register(self):
        ok, detail = reach_ns(self.config["ns_url"], self.config["ns_ca"])
        if ok:
            self.log_event(REGISTERED, SEVERITY_INFO)
            self.registered.set()
            return True
        self.log_event("Internet Gateway failed to register with Notification Server %s: %s; retrying in %g s"
                       % (self.config["ns_url"], detail, self.retry_s), SEVERITY_ERROR)
        sys.stderr.write("itms-lab gateway: registration failed: %s\n" % detail)
        return False

    def _retry(self):
        while not self.stopping.wait(self.retry_s):
            if self._register():
                return

    def ready(self):
        return {"port": self.port, "registered": self.registered.is_set()}

    def stop(self):
        self.stopping.set()
        if self.reconnector is not None:
            self.reconnector.stop()
        if self.server is not None:
            self.server.stop()
        if self.port is not None:
            _write(self.config["host_state"], json.dumps(host_state(self.port, "stopped"), indent=1, sort_keys=True) + "\n")
        if self._thread is not None:
            self._thread.join(5)
