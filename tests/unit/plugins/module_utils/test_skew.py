# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clock skew (module_utils/_skew.py): the pure verdicts with exact outputs, and real HTTPS servers in threads."""
import calendar
import datetime
import email.utils
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _skew
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from itms_lab import certs

MOMENT = calendar.timegm((2026, 11, 29, 21, 54, 22))
DATE = "Sun, 29 Nov 2026 21:54:22 GMT"
KB = ("KB 440752: ephemeral certificates fail validation when clocks differ; sync both to the same time source")


# --------------------------------------------------------------------------- pure: endpoints

def test_endpoints_normalized():
    assert _skew.endpoints(["https://ns.example.com", {"url": "ig.example.com:8443/x?y=1", "name": "gateway"},
                            "http://[2001:db8::1]:8080", "https://[2001:db8::2]"]) == [
        dict(name="ns.example.com", url="https://ns.example.com", scheme="https", host="ns.example.com", port=443,
             target="/"),
        dict(name="gateway", url="https://ig.example.com:8443/x?y=1", scheme="https", host="ig.example.com",
             port=8443, target="/x?y=1"),
        dict(name="[2001:db8::1]:8080", url="http://[2001:db8::1]:8080", scheme="http", host="2001:db8::1",
             port=8080, target="/"),
        dict(name="[2001:db8::2]", url="https://[2001:db8::2]", scheme="https", host="2001:db8::2", port=443,
             target="/")]


@pytest.mark.parametrize("raw, message", [
    ([], "endpoints is empty: give at least one URL, such as https://ig.example.com."),
    (None, "endpoints is empty: give at least one URL, such as https://ig.example.com."),
    ([{"url": "https://a", "host": "b"}], "endpoints[0] has unknown keys host; use url and name."),
    ([{"name": "a"}], "endpoints[0] needs a URL (a string or {url, name}), not None."),
    (["https://a", 5], "endpoints[1] needs a URL (a string or {url, name}), not 5."),
    (["ftp://a"], "endpoints[0]: ftp://a is not an https:// (or http://) URL."),
    (["https://a:99999"], "endpoints[0]: https://a:99999 has an invalid port."),
    (["https://:443"], "endpoints[0]: https://:443 has no host."),
])
def test_endpoints_bad_input(raw, message):
    with pytest.raises(InputError) as info:
        _skew.endpoints(raw)
    assert str(info.value) == message


# --------------------------------------------------------------------------- pure: dates and verdicts

@pytest.mark.parametrize("value, expected", [
    (DATE, datetime.datetime(2026, 11, 29, 21, 54, 22, tzinfo=datetime.timezone.utc)),
    ("Sun, 29 Nov 2026 22:54:22 +0100", datetime.datetime(2026, 11, 29, 21, 54, 22, tzinfo=datetime.timezone.utc)),
    ("Sun, 29 Nov 2026 21:54:22 -0000", datetime.datetime(2026, 11, 29, 21, 54, 22, tzinfo=datetime.timezone.utc)),
    ("yesterday", None),
    ("", None),
    (None, None),
])
def test_parse_date(value, expected):
    assert _skew.parse_date(value) == expected


def observation(**changes):
    base = dict(name="NS", url="https://ns.example.com", sent=MOMENT - 0.1, round_trip=0.2, status=200, date=DATE,
                method="HEAD", error=None)
    base.update(changes)
    return base


def test_judge_ok():
    assert _skew.judge(observation(), 300) == dict(
        name="NS", url="https://ns.example.com", verdict="ok", skew_seconds=0.0, server_date="2026-11-29T21:54:22.000Z",
        controller_date="2026-11-29T21:54:22.000Z", round_trip_seconds=0.2,
        message="NS (https://ns.example.com): its clock is the same as the controller's (max_skew 300 s)")


def test_judge_server_ahead_is_skewed():
    entry = _skew.judge(observation(sent=MOMENT - 600.25 - 0.1), 300)
    assert entry["verdict"] == "skewed" and entry["skew_seconds"] == 600.25
    assert entry["controller_date"] == "2026-11-29T21:44:21.750Z"
    assert entry["message"] == ("NS (https://ns.example.com): its clock is 600.2 s ahead of the controller's, more "
                                "than max_skew 300 s (%s)" % KB)


def test_judge_server_behind_within_and_beyond_max_skew():
    behind = _skew.judge(observation(sent=MOMENT + 600 - 0.1), 300)
    assert behind["verdict"] == "skewed" and behind["skew_seconds"] == -600.0
    assert behind["message"].startswith("NS (https://ns.example.com): its clock is 600.0 s behind the controller's")
    edge = _skew.judge(observation(sent=MOMENT + 300 - 0.1), 300)
    assert edge["verdict"] == "ok" and edge["skew_seconds"] == -300.0  # |skew| > max_skew is skewed, = is not
    assert edge["message"] == "NS (https://ns.example.com): its clock is 300.0 s behind the controller's (max_skew 300 s)"
    assert _skew.judge(observation(sent=MOMENT + 300.5 - 0.1), 300)["verdict"] == "skewed"


