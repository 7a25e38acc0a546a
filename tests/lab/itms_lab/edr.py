# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab Symantec EDR API (``/atpapi``): OAuth client credentials, appliances, and three cursor-paged queries.

As the reference documents it: ``POST /atpapi/oauth2/tokens`` with HTTP Basic ``client_id:client_secret`` and the
form ``grant_type=client_credentials`` answers ``{"access_token", "token_type": "Bearer", "expires_in": 3600}``
(bad credentials: 401 ``{"error": "invalid_client"}``); ``/atpapi/v2/...`` wants ``Authorization: Bearer``.
``POST /atpapi/v2/systemactivities``, ``/events`` and ``/entities/endpoints`` take ``{"verb": "query", "limit",
"where" (or "query"), "start_time", "end_time"}`` or ``{"verb": "query", "next": CURSOR, "limit"}`` and answer
``{"next", "result", "total"}``; ``limit`` is 1 to 1000 (default 100); the time window of events and system
activities is at most 7 days.

Inferred where the vendor is silent (verify on a live EDR): ``GET /atpapi/v2/appliances`` answers the v1 shape
(``appliance_list``); a window without ``start_time`` is the 7 days before ``end_time`` (default now); the last page
has no ``next``; a cursor serves once and lives 120 s; a 401 to an API call is ``{"error": "invalid_token"}``; the
lab understands ``where`` as ``field:value`` terms (``*`` wildcards, dotted fields such as
``data.sepm_server.sepm_name``, ``field:(a OR b)``) joined by ``AND``, and filters events on their constant fields
only (``type_id``, ``severity_id``, ``product_name``, ``message``); anything else is a 400.

Faults (``DIR/sepm-edr-faults.json`` ``"edr"``): ``token_expired`` (a token dies after 1 call), ``down`` (503 to
everything), ``html`` (every answer is a 200 HTML login page), ``redirect`` (302 to another host).
"""

import base64
import binascii
import datetime
import hmac
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs

from itms_lab import edr_scenarios
from itms_lab.sepm_edr_http import App, Tokens, bearer, json_answer

TOKEN_PATH = "/atpapi/oauth2/tokens"
API = "/atpapi/v2"
QUERIES = {API + "/systemactivities": "systemactivities", API + "/events": "events",
           API + "/entities/endpoints": "endpoints"}
TOKEN_LIFETIME_S = 3600
TOKEN_CALLS = 1  # fault token_expired: calls a token serves
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_WINDOW = datetime.timedelta(days=7)
CURSOR_TTL_S = 120
MAX_CURSORS = 2000
TERM = re.compile(r'^([A-Za-z_][\w.]*):(?:"([^"]*)"|\(([^()]*)\)|([^\s()"]+))$')


class BadQuery(Exception):
    """A 400 with a message."""


def oauth_error(status, code, description, headers=()):
    return json_answer(status, {"error": code, "error_description": description}, headers)


def parse_time(text, name):
    if not isinstance(text, str):
        raise BadQuery("%s must be an ISO 8601 time such as 2026-11-01T09:00:00.000Z" % name)
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery("%s %r is not an ISO 8601 time such as 2026-11-01T09:00:00.000Z" % (name, text))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def parse_where(text):
    """[(dotted field, [patterns])] of a ``where``: every clause must hold, any pattern of a clause."""
    if text is None or not str(text).strip():
        return []
    clauses = []
    for part in re.split(r"\s+AND\s+", str(text).strip()):
        match = TERM.match(part.strip())
        if not match:
            raise BadQuery("the lab EDR understands field:value terms joined by AND (field:(a OR b) for a list), "
                           "not %r" % part)
        field, quoted, group, bare = match.groups()
        if group is not None:
            values = [value.strip().strip('"') for value in re.split(r"\s+OR\s+", group.strip())]
        else:
            values = [quoted if quoted is not None else bare]
        clauses.append((field, [_pattern(value) for value in values if value]))
    return clauses


def _pattern(value):
    return re.compile("^" + ".*".join(re.escape(part) for part in value.split("*")) + "$", re.IGNORECASE)


def _value(item, field):
    for key in field.split("."):
        if not isinstance(item, dict) or key not in item:
            return None
        item = item[key]
    return item


def matches(item, clauses):
    for field, patterns in clauses:
        value = _value(item, field)
        if value is None:
            return False
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        if not any(p.match(text) for p in patterns):
            return False
    return True


def _ms(moment):
    return int(round(moment.timestamp() * 1000))


class _Cursors:
    """Server-side cursors: each serves once and lives ``CURSOR_TTL_S``."""

    def __init__(self):
        self._cursors = {}
        self._lock = threading.Lock()

    def put(self, source, offset):
        cursor = secrets.token_urlsafe(18)
        with self._lock:
            now = time.monotonic()
            for dead in [c for c, (_s, _o, expires) in self._cursors.items() if expires <= now]:
                del self._cursors[dead]
            while len(self._cursors) >= MAX_CURSORS:
                del self._cursors[next(iter(self._cursors))]
            self._cursors[cursor] = (source, offset, now + CURSOR_TTL_S)
        return cursor

    def take(self, cursor):
        with self._lock:
            entry = self._cursors.pop(cursor, None)
        if entry is None or entry[2] <= time.monotonic():
            return None
        return entry[0], entry[1]


class _Items:
    """A query's result held in full (system activities, endpoints)."""

    def __init__(self, items):
        self.items = items
        self.total = len(items)

    def slice(self, offset, limit):
        return self.items[offset:offset + limit]


