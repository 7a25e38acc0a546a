# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab TLS endpoints: one HTTPS port per kind of certificate in ``certs.KINDS``.

Each presents a certificate of its kind for ``ig.cem-lab.example`` and 127.0.0.1, issued by the lab CA
(``DIR/ca.pem``) except ``untrusted`` (a CA nobody is given) and ``self_signed``, and answers every request
with 200 and a ``Date`` header, shifted by the kind's Date offset. Checked against ``expected_names`` with
the lab CA as ``ca_path``, each must give exactly the findings ``certs.KINDS`` lists (none for ``good``
and ``wildcard``).

The certificates are issued again at every start (``expired`` and ``not_yet_valid`` are relative to now)
into ``DIR/tls/<kind>.pem`` (and ``<kind>.key``). The process (``python -m itms_lab.daemon --dir DIR
--service tls``) reads ``DIR/tls-config.json``.
"""

import os

from itms_lab import tlsserve

NAMES = ("ig.cem-lab.example",)
IPS = ("127.0.0.1",)


def kinds():
    from itms_lab import certs

    return list(certs.KINDS)


def describe(ports, offsets=None):
    """The ``tls_endpoints`` of lab.json: {kind: {host, port, server_name, expected_names, expected_findings}}."""
    from itms_lab import certs

    offsets = offsets or {}
    return dict((kind, {"host": tlsserve.HOST, "port": ports[kind], "server_name": NAMES[0],
                        "expected_names": list(NAMES), "expected_findings": list(certs.KINDS[kind]),
                        "date_offset": offsets.get(kind, 0)})
                for kind in certs.KINDS if kind in ports)


def issue_all(directory, ca_cert_path, ca_key_path):
    """Issue one certificate per kind into ``directory``; {kind: (cert path, key path)}."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from itms_lab import certs

    with open(ca_cert_path, "rb") as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    with open(ca_key_path, "rb") as handle:
        ca = (ca_cert, serialization.load_pem_private_key(handle.read(), password=None))
    os.makedirs(directory, exist_ok=True)
    files = {}
    for kind in certs.KINDS:
        cert, key = certs.issue(kind, ca=ca, names=NAMES, ips=IPS)
        files[kind] = certs.write_pair(directory, kind, cert, key)
    return files


class Endpoints:
    """All the endpoints of one lab directory: ``start()``, ``ready()``, ``stop()``."""

    def __init__(self, config):
        self.config = config
        self.servers = {}

    def start(self):
        config = self.config
        files = issue_all(config["cert_dir"], config["ca_cert"], config["ca_key"])
        previous = config.get("ports") or {}
        offsets = config.get("date_offsets") or {}
        try:
            for kind, (cert_path, key_path) in files.items():
                context = tlsserve.server_context(cert_path, key_path)
                self.servers[kind] = tlsserve.bind(
                    int(previous.get(kind) or 0), context, fallback=True, date_offset=offsets.get(kind, 0),
                    body=("itms-lab TLS endpoint: %s\r\n" % kind).encode("ascii"),
                    server_header="itms-lab-tls-endpoint", name="lab-tls-%s" % kind).start()
        except BaseException:
            self.stop()
            raise
        return self

    def ready(self):
        return {"ports": dict((kind, server.port) for kind, server in self.servers.items())}

    def stop(self):
        for server in self.servers.values():
            server.stop()
        self.servers = {}
