# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.clock_skew_info end to end against real HTTPS servers in threads, and its bad input."""
import email.utils
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.modules import clock_skew_info
from itms_lab import certs


@pytest.fixture(autouse=True)
def warned(monkeypatch):
    """What the module warns, as given to module.warn (ansible-core keeps warnings process-wide)."""
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("skew-module-pki")
    ca = certs.make_ca("skew module CA")
    where = dict(names=(), ips=("127.0.0.1",))
    good, self_signed = certs.issue("good", ca, **where), certs.issue("self_signed", **where)
    return dict(ca=certs.write_pem(str(folder / "ca.pem"), ca[0]), good=certs.write_pem(str(folder / "good.pem"), *good),
                self=certs.write_pem(str(folder / "self.pem"), *self_signed))


@pytest.fixture
def serve():
    servers = []

    def start(cert, offset=0.0, send_date=True):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def send_response(self, code, message=None):
                self.send_response_only(code, message)
                if send_date:
                    self.send_header("Date", email.utils.formatdate(time.time() + offset, usegmt=True))

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.handle_error = lambda *_args: None
        threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True).start()
        servers.append(server)
        return "https://127.0.0.1:%d" % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "https://127.0.0.1:%d" % port


def test_every_verdict_in_one_task(run_module, pki, serve, warned):
    ahead, behind, same, no_date, untrusted = (serve(pki["good"], offset=600), serve(pki["good"], offset=-600),
                                               serve(pki["good"]), serve(pki["good"], send_date=False),
                                               serve(pki["self"]))
    down = closed_url()
    endpoints = [dict(url=ahead, name="gateway"), dict(url=behind, name="NS"), same, no_date, untrusted, down]
    result, failed = run_module(clock_skew_info.main, dict(endpoints=endpoints, ca_path=pki["ca"], max_skew=300,
                                                           timeout=5))
    assert not failed and result["changed"] is False
    assert [(e["name"], e["url"], e["verdict"]) for e in result["endpoints"]] == [
        ("gateway", ahead, "skewed"), ("NS", behind, "skewed"), (same[8:], same, "ok"), (no_date[8:], no_date, "no_date"),
        (untrusted[8:], untrusted, "tls_error"), (down[8:], down, "unreachable")]
    skews = [e["skew_seconds"] for e in result["endpoints"]]
    assert 598.5 < skews[0] <= 600.5 and -601.5 < skews[1] <= -599.5 and -1.5 < skews[2] <= 0.5
    assert skews[3:] == [None, None, None]
    assert result["skewed"] == 2 and result["unreachable_endpoints"] == 1
    assert result["max_abs_skew"] == max(abs(s) for s in skews[:3])
    assert result["http_requests"] == dict(requests=4, get_fallbacks=0)  # no request after a failed handshake
    assert "self-signed certificate" in result["endpoints"][4]["message"]
    assert warned == []


def test_validate_certs_false_warns(run_module, pki, serve, warned):
    url = serve(pki["self"])
    result, failed = run_module(clock_skew_info.main, dict(endpoints=[url], validate_certs=False))
    assert not failed and result["endpoints"][0]["verdict"] == "ok"
    assert warned == [
        "validate_certs is false: the endpoints' certificates are not verified, so a TLS endpoint that is not the one "
        "named can answer."]


def test_all_unreachable_is_still_a_result(run_module):
    result, failed = run_module(clock_skew_info.main, dict(endpoints=[closed_url()], timeout=2))
    assert not failed
    assert result["unreachable_endpoints"] == 1 and result["skewed"] == 0 and result["max_abs_skew"] is None
    assert "unreachable" not in result  # Ansible would take the host for unreachable


@pytest.mark.parametrize("args, message", [
    (dict(endpoints=[]), "endpoints is empty: give at least one URL, such as https://ig.example.com."),
    (dict(endpoints=["ftp://a.example"]), "endpoints[0]: ftp://a.example is not an https:// (or http://) URL."),
    (dict(endpoints=[{"url": "https://a.example", "port": 1}]), "endpoints[0] has unknown keys port; use url and name."),
    (dict(endpoints=["https://a.example"], max_skew=-1), "max_skew must be 0 or more seconds, not -1."),
    (dict(endpoints=["https://a.example"], ca_path="/nonexistent/ca.pem"), "ca_path /nonexistent/ca.pem does not exist."),
    (dict(endpoints=["https://a.example"], timeout=0), "timeout must be a positive number of seconds, not 0.0."),
])
def test_bad_input_fails_before_any_request(run_module, args, message):
    result, failed = run_module(clock_skew_info.main, args)
    assert failed and result["error_kind"] == "input" and result["msg"] == message
    if "http_requests" in result:
        assert result["http_requests"] == dict(requests=0, get_fallbacks=0)


def test_missing_endpoints_option(run_module):
    result, failed = run_module(clock_skew_info.main, dict())
    assert failed and "missing required arguments: endpoints" in result["msg"]
