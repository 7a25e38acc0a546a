# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.tls_certificate_info end to end: main() against real TLS listeners and real files."""
import json
import socket

import pytest

pytest.importorskip("cryptography")

from itms_lab import certs  # noqa: E402

from ansible_collections.itms.cem.plugins.modules import tls_certificate_info  # noqa: E402

NAME = "ig.cem-lab.example"
NS_NAME = "ns.cem-lab.internal"
PASSWORD = "Pfx-Secret-4711"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls-module")
    ca = certs.make_ca("itms.cem module CA")
    issued = dict((kind, certs.issue(kind, ca, names=(NAME, NS_NAME))) for kind in ("good", "wrong_san", "self_signed"))
    listeners = dict((kind, certs.TlsListener(cert, key)) for kind, (cert, key) in issued.items())
    yield dict(folder=folder, ca=ca, ca_pem=certs.write_pem(str(folder / "ca.pem"), ca[0]), issued=issued,
               listeners=listeners)
    for listener in listeners.values():
        listener.close()


def args(lab, kind, **extra):
    return dict(dict(host="127.0.0.1", port=lab["listeners"][kind].port, server_name=NAME, ca_path=lab["ca_pem"]),
                **extra)


def test_good_endpoint(run_module, lab):
    result, failed = run_module(tls_certificate_info.main, args(lab, "good", expected_names=[NAME, NS_NAME]))
    assert not failed and result["changed"] is False
    assert result["findings"] == [] and result["source"] == "endpoint"
    assert result["expected_names"] == [NAME, NS_NAME]
    assert result["certificate"]["san_dns"] == [NAME, NS_NAME] and len(result["chain"]) == 2
    assert result["endpoint"]["trusted"] is True and result["endpoint"]["server_name"] == NAME
    assert result["tls_requests"] == {"handshakes": 1, "files": 0}
    assert "file" not in result


def test_check_mode_reads_the_same(run_module, lab):
    normal, _failed = run_module(tls_certificate_info.main, args(lab, "wrong_san"))
    checked, failed = run_module(tls_certificate_info.main, args(lab, "wrong_san", _ansible_check_mode=True))
    assert not failed and checked["changed"] is False
    assert checked["findings"] == normal["findings"] and [f["id"] for f in checked["findings"]] == ["san_missing"]


def test_fail_on_critical_fails_with_the_whole_result(run_module, lab):
    result, failed = run_module(tls_certificate_info.main, args(lab, "wrong_san", fail_on=["critical"]))
    port = lab["listeners"]["wrong_san"].port
    assert failed and result["error_kind"] == "findings"
    assert result["msg"] == ("The certificate presented by 127.0.0.1:%s has findings of a severity in fail_on "
                             "(critical): san_missing. See findings for each message and its fix." % port)
    assert [f["id"] for f in result["findings"]] == ["san_missing"]
    assert result["certificate"]["san_dns"] == ["other.cem-lab.example"] and result["chain"]
    assert result["tls_requests"] == {"handshakes": 1, "files": 0}


def test_fail_on_looks_at_severities_only(run_module, lab):
    own = certs.write_pem(str(lab["folder"] / "own.pem"), lab["issued"]["self_signed"][0])
    result, failed = run_module(tls_certificate_info.main, args(lab, "self_signed", ca_path=own, fail_on=["critical"]))
    assert not failed and [f["id"] for f in result["findings"]] == ["self_signed"]
    result, failed = run_module(tls_certificate_info.main, args(lab, "self_signed", ca_path=own, fail_on=["warning"]))
    assert failed and result["msg"].endswith("(warning): self_signed. See findings for each message and its fix.")
    result, failed = run_module(tls_certificate_info.main, args(lab, "good", warn_days=400,
                                                                fail_on=["critical", "warning"]))
    assert failed and "(critical, warning): expires_soon." in result["msg"]
    result, failed = run_module(tls_certificate_info.main, args(lab, "good", warn_days=400, fail_on=["info"]))
    assert not failed and [f["id"] for f in result["findings"]] == ["expires_soon"]


def test_pfx_before_import(run_module, lab, tmp_path):
    cert, key = lab["issued"]["good"]
    path = tmp_path / "cem.pfx"
    path.write_bytes(certs.to_pfx(cert, key, PASSWORD, chain=[lab["ca"][0]]))
    result, failed = run_module(tls_certificate_info.main, dict(
        path=str(path), pfx_password=PASSWORD, expected_names=[NAME, NS_NAME], ca_path=lab["ca_pem"],
        fail_on=["critical"]))
    assert not failed and result["findings"] == []
    assert result["file"] == dict(path=str(path), format="PFX", trusted=True)
    assert result["certificate"]["has_private_key"] is True and result["tls_requests"] == {"handshakes": 0, "files": 1}
    assert "endpoint" not in result and PASSWORD not in json.dumps(result)
    path.write_bytes(certs.to_pfx(cert, None, PASSWORD))
    result, failed = run_module(tls_certificate_info.main, dict(path=str(path), pfx_password=PASSWORD,
                                                                ca_path=lab["ca_pem"], fail_on=["critical"]))
    assert failed and result["error_kind"] == "findings" and "no_private_key" in result["msg"]
    assert result["expected_names"] == [] and result["certificate"]["has_private_key"] is False


def test_wrong_pfx_password_is_an_input_error_without_the_password(run_module, lab, tmp_path, capsys):
    cert, key = lab["issued"]["good"]
    path = tmp_path / "cem.pfx"
    path.write_bytes(certs.to_pfx(cert, key, PASSWORD))
    result, failed = run_module(tls_certificate_info.main, dict(path=str(path), pfx_password="Wrong-Pass-0815"))
    assert failed and result["error_kind"] == "input" and "the password is wrong" in result["msg"]
    assert "Wrong-Pass-0815" not in json.dumps(result) and "Traceback" not in json.dumps(result)


def test_endpoint_down_is_a_transport_error(run_module):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result, failed = run_module(tls_certificate_info.main, dict(host="127.0.0.1", port=port, timeout=3))
    assert failed and result["error_kind"] == "transport"
    assert result["msg"].startswith("Cannot reach 127.0.0.1:%s: Connection refused. Check that the service" % port)
    assert "Traceback" not in json.dumps(result) and result["tls_requests"] == {"handshakes": 1, "files": 0}


@pytest.mark.parametrize("bad,message", [
    (dict(host="127.0.0.1", path="/nonexistent.pem"), "parameters are mutually exclusive: host|path"),
    (dict(port=443), "one of the following is required: host, path"),
    (dict(path="/nonexistent.pem", server_name=NAME), "missing parameter(s) required by 'server_name': host"),
    (dict(host="127.0.0.1", fail_on=["error"]), "value of fail_on must be one or more of: critical, warning, info"),
])
def test_argument_errors(run_module, bad, message):
    result, failed = run_module(tls_certificate_info.main, bad)
    assert failed and message in result["msg"]


def test_input_errors(run_module, lab, tmp_path):
    result, failed = run_module(tls_certificate_info.main, args(lab, "good", expected_names=["*.cem-lab.example"]))
    assert failed and result["error_kind"] == "input" and "give the host names or IP addresses" in result["msg"]
    result, failed = run_module(tls_certificate_info.main, args(lab, "good", ca_path=str(tmp_path / "none.pem")))
    assert failed and result["error_kind"] == "input" and "does not exist" in result["msg"]
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    result, failed = run_module(tls_certificate_info.main, dict(path=str(empty)))
    assert failed and result["error_kind"] == "input" and result["msg"].startswith("%s is empty." % empty)
