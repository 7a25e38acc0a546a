# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module glue for the EDR API: the shared connection options (doc fragment itms.cem.edr) and the runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.itms.cem.plugins.module_utils._edr import EdrClient
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module

EDR_SPEC = dict(
    edr_url=dict(type="str", required=True, fallback=(env_fallback, ["ITMS_EDR_URL"])),
    edr_client_id=dict(type="str", fallback=(env_fallback, ["ITMS_EDR_CLIENT_ID"])),
    edr_client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["ITMS_EDR_CLIENT_SECRET"])),
    edr_validate_certs=dict(type="bool", default=True),
    edr_ca_path=dict(type="path"),
    edr_fingerprint=dict(type="str", fallback=(env_fallback, ["ITMS_EDR_FINGERPRINT"])),
    edr_timeout=dict(type="int", default=30),
    edr_retries=dict(type="int", default=3),
)


def edr_argument_spec(**extra):
    spec = copy.deepcopy(EDR_SPEC)
    spec.update(extra)
    return spec


def connect(params):
    """The EDR client for the shared edr_* options (missing credentials are an InputError here, not at the first call)."""
    return EdrClient(
        params["edr_url"], params.get("edr_client_id"), params.get("edr_client_secret"),
        validate_certs=params.get("edr_validate_certs", True) is not False,
        ca_path=params.get("edr_ca_path"), fingerprint=params.get("edr_fingerprint"),
        timeout=params.get("edr_timeout") if params.get("edr_timeout") is not None else 30,
        retries=params.get("edr_retries") if params.get("edr_retries") is not None else 3,
    )


def run_edr_module(module, run):
    """Run an EDR module: ``run(module, client) -> (changed, result, diff)`` through the shared runner."""
    run_module(module, run, connect, "edr_requests")
