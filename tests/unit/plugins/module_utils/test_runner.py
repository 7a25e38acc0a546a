# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module runner and the one secret scrubber, through a real AnsibleModule."""
import json
from urllib.parse import quote, quote_plus, unquote, urlencode

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.itms.cem.plugins.module_utils import _secrets
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, NotFound
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module

SECRET = "S3cr@t pass/word%"


class Client:
    def __init__(self):
        self.warnings = ["TLS is not verified"]
        self.closed = 0

    def stats(self):
        return dict(requests=2)

    def close(self):
        self.closed += 1


@pytest.fixture
def warned(monkeypatch):
    """The warnings modules give in this test (ansible-core keeps warnings process-wide, so they are caught here)."""
    caught = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: caught.append(msg))
    return caught


def execute(capsys, run, args=None, connect=None):
    """Run a module whose run() is ``run``; (result dict, failed, the client, the module's output)."""
    client = Client()
    spec = dict(url=dict(type="str"), password=dict(type="str", no_log=True), other=dict(type="raw"))
    with patch_module_args(dict(args or {}, _ansible_check_mode=False)):
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
        with pytest.raises(SystemExit) as exit_info:
            run_module(module, run, connect or (lambda params: client), "x_requests")
    out = capsys.readouterr().out
    return json.loads(out[out.index("{"):]), exit_info.value.code != 0, client, out


def test_success_returns_changed_result_diff_stats_and_warnings(capsys, warned):
    result, failed, client, _out = execute(capsys, lambda module, c: (True, dict(value=1), dict(before=1, after=2)))
    assert not failed and result["changed"] is True and result["value"] == 1
    assert result["diff"] == dict(before=1, after=2) and result["x_requests"] == dict(requests=2)
    assert warned == ["TLS is not verified"] and client.closed == 1


def test_no_diff_key_without_a_diff(capsys):
    result, failed, _client, _out = execute(capsys, lambda module, c: (False, {}, None))
    assert not failed and result["changed"] is False and "diff" not in result


@pytest.mark.parametrize("error,kind", [(InputError, "input"), (AuthError, "auth"), (NotFound, "not_found")])
def test_typed_errors_fail_with_their_kind_and_details(capsys, warned, error, kind):
    def run(module, client):
        raise error("It broke.", hint="Do this.", where="here")
    result, failed, client, _out = execute(capsys, run)
    assert failed and result["msg"] == "It broke. Do this." and result["error_kind"] == kind
    assert result["where"] == "here" and result["x_requests"] == dict(requests=2)
    assert warned == ["TLS is not verified"] and client.closed == 1


def test_a_client_that_cannot_be_opened_fails_cleanly(capsys):
    def connect(params):
        raise InputError("cmdb_url is empty.")
    result, failed, client, _out = execute(capsys, lambda m, c: (False, {}, None), connect=connect)
    assert failed and result["error_kind"] == "input" and "x_requests" not in result and client.closed == 0


def test_an_unexpected_error_still_closes_the_client(capsys):
    client = Client()

    def run(module, c):
        raise RuntimeError("bug")
    with patch_module_args({}):
        module = AnsibleModule(argument_spec={}, supports_check_mode=True)
        with pytest.raises(RuntimeError):
            run_module(module, run, lambda params: client, "x_requests")
    assert client.closed == 1


@pytest.mark.parametrize("url", [
    "mssql://sa:%s@sql01/Symantec_CMDB" % quote(SECRET, safe=""),
    "mssql://sa:%s@sql01/Symantec_CMDB" % SECRET.replace("/", "%2F"),
    "https://LAB%%5Cu:%s@ns.example.com/" % quote(SECRET, safe=""),
])
def test_a_password_in_a_url_option_is_nowhere_in_the_output(capsys, url):
    def run(module, client):
        raise InputError("The URL %s holds a password." % url)
    _result, failed, _client, out = execute(capsys, run, dict(url=url))
    assert failed
    for spelling in (SECRET, quote(SECRET, safe=""), SECRET.replace("/", "%2F")):
        assert spelling not in out


def test_no_log_option_is_masked_in_results(capsys):
    _result, failed, _client, out = execute(capsys, lambda m, c: (False, dict(echo="pw=" + SECRET), None),
                                            dict(password=SECRET))
    assert not failed and SECRET not in out and "pw=********" in out


