#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tls_certificate_info
short_description: Check the certificate an endpoint presents or a certificate file holds, the way CEM needs it
version_added: 0.2.0
description:
  - Reads the certificate a live TLS endpoint presents (O(host), O(port), O(server_name)) or a certificate file
    (O(path) - PEM, DER or PFX) and reports it with the problems that break Cloud-enabled Management, each as a finding
    with an id, a severity, a message naming the certificate and the values, and a fix in ITMS terms.
  - "Findings (severity): V(san_missing), V(eku_missing), V(weak_signature), V(weak_key), V(expired),
    V(not_yet_valid), V(untrusted_chain), V(no_private_key) (critical); V(expires_soon), V(self_signed) (warning)."
  - V(san_missing) - a name of O(expected_names) is not covered by a subjectAltName entry (RFC 6125). Names compare
    case-insensitively, without a trailing dot, internationalized names as A-labels. A wildcard counts only as the
    whole left-most label, covers exactly one label, and needs two labels after it (never C(*.com)); partial
    wildcards such as C(f*o.example.com) never match. An IP address is covered only by an iPAddress entry (IPv4 and
    IPv6 compared as addresses), never by a dNSName. The Common Name alone never counts.
  - V(eku_missing) - the Extended Key Usage extension is absent or lacks Server Authentication
    (C(1.3.6.1.5.5.7.3.1)); C(anyExtendedKeyUsage) does not count. RFC 5280 reads an absent EKU as any purpose, but
    KB 440283 requires Server Authentication ("missing EKU causes IIS binding rejection"), so absent is a finding.
  - V(weak_signature) (SHA-1 or MD5) and V(weak_key) (RSA or DSA under 2048 bits) look at the leaf and the
    intermediate CA certificates; a self-signed root's own signature is not checked. V(expired), V(not_yet_valid)
    and V(expires_soon) (within O(warn_days), not when already expired) look at the same certificates.
  - V(untrusted_chain) - the certificate does not chain to a CA of O(ca_path) (or of the system trust store). It is
    judged at a time inside the leaf's validity, so an expired certificate gives V(expired) only. The chain is
    checked with the X.509 verifier of C(cryptography) 45 or later. Where it refuses a chain that the issuer
    signatures do carry to a trusted certificate, its refusal stands unless a weak algorithm or key (it refuses
    SHA-1) or a validity period explains it - those are findings of their own. With an older C(cryptography) the
    issuer signatures alone decide. A certificate that O(ca_path) itself holds is trusted; a self-signed one is
    still reported V(self_signed).
  - V(no_private_key) - a PFX without the private key of its certificate.
  - The inspection handshake uses the Python C(ssl) module and accepts any certificate on purpose (it never sends
    data), because an expired, self-signed, SHA-1 or RSA-1024 certificate must be seen to be reported. Trust is decided
    afterwards from the certificates. With Python 3.13 or later the chain is the one the server sent; before, the
    chain is the leaf plus the CA certificates found in O(ca_path) or the system store, as far as they reach.
  - Thumbprints are shown as Windows shows them (uppercase hex, no separators), to compare with IIS bindings and
    C(Cert:\LocalMachine\My).
  - The task never changes anything. O(fail_on) makes it fail after everything is computed, with the whole result.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.attributes
  - itms.cem.attributes.INFO
options:
  host:
    description:
      - The endpoint to connect to, a name or an IP address. Mutually exclusive with O(path); one of them is required.
    type: str
  port:
    description: The TCP port of O(host).
    type: int
    default: 443
  server_name:
    description:
      - The name sent in the TLS SNI extension, for example the external Internet Gateway name when O(host) is its
        address. Defaults to O(host) when O(host) is a name; no SNI is sent for an IP address.
    type: str
  path:
    description:
      - A certificate file on the controller - PEM (leaf first; more certificates are its chain; a private key may
        follow), DER (C(.cer)) or PFX (C(.pfx)/C(.p12)). Mutually exclusive with O(host).
    type: path
  pfx_password:
    description: The password of the PFX (or of an encrypted PEM key) in O(path).
    type: str
  ca_path:
    description:
      - The CA certificates to trust - a PEM or DER file, or a folder of them. When not set, the system trust store
        of the controller.
    type: path
  expected_names:
    description:
      - Names (DNS names or IP addresses) the certificate must cover, for example the external Internet Gateway FQDN
        and the internal NS FQDN (KB 440283). Host names, not patterns.
      - Defaults to O(server_name) (or O(host)) for an endpoint and to none for a file; V([]) checks no names.
    type: list
    elements: str
  warn_days:
    description: A certificate that expires within this many days gives V(expires_soon).
    type: int
    default: 30
  fail_on:
    description:
      - Fail the task when a finding has one of these severities. The failure names the findings and still returns
        the certificate, chain and findings.
    type: list
    elements: str
    choices: [critical, warning, info]
    default: []
  timeout:
    description: Seconds to wait for the connection and the handshake.
    type: float
    default: 10
