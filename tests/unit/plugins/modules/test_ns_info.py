# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.ns_info with a fake client, and its argument handling with the real client."""
import json

import ns_fake
from ns_fake import CONNECTION

from ansible_collections.itms.cem.plugins.module_utils._asdk import PostBindingRefused
from ansible_collections.itms.cem.plugins.module_utils._asdk_wire import ZERO_GUID
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, TransportError
from ansible_collections.itms.cem.plugins.modules import ns_info

fake_ns = ns_fake.fake_ns  # the fixture, under the name the tests take


class Probing:
    """Adds the explicit-binding probe the fake client does not have."""

    def __init__(self, client, soap_works=True):
        self.client = client
        self.soap_works = soap_works

    def __call__(self, binding, method, **args):
        if binding == "soap" and not self.soap_works:
            raise PostBindingRefused("no")
        return self.client.call(method, **args)


def test_reports_what_can_be_known(run_module, fake_ns):
    fake_ns.call_with_binding = Probing(fake_ns)
    result, failed = run_module(ns_info.main, dict(CONNECTION, ca_path=None))
    assert not failed and result["changed"] is False
    assert result["user"] == "LAB\\cemadmin" and result["authenticated"] is True
    assert result["bindings"] == {"post": True, "soap": True} and result["binding"] == "post"
    assert result["services"]["ItemManagementService"] == {"reachable": True, "probe": "ItemExists", "answer": "false"}
    assert result["services"]["ScopingManagementService"]["answer"] == "ASDKDoesNotExistException"
    assert result["services"]["ResourceManagementService"]["reachable"] is None
    assert result["server_headers"] == {"Server": "Microsoft-IIS/10.0"}
    assert "version" not in json.dumps(result).lower().replace("x-aspnet-version", "")
    assert [n for n, _a in fake_ns.calls] == ["ItemExists", "ItemExists", "GetResourceTargets"]
    assert all(a in ({"itemGuid": ZERO_GUID}, {"policyItemGuid": ZERO_GUID}) for _n, a in fake_ns.calls)
    assert fake_ns.writes() == []


def test_soap_only(run_module, fake_ns):
    fake_ns.binding = "soap"
    fake_ns.post_refused = True
    fake_ns.call_with_binding = Probing(fake_ns)
    result, _failed = run_module(ns_info.main, dict(CONNECTION))
    assert result["bindings"] == {"post": False, "soap": True} and result["binding"] == "soap"


def test_no_binding_probe(run_module, fake_ns):
    result, _failed = run_module(ns_info.main, dict(CONNECTION, probe_bindings=False))
    assert result["bindings"] == {"post": True, "soap": None}


def test_auth_and_transport_errors_fail_with_hint(run_module, fake_ns):
    fake_ns.fail_on["ItemExists"] = AuthError("The NS refused the credentials of LAB\\cemadmin (HTTP 401).",
                                              hint="Check ns_username and ns_password.")
    result, failed = run_module(ns_info.main, dict(CONNECTION))
    assert failed and result["error_kind"] == "auth" and "Check ns_username" in result["msg"]
    assert fake_ns.params["ns_password"] == CONNECTION["ns_password"]  # the client had it ...
    assert CONNECTION["ns_password"] not in json.dumps(result)  # ... and it is nowhere in the result
    fake_ns.fail_on["ItemExists"] = TransportError("TLS verification of the NS certificate failed.", hint="Set ca_path.")
    result, failed = run_module(ns_info.main, dict(CONNECTION))
    assert failed and result["error_kind"] == "transport" and "ca_path" in result["msg"]


def test_real_client_argument_errors(run_module):
    result, failed = run_module(ns_info.main, dict(ns_url="https://ns.lab.example", ns_username="LAB\\u"))
    assert failed and "needs ns_username and ns_password" in result["msg"]
    result, failed = run_module(ns_info.main, dict(CONNECTION, ns_auth="basic"))
    assert failed and "ns_auth" in result["msg"]
    result, failed = run_module(ns_info.main, dict(CONNECTION, ca_path="/nonexistent/ca.pem"))
    assert failed and "ca_path /nonexistent/ca.pem does not exist" in result["msg"]
    result, failed = run_module(ns_info.main, dict(ns_username="u"))
    assert failed and "ns_url" in result["msg"]


def test_real_client_unreachable_ns(run_module):
    # Port 9 on 127.0.0.1 (discard) refuses connections on a normal host: a real connection error, no network.
    result, failed = run_module(ns_info.main, dict(CONNECTION, ns_url="https://127.0.0.1:9", ns_retries=1))
    assert failed and result["error_kind"] == "transport"
    assert "after 2 attempts" in result["msg"] and CONNECTION["ns_password"] not in json.dumps(result)


def test_credentials_in_ns_url_are_refused_and_never_shown(run_module, capsys):
    for url in ("https://LAB%5Ccemadmin:S3cr%40t-4711@ns.lab.example", "https://cemadmin:S3cr@t-4711@ns.lab.example/"):
        result, failed = run_module(ns_info.main, dict(ns_url=url, ns_username="u", ns_password="another-password"))
        assert failed and result["error_kind"] == "input" and "holds credentials" in result["msg"]
        shown = json.dumps(result)
        assert "S3cr" not in shown and "4711" not in shown