def test_judge_no_date():
    assert _skew.judge(observation(date=None, status=204), 300) == dict(
        name="NS", url="https://ns.example.com", verdict="no_date", skew_seconds=None, server_date=None,
        controller_date="2026-11-29T21:54:22.000Z", round_trip_seconds=0.2,
        message="NS (https://ns.example.com): HTTP 204 without a Date header, so its clock cannot be read")
    bad = _skew.judge(observation(date="soon"), 300)
    assert bad["verdict"] == "no_date"
    assert bad["message"] == "NS (https://ns.example.com): HTTP 200 with a Date header that is not an HTTP date: 'soon'"


def test_judge_errors():
    unreachable = _skew.judge(observation(round_trip=None, status=None, date=None, sent=MOMENT,
                                          error=dict(kind="unreachable", reason="connection to port 443 refused")), 300)
    assert unreachable == dict(
        name="NS", url="https://ns.example.com", verdict="unreachable", skew_seconds=None, server_date=None,
        controller_date="2026-11-29T21:54:22.000Z", round_trip_seconds=None,
        message="NS (https://ns.example.com): unreachable: connection to port 443 refused")
    tls = _skew.judge(observation(error=dict(kind="tls_error", reason="certificate verification failed: x")), 300)
    assert tls["verdict"] == "tls_error" and tls["skew_seconds"] is None
    assert tls["message"] == "NS (https://ns.example.com): TLS failed: certificate verification failed: x"


def test_summary():
    entries = [dict(verdict="ok", skew_seconds=-2.5), dict(verdict="skewed", skew_seconds=-601.0),
               dict(verdict="skewed", skew_seconds=400.0), dict(verdict="unreachable", skew_seconds=None),
               dict(verdict="no_date", skew_seconds=None)]
    assert _skew.summary(entries) == dict(max_abs_skew=601.0, skewed=2, unreachable_endpoints=1)
    assert _skew.summary([dict(verdict="tls_error", skew_seconds=None)]) == dict(
        max_abs_skew=None, skewed=0, unreachable_endpoints=0)


# --------------------------------------------------------------------------- real servers

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """{ca: the CA file to trust, good: server PEM issued by it, untrusted: server PEM of another CA}."""
    folder = tmp_path_factory.mktemp("skew-pki")
    ca = certs.make_ca("skew unit CA")
    names = dict(names=("localhost",), ips=("127.0.0.1",))
    good, untrusted = certs.issue("good", ca, **names), certs.issue("untrusted", ca, **names)
    return dict(ca=certs.write_pem(str(folder / "ca.pem"), ca[0]),
                good=certs.write_pem(str(folder / "good.pem"), *good),
                untrusted=certs.write_pem(str(folder / "untrusted.pem"), *untrusted))


