# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Channel binding: the one place that reaches into requests/urllib3/http.client for the peer certificate.

These tests run a real TLS server, so they fail loudly if a requests, urllib3 or Python release moves the
socket that ``peer_certificate`` reads.
"""
import datetime
import hashlib
import ipaddress
import http.server
import ssl
import threading

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.itms.cem.plugins.module_utils import _asdk_auth


def _certificate(tmp_path, algorithm):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, algorithm))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert, str(cert_path), str(key_path)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802  (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<boolean>true</boolean>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[hashes.SHA256(), hashes.SHA384()], ids=["sha256", "sha384"])
def tls_server(request, tmp_path):
    cert, cert_path, key_path = _certificate(tmp_path, request.param)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield cert, cert_path, "https://127.0.0.1:%d/" % server.server_address[1], request.param.name
    server.shutdown()
    server.server_close()


def test_peer_certificate_of_a_streamed_response(tls_server):
    cert, ca_path, url, _algorithm = tls_server
    with requests.Session() as session:
        response = session.post(url, data=b"x", verify=ca_path, stream=True)
        der = _asdk_auth.peer_certificate(response)
        response.content  # pylint: disable=pointless-statement
    assert der == cert.public_bytes(serialization.Encoding.DER)


def test_channel_bindings_hash_the_certificate_with_its_signature_hash(tls_server):
    cert, ca_path, url, algorithm = tls_server
    der = cert.public_bytes(serialization.Encoding.DER)
    assert _asdk_auth.certificate_hash(der) == hashlib.new(algorithm, der).digest()
    with requests.Session() as session:
        response = session.post(url, data=b"x", verify=ca_path, stream=True)
        auth = _asdk_auth.Authenticator("ntlm", "LAB\\u", "p", "127.0.0.1", str)
        auth.learn_peer(response)
        response.content  # pylint: disable=pointless-statement
    expected = b"tls-server-end-point:" + hashlib.new(algorithm, der).digest()
    assert auth.channel_bindings is not None and auth.channel_bindings.application_data == expected


def test_no_certificate_over_plain_http():
    class Plain:
        raw = None
    assert _asdk_auth.peer_certificate(Plain()) is None
