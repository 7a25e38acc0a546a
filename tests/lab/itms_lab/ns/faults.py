# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection for the lab NS, configured by a JSON file that is re-read on every request.

::

    {"disable_post_binding": false, "custom_errors": false,
     "rules": [{"method": "GetItemByGuid", "fault": "http_503", "times": 2},
               {"fault": "slow", "delay_s": 1.5}]}

A rule matches an authenticated ASDK request (the NTLM 401 legs are never faulted) when every
selector it has matches: ``method``, ``service``, ``binding`` (post|soap|get), ``user``. The first
matching rule that is not spent applies. ``times`` is how many matching requests it hits before it
is spent (no ``times``: every one). Counts start again when the file changes (its content, or its
modification time when the same rules are written again).

Faults: ``http_500`` (IIS 500 page), ``http_502`` / ``http_504`` (gateway pages), ``http_503``
(HTTP.sys "Service Unavailable"): the method does not run. ``reset``: the TCP connection is
reset without an answer; the method does not run. ``timeout``: no answer for ``delay_s``
(default 120) seconds, then the connection closes; the method does not run. ``slow``: the answer
comes after ``delay_s`` (default 3) seconds; the method runs. ``malformed``: the method runs and
its answer is cut short (XML that does not parse), status 200.

``custom_errors``: ASP.NET's own error pages (the refused POST binding among them) are the generic
"Runtime Error" page a remote client gets with customErrors mode="RemoteOnly", the ASP.NET default,
instead of the detailed page.

A missing file means no faults; a file that is not valid JSON is reported in the server log and
ignored.
"""

import hashlib
import json
import os
import sys
import threading

FAULTS = ("http_500", "http_502", "http_503", "http_504", "timeout", "reset", "malformed", "slow")
DEFAULT_DELAYS = {"timeout": 120.0, "slow": 3.0}
SELECTORS = ("method", "service", "binding", "user")


class Snapshot:
    """The fault file as read for one request."""

    def __init__(self, config, signature):
        self.disable_post_binding = bool(config.get("disable_post_binding"))
        self.custom_errors = bool(config.get("custom_errors"))
        rules = config.get("rules") or []
        self.rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
        self.signature = signature


class FaultInjector:
    def __init__(self, path, log=None):
        self.path = path
        self._lock = threading.Lock()
        self._signature = None
        self._hits = {}
        self._reported = None
        self._log = log or (lambda text: sys.stderr.write(text + "\n"))

    def read(self):
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
                stat = os.fstat(handle.fileno())
        except FileNotFoundError:
            return Snapshot({}, None)
        except OSError as exc:
            self._report("cannot read %s: %s" % (self.path, exc))
            return Snapshot({}, None)
        # The content and the file's identity: rewriting the same rules starts their counts again.
        signature = (hashlib.sha256(raw).hexdigest(), stat.st_mtime_ns, stat.st_ino, stat.st_size)
        try:
            config = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            if not isinstance(config, dict):
                raise ValueError("the top level must be an object")
        except ValueError as exc:
            self._report("ignoring %s: %s" % (self.path, exc))
            return Snapshot({}, signature)
        for rule in config.get("rules") or []:
            if isinstance(rule, dict) and rule.get("fault") not in FAULTS:
                self._report("ignoring a rule of %s with fault %r; faults are %s"
                             % (self.path, rule.get("fault"), ", ".join(FAULTS)))
        return Snapshot(config, signature)

    def _report(self, text):
        if text != self._reported:
            self._reported = text
            self._log("itms-lab ns: faults: " + text)

    def take(self, snapshot, service, method, binding, user):
        """The rule that applies to this request (its hit counted), or None."""
        with self._lock:
            if snapshot.signature != self._signature:
                self._signature = snapshot.signature
                self._hits = {}
            for index, rule in enumerate(snapshot.rules):
                if rule.get("fault") not in FAULTS:
                    continue
                wanted = dict(method=method, service=service, binding=binding, user=user)
                if any(rule.get(key) is not None and str(rule[key]).lower() != str(wanted[key] or "").lower()
                       for key in SELECTORS):
                    continue
                times = rule.get("times")
                if times is not None and self._hits.get(index, 0) >= int(times):
                    continue
                self._hits[index] = self._hits.get(index, 0) + 1
                return rule
        return None


def delay_of(rule):
    try:
        return float(rule.get("delay_s", DEFAULT_DELAYS.get(rule["fault"], 0.0)))
    except (TypeError, ValueError):
        return DEFAULT_DELAYS.get(rule["fault"], 0.0)
