# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The client for the Symantec EDR (formerly ATP) on-premises API (``https://edr-host/atpapi``).

An OAuth 2.0 client-credentials token (HTTP Basic ``client_id:client_secret``), renewed before its hour ends
and once on a 401; ``appliances`` for the appliance list, and ``query`` / ``count`` for the cursor-paged
query endpoints. The EDR API takes at most 7 days per query and at most 1000 items per page, so a longer
window is split here rather than refused there. The client knows nothing of enrollment: that is the domain
layer's language.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, NotFound, VendorFault
from ansible_collections.itms.cem.plugins.module_utils._http import HttpJson, TokenSession, describe, field

API = "/atpapi"

# name: (HTTP method, path)
OPERATIONS = {
    "token": ("POST", "/atpapi/oauth2/tokens"),
    "appliances": ("GET", "/atpapi/v2/appliances"),
    "systemactivities": ("POST", "/atpapi/v2/systemactivities"),
    "events": ("POST", "/atpapi/v2/events"),
    "endpoints": ("POST", "/atpapi/v2/entities/endpoints"),
}
QUERY_OPERATIONS = ("systemactivities", "events", "endpoints")

MAX_LIMIT = 1000
MAX_WINDOW = datetime.timedelta(days=7)
MAX_PAGES = 100000
CREDENTIALS_HINT = ("Create an OAuth client in EDR Settings > Data Sharing, and set edr_client_id and edr_client_secret "
                    "(or ITMS_EDR_CLIENT_ID and ITMS_EDR_CLIENT_SECRET) to its client ID and secret.")


