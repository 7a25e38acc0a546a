# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Clock skew between the controller and HTTPS endpoints, from the HTTP ``Date`` header.

KB 440752: ephemeral certificates (ITMS 8.8.1) depend on the agent, the Internet Gateway and the NS keeping the
same time; a significant skew makes certificate validation fail in a way that looks like a registration failure.

Pure: ``endpoints`` (the option, normalized), ``judge`` (an observation -> the verdict) and ``summary``.
I/O: ``SkewClient.observe`` makes one request per endpoint with the standard library (http.client + ssl).

The skew is the server's ``Date`` minus the controller's clock at the midpoint of the request/response exchange
(after the TCP and TLS handshakes, so that only the exchange counts). ``Date`` has a resolution of one second and
is truncated, so the value is accurate to about one second plus half the round trip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import email.utils
import http.client
import os
import socket
import ssl
import time
from urllib.parse import urlsplit

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

VERDICTS = ("ok", "skewed", "unreachable", "tls_error", "no_date")
USER_AGENT = "itms.cem clock_skew_info"


# --------------------------------------------------------------------------- pure

def _display_host(host):
    return "[%s]" % host if ":" in host else host


def endpoints(raw):
    """[{name, url, scheme, host, port, target}] from the ``endpoints`` option: URL strings or {url, name}."""
    if not raw:
        raise InputError("endpoints is empty: give at least one URL, such as https://ig.example.com.")
    found = []
    for index, entry in enumerate(raw):
        name = None
        if isinstance(entry, dict):
            extra = sorted(set(entry) - set(["url", "name"]))
            if extra:
                raise InputError("endpoints[%d] has unknown keys %s; use url and name." % (index, ", ".join(extra)))
            url, name = entry.get("url"), entry.get("name")
        else:
            url = entry
        if not isinstance(url, str) or not url.strip():
            raise InputError("endpoints[%d] needs a URL (a string or {url, name}), not %r." % (index, url))
        url = url.strip()
        if "://" not in url:
            url = "https://" + url
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("https", "http"):
            raise InputError("endpoints[%d]: %s is not an https:// (or http://) URL." % (index, url))
        try:
            port = parts.port
        except ValueError:
            raise InputError("endpoints[%d]: %s has an invalid port." % (index, url))
        if not parts.hostname:
            raise InputError("endpoints[%d]: %s has no host." % (index, url))
        scheme = parts.scheme.lower()
        default = 443 if scheme == "https" else 80
        port = port or default
        if not name:
            name = _display_host(parts.hostname) + ("" if port == default else ":%d" % port)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        found.append(dict(name=str(name), url=url, scheme=scheme, host=parts.hostname, port=port, target=target))
    return found


def iso(moment):
    """ISO 8601 in UTC with 'Z', to the millisecond."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (moment.microsecond // 1000)


def parse_date(value):
    """The ``Date`` header (RFC 7231 IMF-fixdate) as an aware UTC datetime, or None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": UTC, source time zone unknown
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def judge(observation, max_skew):
    """The verdict for one observation.

    ``observation``: {name, url, sent (controller wall clock when the request was sent, epoch seconds),
    round_trip (seconds), status, date (the Date header or None), method, error: None or {kind, reason}}.
    """
    entry = dict(name=observation["name"], url=observation["url"], verdict=None, skew_seconds=None,
                 server_date=None, controller_date=None, round_trip_seconds=None, message=None)
    sent, round_trip = observation.get("sent"), observation.get("round_trip")
    if sent is not None:
        midpoint = sent + (round_trip or 0.0) / 2.0
        entry["controller_date"] = iso(_utc(midpoint))
    if round_trip is not None:
        entry["round_trip_seconds"] = round(round_trip, 3)
    error = observation.get("error")
    where = "%s (%s)" % (observation["name"], observation["url"])
    if error:
        entry["verdict"] = error["kind"]
        if error["kind"] == "tls_error":
            entry["message"] = "%s: TLS failed: %s" % (where, error["reason"])
        else:
            entry["message"] = "%s: unreachable: %s" % (where, error["reason"])
        return entry
    server = parse_date(observation.get("date"))
    if server is None:
        entry["verdict"] = "no_date"
        if observation.get("date"):
            entry["message"] = "%s: HTTP %s with a Date header that is not an HTTP date: %r" % (
                where, observation.get("status"), observation["date"])
        else:
            entry["message"] = "%s: HTTP %s without a Date header, so its clock cannot be read" % (
                where, observation.get("status"))
        return entry
    skew = round(server.timestamp() - midpoint, 3)
    entry.update(server_date=iso(server), skew_seconds=skew)
    relation = "%.1f s ahead of" % skew if skew > 0 else ("%.1f s behind" % -skew if skew < 0 else "the same as")
    if abs(skew) > max_skew:
        entry["verdict"] = "skewed"
        entry["message"] = ("%s: its clock is %s the controller's, more than max_skew %d s (KB 440752: ephemeral "
                            "certificates fail validation when clocks differ; sync both to the same time source)"
                            % (where, relation, max_skew))
    else:
        entry["verdict"] = "ok"
        entry["message"] = "%s: its clock is %s the controller's (max_skew %d s)" % (where, relation, max_skew)
    return entry


