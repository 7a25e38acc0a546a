# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module glue for the Notification Server: the shared connection options (doc fragment itms.cem.ns) and the runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.itms.cem.plugins.module_utils._asdk import BINDINGS, AsdkClient
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module

NS_SPEC = dict(
    ns_url=dict(type="str", required=True, fallback=(env_fallback, ["ITMS_NS_URL"])),
    ns_username=dict(type="str", fallback=(env_fallback, ["ITMS_NS_USERNAME"])),
    ns_password=dict(type="str", no_log=True, fallback=(env_fallback, ["ITMS_NS_PASSWORD"])),
    ns_auth=dict(type="str", default="ntlm", choices=["ntlm", "negotiate", "kerberos"]),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    ns_timeout=dict(type="int", default=60),
    ns_retries=dict(type="int", default=3),
    ns_binding=dict(type="str", default="auto", choices=list(BINDINGS), fallback=(env_fallback, ["ITMS_NS_BINDING"])),
)


def ns_argument_spec(**extra):
    spec = copy.deepcopy(NS_SPEC)
    spec.update(extra)
    return spec


def connect(params):
    """The ASDK client for the shared ns_* options."""
    return AsdkClient(
        params["ns_url"], username=params.get("ns_username"), password=params.get("ns_password"),
        auth=params.get("ns_auth") or "ntlm", validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"), timeout=params.get("ns_timeout") or 60,
        retries=params.get("ns_retries") if params.get("ns_retries") is not None else 3,
        binding=params.get("ns_binding") or "auto",
    )


def run_ns_module(module, run):
    """Run an NS module: ``run(module, client) -> (changed, result, diff)`` through the shared runner."""
    run_module(module, run, connect, "ns_requests")
