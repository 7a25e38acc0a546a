#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_info
short_description: Check that names resolve to the addresses expected, through the resolvers given
version_added: 0.2.0
description:
  - Looks up each name of O(queries) (A and AAAA records by default) through that query's resolvers, or the
    controller's system resolvers, and gives a verdict per name.
  - KB 216202 step 1 - "Public DNS name resolves externally". KB 440283 sets Cloud-enabled Management up with split
    DNS - the public Internet Gateway name must resolve through a B(public) resolver to the address agents on the
    Internet reach, and the internal NS name through an B(internal) resolver. Give each query the resolvers it must
    be resolved through (see the examples), because the controller's own resolver usually sees only one side.
  - Verdicts - C(ok); C(mismatch) when the addresses differ from O(queries[].expected) (compared as sets; with no
    expected addresses any answer is C(ok)); C(nxdomain) (the name does not exist); C(no_answer) (the name exists but
    has none of the record types asked); C(timeout) (no resolver answered in time); C(error) (the resolvers failed,
    for example SERVFAIL or REFUSED).
  - A name that does not resolve is a verdict, not a failure. The task fails only on bad input or when dnspython is
    missing.
  - Names are looked up as fully qualified names - no search domains are appended - and nothing is cached.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.attributes
  - itms.cem.attributes.INFO
options:
  queries:
    description: The names to resolve.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The fully qualified name to resolve.
        type: str
        required: true
      expected:
        description:
          - The addresses the name must resolve to, all of them and no other (IPv4 and IPv6 compared as sets).
          - Empty means any answer is C(ok).
        type: list
        elements: str
        default: []
      resolvers:
        description:
          - The resolvers to ask, each an IP address with an optional port - V(203.0.113.53), V(10.0.0.53:5353),
            V(2001:db8::53) or V([2001:db8::53]:5353). Host names cannot be used.
          - The controller's system resolvers when not given.
        type: list
        elements: str
      record_types:
        description: The record types to look up.
        type: list
        elements: str
        choices: [A, AAAA]
        default: [A, AAAA]
      label:
        description: A label for the results and messages (V(gateway), V(notification server)); the name by default.
        type: str
  timeout:
    description: Seconds to wait for the answer of each record type of a query, over all of its resolvers.
    type: float
    default: 5
requirements:
  - dnspython >= 2.4
seealso:
  - module: itms.cem.tls_certificate_info
  - name: KB 440283 - Setting up Cloud-enabled Management with split DNS
    description: One certificate for the public gateway name and the internal NS name.
    link: https://knowledge.broadcom.com/external/article/440283/setting-up-cloudenabled-management-cem-w.html
"""

EXAMPLES = r"""
- name: Split DNS - the public gateway name outside, the internal NS name inside
  itms.cem.dns_info:
    queries:
      - label: gateway
        name: ig.example.com
        expected: [203.0.113.5]
        resolvers: [198.51.100.53]          # a public resolver
      - label: notification server
        name: ns.corp.example.internal
        expected: [10.20.0.15]
        resolvers: ["10.20.0.53", "10.20.0.54"]   # the internal resolvers
        record_types: [A]
  delegate_to: localhost
  register: dns

- name: Fail on any name that does not resolve as expected
  ansible.builtin.assert:
    that: dns.failed_queries == 0
    fail_msg: "{{ dns.results | rejectattr('verdict', 'equalto', 'ok') | map(attribute='message') | list }}"

- name: The lab DNS server on a port of its own
  itms.cem.dns_info:
    queries:
      - name: ig.cem-lab.example
        resolvers: ["127.0.0.1:5353"]
    timeout: 2
"""

RETURN = r"""
results:
  description: One entry per query, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    label:
      description: The query's label (its name when none was given).
      type: str
      sample: gateway
    name:
      description: The name resolved.
      type: str
      sample: ig.example.com
    resolvers:
      description: The resolvers asked (the system's when the query named none).
      type: list
      elements: str
      sample: ["198.51.100.53"]
    addresses:
      description: The addresses found, sorted (IPv4 first).
      type: list
      elements: str
      sample: ["203.0.113.5"]
    expected:
      description: The addresses expected, sorted.
      type: list
      elements: str
      sample: ["203.0.113.5"]
    verdict:
      description: C(ok), C(mismatch), C(nxdomain), C(no_answer), C(timeout) or C(error).
      type: str
      sample: ok
    message:
      description: The verdict in one sentence.
      type: str
      sample: ig.example.com resolves to 203.0.113.5 through 198.51.100.53 as expected
failed_queries:
  description:
    - How many queries are not C(ok).
    - Not named C(failed), because Ansible takes a true C(failed) in a result for a failed task.
  returned: always
  type: int
  sample: 0
dns_queries:
  description: The DNS queries sent (one per record type of each name).
  returned: always
  type: dict
  sample: {"queries": 3}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _dns  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module  # noqa: E402


def run(module, client):
    results = []
    for query in _dns.queries(module.params["queries"]):
        resolvers, outcomes = client.lookup(query)
        results.append(_dns.judge(query, resolvers, outcomes, client.timeout))
    return False, dict(results=results, failed_queries=sum(1 for r in results if r["verdict"] != "ok")), None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            queries=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                expected=dict(type="list", elements="str", default=[]),
                resolvers=dict(type="list", elements="str"),
                record_types=dict(type="list", elements="str", choices=["A", "AAAA"], default=["A", "AAAA"]),
                label=dict(type="str"),
            )),
            timeout=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    run_module(module, run, _dns.connect, "dns_queries")


if __name__ == "__main__":
    main()
