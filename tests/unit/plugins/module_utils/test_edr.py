# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_edr.EdrClient against a scripted EDR API on a real local HTTPS server: the client-credentials token and its
renewal, tolerant appliance lists, cursor paging and its refusals, 7-day windows, and the client secret and token
absent from everything the client says."""
import datetime
import json
import re

import pytest

import http_fixture
from http_fixture import Clock, Reply, closed_port

from ansible_collections.itms.cem.plugins.module_utils import _edr, _edr_args
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, NotFound, TransportError, VendorFault

pki = http_fixture.pki  # the fixtures, under the names the tests take
https_server = http_fixture.https_server

CLIENT_ID = "O2ID.cem-lab.itms"
SECRET = "edr-client-secret-never-shown-0815"
UTC = datetime.timezone.utc
END = datetime.datetime(2026, 3, 21, 12, 0, 0, 250000, tzinfo=UTC)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class FakeEdr:
    """The EDR API behaviour the client relies on: tokens, appliances, and cursor-paged queries over ``records``."""

    def __init__(self, records=25):
        self.tokens = []
        self.dead = set()
        self.expires_in = 3600
        self.records = [{"uuid": "e%03d" % i, "device_name": "PC%03d" % i} for i in range(records)]
        self.appliances = {"appliance_list": [{"appliance_id": "A1", "appliance_name": "edr1",
                                               "software_version": "4.9.0-123", "role": "ALL_IN_ONE"}]}
        self.routes = {}
        self.cursor_override = None
        self.totals = {}

    def __call__(self, seen):
        if seen.path == "/atpapi/oauth2/tokens":
            return self.routes.get(seen.path) or self.token(seen)
        if seen.bearer not in self.tokens or seen.bearer in self.dead:
            return Reply(401, {"error": "invalid_token", "message": "token %s is not valid" % seen.bearer})
        if seen.path in self.routes:
            route = self.routes[seen.path]
            return route(seen) if callable(route) else route
        if seen.path == "/atpapi/v2/appliances":
            return Reply(200, self.appliances)
        if seen.method == "POST" and seen.path in ("/atpapi/v2/events", "/atpapi/v2/systemactivities",
                                                   "/atpapi/v2/entities/endpoints"):
            return self.query(seen)
        return Reply(404, {"error": "not_found"})

    def token(self, seen):
        if seen.basic != (CLIENT_ID, SECRET) or seen.form != {"grant_type": "client_credentials"}:
            return Reply(401, {"error": "invalid_client", "error_description": "bad secret %s" % (seen.basic or ("", ""))[1]})
        token = "edr-token-%d-bearer" % len(self.tokens)
        self.tokens.append(token)
        answer = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return Reply(200, answer)

    def query(self, seen):
        body = seen.json
        if body.get("verb") != "query" or not 1 <= body.get("limit", 0) <= 1000:
            return Reply(400, {"error": "bad_request", "message": "invalid query"})
        offset = int(body["next"]) if str(body.get("next", "")).isdigit() else 0
        limit = body["limit"]
        result = self.records[offset:offset + limit]
        following = offset + limit
        cursor = str(following) if following < len(self.records) else ""
        if self.cursor_override is not None:
            cursor = self.cursor_override
        total = self.totals.get(body.get("start_time"), len(self.records))
        return Reply(200, {"next": cursor, "result": result, "total": total})


@pytest.fixture
def edr(https_server):
    fake = FakeEdr()
    server = https_server(fake)
    return fake, server


def client_for(edr, pki, **options):
    fake, server = edr
    settings = dict(ca_path=pki["ca_pem"], sleep=lambda seconds: None, clock=Clock(50.0))
    settings.update(options)
    return _edr.EdrClient(server.url + "/atpapi/v2", settings.pop("client_id", CLIENT_ID),
                          settings.pop("client_secret", SECRET), **settings)


def token_requests(server):
    return [s for s in server.seen if s.path == "/atpapi/oauth2/tokens"]


def queries(server, path="/atpapi/v2/events"):
    return [s.json for s in server.seen if s.path == path]


# --------------------------------------------------------------------------- token

def test_the_token_request_is_basic_auth_and_a_form(edr, pki):
    fake, server = edr
    client = client_for(edr, pki)
    assert client.base_url == server.url
    assert client.appliances() == fake.appliances["appliance_list"]
    token, call = server.seen
    assert token.method == "POST" and token.basic == (CLIENT_ID, SECRET)
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.form == {"grant_type": "client_credentials"}
    assert call.method == "GET" and call.path == "/atpapi/v2/appliances" and call.bearer == fake.tokens[0]
    assert client.stats() == {"http_requests": 2, "calls": {"appliances": 1, "token": 1}, "tokens": 1,
                              "reauthentications": 0, "pages": 0}


def test_refused_credentials_are_an_auth_error_with_the_hint(edr, pki):
    client = client_for(edr, pki, client_secret="wrong-" + SECRET)
    with pytest.raises(AuthError) as exc:
        client.appliances()
    assert exc.value.msg == "EDR refused the client credentials of %s (HTTP 401)." % CLIENT_ID
    assert "Settings > Data Sharing" in exc.value.hint
    assert SECRET not in str(exc.value)


def test_a_token_answer_without_access_token(edr, pki):
    fake, server = edr
    fake.routes["/atpapi/oauth2/tokens"] = Reply(200, {"token_type": "Bearer"})
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).appliances()
    assert "without an access_token" in exc.value.msg


def test_the_token_is_renewed_before_it_expires(edr, pki):
    fake, server = edr
    clock = Clock(50.0)
    client = client_for(edr, pki, clock=clock)
    client.appliances()
    clock.now += 3539
    client.appliances()
    assert len(token_requests(server)) == 1
    clock.now += 2
    client.appliances()
    assert len(token_requests(server)) == 2 and server.seen[-1].bearer == fake.tokens[1]
    assert client.stats()["tokens"] == 2 and client.stats()["reauthentications"] == 0


def test_expires_in_is_honoured(edr, pki):
    fake, server = edr
    fake.expires_in = 600
    clock = Clock(50.0)
    client = client_for(edr, pki, clock=clock)
    client.appliances()
    clock.now += 541
    client.appliances()
    assert len(token_requests(server)) == 2


def test_a_401_renews_the_token_once(edr, pki):
    fake, server = edr
    client = client_for(edr, pki)
    client.appliances()
    fake.dead.add(fake.tokens[0])
    client.appliances()
    assert [s.path.rsplit("/", 1)[-1] for s in server.seen] == ["tokens", "appliances", "appliances", "tokens", "appliances"]
    assert client.stats()["reauthentications"] == 1
    fake.routes["/atpapi/v2/appliances"] = Reply(401, {"error": "invalid_token"})
    with pytest.raises(AuthError) as exc:
        client.appliances()
    assert "EDR refused the token twice for the appliance list" in exc.value.msg


@pytest.mark.parametrize("answer", [
    [{"appliance_id": "A1"}],
    {"appliance_list": [{"appliance_id": "A1"}]},
    {"result": [{"appliance_id": "A1"}, "junk"]},
    {"APPLIANCE_LIST": [{"appliance_id": "A1"}]},
])
def test_appliances_are_read_tolerantly(edr, pki, answer):
    fake, server = edr
    fake.appliances = answer
    assert client_for(edr, pki).appliances() == [{"appliance_id": "A1"}]


def test_appliances_refuse_anything_else(edr, pki):
    fake, server = edr
    fake.appliances = {"status": "ok"}
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).appliances()
    assert "instead of a list of appliances" in exc.value.msg and "keys: status" in exc.value.msg


# --------------------------------------------------------------------------- queries

def test_cursor_paging_follows_next(edr, pki):
    fake, server = edr
    start = END - datetime.timedelta(days=1)
    client = client_for(edr, pki)
    items = client.query("events", where="type_id:8000", start=start, end=END, limit=10)
    assert items == fake.records
    first, second, third = queries(server)
    assert first == {"verb": "query", "limit": 10, "where": "type_id:8000",
                     "start_time": "2026-03-20T12:00:00.250Z", "end_time": "2026-03-21T12:00:00.250Z"}
    assert second == {"verb": "query", "next": "10", "limit": 10}
    assert third == {"verb": "query", "next": "20", "limit": 10}
    assert client.stats()["pages"] == 3 and client.stats()["calls"]["events"] == 3


def test_none_keys_are_left_out_and_the_other_query_paths(edr, pki):
    fake, server = edr
    client = client_for(edr, pki)
    assert len(client.query("systemactivities")) == 25
    assert queries(server, "/atpapi/v2/systemactivities")[0] == {"verb": "query", "limit": 1000}
    client.query("endpoints", limit=1000)
    assert queries(server, "/atpapi/v2/entities/endpoints")[0] == {"verb": "query", "limit": 1000}


def test_max_items_stops_early(edr, pki):
    fake, server = edr
    items = client_for(edr, pki).query("events", limit=10, max_items=12)
    assert items == fake.records[:12]
    assert len(queries(server)) == 2


def test_a_repeated_cursor_stops_paging(edr, pki):
    fake, server = edr
    fake.cursor_override = "same"
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).query("events", limit=10)
    assert exc.value.msg == "EDR answered page 2 of events with a cursor it had already given; paging stopped."
    assert len(queries(server)) == 2


@pytest.mark.parametrize("answer, words", [
    ({"next": "", "total": 0}, "an object without a result list (keys: next, total)"),
    ("Internal error", "the text 'Internal error'"),
    ([{"uuid": "e1"}], "a list of 1 item"),
])
def test_an_answer_without_a_result_list_is_refused(edr, pki, answer, words):
    fake, server = edr
    fake.routes["/atpapi/v2/events"] = Reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).query("events")
    assert exc.value.msg == ("EDR answered page 1 of events (POST /atpapi/v2/events) with %s instead of a result page; "
                             "paging stopped." % words)


def test_a_long_window_is_split_into_7_day_windows(edr, pki):
    fake, server = edr
    start = END - datetime.timedelta(days=20)
    client = client_for(edr, pki)
    items = client.query("events", start=start, end=END, limit=1000)
    assert len(items) == 3 * 25  # the fake answers every window with every record
    windows = [(q["start_time"], q["end_time"]) for q in queries(server)]
    assert windows == [("2026-03-01T12:00:00.250Z", "2026-03-08T12:00:00.250Z"),
                       ("2026-03-08T12:00:00.250Z", "2026-03-15T12:00:00.250Z"),
                       ("2026-03-15T12:00:00.250Z", "2026-03-21T12:00:00.250Z")]
    assert all(ISO.match(t) for pair in windows for t in pair)


def test_windows_without_io():
    week = datetime.timedelta(days=7)
    assert _edr.windows(END - week, END) == [(END - week, END)]
    assert _edr.windows(None, END) == [(None, END)]
    assert _edr.windows(END - datetime.timedelta(days=1), None, now=END) == [(END - datetime.timedelta(days=1), None)]
    # A start older than 7 days without an end is split up to now.
    assert _edr.windows(END - 2 * week, None, now=END) == [(END - 2 * week, END - week), (END - week, END)]
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    assert _edr.iso_time(datetime.datetime(2026, 3, 21, 9, 0, 0, 999999, tzinfo=tokyo)) == "2026-03-21T00:00:00.999Z"
    with pytest.raises(InputError):
        _edr.windows(datetime.datetime(2026, 3, 1), END)  # naive
    with pytest.raises(InputError):
        _edr.windows(END, END - week)
    with pytest.raises(InputError):
        _edr.windows("2026-03-01", END)


def test_count_is_the_total_of_limit_one_queries(edr, pki):
    fake, server = edr
    start = END - datetime.timedelta(days=10)
    fake.totals = {"2026-03-11T12:00:00.250Z": 40, "2026-03-18T12:00:00.250Z": 2}
    assert client_for(edr, pki).count("events", where="type_id:8001", start=start, end=END) == 42
    assert [(q["limit"], q["where"]) for q in queries(server)] == [(1, "type_id:8001"), (1, "type_id:8001")]


def test_count_without_total(edr, pki):
    fake, server = edr
    fake.routes["/atpapi/v2/events"] = Reply(200, {"result": [], "next": ""})
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).count("events")
    assert "without a numeric total" in exc.value.msg


def test_query_arguments_are_checked_before_anything_is_sent(edr, pki):
    fake, server = edr
    client = client_for(edr, pki)
    for args in (dict(operation="appliances"), dict(operation="events", limit=1001), dict(operation="events", limit=0),
                 dict(operation="events", limit=True), dict(operation="events", start=datetime.datetime(2026, 1, 1))):
        with pytest.raises(InputError):
            client.query(**args)
    assert server.seen == []


def test_queries_are_retried_on_503_and_errors_are_typed(edr, pki):
    fake, server = edr
    answers = [Reply(503, "busy")]
    fake.routes["/atpapi/v2/events"] = lambda seen: answers.pop() if answers else fake.query(seen)
    slept = []
    assert len(client_for(edr, pki, sleep=slept.append).query("events")) == 25
    assert slept == [0.5]
    fake.routes["/atpapi/v2/events"] = Reply(400, {"error": "bad_request", "message": "where: syntax error"})
    with pytest.raises(VendorFault) as exc:
        client_for(edr, pki).query("events", where="(")
    assert exc.value.msg == "EDR refused page 1 of events (POST /atpapi/v2/events) as invalid (HTTP 400): where: syntax error."
    assert "7 days" in exc.value.hint
    fake.routes["/atpapi/v2/events"] = Reply(404, {"error": "not_found"})
    with pytest.raises(NotFound):
        client_for(edr, pki).query("events")


def test_connection_refused(pki):
    client = _edr.EdrClient("127.0.0.1:%d" % closed_port(), CLIENT_ID, SECRET, ca_path=pki["ca_pem"], retries=0)
    with pytest.raises(TransportError) as exc:
        client.appliances()
    assert "cannot reach EDR at 127.0.0.1:" in exc.value.msg and "connection refused" in exc.value.msg


# --------------------------------------------------------------------------- secrets and glue

def test_the_client_secret_and_the_tokens_never_appear(edr, pki):
    fake, server = edr
    texts = []
    fake.routes["/atpapi/v2/events"] = lambda seen: Reply(400, {"message": "token %s, secret %s" % (seen.bearer, SECRET)})
    fake.routes["/atpapi/v2/systemactivities"] = lambda seen: Reply(200, "<html><title>%s</title></html>" % seen.bearer,
                                                                    {"Content-Type": "text/html"})
    fake.routes["/atpapi/v2/entities/endpoints"] = lambda seen: Reply(500, {"error": seen.bearer})
    client = client_for(edr, pki, validate_certs=False, ca_path=None)
    for operation, error in (("events", VendorFault), ("systemactivities", VendorFault), ("endpoints", VendorFault)):
        with pytest.raises(error) as exc:
            client.query(operation)
        texts += [str(exc.value), exc.value.hint or ""]
    with pytest.raises(AuthError) as exc:
        client_for(edr, pki, client_secret=SECRET + "-old").appliances()
    texts += [str(exc.value), exc.value.hint or ""]
    client.close()
    texts += client.warnings + [json.dumps(client.stats())]
    joined = "\n".join(texts)
    assert "token ********, secret ********" in joined
    for secret in [SECRET] + fake.tokens:
        assert secret not in joined


def test_argument_spec_and_connect(edr, pki):
    fake, server = edr
    spec = _edr_args.edr_argument_spec(max_event_rate=dict(type="int", default=400))
    assert spec["edr_client_secret"]["no_log"] is True and "max_event_rate" in spec
    assert spec["edr_url"]["fallback"][1] == ["ITMS_EDR_URL"]
    params = dict((k, v.get("default")) for k, v in _edr_args.EDR_SPEC.items())
    params.update(edr_url=server.url, edr_client_id=CLIENT_ID, edr_client_secret=SECRET, edr_ca_path=pki["ca_pem"])
    client = _edr_args.connect(params)
    assert client.appliances()[0]["software_version"] == "4.9.0-123"
    client.close()
    for missing in ("edr_client_id", "edr_client_secret"):
        with pytest.raises(InputError) as exc:
            _edr_args.connect(dict(params, **{missing: ""}))
        assert missing in str(exc.value)
