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
