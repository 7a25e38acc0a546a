# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small HTTPS listener that answers every request with 200 and a ``Date`` header, on 127.0.0.1.

The lab Internet Gateway and the lab TLS endpoints are such listeners: what a client checks there is the
certificate presented in the handshake and the clock in ``Date``. ``date_offset`` (seconds) shifts that
clock, to rehearse clock skew. The TLS context runs at OpenSSL security level 0, so a certificate with an
RSA 1024 key or a SHA-1 signature is still presented: judging it is the client's job.
"""

import email.utils
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


def server_context(cert_path, key_path):
    """A TLS 1.2+ server context for ``cert_path``/``key_path`` that loads and presents weak certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # before load_cert_chain, which checks the key against the level
    context.load_cert_chain(cert_path, key_path)
    return context


def http_date(offset=0.0, now=None):
    """An HTTP ``Date`` value (RFC 7231 IMF-fixdate) for ``now`` (epoch seconds; default the clock) plus ``offset``."""
    return email.utils.formatdate((time.time() if now is None else now) + offset, usegmt=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server.server_header

    def date_time_string(self, timestamp=None):
        return http_date(self.server.date_offset, timestamp)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_GET


class DateServer(ThreadingHTTPServer):
    """One HTTPS port: ``DateServer(port, context, ...).start()``; ``.port``; ``.stop()``."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, port, context, date_offset=0.0, body=b"", server_header="itms-lab", name="lab-tls"):
        self.context = context
        self.date_offset = float(date_offset)
        self.body = body
        self.server_header = server_header
        self.thread_name = name
        self._thread = None
        super(DateServer, self).__init__((HOST, port), _Handler)

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (socket.getfqdn), which can stall on a bad resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    @property
    def port(self):
        return self.server_address[1]

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's thread, so a client that never finishes it blocks nobody.
        request.settimeout(30)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that refused the certificate: what the bad endpoints are for
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError):
            pass
        finally:
            try:
                connection.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, socket.timeout, ssl.SSLError)):
            sys.stderr.write("itms-lab: error on a connection from %s:\n%s" % (client_address, traceback.format_exc()))

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


def bind(port, context, fallback=True, **kwargs):
    """A DateServer on ``port``; on a busy port, any free port when ``fallback`` (else the OSError)."""
    try:
        return DateServer(port, context, **kwargs)
    except OSError:
        if not (fallback and port):
            raise
        return DateServer(0, context, **kwargs)


def port_free(port):
    """True when 127.0.0.1:``port`` can be bound now (as the servers bind, with SO_REUSEADDR)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def free_port(preferred=0):
    """``preferred`` when it is free, else a port the system hands out now."""
    if preferred and port_free(preferred):
        return preferred
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
    finally:
        probe.close()
