#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ns_info
short_description: Check that the Notification Server's ASDK answers and accepts the credentials
version_added: 0.1.0
description:
  - Calls harmless read-only ASDK methods to find out what can be known from outside - that the NS answers over TLS
    with a certificate the controller trusts, that it accepts the credentials, which protocol bindings work (HTTP form
    POST and SOAP 1.1), and which ASDK services answer.
  - Probes C(ItemManagementService) with C(ItemExists) and C(ScopingManagementService) with C(GetResourceTargets), both
    on the all-zero GUID, so nothing is read or changed. An ASDK fault such as "does not exist" proves the service
    answered.
  - C(ResourceManagementService) is not probed - the only method of it the collection uses, C(PushPolicy2), acts on
    agents.
  - The ASDK has no method that reports the NS version, so the module reports none; RV(server_headers) holds what the
    web server itself says (C(Server), C(X-AspNet-Version)), as it says it.
  - Write permission is not tested, because testing it would need a write.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.ns
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.NS
options:
  probe_bindings:
    description:
      - Try both bindings (HTTP form POST and SOAP 1.1) and report each in RV(bindings). When V(false), only the
        binding the modules would use is found.
    type: bool
    default: true
requirements:
  - requests >= 2.28
  - pyspnego >= 0.9.0 (NTLM and Negotiate authentication)
  - cryptography >= 41.0 (the channel-binding hash of NS certificates signed with SHA-384 or SHA-512)
seealso:
  - module: itms.cem.ns_item_info
"""

EXAMPLES = r"""
- name: Check the NS connection before changing anything
  itms.cem.ns_info:
    ns_url: https://ns.example.com
    ns_username: EXAMPLE\svc_cem
    ns_password: "{{ vault_ns_password }}"
    ca_path: /etc/pki/ca-trust/source/anchors/example-ca.pem
  delegate_to: localhost
  register: ns

- name: Show what the NS answered
  ansible.builtin.debug:
    msg: "{{ ns.user }} accepted; bindings {{ ns.bindings }}; modules use {{ ns.binding }}"

- name: With the connection from module_defaults
  module_defaults:
    group/itms.cem.ns:
      ns_url: https://ns.example.com
      ns_username: EXAMPLE\svc_cem
      ns_password: "{{ vault_ns_password }}"
  itms.cem.ns_info:
    probe_bindings: false
  delegate_to: localhost
"""

RETURN = r"""
ns_url:
  description: The base URL the modules call.
  returned: always
  type: str
  sample: https://ns.example.com
user:
  description: The account the NS accepted.
  returned: always
  type: str
  sample: EXAMPLE\svc_cem
auth:
  description: The authentication used (O(ns_auth)).
  returned: always
  type: str
  sample: ntlm
authenticated:
  description: Whether the NS accepted the credentials (the task fails otherwise).
  returned: always
  type: bool
  sample: true
tls:
  description: Whether the certificate was checked, and against which CA file.
  returned: always
  type: dict
  sample: {"https": true, "verified": true, "ca_path": "/etc/pki/ca-trust/source/anchors/example-ca.pem"}
bindings:
  description: Each binding and whether it worked (null when not tried).
  returned: always
  type: dict
  sample: {"post": true, "soap": true}
binding:
  description: The binding the modules use with this NS (C(post) unless the NS refuses it).
  returned: always
  type: str
  sample: post
services:
  description: Each ASDK service, whether it answered, the method used to probe it, and how it answered.
  returned: always
  type: dict
  sample: {"ItemManagementService": {"reachable": true, "probe": "ItemExists", "answer": "false"},
           "ScopingManagementService": {"reachable": true, "probe": "GetResourceTargets",
                                        "answer": "ASDKDoesNotExistException"},
           "ResourceManagementService": {"reachable": null, "probe": null,
                                         "answer": "not probed: PushPolicy2 acts on agents"}}
server_headers:
  description: The C(Server), C(X-AspNet-Version) and C(X-Powered-By) response headers, as the NS sent them.
  returned: always
  type: dict
  sample: {"Server": "Microsoft-IIS/10.0", "X-AspNet-Version": "4.0.30319"}
ns_requests:
  description: ASDK calls and HTTP requests the task made.
  returned: always
  type: dict
  sample: {"asdk_calls": 3, "http_requests": 4, "binding": "post", "post_binding_refused": false, "post_refusal": null,
           "methods": ["ItemExists", "ItemExists", "GetResourceTargets"]}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils._ns_args import ns_argument_spec, run_ns_module  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._ns_items import check_connection  # noqa: E402


def run(module, client):
    services, bindings, warnings = check_connection(client, module.params["probe_bindings"])
    for warning in warnings:
        module.warn(warning)
    result = dict(
        ns_url=client.base_url,
        user=client.username,
        auth=client.auth_name,
        authenticated=True,
        tls=dict(https=client.base_url.startswith("https://"), verified=client.verify is not False,
                 ca_path=client.verify if isinstance(client.verify, str) else None),
        bindings=bindings,
        binding=client.binding,
        services=services,
        server_headers=dict(client.server_headers),
    )
    return False, result, None


def main():
    module = AnsibleModule(
        argument_spec=ns_argument_spec(probe_bindings=dict(type="bool", default=True)),
        supports_check_mode=True,
    )
    run_ns_module(module, run)


if __name__ == "__main__":
    main()
