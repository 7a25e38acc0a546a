# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sepm.SepmClient against a scripted SEPM on a real local HTTPS server: logon, token renewal, paging and its
refusals, status mapping, logout, and the password and token absent from everything the client says."""
import json

import pytest

import http_fixture
from http_fixture import Clock, Reply

from ansible_collections.itms.cem.plugins.module_utils import _sepm, _sepm_args
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, NotFound, TransportError, VendorFault

pki = http_fixture.pki  # the fixtures, under the names the tests take
https_server = http_fixture.https_server

USER = "sepmadmin"
PASSWORD = "Pa55-sepm-never-shown-4711"
API = "/sepm/api/v1"


class FakeSepm:
    """The SEPM REST behaviour the client relies on, with knobs for the failures it must survive."""

    def __init__(self, total=7):
        self.tokens = []
        self.dead = set()
        self.items = [{"id": "G%02d" % i, "name": "group %d" % i} for i in range(total)]
        self.token_expiration = 3600
        self.logon_answer = None  # replaces the token answer
        self.refuse_once = set()  # (path, pageIndex) answered 401 once
        self.page_override = {}  # pageIndex -> Reply
        self.routes = {}  # path -> Reply or callable(seen)
        self.ignore_page_index = False

    def __call__(self, seen):
        if seen.path == API + "/identity/authenticate":
            return self.authenticate(seen)
        if seen.bearer is None or seen.bearer not in self.tokens or seen.bearer in self.dead:
            return Reply(401, {"errorCode": "401", "errorMessage": "Token is not valid"})
        key = (seen.path, seen.query.get("pageIndex"))
        if key in self.refuse_once:
            self.refuse_once.discard(key)
            self.dead.add(seen.bearer)
            return Reply(401, {"errorCode": "401", "errorMessage": "Session expired"})
        if seen.path in self.routes:
            route = self.routes[seen.path]
            return route(seen) if callable(route) else route
        if seen.path == API + "/identity/logout":
            self.dead.add(seen.bearer)
            return Reply(204, b"")
        if seen.path == API + "/groups":
            return self.groups(seen)
        if seen.path == API + "/version":
            return Reply(200, {"API_SEQUENCE": "240604011", "API_VERSION": "14.3.9000", "version": "14.3.25029.9000"})
        return Reply(404, {"errorCode": "404", "errorMessage": "Not found: %s" % seen.path})

    def authenticate(self, seen):
        body = seen.json
        if self.logon_answer is not None:
            return self.logon_answer
        if set(body) != {"username", "password", "domain"}:
            return Reply(400, {"errorCode": "400", "errorMessage": "username, password and domain are required"})
        if body["username"] != USER or body["password"] != PASSWORD:
            return Reply(401, {"errorCode": "401", "errorMessage": "Invalid password %s for %s" % (body["password"], USER)})
        token = "tok%d-secret-bearer" % len(self.tokens)
        self.tokens.append(token)
        answer = {"token": token, "adminId": "A1", "username": USER, "domain": body["domain"], "refreshToken": "refresh-" + token}
        if self.token_expiration is not None:
            answer["tokenExpiration"] = self.token_expiration
        return Reply(200, answer)

    def groups(self, seen):
        index = 1 if self.ignore_page_index else int(seen.query.get("pageIndex", 1))
        if index in self.page_override:
            return self.page_override[index]
        size = int(seen.query.get("pageSize", 25))
        content = self.items[(index - 1) * size:index * size]
        pages = max(1, -(-len(self.items) // size))
        return Reply(200, {"content": content, "number": index - 1, "size": size, "totalElements": len(self.items),
                           "totalPages": pages, "firstPage": index == 1, "lastPage": index >= pages})


@pytest.fixture
def sepm(https_server):
    fake = FakeSepm()
    server = https_server(fake, cert="self_signed")
    return fake, server


def client_for(sepm, pki, **options):
    fake, server = sepm
    settings = dict(fingerprint=pki["self_signed_sha256"], sleep=lambda seconds: None, clock=Clock())
    settings.update(options)
    return _sepm.SepmClient(server.url + "/sepm/api/v1/", settings.pop("username", USER),
                            settings.pop("password", PASSWORD), **settings)


def logons(server):
    return [s for s in server.seen if s.path == API + "/identity/authenticate"]


# --------------------------------------------------------------------------- logon and token

def test_logon_sends_the_domain_and_api_calls_carry_the_bearer(sepm, pki):
    fake, server = sepm
    client = client_for(sepm, pki)
    assert client.base_url == server.url  # /sepm/api/v1/ cut off
    assert client.get("version")["version"] == "14.3.25029.9000"
    logon, call = server.seen
    assert logon.method == "POST" and logon.json == {"username": USER, "password": PASSWORD, "domain": ""}
    assert logon.headers["content-type"] == "application/json" and logon.headers["accept"] == "application/json"
    assert call.method == "GET" and call.path == API + "/version"
    assert call.headers["authorization"] == "Bearer " + fake.tokens[0] and call.headers["accept"] == "application/json"
    assert client.stats() == {"http_requests": 2, "calls": {"authenticate": 1, "version": 1}, "logins": 1,
                              "reauthentications": 0, "pages": 0}


def test_the_domain_given_is_sent(sepm, pki):
    fake, server = sepm
    client_for(sepm, pki, domain="Lab").get("version")
    assert logons(server)[0].json["domain"] == "Lab"


def test_a_refused_logon_names_user_and_domain_without_the_password(sepm, pki):
    client = client_for(sepm, pki, password="wrong-" + PASSWORD, domain="Lab")
    with pytest.raises(AuthError) as exc:
        client.get("version")
    assert exc.value.msg.startswith("SEPM refused the logon of sepmadmin in domain 'Lab' (HTTP 401): Invalid password ")
    assert "sepm_domain" in exc.value.hint and "system administrator" in exc.value.hint
    assert "wrong-" not in str(exc.value) and PASSWORD not in str(exc.value)  # SEPM echoed it; scrubbed


def test_a_logon_answer_without_token_or_as_html(sepm, pki):
    fake, server = sepm
    fake.logon_answer = Reply(200, {"adminId": "A1"})
    with pytest.raises(VendorFault) as exc:
        client_for(sepm, pki).get("version")
    assert "without a token" in exc.value.msg
    fake.logon_answer = Reply(200, "<html><head><title>Proxy login</title></head></html>", {"Content-Type": "text/html"})
    with pytest.raises(VendorFault) as exc:
        client_for(sepm, pki).get("version")
    assert "with HTML (HTTP 200, text/html, title 'Proxy login') instead of JSON" in exc.value.msg


def test_a_401_renews_the_token_once_and_repeats_the_call(sepm, pki):
    fake, server = sepm
    client = client_for(sepm, pki)
    client.login()
    fake.dead.add(fake.tokens[0])  # SEPM forgot the session
    assert client.get("version")["API_VERSION"] == "14.3.9000"
    assert [s.path for s in server.seen] == [API + "/identity/authenticate", API + "/version",
                                             API + "/identity/authenticate", API + "/version"]
    assert server.seen[-1].bearer == fake.tokens[1]
    stats = client.stats()
    assert stats["logins"] == 2 and stats["reauthentications"] == 1


def test_a_second_401_is_an_auth_error(sepm, pki):
    fake, server = sepm
    fake.routes[API + "/version"] = Reply(401, {"errorMessage": "Unauthorized"})
    client = client_for(sepm, pki)
    with pytest.raises(AuthError) as exc:
        client.get("version")
    assert "SEPM refused the token twice for version (GET /sepm/api/v1/version)" in exc.value.msg
    assert len(logons(server)) == 2 and len(server.seen) == 4


def test_the_token_is_renewed_when_less_than_60_seconds_remain(sepm, pki):
    fake, server = sepm
    clock = Clock()
    client = client_for(sepm, pki, clock=clock)
    client.get("version")
    clock.now += 3600 - 61
    client.get("version")
    assert len(logons(server)) == 1
    clock.now += 2  # 59 s left
    client.get("version")
    assert len(logons(server)) == 2 and server.seen[-1].bearer == fake.tokens[1]
    assert client.stats()["reauthentications"] == 0  # renewed ahead, not refused


def test_without_token_expiration_an_hour_is_assumed(sepm, pki):
    fake, server = sepm
    fake.token_expiration = None
    clock = Clock()
    client = client_for(sepm, pki, clock=clock)
    client.get("version")
    clock.now += 3539
    client.get("version")
    assert len(logons(server)) == 1
    clock.now += 2
    client.get("version")
    assert len(logons(server)) == 2


# --------------------------------------------------------------------------- reads

def test_path_parameters_are_quoted_and_unknown_names_refused(sepm, pki):
    fake, server = sepm
    client = client_for(sepm, pki)
    # The server sees the raw request path: the route matches only if the client quoted "/" and " ".
    fake.routes[API + "/groups/a%2Fb%20c/locations"] = Reply(200, [{"id": "L1", "name": "Default"}])
    assert client.get("group_locations", {"groupId": "a/b c"}, {"hasName": True}) == [{"id": "L1", "name": "Default"}]
    assert server.seen[-1].path == API + "/groups/a%2Fb%20c/locations" and server.seen[-1].query == {"hasName": "True"}
    sent = len(server.seen)
    for args in (("nope",), ("groups", None, {"bogus": 1}), ("group",), ("group", {"groupId": "1", "x": "2"}),
                 ("authenticate",)):
        with pytest.raises(InputError):
            client.get(*args)
    assert len(server.seen) == sent  # refused before anything is sent


def test_case_duplicate_keys_are_kept(sepm, pki):
    fake, server = sepm
    fake.routes[API + "/computers"] = Reply(200, b'{"content": [{"computerName": "PC1", "sonar": "1", "SONAR": "0"}], '
                                                 b'"lastPage": true}', {"Content-Type": "application/json"})
    items = client_for(sepm, pki).pages("computers")
    assert items == [{"computerName": "PC1", "sonar": "1", "SONAR": "0"}]


@pytest.mark.parametrize("status, error, words", [
    (404, NotFound, "SEPM has no group (GET /sepm/api/v1/groups/G9) (HTTP 404): Gone"),
    (403, AuthError, "SEPM forbade group (GET /sepm/api/v1/groups/G9) (HTTP 403): Gone"),
    (400, VendorFault, "SEPM refused group (GET /sepm/api/v1/groups/G9) as invalid (HTTP 400): Gone"),
    (500, VendorFault, "SEPM answered group (GET /sepm/api/v1/groups/G9) with HTTP 500: Gone"),
])
def test_statuses_become_typed_errors(sepm, pki, status, error, words):
    fake, server = sepm
    fake.routes[API + "/groups/G9"] = Reply(status, {"errorCode": str(status), "errorMessage": "Gone"})
    with pytest.raises(error) as exc:
        client_for(sepm, pki).get("group", {"groupId": "G9"})
    assert exc.type is error  # not a subclass
    assert exc.value.msg == words + "."
    assert exc.value.hint
    if status == 403:
        assert "system administrator" in exc.value.hint


def test_a_503_is_retried(sepm, pki):
    fake, server = sepm
    answers = [Reply(503, "busy")]
    fake.routes[API + "/version"] = lambda seen: answers.pop() if answers else Reply(200, {"version": "14.3"})
    slept = []
    assert client_for(sepm, pki, sleep=slept.append).get("version") == {"version": "14.3"}
    assert slept == [0.5]


# --------------------------------------------------------------------------- paging

def test_pages_until_the_last_page(sepm, pki):
    fake, server = sepm
    client = client_for(sepm, pki)
    assert client.pages("groups", query={"mode": "list"}, page_size=3) == fake.items
    calls = [s for s in server.seen if s.path == API + "/groups"]
    assert [c.query for c in calls] == [{"mode": "list", "pageIndex": str(i), "pageSize": "3"} for i in (1, 2, 3)]
    assert client.stats()["pages"] == 3 and client.stats()["calls"]["groups"] == 3


def test_pages_stop_at_total_pages_without_last_page(sepm, pki):
    fake, server = sepm
    fake.routes[API + "/groups"] = lambda seen: Reply(200, {"content": [{"id": seen.query["pageIndex"]}], "totalPages": 2})
    assert client_for(sepm, pki).pages("groups", page_size=1) == [{"id": "1"}, {"id": "2"}]


def test_pages_stop_on_an_empty_page_and_at_max_items(sepm, pki):
    fake, server = sepm

    def two_pages_then_empty(seen):
        index = seen.query["pageIndex"]
        return Reply(200, {"content": [] if index == "3" else [{"id": index}]})

    fake.routes[API + "/groups"] = two_pages_then_empty
    client = client_for(sepm, pki)
    assert client.pages("groups", page_size=1) == [{"id": "1"}, {"id": "2"}]
    assert client.pages("groups", page_size=1, max_items=1) == [{"id": "1"}]
    assert [s.query["pageIndex"] for s in server.seen if s.path == API + "/groups"] == ["1", "2", "3", "1"]


def test_a_401_in_the_middle_of_paging_continues_at_the_same_page(sepm, pki):
    fake, server = sepm
    fake.refuse_once.add((API + "/groups", "2"))
    client = client_for(sepm, pki)
    assert client.pages("groups", page_size=3) == fake.items
    assert [(s.path.rsplit("/", 1)[-1], s.query.get("pageIndex")) for s in server.seen] == [
        ("authenticate", None), ("groups", "1"), ("groups", "2"), ("authenticate", None), ("groups", "2"), ("groups", "3")]
    assert client.stats()["reauthentications"] == 1 and client.stats()["pages"] == 3


@pytest.mark.parametrize("reply, words", [
    (Reply(200, b'"Internal error"', {"Content-Type": "application/json"}),  # the JSON string SEPM answers (pitfall 5)
     "SEPM answered page 2 of groups with the text 'Internal error' instead of a page; paging stopped."),
    (Reply(200, [1, 2]), "SEPM answered page 2 of groups with a list of 2 items instead of a page; paging stopped."),
    (Reply(200, {"errorCode": "500"}), "SEPM answered page 2 of groups with an object without a content list "
                                       "(keys: errorCode) instead of a page; paging stopped."),
    (Reply(200, "<html><title>Login</title></html>", {"Content-Type": "text/html"}),
     "SEPM answered page 2 of groups with HTML (HTTP 200, text/html, title 'Login') instead of JSON."),
])
def test_paging_stops_on_anything_that_is_not_a_page(sepm, pki, reply, words):
    fake, server = sepm
    fake.page_override[2] = reply
    client = client_for(sepm, pki)
    with pytest.raises(VendorFault) as exc:
        client.pages("groups", page_size=3)
    assert exc.value.msg == words
    assert [s.query.get("pageIndex") for s in server.seen if s.path == API + "/groups"] == ["1", "2"]


def test_paging_stops_on_a_repeated_page(sepm, pki):
    fake, server = sepm
    fake.ignore_page_index = True
    fake.items = fake.items * 3  # so that page 1 is never the last
    with pytest.raises(VendorFault) as exc:
        client_for(sepm, pki).pages("groups", page_size=3)
    assert exc.value.msg == "SEPM answered page 2 of groups with the same items as page 1; paging stopped."
    assert len([s for s in server.seen if s.path == API + "/groups"]) == 2


def test_paging_has_a_hard_cap(sepm, pki, monkeypatch):
    fake, server = sepm
    monkeypatch.setattr(_sepm, "MAX_PAGES", 4)
    fake.routes[API + "/groups"] = lambda seen: Reply(200, {"content": [{"id": seen.query["pageIndex"]}], "lastPage": False})
    with pytest.raises(VendorFault) as exc:
        client_for(sepm, pki).pages("groups", page_size=1)
    assert "beyond page 4" in exc.value.msg
    assert len([s for s in server.seen if s.path == API + "/groups"]) == 4


def test_pages_refuses_an_operation_that_is_not_paged(sepm, pki):
    with pytest.raises(InputError):
        client_for(sepm, pki).pages("version")


# --------------------------------------------------------------------------- redirects through the client

def test_a_same_host_redirect_keeps_the_bearer(sepm, pki):
    fake, server = sepm
    fake.routes[API + "/version"] = Reply(302, b"", {"Location": API + "/version2"})
    fake.routes[API + "/version2"] = lambda seen: Reply(200, {"bearer": seen.bearer})
    client = client_for(sepm, pki)
    assert client.get("version") == {"bearer": fake.tokens[0]}


def test_a_redirect_to_another_host_sends_it_nothing(sepm, pki, https_server):
    fake, server = sepm
    other = https_server(lambda seen: Reply(200, {"stolen": seen.headers.get("authorization")}), cert="self_signed")
    fake.routes[API + "/version"] = Reply(302, b"", {"Location": other.url + API + "/version"})
    with pytest.raises(TransportError) as exc:
        client_for(sepm, pki).get("version")
    assert "SEPM redirected /sepm/api/v1/version to another host (https://127.0.0.1:%d)" % other.port in exc.value.msg
    assert other.seen == []


# --------------------------------------------------------------------------- logout

def test_close_logs_out_once(sepm, pki):
    fake, server = sepm
    client = client_for(sepm, pki)
    client.get("version")
    client.close()
    logout = server.seen[-1]
    assert logout.method == "POST" and logout.path == API + "/identity/logout" and logout.bearer == fake.tokens[0]
    assert fake.tokens[0] in fake.dead
    assert client.stats()["calls"]["logout"] == 1 and client.warnings == []
    client.close()
    assert len(server.seen) == 3


def test_close_without_logon_sends_nothing(sepm, pki):
    fake, server = sepm
    client_for(sepm, pki).close()
    assert server.seen == []


def test_a_failed_logout_is_a_warning(sepm, pki):
    fake, server = sepm
    fake.routes[API + "/identity/logout"] = Reply(500, {"errorMessage": "boom"})
    client = client_for(sepm, pki)
    client.get("version")
    client.close()
    assert client.warnings == ["SEPM did not log out the session (HTTP 500: boom); its token expires by itself."]
    fake.routes[API + "/identity/logout"] = Reply(503, "busy")
    client = client_for(sepm, pki)
    client.get("version")
    client.close()
    assert len(client.warnings) == 1 and "HTTP 503 (1 attempt)" in client.warnings[0]


# --------------------------------------------------------------------------- secrets

def test_the_password_and_the_tokens_never_appear(sepm, pki, https_server):
    fake, server = sepm
    texts = []

    def echo(seen):
        return Reply(400, {"errorMessage": "bad token %s, password %s" % (seen.bearer, PASSWORD)})

    fake.routes[API + "/groups/G1"] = echo
    fake.routes[API + "/groups/G2"] = lambda seen: Reply(200, "<html><title>%s</title></html>" % seen.bearer,
                                                         {"Content-Type": "text/html"})
    fake.routes[API + "/groups/G3"] = lambda seen: Reply(200, "oops %s" % seen.bearer)
    fake.routes[API + "/groups/G4"] = lambda seen: Reply(200, {"content": "no page for %s" % seen.bearer})
    fake.routes[API + "/identity/logout"] = lambda seen: Reply(500, {"errorMessage": "cannot end %s" % seen.bearer})
    client = client_for(sepm, pki, validate_certs=False, fingerprint=None)
    for group in ("G1", "G2", "G3"):
        with pytest.raises(VendorFault) as exc:
            client.get("group", {"groupId": group})
        texts += [str(exc.value), exc.value.hint or ""]
    fake.routes[API + "/groups"] = fake.routes[API + "/groups/G4"]
    with pytest.raises(VendorFault) as exc:
        client.pages("groups")
    texts += [str(exc.value), exc.value.hint or ""]
    client.close()
    with pytest.raises(AuthError) as exc:
        client_for(sepm, pki, password=PASSWORD + "x").get("version")
    texts += [str(exc.value), exc.value.hint or ""]
    texts += client.warnings + [json.dumps(client.stats())]
    joined = "\n".join(texts)
    assert "cannot end ********" in joined and "bad token ********, password ********" in joined
    for secret in [PASSWORD] + fake.tokens + ["refresh-" + t for t in fake.tokens]:
        assert secret not in joined


# --------------------------------------------------------------------------- module glue

def test_argument_spec_and_connect(sepm, pki):
    fake, server = sepm
    spec = _sepm_args.sepm_argument_spec(name=dict(type="str"))
    assert spec["sepm_password"]["no_log"] is True and spec["name"] == dict(type="str")
    assert spec["sepm_url"]["fallback"][1] == ["ITMS_SEPM_URL"] and spec["sepm_domain"]["default"] == ""
    assert "name" not in _sepm_args.SEPM_SPEC
    params = dict((k, v.get("default")) for k, v in _sepm_args.SEPM_SPEC.items())
    params.update(sepm_url=server.url, sepm_username=USER, sepm_password=PASSWORD, sepm_fingerprint=pki["self_signed_sha256"])
    client = _sepm_args.connect(params)
    assert client.get("version")["version"] == "14.3.25029.9000"
    client.close()
    for missing in ("sepm_username", "sepm_password"):
        with pytest.raises(InputError) as exc:
            _sepm_args.connect(dict(params, **{missing: None}))
        assert missing in str(exc.value)
    with pytest.raises(InputError) as exc:
        _sepm_args.connect(dict(params, sepm_timeout=0))  # refused, not replaced by the default
    assert "sepm_timeout" in str(exc.value)
    assert server.seen[0].json["domain"] == ""  # the option's default reaches the logon