def iso_time(moment):
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of an aware datetime, the form the EDR API takes."""
    utc = moment.astimezone(datetime.timezone.utc)
    return "%s.%03dZ" % (utc.strftime("%Y-%m-%dT%H:%M:%S"), utc.microsecond // 1000)


def windows(start, end, now=None):
    """The (start, end) windows of at most 7 days that cover start..end; [(start, end)] when either is None.

    Without ``end`` a start older than 7 days is split up to ``now``, since the API would refuse it whole.
    """
    for name, moment in (("start", start), ("end", end)):
        if moment is not None and (not isinstance(moment, datetime.datetime) or moment.tzinfo is None
                                   or moment.utcoffset() is None):
            raise InputError("The EDR query %s must be a datetime with a time zone, not %r." % (name, moment))
    if start is not None and end is None:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        if now - start > MAX_WINDOW:
            end = now
    if start is None or end is None:
        return [(start, end)]
    if start > end:
        raise InputError("The EDR query starts (%s) after it ends (%s)." % (iso_time(start), iso_time(end)))
    found = []
    cursor = start
    while True:
        stop = min(cursor + MAX_WINDOW, end)
        found.append((cursor, stop))
        if stop >= end:
            return found
        cursor = stop


class EdrClient(TokenSession):
    """A session with the API of one EDR appliance (or cluster manager)."""

    FORBIDDEN_HINT = "Check what the OAuth client of edr_client_id may read, in EDR Settings > Data Sharing."
    NOT_FOUND_HINT = ("Check that edr_url names the EDR appliance (https://edr-host); the v2 API exists since ATP 3.1.")
    BAD_REQUEST_HINT = ("Check the where clause (Lucene syntax), the time window (at most 7 days) and the limit "
                        "(at most 1000).")
    TOKEN_REFUSED_HINT = ("EDR issued a token and refused it at once: check that nothing between the controller and EDR "
                          "(a proxy, a load balancer) drops the Authorization header, then run the task again.")

    def __init__(self, url, client_id, client_secret, validate_certs=True, ca_path=None, fingerprint=None,
                 timeout=30, retries=3, session=None, sleep=time.sleep, clock=time.monotonic):
        if not client_id:
            raise InputError("edr_client_id is not set.", hint=CREDENTIALS_HINT)
        if not client_secret:
            raise InputError("edr_client_secret is not set.", hint=CREDENTIALS_HINT)
        http = HttpJson("EDR", url, validate_certs=validate_certs, ca_path=ca_path, fingerprint=fingerprint,
                        timeout=timeout, retries=retries, secrets=[client_secret], session=session, sleep=sleep,
                        option_prefix="edr_", api_root=API)
        super(EdrClient, self).__init__(http, clock)
        self.base_url = http.base_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.tokens = 0

    # ----- token

    def _fetch_token(self):
        self._count("token")
        method, path = OPERATIONS["token"]
        answer = self.http.request(method, path, form={"grant_type": "client_credentials"},
                                   auth=(self.client_id, self._client_secret), read_only=True)
        if answer.status in (400, 401, 403):
            raise self.http.error(AuthError, "EDR refused the client credentials of %s (HTTP %d)." % (self.client_id, answer.status),
                                  hint=CREDENTIALS_HINT)
        if answer.status == 404:
            raise self.http.error(NotFound, "EDR has no OAuth token endpoint at %s%s (HTTP 404)." % (self.base_url, path),
                                  hint="Set edr_url to https://<EDR appliance>, the host that serves the EDR API (/atpapi).")
        if not 200 <= answer.status < 300:
            raise self.status_error(answer, "the token request of %s" % self.client_id)
        data = answer.json("the token request of %s" % self.client_id)
        token = field(data, "access_token")
        if not token or not isinstance(token, str):
            raise self.http.error(VendorFault, "EDR accepted the client credentials of %s but answered without an access_token."
                                  % self.client_id, hint="Check that edr_url points at the EDR API (https://edr-host).")
        self.http.secrets.append(token)
        self.tokens += 1
        return token, self._lifetime(field(data, "expires_in"))

    # ----- reads

    def appliances(self):
        """The appliance records (``appliance_id``, ``appliance_name``, ``software_version``, ``role`` ...)."""
        self._count("appliances")
        method, path = OPERATIONS["appliances"]
        what = "the appliance list (%s %s)" % (method, path)
        data = self._authorized(method, path, what).json(what)
        items = data
        if not isinstance(items, list):
            items = field(data, "appliance_list")
        if not isinstance(items, list):
            items = field(data, "result")
        if not isinstance(items, list):
            raise self.http.error(VendorFault, "EDR answered %s with %s instead of a list of appliances."
                                  % (what, describe(data, "appliance_list")),
                                  hint="Check that edr_url points at the EDR API (https://edr-host).")
        return [item for item in items if isinstance(item, dict)]

    def query(self, operation, where=None, start=None, end=None, limit=1000, max_items=None):
        """The ``result`` items of a query over start..end (aware datetimes), every cursor page followed."""
        self._check_query(operation, limit)
        items = []
        for window_start, window_end in windows(start, end):
            remaining = None if max_items is None else max_items - len(items)
            items.extend(self._query_window(operation, where, window_start, window_end, int(limit), remaining))
            if max_items is not None and len(items) >= max_items:
                return items[:max_items]
        return items

    def count(self, operation, where=None, start=None, end=None):
        """How many items a query matches: the ``total`` of a limit-1 query, summed over the 7-day windows."""
        self._check_query(operation, 1)
        total = 0
        for window_start, window_end in windows(start, end):
            what = "the count of %s" % operation
            value = field(self._query_page(operation, query_body(where, window_start, window_end, 1), what), "total")
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.http.error(VendorFault, "EDR answered %s without a numeric total (%r)." % (what, value),
                                      hint="This EDR version may not count query results; see the EDR API reference.")
            total += value
        return total

    def _check_query(self, operation, limit):
        if operation not in QUERY_OPERATIONS:
            raise InputError("EDR operation %s is not a query; the queries are %s." % (operation, ", ".join(QUERY_OPERATIONS)))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputError("The EDR query limit must be 1 to %d (the EDR API maximum), not %r." % (MAX_LIMIT, limit))

    def _query_window(self, operation, where, start, end, limit, max_items):
        items = []
        body = query_body(where, start, end, limit)
        cursors = set()
        page = 1
        while True:
            what = "page %d of %s" % (page, operation)
            data = self._query_page(operation, body, what)
            result = field(data, "result")
            items.extend(result)
            if max_items is not None and len(items) >= max_items:
                return items
            cursor = field(data, "next")
            if not result or not cursor:
                return items
            if str(cursor) in cursors:
                raise VendorFault("EDR answered %s with a cursor it had already given; paging stopped." % what,
                                  hint="The server repeats its cursor for this query; narrow the time window.")
            if page >= MAX_PAGES:
                raise VendorFault("EDR kept answering pages of %s beyond page %d; paging stopped." % (operation, MAX_PAGES),
                                  hint="Narrow the query (a shorter time window or a where clause).")
            cursors.add(str(cursor))
            body = {"verb": "query", "next": cursor, "limit": limit}
            page += 1

    def _query_page(self, operation, body, what):
        """One page of a query: an object with a ``result`` list, else VendorFault."""
        self._count(operation)
        method, path = OPERATIONS[operation]
        what = "%s (%s %s)" % (what, method, path)
        data = self._authorized(method, path, what, json_body=body, read_only=True).json(what)
        self.pages_read += 1
        if not isinstance(data, dict) or not isinstance(field(data, "result"), list):
            raise self.http.error(VendorFault, "EDR answered %s with %s instead of a result page; paging stopped."
                                  % (what, describe(data, "result")),
                                  hint="See the EDR logs for that request; run the task again if it was transient.")
        return data

    # ----- end

    def stats(self):
        """What this client did, for the task result (``edr_requests``)."""
        stats = self.stats_base()
        stats["tokens"] = self.tokens
        return stats

    def close(self):
        """Close the session (an OAuth token has no logout; it expires by itself)."""
        self._token = None
        self.http.close()


def query_body(where, start, end, limit):
    """The first request of a query: ``verb``, ``limit`` and, when given, ``where``, ``start_time``, ``end_time``."""
    body = {"verb": "query", "limit": limit}
    if where is not None:
        body["where"] = where
    if start is not None:
        body["start_time"] = iso_time(start)
    if end is not None:
        body["end_time"] = iso_time(end)
    return body
