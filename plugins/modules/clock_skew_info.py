#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: clock_skew_info
short_description: Measure the clock skew between the controller and HTTPS endpoints from their Date header
version_added: 0.2.0
description:
  - Makes one request to each endpoint (C(HEAD); C(GET) when the server answers 405 or 501 to C(HEAD); redirects are
    not followed), reads the C(Date) response header, and reports the skew - the server's time minus the
    controller's time at the midpoint of the request - with a verdict per endpoint.
  - KB 440752 - ephemeral certificates (ITMS 8.8.1) are time-sensitive; "a significant time skew between any of these
    components can cause certificate validation failures that appear identical to registration failures". Check
    the Notification Server and the Internet Gateways against the controller, which should use the same time source.
  - Verdicts - C(ok); C(skewed) when the absolute skew is more than O(max_skew); C(unreachable) (connection refused,
    timeout, name not resolved, no HTTP answer); C(tls_error) (certificate verification failed, with the reason, or
    the TLS handshake failed); C(no_date) (the answer has no readable C(Date) header).
  - An endpoint that cannot be reached is a verdict, not a failure. The task fails only on bad input.
  - Resolution - C(Date) has a one-second granularity and is truncated, and the midpoint estimate adds up to half
    the round trip, so a skew is accurate to about one second plus half of RV(endpoints[].round_trip_seconds).
    Only the request and response are timed, after the TCP and TLS handshakes.
  - Runs on the controller (or the host it is delegated to) and measures that host's clock.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.attributes
  - itms.cem.attributes.INFO
options:
  endpoints:
    description:
      - The endpoints, each a URL string (V(https://ns.example.com), V(https://ig.example.com:8443)) or a dict with
        C(url) and an optional C(name) to show in the results.
      - A URL without a scheme is taken as C(https://). C(http://) URLs are accepted too (no TLS).
      - The default name is the URL's host, with the port when it is not the scheme's default.
    type: list
    elements: raw
    required: true
  max_skew:
    description: The largest absolute skew, in seconds, that is still C(ok).
    type: int
    default: 300
  ca_path:
    description: A PEM file of the CA certificates to trust for the endpoints; the system store when not given.
    type: path
  validate_certs:
    description:
      - Verify each endpoint's certificate and name. When V(false), the task warns and any certificate is accepted.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each connection and answer.
    type: float
    default: 10
requirements:
  - Python standard library only (http.client and ssl).
notes:
  - The C(Date) header is the time of the web server in front of the product (IIS on the NS). It is the host's clock,
    which is what certificate validation uses.
  - Whether an Internet Gateway listener answers an HTTP request without an agent's client certificate is not publicly
    documented. When it does not, the verdict is C(tls_error) (handshake failed) or C(unreachable) ("no HTTP answer");
    measure another HTTPS service on the same host instead, or check its time source.
seealso:
  - module: itms.cem.tls_certificate_info
  - name: KB 440752 - Cloud-enabled Agents Access Troubleshooting
    description: Ephemeral certificates and time skew between the agent, the Internet Gateway and the NS.
    link: https://knowledge.broadcom.com/external/article/440752/cloudenabled-agents-access-troubleshooti.html
"""

EXAMPLES = r"""
- name: Compare the clocks of the NS and the gateways with the controller's
  itms.cem.clock_skew_info:
    endpoints:
      - url: https://ns.example.com
        name: NS
      - https://ig-emea.example.com:8443
      - https://ig-amer.example.com:8443
    max_skew: 300
    ca_path: /etc/pki/ca-trust/source/anchors/example-ca.pem
  delegate_to: localhost
  register: skew

- name: Fail when a clock is off
  ansible.builtin.assert:
    that: skew.skewed == 0
    fail_msg: "{{ skew.endpoints | selectattr('verdict', 'equalto', 'skewed') | map(attribute='message') | list }}"
"""

RETURN = r"""
endpoints:
  description: One entry per endpoint, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The endpoint's name.
      type: str
      sample: NS
    url:
      description: The URL requested.
      type: str
      sample: https://ns.example.com
    verdict:
      description: C(ok), C(skewed), C(unreachable), C(tls_error) or C(no_date).
      type: str
      sample: ok
    skew_seconds:
      description: The server's time minus the controller's, in seconds (positive when the server is ahead); V(null) when unknown.
      type: float
      sample: -0.4
    server_date:
      description: The server's C(Date), ISO 8601 UTC; V(null) when unknown.
      type: str
      sample: "2026-11-29T21:54:22.000Z"
    controller_date:
      description: The controller's time at the midpoint of the request (at the attempt when it failed), ISO 8601 UTC.
      type: str
      sample: "2026-11-29T21:54:22.412Z"
    round_trip_seconds:
      description: The time between sending the request and reading the answer's headers; V(null) when there was no answer.
      type: float
      sample: 0.012
    message:
      description: The verdict in one sentence.
      type: str
      sample: "NS (https://ns.example.com): its clock is 0.4 s behind the controller's (max_skew 300 s)"
max_abs_skew:
  description: The largest absolute skew measured, in seconds; V(null) when no skew could be measured.
  returned: always
  type: float
  sample: 0.4
skewed:
  description: How many endpoints are C(skewed).
  returned: always
  type: int
  sample: 0
unreachable_endpoints:
  description:
    - How many endpoints are C(unreachable).
    - Not named C(unreachable), because Ansible takes a true C(unreachable) in a result for an unreachable host.
  returned: always
  type: int
  sample: 0
http_requests:
  description: The requests made, and how many endpoints needed C(GET) after C(HEAD).
  returned: always
  type: dict
  sample: {"requests": 3, "get_fallbacks": 0}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _skew  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module  # noqa: E402


def run(module, client):
    params = module.params
    if params["max_skew"] < 0:
        raise InputError("max_skew must be 0 or more seconds, not %d." % params["max_skew"])
    entries = [_skew.judge(client.observe(endpoint), params["max_skew"])
               for endpoint in _skew.endpoints(params["endpoints"])]
    result = dict(endpoints=entries)
    result.update(_skew.summary(entries))
    return False, result, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="raw", required=True),
            max_skew=dict(type="int", default=300),
            ca_path=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    run_module(module, run, _skew.connect, "http_requests")


if __name__ == "__main__":
    main()