def summary(entries):
    """max_abs_skew, skewed and unreachable_endpoints over the endpoints' entries.

    Not "unreachable": Ansible reads a true ``unreachable`` in a module result as an unreachable host.
    """
    skews = [abs(e["skew_seconds"]) for e in entries if e["skew_seconds"] is not None]
    return dict(max_abs_skew=max(skews) if skews else None,
                skewed=sum(1 for e in entries if e["verdict"] == "skewed"),
                unreachable_endpoints=sum(1 for e in entries if e["verdict"] == "unreachable"))


# --------------------------------------------------------------------------- I/O

def _unreachable(reason):
    return dict(kind="unreachable", reason=reason)


def _classify(exc, endpoint, timeout):
    """An exception of the request as an observation error (the order matters: SSLError is an OSError)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return dict(kind="tls_error", reason="certificate verification failed: %s (set ca_path to the CA that "
                                             "issued the endpoint's certificate)" % reason)
    if isinstance(exc, ssl.SSLError):
        return dict(kind="tls_error", reason="TLS handshake failed: %s" % (exc.reason or exc))
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return _unreachable("no answer within %s s" % timeout)
    if isinstance(exc, socket.gaierror):
        return _unreachable("the name %s does not resolve (%s)" % (endpoint["host"], exc.strerror or exc))
    if isinstance(exc, ConnectionRefusedError):
        return _unreachable("connection to port %d refused" % endpoint["port"])
    if isinstance(exc, http.client.HTTPException):
        return _unreachable("no HTTP answer (%s: %s)" % (type(exc).__name__, exc))
    return _unreachable(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)


class SkewClient:
    """One HTTP(S) request per endpoint; a client for ``_runner.run_module`` (warnings, stats(), close())."""

    def __init__(self, ca_path=None, validate_certs=True, timeout=10.0):
        if timeout is None or timeout <= 0:
            raise InputError("timeout must be a positive number of seconds, not %r." % (timeout,))
        if validate_certs and ca_path and not os.path.exists(ca_path):
            raise InputError("ca_path %s does not exist." % ca_path)
        self.timeout = float(timeout)
        self.warnings = []
        self.requests = 0
        self.get_fallbacks = 0
        if validate_certs:
            try:
                self.context = ssl.create_default_context(cafile=ca_path or None)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise InputError("ca_path %s is not a PEM file of CA certificates: %s." % (ca_path, exc))
        else:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
            self.warnings.append("validate_certs is false: the endpoints' certificates are not verified, so a TLS "
                                 "endpoint that is not the one named can answer.")

    def _exchange(self, endpoint, method):
        if endpoint["scheme"] == "https":
            conn = http.client.HTTPSConnection(endpoint["host"], endpoint["port"], timeout=self.timeout,
                                               context=self.context)
        else:
            conn = http.client.HTTPConnection(endpoint["host"], endpoint["port"], timeout=self.timeout)
        try:
            conn.connect()  # TCP and TLS handshakes first: only the exchange below is timed
            self.requests += 1
            sent, start = time.time(), time.monotonic()
            conn.request(method, endpoint["target"], headers={"User-Agent": USER_AGENT, "Connection": "close"})
            response = conn.getresponse()
            round_trip = time.monotonic() - start
            return dict(sent=sent, round_trip=round_trip, status=response.status, date=response.getheader("Date"),
                        method=method)
        finally:
            conn.close()  # the body is never read: only the headers matter

    def observe(self, endpoint):
        """{name, url, sent, round_trip, status, date, method, error} of one endpoint; never raises for I/O."""
        observation = dict(name=endpoint["name"], url=endpoint["url"], sent=time.time(), round_trip=None,
                           status=None, date=None, method=None, error=None)
        try:
            observation.update(self._exchange(endpoint, "HEAD"))
            if observation["status"] in (405, 501):  # HEAD not allowed or not implemented: GET, headers only
                self.get_fallbacks += 1
                observation.update(self._exchange(endpoint, "GET"))
        except (OSError, http.client.HTTPException) as exc:
            observation["error"] = _classify(exc, endpoint, self.timeout)
        return observation

    def stats(self):
        return dict(requests=self.requests, get_fallbacks=self.get_fallbacks)

    def close(self):
        """Nothing stays open between requests."""


def connect(params):
    return SkewClient(ca_path=params.get("ca_path"), validate_certs=params.get("validate_certs", True),
                      timeout=params.get("timeout"))
