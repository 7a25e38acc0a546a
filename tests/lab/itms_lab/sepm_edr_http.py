# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab SEPM and the lab EDR API share: HTTPS JSON serving, the switches in DIR, tokens, the request log.

``Switches`` reads ``DIR/edr-scenario.json`` (``{"scenario": NAME}``) and ``DIR/sepm-edr-faults.json``
(``{"sepm": [NAME, ...], "edr": [NAME, ...]}``) at every request, parsing them again only when a file
changed (its mtime, inode or bytes), so ``itms-lab edr-scenario`` and ``itms-lab fault`` act on a running
lab. An ``App`` turns a ``Request`` into an ``Answer`` plus what to log; ``AppServer`` serves one app over
HTTPS on 127.0.0.1 (TLS as ``tlsserve``), writing the request's log line *before* the answer goes out.
"""

import datetime
import json
import os
import secrets
import sys
import threading
import time
import traceback
from collections import namedtuple
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

from itms_lab import edr_scenarios, tlsserve

SCENARIO_FILE = "edr-scenario.json"
FAULTS_FILE = "sepm-edr-faults.json"
REQUEST_LOG = "sepm-edr-requests.jsonl"
FAULTS = {
    "sepm": ("unauthorized_mid_paging", "token_expired", "html", "redirect", "bad_page"),
    "edr": ("token_expired", "down", "html", "redirect"),
}
OTHER_HOST = "other.cem-lab.invalid"
MAX_BODY_BYTES = 1 << 20
JSON = "application/json;charset=UTF-8"
HTML = "text/html;charset=UTF-8"

Request = namedtuple("Request", "method path query headers body")
Answer = namedtuple("Answer", "status body content_type headers")


def json_answer(status, data, headers=()):
    return Answer(status, json.dumps(data, sort_keys=False).encode("utf-8"), JSON, tuple(headers))


def html_answer(status, title, text):
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body><h1>%s</h1>\n%s\n"
            "</body></html>\n" % (title, title, text))
    return Answer(status, page.encode("utf-8"), HTML, ())


def empty_answer(status, headers=()):
    return Answer(status, b"", None, tuple(headers))


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- the switches in DIR

class Switches:
    """The scenario and the faults of a lab directory, read again when their files change."""

    def __init__(self, directory):
        self.scenario_path = os.path.join(directory, SCENARIO_FILE)
        self.faults_path = os.path.join(directory, FAULTS_FILE)
        self._cache = {}
        self._lock = threading.Lock()

    def _read(self, path):
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
                stat = os.fstat(handle.fileno())
        except OSError:
            return {}
        # The file's identity and its bytes (a few dozen): two writes within one clock tick still differ.
        identity = (stat.st_mtime_ns, stat.st_ino, raw)
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and cached[0] == identity:
                return cached[1]
        try:
            value = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            sys.stderr.write("itms-lab edr: ignoring %s: %s\n" % (path, exc))
            value = {}
        if not isinstance(value, dict):
            value = {}
        with self._lock:
            self._cache[path] = (identity, value)
        return value

    def scenario(self):
        name = self._read(self.scenario_path).get("scenario")
        return name if name in edr_scenarios.SCENARIOS else edr_scenarios.DEFAULT_SCENARIO

    def faults(self, system):
        names = self._read(self.faults_path).get(system) or []
        return set(name for name in names if name in FAULTS[system])


class Tokens:
    """Bearer tokens: issued, looked up (dead once expired), killed; each with its own counters for the faults."""

    def __init__(self, lifetime_s=3600):
        self.lifetime_s = lifetime_s
        self._tokens = {}
        self._lock = threading.Lock()

    def issue(self, user):
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            for dead in [t for t, r in self._tokens.items() if r["expires"] <= now]:
                del self._tokens[dead]
            self._tokens[token] = {"user": user, "expires": now + self.lifetime_s, "calls": 0, "paged": set()}
        return token

    def get(self, token):
        with self._lock:
            record = self._tokens.get(token)
            if record is not None and record["expires"] <= time.monotonic():
                del self._tokens[token]
                record = None
            return record

    def kill(self, token):
        with self._lock:
            return self._tokens.pop(token, None) is not None


def bearer(headers):
    value = headers.get("Authorization") or ""
    scheme, _sep, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# --------------------------------------------------------------------------- apps and their server

class App:
    """Base of the lab SEPM and EDR: the faults both have (``down``, ``html``, ``redirect``) and the log line."""

    system = None  # "sepm" or "edr": the key of the faults file
    title = None  # the HTML login page's title
    server_header = "itms-lab"

    def __init__(self, name, switches, request_log):
        self.name = name  # sepm, sepm_peer or edr: the server in the request log
        self.switches = switches
        self.request_log = request_log
        self.port = None  # set by AppServer

    def handle(self, request):
        """(Answer, {"scenario", "fault", "user"}) for a request."""
        raise NotImplementedError

    def common_fault(self, request, faults):
        """The answer of a fault that does not depend on the request, or None."""
        if "down" in faults:
            return html_answer(503, "503 Service Unavailable", "<p>The service is temporarily unavailable.</p>"), "down"
        if "html" in faults:
            return html_answer(200, self.title, "<form method=\"post\" action=\"/login\"><input name=\"username\">"
                                                "<input type=\"password\" name=\"password\"></form>"), "html"
        if "redirect" in faults:
            target = "https://%s:%s%s" % (OTHER_HOST, self.port, request.path)
            if request.query:
                target += "?" + urlencode(request.query, doseq=True)
            return empty_answer(302, [("Location", target)]), "redirect"
        return None, None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server.app.server_header

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass  # the request log says it all

    def do_GET(self):
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if 0 < length <= MAX_BODY_BYTES else b""
        split = urlsplit(self.path)
        request = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True), self.headers, body)
        app = self.server.app
        try:
            answer, extra = app.handle(request)
        except Exception:  # a lab bug answers 500 and shows in the server log, it does not hang the client
            sys.stderr.write("itms-lab %s: internal error:\n%s" % (app.name, traceback.format_exc()))
            answer, extra = json_answer(500, {"errorCode": "500", "errorMessage": "lab internal error"}), {}
        entry = {"ts": now_iso(), "server": app.name, "method": self.command, "path": split.path,
                 "query": dict((k, v[0] if len(v) == 1 else v) for k, v in request.query.items()),
                 "status": answer.status, "scenario": extra.get("scenario"), "fault": extra.get("fault"),
                 "user": extra.get("user"), "ms": int((time.monotonic() - started) * 1000)}
        app.request_log.write(entry)  # before the answer: whatever a client has had an answer to is logged
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.content_type:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD" and answer.body:
            self.wfile.write(answer.body)
        self.wfile.flush()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET


class AppServer(tlsserve.DateServer):
    """One app on one HTTPS port of 127.0.0.1: ``AppServer(port, context, app).start()``, ``.port``, ``.stop()``."""

    def __init__(self, port, context, app):
        self.app = app
        super(AppServer, self).__init__(port, context, server_header=app.server_header, name="lab-%s" % app.name)
        self.RequestHandlerClass = _Handler
        app.port = self.port


def bind_app(port, context, app):
    """An AppServer on ``port`` (the previous run's), else on any free port."""
    try:
        return AppServer(port, context, app)
    except OSError:
        if not port:
            raise
        return AppServer(0, context, app)
