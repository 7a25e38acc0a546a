# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection options shared by every CMDB module (doc fragment itms.cem.cmdb)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

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


def run_cmdb_module(module, run):
    """Open the CMDB client, call ``run(module, client)``, close it, and exit with the result.

    Typed errors become ``fail_json`` with their actionable message; a result that carries
    ``failed: True`` fails the task with its own fields.
    """
    # Imported here so that the argument spec stays importable without the client's dependencies.
    from ansible_collections.itms.cem.plugins.module_utils._cmdb import client_from_params
    from ansible_collections.itms.cem.plugins.module_utils._errors import CemError

    client = None
    try:
        client = client_from_params(module.params)
        result = run(module, client)
    except CemError as exc:
        module.fail_json(**exc.to_fail_json())
    finally:
        if client is not None:
            client.close()
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
