# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module glue for SEPM: the shared connection options (doc fragment itms.cem.sepm) and the runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.itms.cem.plugins.module_utils._runner import run_module
from ansible_collections.itms.cem.plugins.module_utils._sepm import SepmClient

SEPM_SPEC = dict(
    sepm_url=dict(type="str", required=True, fallback=(env_fallback, ["ITMS_SEPM_URL"])),
    sepm_username=dict(type="str", fallback=(env_fallback, ["ITMS_SEPM_USERNAME"])),
    sepm_password=dict(type="str", no_log=True, fallback=(env_fallback, ["ITMS_SEPM_PASSWORD"])),
    sepm_domain=dict(type="str", default="", fallback=(env_fallback, ["ITMS_SEPM_DOMAIN"])),
    sepm_validate_certs=dict(type="bool", default=True),
    sepm_ca_path=dict(type="path"),
    sepm_fingerprint=dict(type="str", fallback=(env_fallback, ["ITMS_SEPM_FINGERPRINT"])),
    sepm_timeout=dict(type="int", default=30),
    sepm_retries=dict(type="int", default=3),
)


def sepm_argument_spec(**extra):
    spec = copy.deepcopy(SEPM_SPEC)
    spec.update(extra)
    return spec


def connect(params):
    """The SEPM client for the shared sepm_* options (missing credentials are an InputError here, not at the first call)."""
    return SepmClient(
        params["sepm_url"], params.get("sepm_username"), params.get("sepm_password"),
        domain=params.get("sepm_domain") or "",
        validate_certs=params.get("sepm_validate_certs", True) is not False,
        ca_path=params.get("sepm_ca_path"), fingerprint=params.get("sepm_fingerprint"),
        timeout=params.get("sepm_timeout") if params.get("sepm_timeout") is not None else 30,
        retries=params.get("sepm_retries") if params.get("sepm_retries") is not None else 3,
    )


def run_sepm_module(module, run):
    """Run a SEPM module: ``run(module, client) -> (changed, result, diff)`` through the shared runner."""
    run_module(module, run, connect, "sepm_requests")
