# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one module runner: what every itms.cem module does around its ``run(module, client)``.

A module is ``main()`` (its argument spec and AnsibleModule) and ``run(module, client)``, which returns
``(changed, result, diff)`` and raises typed errors (``_errors``). This runner does the rest, the same
way for every external system:

1. masks any password written into a URL option, before anything can fail and show it;
2. opens the client with ``connect(module.params)``;
3. calls ``run``; a typed error becomes ``fail_json`` with its actionable message and ``error_kind``;
4. closes the client (a SEPM logout, for example), whatever happened;
5. passes on the client's warnings (TLS, bindings, a login that may write, a logout that failed ...);
6. attaches the client's request statistics to the result under ``stats_key`` (closing included).

A client is any object with ``warnings`` (a list of strings), ``stats()`` (a JSON-able dict) and
``close()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils._errors import CemError
from ansible_collections.itms.cem.plugins.module_utils._secrets import mask_in_module


class _Opened:
    """The client of one run, closed exactly once: before its warnings and statistics are read, or on the way out."""

    def __init__(self):
        self.client = None

    def close(self):
        client, self.client = self.client, None
        if client is not None:
            client.close()
        return client

    def finish(self, module, result, stats_key):
        """Close the client, then put its warnings and statistics into the module and the result."""
        client = self.close()
        if client is None:
            return
        for warning in client.warnings:
            module.warn(warning)
        result[stats_key] = client.stats()


def run_module(module, run, connect, stats_key):
    """Open a client with ``connect``, call ``run(module, client)``, close the client, and exit the module."""
    mask_in_module(module)
    opened = _Opened()
    try:
        try:
            opened.client = connect(module.params)
            changed, result, diff = run(module, opened.client)
        except CemError as exc:
            failure = exc.to_fail_json()
            opened.finish(module, failure, stats_key)
            module.fail_json(**failure)
        opened.finish(module, result, stats_key)
        if diff is not None:
            result["diff"] = diff
    finally:
        opened.close()  # an unexpected error: the client is still closed
    module.exit_json(changed=bool(changed), **result)