# --------------------------------------------------------------------------- the scrubber

@pytest.mark.parametrize("url,password", [
    ("mssql://sa:secret@db/x", "secret"),
    ("mssql://sa:p%40ss@db/x", "p%40ss"),
    ("https://u:a:b@ns/", "a:b"),
    ("mssql://sa@db/x", None),
    ("sqlite:///tmp/x.sqlite", None),
    ("not a url", None),
    (None, None),
    ("mssql://sa:secret@db:notaport/x", "secret"),
    ("mssql://sa:s3cret@[db/x", "s3cret"),  # urlsplit refuses the unbalanced [; the user-info is read by hand
    ("mssql://sa@[db/x", None),
    ("mssql://[db", None),
    ("//u:p@h/x", "p"),  # no scheme, still a user-info
    (" mssql://sa:spaced@db/x", "spaced"),
])
def test_url_password(url, password):
    assert _secrets.url_password(url) == password


USERINFO_SAFE = "!$&'()*+,;=:"  # RFC 3986 user-info: sub-delims and ':'
PCHAR_SAFE = USERINFO_SAFE + "@"  # RFC 3986 path segment


def encodings(text):
    """How common encoders write ``text``: quote (its default keeps '/'), quote and quote_plus keeping nothing, a
    form body (urlencode), and keeping what a user-info, ':' and '@', or a path segment may hold."""
    return [quote(text), quote(text, safe=""), quote_plus(text), quote_plus(text, safe=""),
            urlencode({"p": text})[2:], quote(text, safe=":@"), quote_plus(text, safe=":@"),
            quote(text, safe=USERINFO_SAFE), quote_plus(text, safe=USERINFO_SAFE), quote(text, safe=PCHAR_SAFE),
            quote_plus(text, safe=PCHAR_SAFE)]


ODD = "p@ss:w/rd%&+!x y"  # every character that some encoder keeps and another does not


@pytest.mark.parametrize("written", [ODD, quote(ODD, safe=""), quote(ODD, safe=":@"), SECRET])
def test_scrub_a_url_password_in_every_spelling(written):
    """A password as written in a URL (any encoding), decoded, or encoded again by any common encoder, is masked."""
    decoded = unquote(written)
    spellings = set([written, decoded] + encodings(decoded))
    assert len(spellings) >= 8 or written == SECRET  # the encoders do differ on ODD
    for spelling in spellings:
        assert _secrets.scrub("<%s>" % spelling, [written]) == "<********>", spelling


def test_scrub_masks_the_longest_spelling_first():
    # "ab%" is part of its own encoding "ab%25": masking the short one first would leave "25" behind
    assert _secrets.scrub("<ab%25>", ["ab%"]) == "<********>"


def test_scrub_every_spelling():
    text = "a %s b %s c %s" % (SECRET, quote(SECRET, safe=""), quote(SECRET, safe="@:!$&'()*+,;="))
    scrubbed = _secrets.scrub(text, [SECRET])
    assert SECRET not in scrubbed and "%40" not in scrubbed and scrubbed.count("********") == 3
    assert _secrets.scrub("nothing here", [None, ""]) == "nothing here"


def test_secrets_in_params():
    found = _secrets.secrets_in_params(dict(cmdb_url="mssql://sa:x1@db/c", cmdb_password="y2", n=3, t=None),
                                       secret_keys=("cmdb_password",))
    assert sorted(found) == ["x1", "y2"]


class LoggingOutClient(Client):
    """A client whose close does work worth reporting, as a SEPM logout does."""

    def stats(self):
        return dict(requests=2 + self.closed)

    def close(self):
        super(LoggingOutClient, self).close()
        self.warnings.append("the logout failed")


@pytest.mark.parametrize("fails", [False, True])
def test_the_client_is_closed_once_before_its_warnings_and_statistics_are_read(capsys, warned, fails):
    client = LoggingOutClient()

    def run(module, c):
        if fails:
            raise NotFound("gone")
        return False, {}, None

    result, failed, _client, _out = execute(capsys, run, connect=lambda params: client)
    assert failed is fails and client.closed == 1
    assert result["x_requests"] == dict(requests=3) and warned == ["TLS is not verified", "the logout failed"]
