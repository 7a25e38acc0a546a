# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab NS's HTTPS server: IIS routing, Windows authentication, fault injection, request log.

Two listeners on 127.0.0.1 serve the same NS: one with the certificate issued by the lab CA, one with a
self-signed certificate (to rehearse "self-signed NS without ca_path"). HTTP/1.1 with keep-alive: Windows
authentication holds for a connection, as on IIS. ``date_offset`` (seconds) shifts the Date header (clock skew).

Order of work for a request, as in the IIS pipeline: read the body, route it (to log which service, method and binding
it is for), authenticate (401 legs stop here), apply an injected fault, refuse HttpPost if disabled, run the method.

Every HTTP request is one line of the request log, 401 legs included: ``ts``, ``http_method``, ``path``, ``service``,
``method`` (the ASDK method the request names, or null), ``binding`` (post|soap|get|null), ``status`` (null when the
connection was reset or left without an answer), ``user`` (null before authentication), ``write`` (the method changes
state), plus ``conn`` (a number per TCP connection), ``fault`` (the injected fault) and ``exception`` (the ASDK or
ASP.NET exception answered), ``ms``. A request's line is written before its answer is sent.
"""

import datetime
import itertools
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from itms_lab.ns import wire
from itms_lab.procs import RequestLog
from itms_lab.ns.asdk import METHODS, SERVICES, Asdk, AsdkFault, operation_names, post_capable
from itms_lab.ns.auth import Accounts, ConnectionAuth, spnego
from itms_lab.ns.faults import FaultInjector, delay_of
from itms_lab.ns.store import Store

HOST = "127.0.0.1"
PREFIX = "/altiris/asdk.ns/"
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # ASP.NET's default maxRequestLength (4096 KB)
MAX_DRAIN_BYTES = 64 * 1024 * 1024
IIS_SERVER = "Microsoft-IIS/10.0"
ASPNET_HEADERS = (("X-AspNet-Version", "4.0.30319"), ("X-Powered-By", "ASP.NET"))

Route = namedtuple("Route", "kind service name method binding")
Response = namedtuple("Response", "status body content_type headers close server")


def _response(status, body=b"", content_type=None, headers=(), close=False, server=IIS_SERVER):
    return Response(status, body, content_type, tuple(headers), close, server)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NSHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # IIS connectionTimeout: an idle kept-alive connection is closed after 2 minutes
    server_name = IIS_SERVER
    # Headers and body go out in two writes; without TCP_NODELAY the body waits for the client's
    # delayed ACK (about 40 ms a request on Linux), which HTTP.sys does not do.
    disable_nagle_algorithm = True

    def setup(self):
        super(NSHandler, self).setup()
        self.lab = self.server.lab
        self.auth = ConnectionAuth(self.lab.accounts)
        self.conn_id = self.lab.next_connection()

    def version_string(self):
        return self.server_name

    def date_time_string(self, timestamp=None):  # itms-lab up --date-offset ns=SECONDS: an NS whose clock is off
        offset = float(self.lab.config.get("date_offset") or 0)
        return super(NSHandler, self).date_time_string(time.time() + offset if timestamp is None else timestamp)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass  # the request log says it all

    def do_GET(self):
        self._handle()

    do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    # ----- one request

    def _handle(self):
        self._started = time.monotonic()
        self._logged = False
        entry = {"ts": _now(), "http_method": self.command, "path": self.path, "service": None, "method": None,
                 "binding": None, "status": None, "user": None, "write": False, "conn": self.conn_id,
                 "fault": None, "exception": None}
        try:
            self._serve(entry)
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception:  # a lab bug must answer and be visible, not hang the client
            self.lab.log_server("itms-lab ns: internal error:\n" + traceback.format_exc())
            entry["exception"] = "LabInternalError"
            try:
                self._send(entry, _response(500, wire.iis_page(500), wire.TEXT_HTML, close=True))
            except OSError:
                self.close_connection = True
        finally:
            self._log(entry)  # no answer was sent: a reset, a timeout, an error while answering

    def _log(self, entry):
        if not self._logged:
            self._logged = True
            entry["ms"] = int((time.monotonic() - self._started) * 1000)
            self.lab.request_log.write(entry)

    def _serve(self, entry):
        try:
            body, too_large = self._read_body()
        except ValueError:
            return self._send(entry, _response(400, b"Bad Request", "text/html; charset=us-ascii", close=True,
                                               server="Microsoft-HTTPAPI/2.0"))
        route = self._route()
        known = route.name if route.service and route.name in operation_names(route.service) else None
        implemented = METHODS.get((route.service, known))
        entry.update(service=route.service, binding=route.binding, method=known,
                     write=bool(implemented and implemented.write))
        outcome = self.auth.authenticate(self.headers.get("Authorization"))
        if outcome.user is None:
            return self._send(entry, _response(401, wire.iis_page(401), wire.TEXT_HTML, outcome.headers))
        entry["user"] = outcome.user
        if too_large:
            entry["exception"] = "System.Web.HttpException"
            return self._send(entry, _response(500, wire.aspnet_error_page(
                "System.Web.HttpException", "Maximum request length exceeded.",
                ["System.Web.HttpRequest.GetEntireRawContent() +9907063"]), wire.TEXT_HTML, ASPNET_HEADERS, close=True))
        response = self._after_auth(route, body, outcome.user, entry)
        if response is not None:
            self._send(entry, response._replace(headers=tuple(outcome.headers) + response.headers))

    def _read_body(self):
        """(body, too_large). A body over ASP.NET's limit is read and dropped, so the client can read the answer."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(65537).strip():
                        pass  # trailers
                    return (b"" if total > MAX_REQUEST_BYTES else b"".join(chunks)), total > MAX_REQUEST_BYTES
                total += size
                if total > MAX_DRAIN_BYTES:
                    raise ValueError("request body too large to drain")
                data = self.rfile.read(size)
                if total <= MAX_REQUEST_BYTES:
                    chunks.append(data)
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_DRAIN_BYTES:
            raise ValueError("bad Content-Length")
        if length > MAX_REQUEST_BYTES:
            while length > 0:
                data = self.rfile.read(min(length, 1 << 20))
                if not data:
                    raise ConnectionError("the client closed the connection in the middle of the body")
                length -= len(data)
            return b"", True
        return (self.rfile.read(length) if length else b""), False

    def _route(self):
        path = unquote(urlsplit(self.path).path)
        if not path.lower().startswith(PREFIX):
            return Route("not_found", None, None, None, None)
        service_part, slash, method_part = path[len(PREFIX):].partition("/")
        service = None
        if service_part.lower().endswith(".asmx"):
            for known in SERVICES:  # IIS paths are case-insensitive
                if known.lower() == service_part[:-5].lower():
                    service = known
        if service is None:
            return Route("not_found", None, None, None, None)
        if slash:
            binding = {"POST": "post", "GET": "get", "HEAD": "get"}.get(self.command)
            if binding is None:
                return Route("unrecognized", service, method_part, None, None)
            return self._method_route(service, method_part, binding)
        if self.command == "POST":
            content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            if content_type == "text/xml":
                name = wire.soap_action_method(self.headers.get("SOAPAction"))
                if name is None:
                    return Route("bad_action", service, None, None, "soap")
                return self._method_route(service, name, "soap")
            return Route("bad_format", service, None, None, None)
        if self.command in ("GET", "HEAD"):
            query = urlsplit(self.path).query.lower()
            return Route("wsdl" if query in ("wsdl", "disco") else "help", service, None, None, None)
        return Route("unrecognized", service, service + ".asmx", None, None)

    def _method_route(self, service, name, binding):
        if name in operation_names(service):
            method = METHODS.get((service, name))
            if method is None:
                return Route("not_implemented", service, name, None, binding)
            if binding != "soap" and not post_capable(method):
                return Route("invalid_name", service, name, None, binding)
            return Route("asdk", service, name, method, binding)
        if binding == "soap":
            return Route("bad_action", service, name, None, binding)
        if any(known.lower() == name.lower() for known in operation_names(service)):
            return Route("wrong_case", service, name, None, binding)
        return Route("invalid_name", service, name, None, binding)

    # ----- after authentication

    def _after_auth(self, route, body, user, entry):
        if route.kind == "not_found":
            return _response(404, wire.iis_page(404), wire.TEXT_HTML)
        snapshot = self.lab.faults.read()
        rule = self.lab.faults.take(snapshot, route.service, route.name, route.binding, user)
        malformed = False
        if rule is not None:
            entry["fault"] = fault = rule["fault"]
            if fault.startswith("http_"):
                status = int(fault[5:])
                if status == 503:
                    return _response(503, wire.http_sys_503(), "text/html; charset=us-ascii", server="Microsoft-HTTPAPI/2.0")
                return _response(status, wire.iis_page(status), wire.TEXT_HTML)
            if fault == "reset":
                self._reset()
                return None
            if fault == "timeout":
                self.lab.stopping.wait(delay_of(rule))
                self.close_connection = True
                return None
            if fault == "slow":
                self.lab.stopping.wait(delay_of(rule))
            malformed = fault == "malformed"
        response = self._answer(route, body, user, entry, snapshot)
        if malformed:
            cut = response.body[:len(response.body) // 2] if response.body else b'<?xml version="1.0" encoding="utf-8"?>\r\n<'
            response = response._replace(status=200, body=cut, content_type=wire.TEXT_XML)
        return response

    def _answer(self, route, body, user, entry, snapshot):
        if route.kind == "help":
            operations = sorted(m.name for m in METHODS.values() if m.service == route.service)
            return _response(200, wire.help_page(route.service, operations), wire.TEXT_HTML, ASPNET_HEADERS)
        if route.kind == "wsdl":
            return _response(501, b"The itms.cem lab NS does not serve WSDL; its methods and parameters are those of "
                                  b"the SMP 8.5.5713 web-service contract.\r\n", wire.TEXT_PLAIN, ASPNET_HEADERS)
        if route.kind == "unrecognized":
            return self._unrecognized(entry, route, snapshot)
        if route.kind == "bad_format":
            content_type = self.headers.get("Content-Type") or ""
            return self._binding_error(entry, route, wire.BindingError("Request format is invalid: %s." % content_type,
                                                                       frames=wire.FORMAT_FRAMES))
        if route.binding == "post" and snapshot.disable_post_binding:
            # Without the HttpPost protocol no handler takes /<Method>, whatever the method name is.
            return self._unrecognized(entry, route, snapshot)
        if route.kind == "bad_action":
            return self._binding_error(entry, route, wire.unrecognized_action(self.headers.get("SOAPAction")))
        if route.kind == "invalid_name":
            return self._binding_error(entry, route, wire.BindingError("%s Web Service method name is not valid." % route.name,
                                                                       frames=wire.HTTP_INIT))
        if route.kind == "wrong_case":
            canonical = [known for known in operation_names(route.service) if known.lower() == route.name.lower()][0]
            return self._binding_error(entry, route, wire.BindingError(
                "The method name '%s' differs only in case from the Web Service method name '%s'; method names are "
                "case-sensitive.\r\nParameter name: methodName" % (route.name, canonical),
                exception="System.ArgumentException", frames=wire.HTTP_INIT))
        if route.kind == "not_implemented":
            return self._binding_error(entry, route, wire.BindingError(
                "The itms.cem lab NS does not implement %s.%s." % (route.service, route.name),
                exception="System.NotImplementedException", fault_code="soap:Server"))
        return self._call(route, body, user, entry)

    def _unrecognized(self, entry, route, snapshot):
        entry["exception"] = "System.InvalidOperationException"
        page = wire.aspnet_runtime_error_page() if snapshot.custom_errors else wire.request_format_unrecognized(route.name)
        return _response(500, page, wire.TEXT_HTML, ASPNET_HEADERS)

    def _binding_error(self, entry, route, error):
        entry["exception"] = error.exception
        if route.binding == "soap":
            return _response(500, wire.soap_fault(error.fault_code, error.message), wire.TEXT_XML, ASPNET_HEADERS)
        return _response(500, wire.exception_text(error.exception, error.message, error.frames), wire.TEXT_PLAIN,
                         ASPNET_HEADERS)

    def _call(self, route, body, user, entry):
        method = route.method
        try:
            if route.binding == "soap":
                args = wire.read_soap_parameters(method, body)
            elif not method.params:
                args = {}
            elif route.binding == "post":
                content_type = self.headers.get("Content-Type") or ""
                if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
                    raise wire.BindingError("Request format is invalid: %s." % content_type, frames=wire.FORMAT_FRAMES)
                args = wire.read_value_parameters(method, wire.value_collection(body.decode("utf-8", "replace")), "post")
            else:
                args = wire.read_value_parameters(method, wire.value_collection(urlsplit(self.path).query), "get")
        except wire.BindingError as error:
            return self._binding_error(entry, route, error)
        try:
            result = self.lab.asdk.call(method, args, user)
        except AsdkFault as fault:
            entry["exception"] = fault.exception_type
            if route.binding == "soap":
                return _response(500, wire.soap_fault("soap:Server", fault.message, fault.exception_type), wire.TEXT_XML,
                                 ASPNET_HEADERS)
            return _response(500, wire.asdk_post_error(method, fault), wire.TEXT_PLAIN, ASPNET_HEADERS)
        if route.binding == "soap":
            return _response(200, wire.soap_result(method, result), wire.TEXT_XML, ASPNET_HEADERS)
        body = wire.post_result(method, result)
        if body is None:
            return _response(200, b"", None, ASPNET_HEADERS)
        return _response(200, body, wire.TEXT_XML, ASPNET_HEADERS)

    # ----- answers

    def _send(self, entry, response):
        entry["status"] = response.status
        self._log(entry)
        self.server_name = response.server
        try:
            self.send_response(response.status)
        finally:
            self.server_name = IIS_SERVER
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        if response.status < 300 or response.content_type == wire.TEXT_XML:
            self.send_header("Cache-Control", "private, max-age=0")
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if response.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def _reset(self):
        """Close the TCP connection with RST, without a TLS close_notify or an answer."""
        self.close_connection = True
        try:  # the close that follows the handler then sends RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, context, lab):
        self.context = context
        self.lab = lab
        self._open = set()
        self._open_lock = threading.Lock()
        super(_TLSServer, self).__init__(address, NSHandler)

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (socket.getfqdn), which can stall on a bad resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's thread, so a slow client never blocks accept().
        request.settimeout(30)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that refused the self-signed certificate
        with self._open_lock:
            self._open.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        except (ConnectionError, socket.timeout, ssl.SSLError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(connection)
            try:
                connection.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, socket.timeout, ssl.SSLError)):
            self.lab.log_server("itms-lab ns: error on a connection from %s:\n%s" % (client_address, traceback.format_exc()))

    def close_connections(self):
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LabNS:
    """The lab NS of one lab directory: its listeners, store, accounts, faults and request log."""

    def __init__(self, config):
        if spnego is None:
            raise RuntimeError("the lab NS needs pyspnego for NTLM (pip install pyspnego)")
        if config.get("host", HOST) != HOST:
            raise ValueError("the lab NS listens on %s only" % HOST)
        if config.get("ntlm_user_file"):
            os.environ["NTLM_USER_FILE"] = config["ntlm_user_file"]
        if not os.environ.get("NTLM_USER_FILE"):
            raise ValueError("NTLM_USER_FILE is not set: the NTLM acceptor has no credentials")
        self.config = config
        self.store = Store(config["items"], seed=config.get("seed", 1))
        accounts = config["accounts"]
        self.accounts = Accounts(config.get("domain", "LAB"), [a["name"] for a in accounts])
        self.asdk = Asdk(self.store, [a["name"] for a in accounts if a.get("write")])
        self.faults = FaultInjector(config["faults"], log=self.log_server)
        self.request_log = RequestLog(config["request_log"])
        self.stopping = threading.Event()
        self._connections = itertools.count(1)
        self._servers = {}
        self._threads = []

    def next_connection(self):
        return next(self._connections)

    def log_server(self, text):
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()

    @staticmethod
    def _context(cert, key):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        return context

    def _bind(self, name, port, fallback, context):
        try:
            server = _TLSServer((HOST, port), context, self)
        except OSError:
            if not (fallback and port):
                raise
            server = _TLSServer((HOST, 0), context, self)
        self._servers[name] = server
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="lab-ns-%s" % name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start(self):
        config = self.config
        self._bind("ca", int(config.get("port") or 0), config.get("port_fallback", False),
                   self._context(config["cert"], config["key"]))
        if config.get("selfsigned_cert"):
            self._bind("selfsigned", int(config.get("selfsigned_port") or 0), config.get("selfsigned_port_fallback", True),
                       self._context(config["selfsigned_cert"], config["selfsigned_key"]))
        return self

    @property
    def port(self):
        return self._servers["ca"].server_address[1]

    @property
    def selfsigned_port(self):
        server = self._servers.get("selfsigned")
        return server.server_address[1] if server else None

    def stop(self):
        self.stopping.set()
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
            server.close_connections()
        for thread in self._threads:
            thread.join(5)
