# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Typed errors shared by every itms.cem client, module and plugin.

Each error carries a message that says what went wrong *and what to check*,
so a module can hand it to ``fail_json`` without a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class CemError(Exception):
    """Base class: an expected failure with an actionable message."""

    kind = "error"

    def __init__(self, msg, hint=None, **details):
        super(CemError, self).__init__(msg)
        self.msg = msg
        self.hint = hint
        self.details = details

    def __str__(self):
        if self.hint:
            return "%s %s" % (self.msg, self.hint)
        return self.msg

    def to_fail_json(self):
        result = dict(msg=str(self), error_kind=self.kind)
        result.update(self.details)
        return result


class InputError(CemError):
    """The task's arguments cannot be acted on."""

    kind = "input"


class AuthError(CemError):
    """The remote system refused the credentials."""

    kind = "auth"


class TransportError(CemError):
    """The remote system could not be reached or the connection broke."""

    kind = "transport"


class NotFound(CemError):
    """A named object (item, report, table, file) does not exist."""

    kind = "not_found"


class ProfileMismatch(CemError):
    """A profile names vendor internals that the live system does not have."""

    kind = "profile_mismatch"


class VendorFault(CemError):
    """The remote system answered with an error of its own."""

    kind = "vendor_fault"


class MissingDependency(CemError):
    """A Python library the controller needs is not installed."""

    kind = "missing_dependency"
