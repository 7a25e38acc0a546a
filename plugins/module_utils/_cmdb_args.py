# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module glue for the CMDB: the shared connection options (doc fragment itms.cem.cmdb) and the runner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.itms.cem.plugins.module_utils._runner import run_module

CMDB_SPEC = dict(
    cmdb_url=dict(type="str", required=True, fallback=(env_fallback, ["ITMS_CMDB_URL"])),
    cmdb_password=dict(type="str", no_log=True, fallback=(env_fallback, ["ITMS_CMDB_PASSWORD"])),
    cmdb_profile=dict(type="raw"),
    cmdb_timeout=dict(type="int", default=30),
    cmdb_encryption=dict(type="str", default="require", choices=["require", "request", "off"]),
)


def cmdb_argument_spec(**extra):
    spec = copy.deepcopy(CMDB_SPEC)
    spec.update(extra)
    return spec


def connect(params):
    """The CMDB client for the shared cmdb_* options."""
    # Imported here so that the argument spec stays importable without the client's dependencies.
    from ansible_collections.itms.cem.plugins.module_utils._cmdb import CmdbClient

    return CmdbClient(params["cmdb_url"], password=params.get("cmdb_password"),
                      timeout=params.get("cmdb_timeout") or 30, encryption=params.get("cmdb_encryption") or "require")


def run_cmdb_module(module, run):
    """Run a CMDB module: ``run(module, client) -> (changed, result, diff)`` through the shared runner."""
    run_module(module, run, connect, "cmdb_requests")
