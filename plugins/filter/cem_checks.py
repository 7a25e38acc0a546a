# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The filters of the CEM validation checks; the decisions are in module_utils/_checks.py (pure, unit-tested).

Each filter's documentation is in the YAML file of its name next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.itms.cem.plugins.module_utils import _checks
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError


def _filter(function):
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except CemError as exc:  # bad input: a clear message, not a traceback
            raise AnsibleFilterError(str(exc))
    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run


def cem_port_consistency(data):
    return _checks.port_consistency(data)


def cem_version_check(versions, minimum="8.8.1"):
    return _checks.version_check(versions, minimum)


def cem_log_search(lines_or_text, pattern):
    return _checks.log_search(lines_or_text, pattern)


def cem_check_summary(checks):
    return _checks.check_summary(checks)


class FilterModule(object):
    """Filters of the CEM validation checks."""

    def filters(self):
        functions = (cem_port_consistency, cem_version_check, cem_log_search, cem_check_summary)
        return dict((f.__name__, _filter(f)) for f in functions)