def make_handler(offset=0.0, send_date=True, head_status=200, head=True):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def date_time_string(self, timestamp=None):
            return email.utils.formatdate(time.time() + offset, usegmt=True)

        def send_response(self, code, message=None):
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Server", "itms-lab-skew")
            if send_date:
                self.send_header("Date", self.date_time_string())

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    if head:
        def do_HEAD(self):
            self.send_response(head_status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        Handler.do_HEAD = do_HEAD
    return Handler


@pytest.fixture
def serve():
    """serve(cert_file or None, **handler options) -> port; TLS when a certificate is given."""
    servers = []

    def start(cert=None, host="127.0.0.1", **options):
        server = ThreadingHTTPServer((host, 0), make_handler(**options))
        server.daemon_threads = True
        if cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.handle_error = lambda *_args: None  # a client that refuses the certificate is expected here
        threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def measure(client, url, max_skew=300):
    return _skew.judge(client.observe(_skew.endpoints([url])[0]), max_skew)


@pytest.mark.parametrize("offset, verdict", [(600, "skewed"), (-600, "skewed"), (0, "ok")])
def test_shifted_dates(pki, serve, offset, verdict):
    port = serve(pki["good"], offset=offset)
    client = _skew.SkewClient(ca_path=pki["ca"], timeout=5)
    entry = measure(client, "https://127.0.0.1:%d" % port)
    assert entry["verdict"] == verdict and entry["name"] == "127.0.0.1:%d" % port
    # Date is truncated to the second: the skew lies within (offset - 1 - round trip, offset + round trip]
    assert offset - 1.5 < entry["skew_seconds"] <= offset + 0.5
    assert 0 <= entry["round_trip_seconds"] < 2
    assert entry["server_date"].endswith(".000Z") and entry["controller_date"].endswith("Z")
    assert client.stats() == dict(requests=1, get_fallbacks=0) and client.warnings == []


def test_no_date(pki, serve):
    port = serve(pki["good"], send_date=False)
    entry = measure(_skew.SkewClient(ca_path=pki["ca"], timeout=5), "https://localhost:%d/" % port)
    assert entry["verdict"] == "no_date" and entry["skew_seconds"] is None
    assert entry["message"] == ("localhost:%d (https://localhost:%d/): HTTP 200 without a Date header, so its clock "
                                "cannot be read" % (port, port))


@pytest.mark.parametrize("options", [dict(head_status=405), dict(head=False)])  # 405, and 501 from http.server
def test_head_refused_falls_back_to_get(pki, serve, options):
    port = serve(pki["good"], offset=-600, **options)
    client = _skew.SkewClient(ca_path=pki["ca"], timeout=5)
    observed = client.observe(_skew.endpoints(["https://127.0.0.1:%d" % port])[0])
    assert observed["method"] == "GET" and observed["status"] == 200
    assert _skew.judge(observed, 300)["verdict"] == "skewed"
    assert client.stats() == dict(requests=2, get_fallbacks=1)


def test_closed_port_is_unreachable():
    port = closed_port()
    entry = measure(_skew.SkewClient(timeout=5), "https://127.0.0.1:%d" % port)
    assert entry["verdict"] == "unreachable"
    assert entry["message"] == "127.0.0.1:%d (https://127.0.0.1:%d): unreachable: connection to port %d refused" % (
        port, port, port)
    assert entry["controller_date"] is not None and entry["round_trip_seconds"] is None


def test_silent_port_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers the TLS handshake
    try:
        port = listener.getsockname()[1]
        started = time.monotonic()
        entry = measure(_skew.SkewClient(timeout=0.5), "https://127.0.0.1:%d" % port)
        assert time.monotonic() - started < 3
    finally:
        listener.close()
    assert entry["verdict"] == "unreachable" and entry["message"].endswith("unreachable: no answer within 0.5 s")


def test_unknown_name_is_unreachable():
    entry = measure(_skew.SkewClient(timeout=5), "https://itms-cem-skew.invalid")
    assert entry["verdict"] == "unreachable"
    assert entry["message"].startswith("itms-cem-skew.invalid (https://itms-cem-skew.invalid): unreachable: the name "
                                       "itms-cem-skew.invalid does not resolve")


def test_untrusted_certificate_is_a_tls_error(pki, serve):
    port = serve(pki["untrusted"])
    entry = measure(_skew.SkewClient(ca_path=pki["ca"], timeout=5), "https://127.0.0.1:%d" % port)
    assert entry["verdict"] == "tls_error" and entry["skew_seconds"] is None
    assert "TLS failed: certificate verification failed: unable to get local issuer certificate (set ca_path" in \
        entry["message"]


def test_address_not_in_certificate_is_a_tls_error(pki, serve):
    port = serve(pki["good"], host="127.0.0.2")  # the certificate covers localhost and 127.0.0.1 only
    entry = measure(_skew.SkewClient(ca_path=pki["ca"], timeout=5), "https://127.0.0.2:%d" % port)
    assert entry["verdict"] == "tls_error"
    assert "certificate verification failed: IP address mismatch, certificate is not valid for '127.0.0.2'." in \
        entry["message"]


def test_validate_certs_false_accepts_and_warns(pki, serve):
    port = serve(pki["untrusted"], offset=600)
    client = _skew.SkewClient(validate_certs=False, timeout=5)
    assert measure(client, "https://127.0.0.1:%d" % port)["verdict"] == "skewed"
    assert client.warnings == ["validate_certs is false: the endpoints' certificates are not verified, so a TLS "
                               "endpoint that is not the one named can answer."]


def test_plain_http_server_on_https_url_is_a_tls_error(serve):
    port = serve(None)
    entry = measure(_skew.SkewClient(timeout=5), "https://127.0.0.1:%d" % port)
    assert entry["verdict"] == "tls_error" and "TLS failed: TLS handshake failed: " in entry["message"]
    assert measure(_skew.SkewClient(timeout=5), "http://127.0.0.1:%d" % port)["verdict"] == "ok"


def test_client_bad_input(tmp_path):
    with pytest.raises(InputError, match=r"^ca_path /nonexistent/ca.pem does not exist.$"):
        _skew.SkewClient(ca_path="/nonexistent/ca.pem")
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(InputError, match="is not a PEM file of CA certificates"):
        _skew.SkewClient(ca_path=str(not_pem))
    with pytest.raises(InputError, match="timeout must be a positive number of seconds, not 0"):
        _skew.SkewClient(timeout=0)
    _skew.SkewClient(ca_path="/nonexistent/ca.pem", validate_certs=False).close()  # not used when not verifying