requirements:
  - cryptography >= 42.0 (45.0 or later to check chains with its X.509 verifier)
seealso:
  - module: itms.cem.clock_skew_info
  - module: itms.cem.dns_info
  - name: KB 440283 - Setting up Cloud-enabled Management with split DNS
    description: One SAN certificate for the external gateway name and the internal NS name, EKU, RSA SHA-256 .pfx.
    link: https://knowledge.broadcom.com/external/article/440283/setting-up-cloudenabled-management-cem-w.html
notes:
  - The O(host) is reached from the controller; use C(delegate_to) to check from another machine.
"""

EXAMPLES = r"""
- name: Check the certificate the Internet Gateway presents to agents on the Internet
  itms.cem.tls_certificate_info:
    host: 203.0.113.5
    port: 443
    server_name: cem.example.com            # the external gateway name agents use
    expected_names:
      - cem.example.com                     # the external Internet Gateway FQDN
      - ns.corp.example.com                 # the internal NS FQDN (split DNS, KB 440283)
    ca_path: /etc/pki/ca-trust/source/anchors/example-root-ca.pem
  delegate_to: localhost
  register: ig_cert

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ item.id }} ({{ item.severity }}): {{ item.message }} Fix: {{ item.fix }}"
  loop: "{{ ig_cert.findings }}"

- name: Check the NS CEM agent site on port 4726, and fail on critical findings
  itms.cem.tls_certificate_info:
    host: ns.corp.example.com
    port: 4726
    ca_path: /etc/pki/ca-trust/source/anchors/example-root-ca.pem
    warn_days: 45
    fail_on: [critical]
  delegate_to: localhost

- name: Check a PFX before importing it on the gateway and the NS
  itms.cem.tls_certificate_info:
    path: files/cem-example-com.pfx
    pfx_password: "{{ vault_cem_pfx_password }}"
    expected_names: [cem.example.com, ns.corp.example.com]
    ca_path: /etc/pki/ca-trust/source/anchors/example-root-ca.pem
    fail_on: [critical]
  delegate_to: localhost
  register: pfx

- name: The thumbprint to bind in IIS
  ansible.builtin.debug:
    msg: "{{ pfx.certificate.sha1_thumbprint }}"
"""

RETURN = r"""
source:
  description: What was inspected - V(endpoint) or V(file).
  returned: always
  type: str
  sample: endpoint
expected_names:
  description: The names checked for V(san_missing).
  returned: always
  type: list
  elements: str
  sample: [cem.example.com, ns.corp.example.com]
certificate:
  description: The leaf certificate.
  returned: always
  type: dict
  contains:
    subject:
      description: Subject (RFC 4514).
      type: str
      returned: always
      sample: "CN=cem.example.com,O=Example"
    subject_cn:
      description: The subject's Common Name (informational - it never covers a name).
      type: str
      returned: always
      sample: "cem.example.com"
    issuer:
      description: Issuer (RFC 4514).
      type: str
      returned: always
      sample: "CN=Example Issuing CA,O=Example"
    serial_number:
      description: Serial number in uppercase hex, as Windows shows it.
      type: str
      returned: always
      sample: "3A00000012F4"
    san_dns:
      description: subjectAltName DNS names.
      type: list
      elements: str
      returned: always
      sample: ["cem.example.com", "ns.corp.example.com"]
    san_ip:
      description: subjectAltName IP addresses.
      type: list
      elements: str
      returned: always
      sample: []
    eku:
      description: Extended Key Usage OIDs (empty when the extension is absent).
      type: list
      elements: str
      returned: always
      sample: ["1.3.6.1.5.5.7.3.1"]
    eku_names:
      description: The same, named.
      type: list
      elements: str
      returned: always
      sample: ["serverAuth"]
    key_type:
      description: RSA, EC, DSA, Ed25519 or Ed448.
      type: str
      returned: always
      sample: "RSA"
    key_size:
      description: Key size in bits.
      type: int
      returned: always
      sample: 2048
    signature_hash:
      description: Hash algorithm of the signature (null for Ed25519 and Ed448).
      type: str
      returned: always
      sample: "sha256"
    not_before:
      description: Start of validity (ISO 8601, UTC).
      type: str
      returned: always
      sample: "2026-01-05T00:00:00Z"
    not_after:
      description: End of validity (ISO 8601, UTC).
      type: str
      returned: always
      sample: "2027-01-05T23:59:59Z"
    days_left:
      description: Whole days until RV(certificate.not_after), negative when expired.
      type: int
      returned: always
      sample: 240
    sha1_thumbprint:
      description: SHA-1 of the DER, uppercase hex without separators (the Windows thumbprint).
      type: str
      returned: always
      sample: "8F43288AD272F3103B6FB1428485EA3014C0BCFE"
    sha256_thumbprint:
      description: SHA-256 of the DER, uppercase hex without separators.
      type: str
      returned: always
      sample: "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE"
    has_private_key:
      description: Whether the file holds the certificate's private key (null for an endpoint).
      type: bool
      returned: always
      sample: true
    self_signed:
      description: Subject equals issuer and its own key signed it.
      type: bool
      returned: always
      sample: false