class _EventStream:
    """A query over the endless event stream: events ``first`` to ``last - 1`` (numbers of ``EdrData.event``)."""

    def __init__(self, data, first, last):
        self.data, self.first = data, first
        self.total = max(0, last - first)

    def slice(self, offset, limit):
        return [self.data.event(self.first + n) for n in range(offset, min(self.total, offset + limit))]


class EdrApp(App):
    """The lab EDR API over ``worlds.get(scenario).edr``."""

    system = "edr"
    title = "Symantec EDR"
    server_header = "itms-lab-edr"

    def __init__(self, client, switches, request_log, worlds):
        super(EdrApp, self).__init__("edr", switches, request_log)
        self.client = client  # {"client_id", "client_secret"}
        self.worlds = worlds
        self.tokens = Tokens(TOKEN_LIFETIME_S)
        self.cursors = _Cursors()

    def handle(self, request):
        scenario = self.switches.scenario()
        faults = self.switches.faults(self.system)
        extra = {"scenario": scenario, "fault": None, "user": None}
        answer, extra["fault"] = self.common_fault(request, faults)
        if answer is not None:
            return answer, extra
        if request.path == TOKEN_PATH:
            if request.method != "POST":
                return oauth_error(405, "invalid_request", "use POST"), extra
            return self._token(request, extra), extra
        if not request.path.startswith(API + "/"):
            return oauth_error(404, "not_found", "no such resource: %s" % request.path), extra
        token = bearer(request.headers)
        record = self.tokens.get(token) if token else None
        if record is None:
            return oauth_error(401, "invalid_token", "a valid access token is required",
                               [("WWW-Authenticate", 'Bearer error="invalid_token"')]), extra
        extra["user"] = record["user"]
        record["calls"] += 1
        if "token_expired" in faults and record["calls"] > TOKEN_CALLS:
            self.tokens.kill(token)
            extra["fault"] = "token_expired"
            return oauth_error(401, "invalid_token", "the access token expired",
                               [("WWW-Authenticate", 'Bearer error="invalid_token"')]), extra
        data = self.worlds.get(scenario).edr
        now = datetime.datetime.now(datetime.timezone.utc)
        if request.path == API + "/appliances":
            if request.method != "GET":
                return oauth_error(405, "invalid_request", "use GET"), extra
            return json_answer(200, {"appliance_list": data.appliances(now)}), extra
        operation = QUERIES.get(request.path)
        if operation is None:
            return oauth_error(404, "not_found", "no such resource: %s" % request.path), extra
        if request.method != "POST":
            return oauth_error(405, "invalid_request", "use POST with a query"), extra
        try:
            return self._query(operation, request.body, data, now), extra
        except BadQuery as exc:
            return json_answer(400, {"error": "invalid_request", "message": str(exc)}), extra

    def _token(self, request, extra):
        scheme, _sep, encoded = (request.headers.get("Authorization") or "").partition(" ")
        client_id = secret = None
        if scheme.lower() == "basic":
            try:
                client_id, _sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        if not (client_id and secret and client_id == self.client["client_id"]
                and hmac.compare_digest(secret.encode("utf-8"), self.client["client_secret"].encode("utf-8"))):
            return json_answer(401, {"error": "invalid_client"}, [("WWW-Authenticate", 'Basic realm="atpapi"')])
        form = parse_qs(request.body.decode("utf-8", "replace"))
        if (form.get("grant_type") or [None])[-1] != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        extra["user"] = client_id
        return json_answer(200, {"access_token": self.tokens.issue(client_id), "token_type": "Bearer",
                                 "expires_in": TOKEN_LIFETIME_S})

    def _query(self, operation, raw, data, now):
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise BadQuery("the body must be a JSON query")
        if not isinstance(body, dict):
            raise BadQuery("the body must be a JSON object such as {\"verb\": \"query\", \"limit\": 100}")
        if body.get("verb") != "query":
            raise BadQuery("verb must be \"query\"")
        limit = body.get("limit", DEFAULT_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BadQuery("limit must be a whole number from 1 to %d" % MAX_LIMIT)
        if body.get("next"):
            taken = self.cursors.take(body["next"])
            if taken is None:
                raise BadQuery("the cursor is unknown or has expired")
            source, offset = taken
        else:
            source, offset = self._source(operation, body, data, now), 0
        result = source.slice(offset, limit)
        answer = {"result": result, "total": source.total}
        if offset + len(result) < source.total:
            answer["next"] = self.cursors.put(source, offset + len(result))
        return json_answer(200, answer)

    def _source(self, operation, body, data, now):
        clauses = parse_where(body.get("where", body.get("query")))
        start = parse_time(body["start_time"], "start_time") if body.get("start_time") is not None else None
        end = parse_time(body["end_time"], "end_time") if body.get("end_time") is not None else None
        if operation == "endpoints":
            items = [e for e in data.endpoints(now) if matches(e, clauses) and self._within(e, start, end)]
            return _Items(items)
        end = end or now
        start = start or end - MAX_WINDOW
        if start > end:
            raise BadQuery("start_time is after end_time")
        if end - start > MAX_WINDOW:
            raise BadQuery("the time range of a query is at most 7 days")
        if operation == "systemactivities":
            return _Items([e for e in data.health(now) if matches(e, clauses) and self._within(e, start, end)])
        unknown = [field for field, _patterns in clauses if field not in edr_scenarios.EVENT_CONSTANT_FIELDS]
        if unknown:
            raise BadQuery("the lab EDR filters events on %s only, not %s"
                           % (", ".join(edr_scenarios.EVENT_CONSTANT_FIELDS), ", ".join(unknown)))
        if not matches(data.event(0), clauses):
            return _Items([])
        rate = data.event_rate  # event n happened at n / rate seconds: those of [start, end) by exact arithmetic
        first = -((-_ms(start) * rate) // 1000)
        last = -((-_ms(end) * rate) // 1000)
        return _EventStream(data, first, last)

    @staticmethod
    def _within(item, start, end):
        if start is None and end is None:
            return True
        moment = parse_time(item["time"], "time")
        return (start is None or moment >= start) and (end is None or moment < end)
