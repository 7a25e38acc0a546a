# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_http.HttpJson against a real local HTTPS server (certificates from the lab factory): trust (CA file, pin,
validate_certs false), redirects, retries, connection failures, and the tolerant JSON helpers without I/O."""
import json
import warnings

import pytest
from urllib3.exceptions import InsecureRequestWarning

import http_fixture
from http_fixture import Reply, closed_port

from ansible_collections.itms.cem.plugins.module_utils import _http
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, TransportError, VendorFault

pki = http_fixture.pki  # the fixtures, under the names the tests take
https_server = http_fixture.https_server

SECRET = "Pa55-http-never-shown-4711"


def ok(seen):
    return Reply(200, {"path": seen.path, "method": seen.method})


def client(server_or_url, pki=None, **options):
    url = getattr(server_or_url, "url", server_or_url)
    settings = dict(option_prefix="sepm_", secrets=[SECRET], sleep=sleeps.append)
    if pki is not None:
        settings["ca_path"] = pki["ca_pem"]
    settings.update(options)
    return _http.HttpJson(settings.pop("system", "SEPM"), url, **settings)


sleeps = []


@pytest.fixture(autouse=True)
def no_sleeps():
    del sleeps[:]
    yield


# --------------------------------------------------------------------------- helpers without I/O

@pytest.mark.parametrize("text", [
    "ab:cd:" * 15 + "ab:cd",
    ("AB CD " * 16).strip(),
    "abcd" * 16,
    "sha256:" + "ABCD" * 16,
    "SHA256 Fingerprint=" + ":".join(["AB", "CD"] * 16),
    "sha256 Fingerprint=" + ":".join(["ab", "cd"] * 16),
])
def test_normalize_fingerprint_accepts_the_usual_spellings(text):
    assert _http.normalize_fingerprint(text) == ":".join(["AB", "CD"] * 16)


def test_normalize_fingerprint_refuses_sha1_and_garbage():
    with pytest.raises(InputError) as sha1:
        _http.normalize_fingerprint("AB:" * 19 + "AB", option="sepm_fingerprint")
    assert "SHA-1" in str(sha1.value) and "sepm_fingerprint" in str(sha1.value)
    assert "-sha256" in sha1.value.hint
    for bad in ("", "zz" * 32, "AB" * 31, "AB" * 33):
        with pytest.raises(InputError):
            _http.normalize_fingerprint(bad)


def test_field_reads_the_exact_key_first_then_ignoring_case():
    data = {"sonar": 1, "SONAR": 2, "Content": [1]}
    assert _http.field(data, "sonar") == 1
    assert _http.field(data, "SONAR") == 2
    assert _http.field(data, "Sonar") == 1  # the first key equal ignoring case
    assert _http.field(data, "content") == [1]
    assert _http.field(data, "missing", "d") == "d"
    assert _http.field("Internal error", "content") is None
    assert _http.field(["content"], "content", 0) == 0


def test_parse_json_keeps_keys_that_differ_only_by_case():
    data = _http.parse_json(b'{"sonar": 1, "SONAR": 2}', "application/json", "x", "SEPM")
    assert data == {"sonar": 1, "SONAR": 2}
    assert _http.parse_json(b'\xef\xbb\xbf{"a": 1}', "application/json", "x", "SEPM") == {"a": 1}  # UTF-8 BOM


def test_parse_json_names_an_html_answer_with_its_title():
    body = b"<!DOCTYPE html><html><head><title>\n  Symantec Endpoint Protection Manager  \n</title></head></html>"
    with pytest.raises(VendorFault) as exc:
        _http.parse_json(body, "text/html;charset=UTF-8", "the groups", "SEPM", status=200)
    assert exc.value.msg == ("SEPM answered the groups with HTML (HTTP 200, text/html;charset=UTF-8, title "
                             "'Symantec Endpoint Protection Manager') instead of JSON.")
    assert "https://host:8446" in exc.value.hint and "proxy login page" in exc.value.hint
    # A body that starts with < is HTML whatever its Content-Type says.
    with pytest.raises(VendorFault) as exc:
        _http.parse_json(b"  <html>login</html>", "application/json", "the token", "EDR")
    assert "with HTML" in exc.value.msg and "no title" in exc.value.msg and "/atpapi" in exc.value.hint


def test_parse_json_refuses_empty_and_non_json_bodies_with_the_secret_scrubbed():
    with pytest.raises(VendorFault) as exc:
        _http.parse_json(b"  \n", "application/json", "the version", "SEPM", status=200)
    assert "empty body (HTTP 200)" in exc.value.msg
    body = ("Internal error for password=%s " % SECRET).encode() + b"x" * 500
    with pytest.raises(VendorFault) as exc:
        _http.parse_json(body, "text/plain", "the version", "SEPM", secrets=[SECRET])
    assert "not JSON" in exc.value.msg and "Internal error for password=********" in exc.value.msg
    assert SECRET not in str(exc.value)
    assert "x" * 100 in exc.value.msg and "x" * 200 not in exc.value.msg  # the first 200 characters only


def test_parse_base_url():
    assert _http.parse_base_url("sepm.example.com:8446", "sepm_url", "SEPM", "/sepm") == (
        "https://sepm.example.com:8446", ("https", "sepm.example.com", 8446))
    assert _http.parse_base_url("HTTPS://SEPM.example.com:8446/SEPM/api/v1/groups?x=1", "sepm_url", "SEPM", "/sepm") == (
        "https://SEPM.example.com:8446", ("https", "sepm.example.com", 8446))
    assert _http.parse_base_url("https://proxy.example.com/tenant/sepm/", "sepm_url", "SEPM", "/sepm")[0] == \
        "https://proxy.example.com/tenant"
    assert _http.parse_base_url("https://edr.example.com/atpapi/v2/appliances", "edr_url", "EDR", "/atpapi") == (
        "https://edr.example.com", ("https", "edr.example.com", 443))
    assert _http.parse_base_url("https://x.example.com/sepmx", "sepm_url", "SEPM", "/sepm")[0] == "https://x.example.com/sepmx"


@pytest.mark.parametrize("url, words", [
    ("", "sepm_url is empty"),
    (None, "sepm_url is empty"),
    ("ftp://sepm.example.com", "not an http(s) URL"),
    ("https://sepm.example.com:84x6", "invalid port"),
    ("https://admin:%s@sepm.example.com:8446" % SECRET, "holds credentials"),
])
def test_parse_base_url_refusals(url, words):
    with pytest.raises(InputError) as exc:
        _http.parse_base_url(url, "sepm_url", "SEPM", "/sepm")
    assert words in str(exc.value)
    assert SECRET not in str(exc.value)
    if words == "sepm_url is empty":
        assert "ITMS_SEPM_URL" in exc.value.hint


def test_http_url_is_allowed_with_a_warning():
    http = client("http://sepm.example.com:8446", fingerprint="AB" * 32)
    assert http.base_url == "http://sepm.example.com:8446"
    assert len(http.warnings) == 1 and "unencrypted" in http.warnings[0] and "sepm_fingerprint has no effect" in http.warnings[0]


def test_options_are_checked_before_anything_is_sent(tmp_path):
    with pytest.raises(InputError) as exc:
        client("https://sepm.example.com", ca_path=str(tmp_path / "missing.pem"))
    assert "sepm_ca_path" in str(exc.value) and "does not exist" in str(exc.value)
    with pytest.raises(InputError) as exc:
        client("https://sepm.example.com", timeout=0)
    assert "sepm_timeout" in str(exc.value)
    with pytest.raises(InputError):
        client("https://sepm.example.com", fingerprint="not a fingerprint")


def test_backoff():
    assert [_http.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# --------------------------------------------------------------------------- trust, against a real TLS server

def test_ca_path_verifies_the_server(https_server, pki):
    server = https_server(ok)
    http = client(server, pki)
    answer = http.request("GET", "/sepm/api/v1/version", params={"a": "b c"})
    assert answer.status == 200 and answer.json("the version") == {"path": "/sepm/api/v1/version", "method": "GET"}
    assert answer.headers["content-type"] == "application/json"  # case-insensitive headers
    assert server.seen[0].query == {"a": "b c"}
    assert server.seen[0].headers["accept"] == "application/json"
    assert http.warnings == [] and http.http_requests == 1


def test_without_a_trusted_ca_the_tls_failure_names_the_options(https_server, pki, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server = https_server(ok, cert="self_signed")
    for ca_path in (None, pki["ca_pem"]):  # certifi's bundle, then a CA that did not issue it
        http = client(server, ca_path=ca_path, retries=3)
        with pytest.raises(TransportError) as exc:
            http.request("GET", "/sepm/api/v1/version")
        assert exc.value.msg.startswith("TLS verification of the SEPM certificate failed for %s: certificate verify failed"
                                        % server.url)
        assert "sepm_ca_path" in exc.value.hint and "sepm_fingerprint" in exc.value.hint
        assert "usually are" in exc.value.hint
        assert http.http_requests == 1 and sleeps == []  # a TLS failure is not retried
    assert server.seen == []


def test_the_self_signed_certificate_itself_is_its_ca(https_server, pki):
    server = https_server(ok, cert="self_signed")
    assert client(server, ca_path=pki["self_signed_cert"]).request("GET", "/v").status == 200


def test_requests_ca_bundle_is_honoured_although_the_environment_is_not_trusted(https_server, pki, monkeypatch):
    server = https_server(ok)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki["ca_pem"])
    # A proxy in the environment would break the request if it were used: trust_env is off.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % closed_port())
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % closed_port())
    assert client(server).request("GET", "/v").status == 200


def test_a_matching_pin_is_verified_without_insecure_request_warning(https_server, pki):
    server = https_server(ok, cert="self_signed")
    pin = pki["self_signed_sha256"].lower().replace(":", " ")
    for validate_certs in (True, False):
        http = client(server, fingerprint=pin, validate_certs=validate_certs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert http.request("GET", "/v").status == 200
        assert [w for w in caught if issubclass(w.category, InsecureRequestWarning)] == []
        assert http.warnings == []  # the pin is a verification: no validate_certs warning
        assert http.fingerprint == pki["self_signed_sha256"]


def test_a_wrong_pin_is_refused_naming_both_fingerprints(https_server, pki):
    server = https_server(ok, cert="self_signed")
    http = client(server, fingerprint=pki["good_sha256"])
    with pytest.raises(TransportError) as exc:
        http.request("GET", "/v")
    assert exc.value.msg == ("The SEPM certificate at 127.0.0.1:%d does not match sepm_fingerprint: expected %s, the server "
                             "presented %s." % (server.port, pki["good_sha256"], pki["self_signed_sha256"]))
    assert "if the certificate was renewed, update sepm_fingerprint" in exc.value.hint.lower()
    assert server.seen == [] and sleeps == []


def test_the_pin_does_not_apply_to_a_session_without_it(https_server, pki):
    """The pinned adapter belongs to its client: another client of the same server still verifies."""
    server = https_server(ok, cert="self_signed")
    client(server, fingerprint=pki["self_signed_sha256"]).request("GET", "/v")
    with pytest.raises(TransportError):
        client(server, pki).request("GET", "/v")


def test_validate_certs_false_warns_once_and_silences_urllib3(https_server):
    server = https_server(ok, cert="self_signed")
    http = client(server, validate_certs=False, option_prefix="edr_", system="EDR")
    assert len(http.warnings) == 1
    assert "anyone on the path can impersonate EDR" in http.warnings[0]
    assert "set edr_ca_path or edr_fingerprint" in http.warnings[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        http.request("GET", "/a")
        http.request("GET", "/b")
    assert [w for w in caught if issubclass(w.category, InsecureRequestWarning)] == []
    assert len(http.warnings) == 1


# --------------------------------------------------------------------------- redirects

def test_a_same_origin_redirect_is_followed_with_method_body_and_authorization(https_server, pki):
    def handler(seen):
        if seen.path == "/old":
            return Reply(307, b"", {"Location": "/new?x=1"})
        return ok(seen)

    server = https_server(handler)
    answer = client(server, pki).request("POST", "/old", json_body={"verb": "query"}, headers={"Authorization": "Bearer t0k"})
    assert answer.json("x") == {"path": "/new", "method": "POST"}
    first, second = server.seen
    assert second.path == "/new" and second.query == {"x": "1"}
    assert second.headers["authorization"] == "Bearer t0k" and second.json == {"verb": "query"}
    assert first.headers["authorization"] == "Bearer t0k"


def test_303_turns_into_a_get(https_server, pki):
    def handler(seen):
        if seen.path == "/post":
            return Reply(303, b"", {"Location": "https://127.0.0.1:%d/result" % seen.port})
        return ok(seen)

    server = https_server(handler)
    assert client(server, pki).request("POST", "/post", json_body={"a": 1}).json("x") == {"path": "/result", "method": "GET"}
    assert server.seen[1].body == b""


def test_a_redirect_to_another_host_is_refused_and_the_other_host_receives_nothing(https_server, pki):
    other = https_server(ok)
    server = https_server(lambda seen: Reply(302, b"", {"Location": "%s/sepm/api/v1/groups?token=abc" % other.url}))
    http = client(server, pki)
    with pytest.raises(TransportError) as exc:
        http.request("GET", "/sepm/api/v1/groups", headers={"Authorization": "Bearer secret-token"})
    assert exc.value.msg == ("SEPM redirected /sepm/api/v1/groups to another host (https://127.0.0.1:%d); the request was "
                             "not sent there and the credentials were not sent there either." % other.port)
    assert "sepm_url" in exc.value.hint
    assert other.seen == [] and len(server.seen) == 1 and sleeps == []


def test_a_redirect_to_http_on_the_same_host_is_another_origin(https_server, pki):
    server = https_server(lambda seen: Reply(301, b"", {"Location": "http://127.0.0.1:%d/x" % seen.port}))
    with pytest.raises(TransportError) as exc:
        client(server, pki).request("GET", "/y")
    assert "to another host (http://127.0.0.1:%d)" % server.port in exc.value.msg


def test_redirects_stop_after_three(https_server, pki):
    server = https_server(lambda seen: Reply(302, b"", {"Location": "/again"}))
    with pytest.raises(TransportError) as exc:
        client(server, pki).request("GET", "/start")
    assert "more than 3 times" in exc.value.msg
    assert len(server.seen) == 4


def test_a_redirect_without_location_is_a_vendor_fault(https_server, pki):
    server = https_server(lambda seen: Reply(302, b""))
    with pytest.raises(VendorFault) as exc:
        client(server, pki).request("GET", "/x")
    assert "HTTP 302 but no Location" in exc.value.msg


# --------------------------------------------------------------------------- retries and failures

def test_503_is_retried_with_backoff_then_succeeds(https_server, pki):
    answers = [Reply(503, "busy"), Reply(502, "bad gateway")]

    def handler(seen):
        return answers.pop(0) if answers else ok(seen)

    server = https_server(handler)
    http = client(server, pki)
    assert http.request("GET", "/x").status == 200
    assert sleeps == [0.5, 1.0] and http.http_requests == 3 and len(server.seen) == 3


def test_503_until_no_attempt_is_left(https_server, pki):
    server = https_server(lambda seen: Reply(503, "busy"))
    http = client(server, pki, retries=2, option_prefix="edr_", system="EDR")
    with pytest.raises(TransportError) as exc:
        http.request("POST", "/atpapi/v2/events", json_body={"verb": "query"})
    assert exc.value.msg == "EDR answered POST /atpapi/v2/events with HTTP 503 (3 attempts)."
    assert "edr_retries" in exc.value.hint
    assert sleeps == [0.5, 1.0] and len(server.seen) == 3


def test_a_request_that_may_change_something_is_not_retried(https_server, pki):
    server = https_server(lambda seen: Reply(503, "busy"))
    with pytest.raises(TransportError) as exc:
        client(server, pki).request("POST", "/sepm/api/v1/identity/logout", read_only=False)
    assert "(1 attempt)" in exc.value.msg and "was not sent again" in exc.value.hint
    assert len(server.seen) == 1 and sleeps == []


def test_connection_refused(pki):
    port = closed_port()
    http = client("https://127.0.0.1:%d" % port, pki, option_prefix="edr_", system="EDR", retries=1)
    with pytest.raises(TransportError) as exc:
        http.request("GET", "/atpapi/v2/appliances")
    assert exc.value.msg == "The controller cannot reach EDR at 127.0.0.1:%d: connection refused (2 attempts)." % port
    assert "edr_url" in exc.value.hint
    assert sleeps == [0.5] and http.http_requests == 2


def test_a_timeout_is_retried_then_reported(https_server, pki):
    server = https_server(lambda seen: Reply(200, {"late": True}, delay=1.0))
    http = client(server, pki, timeout=0.2, retries=1)
    with pytest.raises(TransportError) as exc:
        http.request("GET", "/slow")
    assert "no answer within 0.2 s (2 attempts)" in exc.value.msg
    assert sleeps == [0.5] and len(server.seen) == 2


def test_other_statuses_are_answers_for_the_client_to_judge(https_server, pki):
    server = https_server(lambda seen: Reply(int(seen.path[1:]), {"errorMessage": "no"}))
    http = client(server, pki)
    for status in (400, 401, 403, 404, 500):
        assert http.request("GET", "/%d" % status).status == status
    assert sleeps == []


def test_vendor_message_and_describe():
    answer = _http.Answer(400, {}, json.dumps({"errorCode": "400", "errorMessage": "  Invalid\n page  "}).encode(), "u")
    assert _http.vendor_message(answer) == "Invalid page"
    assert _http.vendor_message(_http.Answer(500, {}, b"<html/>", "u")) == ""
    assert _http.vendor_message(_http.Answer(401, {}, b'{"error": "invalid_client"}', "u")) == "invalid_client"
    assert _http.describe("Internal error", "content") == "the text 'Internal error'"
    assert _http.describe([1, 2], "content") == "a list of 2 items"
    assert _http.describe({"b": 1, "a": 2}, "result") == "an object without a result list (keys: a, b)"
    assert _http.describe(None, "content") == "nothing (null)"


def test_the_secrets_never_appear(https_server, pki):
    """Every text the client produces, with the server echoing the secret back in every way it can."""
    texts = []
    server = https_server(lambda seen: Reply(200, "echo %s" % SECRET, {"Content-Type": "text/plain"}))
    http = client(server, pki, validate_certs=False)
    with pytest.raises(VendorFault) as exc:
        http.request("GET", "/x").json("the echo")
    texts += [str(exc.value), exc.value.hint or ""]
    html = https_server(lambda seen: Reply(200, "<html><title>%s</title></html>" % SECRET, {"Content-Type": "text/html"}))
    with pytest.raises(VendorFault) as exc:
        client(html, pki).request("GET", "/x").json("the page")
    texts += [str(exc.value), exc.value.hint or ""]
    with pytest.raises(TransportError) as exc:
        client("https://127.0.0.1:%d/%s" % (closed_port(), SECRET), pki, retries=0).request("GET", "/%s" % SECRET)
    texts += [str(exc.value), exc.value.hint or ""]
    texts += http.warnings
    joined = "\n".join(texts)
    assert "********" in joined
    assert SECRET not in joined