chain:
  description:
    - The chain, leaf first, as far as known, each entry like RV(certificate) (C(has_private_key) null). Before
      Python 3.13 the CA certificates of an endpoint's chain come from O(ca_path) or the system store.
  returned: always
  type: list
  elements: dict
  sample: [{"subject": "CN=cem.example.com,O=Example", "sha1_thumbprint": "8F43288AD272F3103B6FB1428485EA3014C0BCFE"}]
findings:
  description: What is wrong, in a fixed order; empty when nothing is.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: One of V(san_missing), V(eku_missing), V(weak_signature), V(weak_key), V(expired), V(not_yet_valid),
        V(expires_soon), V(untrusted_chain), V(self_signed), V(no_private_key).
      type: str
      returned: always
    severity:
      description: V(critical) or V(warning).
      type: str
      returned: always
    message:
      description: What is wrong, naming the certificate and the values.
      type: str
      returned: always
    fix:
      description: What to do about it in ITMS terms.
      type: str
      returned: always
  sample: [{"id": "san_missing", "severity": "critical",
            "message": "The certificate presented by 203.0.113.5:443 does not cover ns.corp.example.com: ...",
            "fix": "Reissue the certificate with subjectAltName entries for every name clients use ..."}]
endpoint:
  description: The endpoint, the SNI name sent, the TLS version negotiated, whether the chain is trusted, and whether
    the server's own chain was available (Python 3.13 or later).
  returned: when O(host) is set
  type: dict
  sample: {"host": "203.0.113.5", "port": 443, "server_name": "cem.example.com", "tls_version": "TLSv1.2",
           "trusted": true, "chain_sent": false}
file:
  description: The file, its format (V(PEM), V(DER) or V(PFX)) and whether its certificate is trusted.
  returned: when O(path) is set
  type: dict
  sample: {"path": "files/cem-example-com.pfx", "format": "PFX", "trusted": true}
tls_requests:
  description: Handshakes made and files read.
  returned: always
  type: dict
  sample: {"handshakes": 1, "files": 0}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _tls as tls  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module  # noqa: E402


def run(module, client):
    params = module.params
    if params["host"] is not None:
        inspection = client.inspect("endpoint", params["host"], params["port"], params["server_name"],
                                    params["ca_path"], params["timeout"])
    else:
        inspection = client.inspect("file", params["path"], params["pfx_password"], params["ca_path"])
    result = tls.report(inspection, params["expected_names"], tls.utcnow(), params["warn_days"])
    failed = [f["id"] for f in result["findings"] if f["severity"] in params["fail_on"]]
    if failed:
        # After everything is computed: the failure carries the whole result.
        raise tls.CertificateFindings(
            "%s has findings of a severity in fail_on (%s): %s." % (inspection.label, ", ".join(params["fail_on"]),
                                                                    ", ".join(failed)),
            hint="See findings for each message and its fix.", **result)
    return False, result, None


def connect(params):
    tls.require_cryptography()
    return tls.TlsInspector()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str"),
            port=dict(type="int", default=443),
            server_name=dict(type="str"),
            path=dict(type="path"),
            pfx_password=dict(type="str", no_log=True),
            ca_path=dict(type="path"),
            expected_names=dict(type="list", elements="str"),
            warn_days=dict(type="int", default=30),
            fail_on=dict(type="list", elements="str", choices=["critical", "warning", "info"], default=[]),
            timeout=dict(type="float", default=10),
        ),
        mutually_exclusive=[("host", "path")],
        required_one_of=[("host", "path")],
        required_by=dict(server_name="host"),
        supports_check_mode=True,
    )
    run_module(module, run, connect, "tls_requests")


if __name__ == "__main__":
    main()
