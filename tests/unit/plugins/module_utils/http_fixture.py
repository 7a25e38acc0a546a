# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted HTTPS server for the SEPM and EDR transport tests: real TLS, real sockets, answers from a function.

``https_server(handler, cert="good")`` starts a ``ScriptedServer`` on 127.0.0.1 that records every request as a
``Seen`` and answers with ``handler(seen)``: a ``Reply`` (or a tuple ``(status, body[, headers])``). Certificates
come from the lab's factory (``pki``): ``good`` is issued by the lab CA for localhost and 127.0.0.1, ``self_signed``
is its own issuer, as a SEPM certificate usually is.

The test modules take the fixtures under their own names: ``pki = http_fixture.pki``.
"""
import base64
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from itms_lab import certs, tlsserve


class Clock:
    """A monotonic clock the test moves by hand (``clock.now += 3600``), for token lifetimes."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def sha256_of(cert):
    """``AB:CD:...`` of a certificate, as the client normalises a pin."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


class Seen:
    """One request as the server received it."""

    def __init__(self, method, target, headers, body, port):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = dict((k.lower(), v) for k, v in headers.items())
        self.body = body
        self.port = port

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def form(self):
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    @property
    def bearer(self):
        value = self.headers.get("authorization", "")
        return value[len("Bearer "):] if value.startswith("Bearer ") else None

    @property
    def basic(self):
        """(user, password) of an HTTP Basic Authorization header, or None."""
        value = self.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _sep, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        return user, password


class Reply:
    """An answer: ``body`` a dict/list (JSON), str or bytes; ``delay`` seconds before answering."""

    def __init__(self, status=200, body=None, headers=None, delay=0.0):
        self.status = status
        self.headers = dict(headers or {})
        self.delay = delay
        if isinstance(body, (dict, list)) or (body is not None and not isinstance(body, (str, bytes))):
            self.body = json.dumps(body).encode("utf-8")
            self.headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
            self.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            self.body = body or b""
            if self.body:
                self.headers.setdefault("Content-Type", "application/octet-stream")


def as_reply(answer):
    if isinstance(answer, Reply):
        return answer
    return Reply(*answer)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, self.headers, body, self.server.port)
        with self.server.lock:
            self.server.seen.append(seen)
        reply = as_reply(self.server.handler(seen))
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class ScriptedServer(tlsserve.DateServer):
    """An HTTPS server on 127.0.0.1 (any free port) answering with ``handler(seen)``; ``seen`` lists the requests."""

    def __init__(self, cert_path, handler):
        super(ScriptedServer, self).__init__(0, tlsserve.server_context(cert_path, cert_path), name="scripted-https")
        self.RequestHandlerClass = _Handler
        self.handler = handler
        self.seen = []
        self.lock = threading.Lock()

    def start(self):
        # A short poll interval: stopping the server (after every test) waits for at most one poll.
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def paths(self):
        return [s.path for s in self.seen]


def closed_port():
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The lab CA and two server certificates for localhost/127.0.0.1, as PEM files and fingerprints."""
    folder = tmp_path_factory.mktemp("http-pki")
    ca = certs.make_ca("itms.cem transport unit CA")
    good = certs.issue("good", ca, names=("localhost",), ips=("127.0.0.1",))
    self_signed = certs.issue("self_signed", names=("localhost",), ips=("127.0.0.1",))
    return dict(
        ca_pem=certs.write_pem(str(folder / "ca.pem"), ca[0]),
        good=certs.write_pem(str(folder / "good.pem"), good[0], good[1]),
        self_signed=certs.write_pem(str(folder / "self-signed.pem"), self_signed[0], self_signed[1]),
        self_signed_cert=certs.write_pem(str(folder / "self-signed-cert.pem"), self_signed[0]),
        good_sha256=sha256_of(good[0]),
        self_signed_sha256=sha256_of(self_signed[0]),
    )


@pytest.fixture
def https_server(pki):
    """``https_server(handler, cert="good")``: a started ScriptedServer, stopped after the test."""
    started = []

    def start(handler, cert="good"):
        server = ScriptedServer(pki[cert], handler).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
