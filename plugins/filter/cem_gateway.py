# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Internet Gateway's settings through a gateway profile (documentation: cem_gateway_settings.yml).

The logic is in module_utils/_gateway_profile.py (pure, unit-tested); this file only turns its typed errors
into filter errors, so a bad profile or a bad desired value is a message, not a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.itms.cem.plugins.module_utils._errors import CemError
from ansible_collections.itms.cem.plugins.module_utils._gateway_profile import settings_report


def cem_gateway_settings(content, profile, desired=None):
    """Read the gateway's settings from ``content`` through ``profile``; with ``desired``, plan the changes."""
    try:
        return settings_report(content, profile, desired)
    except CemError as exc:
        raise AnsibleFilterError("cem_gateway_settings: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"cem_gateway_settings": cem_gateway_settings}
