#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: edr_enrollment_check
short_description: Diagnose SEP clients stuck in "Authentication Pending" in Symantec EDR, one verdict per cause
version_added: 0.2.0
description:
  - Reads SEPM (groups, their and their default locations' external-communication and private-cloud settings,
    computers), other SEPMs connected to the same EDR (O(sepm_peers)), the EDR appliance (appliances, System Health
    events, the event count, endpoint entities), and makes a TLS handshake with every EDR address the private-cloud
    settings push to clients and with the SEPM.
  - Returns, for every cause of Broadcom KB 236805 (and three related checks), a verdict C(pass), C(fail),
    C(needs_input) or C(not_checkable), its evidence, the affected groups and computers, and the KB's resolution
    steps. See RV(causes) and the guide C(docs/edr-enrollment.md).
  - EDR console settings cannot be read through any documented API (the SEPM Controller connection name, SEPM Group
    Inclusion, "Include inherited sub-groups automatically", "Apply private cloud policies to all non-default SEPM
    groups", the edition); give them in O(console). What is not given gives C(needs_input), never a guess.
  - FIPS mode cannot be read through SEPM or EDR; that cause is always C(not_checkable), with the manual step.
  - The TLS handshakes are made from the controller. A proxy between the SEP clients and EDR is seen only if the
    controller goes through it as well; the evidence says so.
  - Several rules rest on field meanings that Broadcom does not document (for example that a client's
    C(profileSerialNo) equals its group's C(policySerialNumber) once the policy arrived); their verdicts carry
    C(inferred=true).
  - Reads only; it never changes SEPM or EDR.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.sepm
  - itms.cem.edr
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.SEPM_EDR
options:
  edr_url:
    description:
      - The EDR appliance, C(https://edr.example.com). Without it the EDR-side causes give C(needs_input).
    type: str
    required: false
  sepm_peers:
    description:
      - Other SEPMs whose SEPM Controller connections are configured in the same EDR. Their groups are compared with
        the SEPM of O(sepm_url) (KB 236805 cause 6); their computers are not read.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The SEPM, C(https://sepm2.example.com:8446).
        type: str
        required: true
      username:
        description: A SEPM system administrator.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
      domain:
        description: Its SEPM domain (empty for the default domain).
        type: str
        default: ""
      validate_certs:
        description: Verify the SEPM certificate (with O(sepm_peers[].ca_path) or O(sepm_peers[].fingerprint)).
        type: bool
        default: true
      ca_path:
        description: PEM file of the CA (or the self-signed certificate) of that SEPM.
        type: path
      fingerprint:
        description: SHA-256 fingerprint of that SEPM's certificate, pinned instead of a CA.
        type: str
  console:
    description:
      - What the EDR console shows, for the causes no API can read. Leave a key out when you do not know it.
    type: dict
    default: {}
    suboptions:
      sepm_controller_name:
        description:
          - The name of the SEPM Controller connection (EDR C(Settings > Global > Endpoint Communication Channel > SEPM
            Controller Connection)). Compared with the SEPM certificate's names (cause 2).
        type: str
      group_inclusions:
        description:
          - The SEPM groups listed in SEPM Group Inclusion, as full paths (C(My Company\Workstations)). V([]) when
            Group Inclusion is not used.
        type: list
        elements: str
      include_inherited_subgroups:
        description: Whether "Include inherited sub-groups automatically" is enabled.
        type: bool
      apply_to_non_default_groups:
        description: Whether "Apply private cloud policies to all non-default SEPM groups." is enabled.
        type: bool
      virtual_edition:
        description: Whether the EDR appliance is a Virtual Edition (the 400 events per second limit applies to it).
        type: bool
      sepm_count:
        description: How many SEPM Controller connections EDR has; V(1) settles cause 6 without O(sepm_peers).
        type: int
  sepm_certificate_endpoint:
    description:
      - C(host:port) whose certificate is compared with O(console.sepm_controller_name). Default the host and port of
        O(sepm_url), which is where EDR's SEPM Controller connects.
    type: str
  health_window_hours:
    description: How many hours of EDR System Health events to read. V(0) skips them.
    type: int
    default: 24
  event_window_minutes:
    description:
      - The window over which the EDR event count is read to estimate events per second (at most 10080, 7 days).
        V(0) skips it.
    type: int
    default: 15
  max_event_rate:
    description: The events per second a Virtual Edition takes (KB 236805 says 400).
    type: int
    default: 400
  probe_timeout:
    description: Seconds to wait for each TLS handshake.
    type: float
    default: 10
  probe_ca_path:
    description:
      - PEM file of CAs used to say whether an EDR certificate chains to a trusted CA (evidence only; SEP clients
        trust the certificate SEPM pushes). Default the controller's trust store.
    type: path
requirements:
  - requests >= 2.28
  - cryptography >= 41.0
seealso:
  - module: itms.cem.sepm_group_info
  - module: itms.cem.sepm_computer_info
  - module: itms.cem.edr_appliance_info
  - module: itms.cem.tls_certificate_info
  - name: KB 236805 (SEP clients stuck in "Authentication Pending")
    description: The causes and resolution steps this module checks.
    link: https://knowledge.broadcom.com/external/article/236805
"""

EXAMPLES = r"""
- name: Diagnose "Authentication Pending"
  itms.cem.edr_enrollment_check:
    sepm_url: https://sepm.example.com:8446
    sepm_username: admin
    sepm_password: "{{ vault_sepm_password }}"
    sepm_fingerprint: "3A:7F:...:C2"          # SEPM certificates are usually self-signed: pin it
    edr_url: https://edr.example.com
    edr_client_id: "{{ vault_edr_client_id }}"
    edr_client_secret: "{{ vault_edr_client_secret }}"
    edr_ca_path: /etc/pki/edr-ca.pem
    console:
      sepm_controller_name: sepm.example.com
      group_inclusions: []
      apply_to_non_default_groups: true
      virtual_edition: false
      sepm_count: 1
  delegate_to: localhost
  register: enrollment

- name: One line per cause
  ansible.builtin.debug:
    msg: "{{ enrollment.lines }}"

- name: The evidence of what failed
  ansible.builtin.debug:
    msg: "{{ enrollment.causes | selectattr('verdict', 'equalto', 'fail') | map(attribute='evidence') | flatten }}"

- name: With the connections from module_defaults and a second SEPM
  module_defaults:
    group/itms.cem.sepm:
      sepm_url: https://sepm.example.com:8446
      sepm_username: admin
      sepm_password: "{{ vault_sepm_password }}"
      sepm_ca_path: /etc/pki/sepm.pem
    group/itms.cem.edr:
      edr_url: https://edr.example.com
      edr_client_id: "{{ vault_edr_client_id }}"
      edr_client_secret: "{{ vault_edr_client_secret }}"
  itms.cem.edr_enrollment_check:
    sepm_peers:
      - url: https://sepm2.example.com:8446
        username: admin
        password: "{{ vault_sepm2_password }}"
        ca_path: /etc/pki/sepm2.pem
  delegate_to: localhost
"""

RETURN = r"""
causes:
  description:
    - One verdict per cause, in a fixed order. C(id) is stable; C(kb_cause) is the cause's number in KB 236805's list
      (null for the related checks C(edr_health), C(edr_inventory) and C(edr_version)).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "edr_certificate_name", "kb_cause": 1, "title": "EDR certificate does not match the SEP Policies address",
            "verdict": "fail", "summary": "127.0.0.1:443 presents a certificate for localhost only",
            "evidence": ["127.0.0.1:443 (used by My Company\\Workstations) presents CN=localhost, SAN DNS [localhost] IP []"],
            "affected_groups": ["My Company\\Workstations"], "affected_computers": [],
            "resolution": {"steps": [2, 3, 4, 7, 9], "text": "..."}, "inferred": false}]
summary:
  description: How many causes got each verdict, and the first cause that failed.
  returned: always
  type: dict
  sample: {"pass": 11, "fail": 1, "needs_input": 2, "not_checkable": 1, "first_fail": "edr_certificate_name"}
lines:
  description:
    - "One line per cause, C([VERDICT] cause N id: summary) (C(related) instead of C(cause N) for the related checks),
      in the order of RV(causes)."
  returned: always
  type: list
  elements: str
  sample: ["[FAIL] cause 1 edr_certificate_name: 127.0.0.1:443 presents a certificate for localhost only"]
groups:
  description: The causes that failed or need input, per affected SEPM group.
  returned: always
  type: list
  elements: dict
  sample: [{"group": "My Company\\Workstations", "fail": ["edr_certificate_name"], "needs_input": []}]
evidence:
  description:
    - What was read, as the rules judged it; computers and EDR endpoints are counted, not listed.
  returned: always
  type: dict
  contains:
    collected_at:
      description: When the evidence was read (UTC).
      type: str
    sepms:
      description: Each SEPM read (the first is O(sepm_url)) with its groups, settings and certificate.
      type: list
      elements: dict
    edr:
      description: The appliances, the lowest version, the System Health errors and the event count; C(error) when the EDR API could not be read.
      type: dict
    probes:
      description: Each EDR address the private-cloud settings push, the certificate it presents, and the certificates SEPM pushes for it.
      type: list
      elements: dict
console:
  description: The console settings used (null for those not given).
  returned: always
  type: dict
  sample: {"sepm_controller_name": "sepm.example.com", "group_inclusions": [], "include_inherited_subgroups": null,
           "apply_to_non_default_groups": true, "virtual_edition": false, "sepm_count": 1}
api_requests:
  description: Requests made to each SEPM and to EDR.
  returned: always
  type: dict
  sample: {"sepm": {"http_requests": 14, "logins": 1, "reauthentications": 0}, "sepm_peers": [], "edr": {"http_requests": 5}}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _edr_diag as diag  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _edr_evidence as shape  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _edr_rules as rules  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._edr_report import console_lines  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._enrollment_args import (  # noqa: E402
    enrollment_argument_spec, run_enrollment_module,
)
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError  # noqa: E402

MAX_EVENT_WINDOW_MINUTES = 7 * 24 * 60  # the EDR API's longest query window

CONSOLE_OPTIONS = dict(
    sepm_controller_name=dict(type="str"),
    group_inclusions=dict(type="list", elements="str"),
    include_inherited_subgroups=dict(type="bool"),
    apply_to_non_default_groups=dict(type="bool"),
    virtual_edition=dict(type="bool"),
    sepm_count=dict(type="int"),
)


def _check_limits(params):
    if params["health_window_hours"] < 0:
        raise InputError("health_window_hours must be 0 or more (got %s)." % params["health_window_hours"])
    if not 0 <= params["event_window_minutes"] <= MAX_EVENT_WINDOW_MINUTES:
        raise InputError("event_window_minutes must be between 0 and %d (7 days, the EDR API's longest window), not %s."
                         % (MAX_EVENT_WINDOW_MINUTES, params["event_window_minutes"]))
    if params["max_event_rate"] <= 0 or params["probe_timeout"] <= 0:
        raise InputError("max_event_rate and probe_timeout must be above 0 (got %s and %s)."
                         % (params["max_event_rate"], params["probe_timeout"]))
    if (params["console"] or {}).get("sepm_count") is not None and params["console"]["sepm_count"] < 1:
        raise InputError("console.sepm_count must be 1 or more (got %s)." % params["console"]["sepm_count"])


def run(module, clients):
    params = module.params
    _check_limits(params)
    console = dict((key, (params["console"] or {}).get(key)) for key in CONSOLE_OPTIONS)
    evidence = diag.gather(clients, params)
    verdicts = rules.evaluate(evidence, console, max_event_rate=params["max_event_rate"])
    result = dict(causes=verdicts, summary=rules.summarize(verdicts), groups=rules.by_group(verdicts),
                  lines=console_lines(verdicts), evidence=shape.for_result(evidence), console=console)
    return False, result, None


def main():
    module = AnsibleModule(
        argument_spec=enrollment_argument_spec(
            console=dict(type="dict", default={}, options=CONSOLE_OPTIONS),
            sepm_certificate_endpoint=dict(type="str"),
            health_window_hours=dict(type="int", default=24),
            event_window_minutes=dict(type="int", default=15),
            max_event_rate=dict(type="int", default=400),
            probe_timeout=dict(type="float", default=10),
            probe_ca_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    run_enrollment_module(module, run)


if __name__ == "__main__":
    main()
