# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one client for the Notification Server: the ASDK web services, over HTTPS with Windows authentication.

``call(method, **args)`` sends one ASDK method of ``_asdk_wire.METHODS`` as an HTTP form POST and falls
back to SOAP 1.1 when the NS refuses the POST binding (remembered for the rest of the client's life).
Only methods that only read are retried, with backoff, on 502/503/504, a timeout or a dropped
connection. Every failure is a typed error (``_errors``) whose message says what to check; secrets
never appear in it. The wire format is in ``_asdk_wire``, authentication in ``_asdk_auth``; the
product's language (find a policy, resolve a target) is in the domain modules above this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.itms.cem.plugins.module_utils import _asdk_wire as wire
from ansible_collections.itms.cem.plugins.module_utils._asdk_auth import Authenticator
from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, MissingDependency, TransportError, VendorFault,
)
from ansible_collections.itms.cem.plugins.module_utils._http import short_reason, tls_reason
from ansible_collections.itms.cem.plugins.module_utils._secrets import scrub

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
except ImportError:
    requests = urllib3 = None
    HTTPAdapter = object
    HAS_REQUESTS = False

# Transient failures worth another try, for methods that only read.
RETRY_STATUSES = frozenset((502, 503, 504))
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0

BINDINGS = ("auto", "post", "soap")  # ns_binding; auto: POST, then SOAP once the NS refuses POST


class AsdkClient:
    """A session with one Notification Server's ASDK web services."""

    def __init__(self, ns_url, username=None, password=None, auth="ntlm", validate_certs=True, ca_path=None,
                 timeout=60, retries=3, session=None, sleep=time.sleep, binding="auto"):
        if not HAS_REQUESTS:
            raise MissingDependency("The Python library requests is required to talk to the NS.",
                                    hint="Install it on the controller with 'pip install requests pyspnego'.")
        self.base_url, self.host = self._parse_url(ns_url)
        self.username = username
        self._password = password or None
        self.auth_name = auth
        self.timeout = int(timeout)
        self.retries = max(0, int(retries))
        self.warnings = []
        self._sleep = sleep
        if self.timeout <= 0:
            raise InputError("ns_timeout must be a positive number of seconds, not %s." % timeout)
        if ca_path and not os.path.exists(ca_path):
            raise InputError("ca_path %s does not exist." % ca_path,
                             hint="Give the PEM file (or c_rehash directory) of the CA that issued the NS certificate.")
        if not validate_certs:
            self.verify = False
            self.warnings.append("validate_certs is false: the NS certificate is not checked, so anyone on the path "
                                 "can impersonate the NS. Set ca_path to the issuing CA instead.")
        else:
            # requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE only in Session.request, which this
            # client does not use (it sends prepared requests), so they are honoured here.
            self.verify = ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        if self.base_url.startswith("http://"):
            self.warnings.append("ns_url uses http://: ASDK requests and results travel unencrypted. Use https://.")
        self._authenticator = Authenticator(auth, username, self._password, self.host, self._scrub) if auth else None
        if binding not in BINDINGS:
            raise InputError("ns_binding must be auto, post or soap, not %r." % (binding,))
        # auto: POST first, SOAP for the rest of the client's life once the NS refuses POST.
        self.binding_choice = binding
        self.binding = "soap" if binding == "soap" else "post"
        self.post_refusal = None  # how the NS refused POST: "request_format_unrecognized" or "error_page"
        self._post_answered = False
        self.asdk_calls = 0
        self.http_requests = 0
        self.server_headers = {}
        self.calls = []
        if session is None:
            session = requests.Session()
            # NTLM authenticates a connection: one kept-alive connection carries the whole session.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.trust_env = False
        self._session = session
        if not self.verify:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # already a module warning

    # ----- URL and text hygiene

    @staticmethod
    def _parse_url(ns_url):
        if not ns_url or not isinstance(ns_url, str):
            raise InputError("ns_url is empty.", hint="Set ns_url (or ITMS_NS_URL) to https://<your NS host>.")
        url = ns_url.strip()
        if "://" not in url:
            url = "https://" + url
        parts = urlsplit(url)
        if "@" in parts.netloc:  # checked first: the URL is quoted in the next message
            raise InputError("ns_url holds credentials; they would end up in logs and results.",
                             hint="Remove them and set ns_username and ns_password instead.")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError("ns_url %r is not an http(s) URL of a host." % ns_url,
                             hint="Use https://ns.example.com; the client appends /Altiris/ASDK.NS/<Service>.asmx.")
        path = parts.path
        cut = path.lower().find("/altiris")
        if cut >= 0:
            path = path[:cut]  # a full service URL was given: keep what precedes /Altiris
        base = urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))
        return base, parts.hostname

    def _scrub(self, text):
        return scrub(text, [self._password])

    @property
    def post_refused(self):
        """Whether this session switched to SOAP because the NS refused the POST binding."""
        return self.post_refusal is not None

    def service_url(self, service):
        return "%s/Altiris/%s/%s.asmx" % (self.base_url, wire.LIBRARY, service)

    # ----- public API

    def call(self, _method, **args):
        """Call one ASDK method by name with keyword arguments named as in the WSDL (``name`` is one of them)."""
        return self._call(_method, None, args)

    def call_with_binding(self, _binding, _method, **args):
        """Call over one binding (``post`` or ``soap``) without falling back; for probing what the NS offers."""
        if _binding not in ("post", "soap"):
            raise InputError("Unknown ASDK binding %r." % _binding)
        return self._call(_method, _binding, args)

    def _call(self, name, binding, args):
        method = wire.METHODS.get(name)
        if method is None:
            raise InputError("The client does not know the ASDK method %s." % name)
        unknown = sorted(set(args) - set(method.params))
        if unknown:
            raise InputError("ASDK method %s has no parameter(s) %s; it takes %s."
                             % (name, ", ".join(unknown), ", ".join(method.params)))
        self.asdk_calls += 1
        self.calls.append(name)
        attempts = 1 + (self.retries if method.read_only else 0)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._call_once(method, args, binding)
            except _Retryable as exc:
                if attempt >= attempts:
                    raise exc.final(method, attempt)
                self._sleep(min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** (attempt - 1))))

    def stats(self):
        """What this client did, for the task result (``ns_requests``)."""
        return dict(asdk_calls=self.asdk_calls, http_requests=self.http_requests, binding=self.binding,
                    post_binding_refused=self.post_refused, post_refusal=self.post_refusal, methods=list(self.calls))

    def close(self):
        try:
            self._session.close()
        except Exception:  # pylint: disable=broad-except  # closing must never mask the task's own result
            pass

    # ----- one attempt

    def _call_once(self, method, args, binding=None):
        if binding is not None:
            response = self._exchange(method, binding, args)
            if binding == "post" and self._post_refusal(method, response):
                raise PostBindingRefused.of(method, "the modules use SOAP 1.1 instead.")
            return self._result(method, binding, response)
        if self.binding == "post":
            response = self._exchange(method, "post", args)
            refusal = self._post_refusal(method, response)
            if refusal:
                if self.binding_choice == "post":
                    raise PostBindingRefused.of(method, "set ns_binding to soap (or auto).")
                # ASP.NET refused the request before dispatching it (the HttpPost protocol is removed
                # from web.config), so nothing ran and sending it again over SOAP is safe, writes included.
                self.binding = "soap"
                self.post_refusal = refusal
                if refusal == "error_page":
                    self.warnings.append(
                        "The NS answered the HTTP POST binding of %s with an ASP.NET error page whose details are hidden "
                        "(customErrors), before any POST had worked; the task used SOAP 1.1 instead. If the NS has no "
                        "POST binding, set ns_binding: soap to save that request; if it has one, see the ASDK logs."
                        % method.name)
            else:
                return self._result(method, "post", response)
        response = self._exchange(method, "soap", args)
        return self._result(method, "soap", response)

    def _post_refusal(self, method, response):
        """Why a POST answer means the NS does not take the POST binding, or None.

        ASP.NET refuses a ``/<Method>`` URL before dispatching it when the HttpPost protocol is removed
        from web.config: "Request format is unrecognized ...". A remote client sees that text only with
        customErrors off; with the default (RemoteOnly) it gets a generic error page. That page is taken
        as a refusal only where it is safe to send the call again over SOAP: for a read, before any POST
        of this client has been answered, and when the page names no ASDK exception.
        """
        if response.status_code < 400:
            self._post_answered = True
            return None
        text = response.text or ""
        if wire.POST_REFUSED.search(text):
            return "request_format_unrecognized"
        if (response.status_code == 500 and method.read_only and not self._post_answered and self.binding_choice != "post"
                and wire.ASPNET_ERROR_PAGE.search(text) and not wire.ASDK_EXCEPTION.search(text)):
            return "error_page"
        return None

    def _exchange(self, method, binding, args):
        if binding == "post":
            url = "%s/%s" % (self.service_url(method.service), method.name)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            body = wire.build_form_body(method, args)
        else:
            url = self.service_url(method.service)
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s/%s"' % (wire.NAMESPACE, method.name)}
            body = wire.build_soap_envelope(method, args)
        headers["Accept"] = "text/xml"
        prepared = self._session.prepare_request(requests.Request("POST", url, data=body, headers=headers))
        if self._authenticator is None:
            return self._send(prepared, method)
        return self._authenticator.send(lambda request: self._send(request, method), prepared)

    def _send(self, prepared, method):
        self.http_requests += 1
        try:
            response = self._session.send(prepared, timeout=(self.timeout, self.timeout), verify=self.verify,
                                          allow_redirects=False, stream=True)
            if self._authenticator is not None and self.base_url.startswith("https"):
                self._authenticator.learn_peer(response)
            response.content  # read it all so the connection goes back to the pool for the next leg
        except Exception as exc:  # requests' and urllib3's exception trees, mapped below
            raise self._transport_error(exc, method)
        return response

    def _transport_error(self, exc, method):
        # The connection is gone: the next request opens a new one, which NTLM has not authenticated.
        if self._authenticator is not None:
            self._authenticator.forget()
        text = self._scrub(exc)
        where = self.service_url(method.service)
        if isinstance(exc, requests.exceptions.SSLError):
            return TransportError("TLS verification of the NS certificate failed for %s: %s." % (self.base_url, tls_reason(text)),
                                  hint="Set ca_path to the PEM file of the CA that issued the NS certificate (a "
                                       "self-signed NS certificate is its own CA), and check that ns_url uses a name "
                                       "the certificate covers. validate_certs: false skips the check (not recommended).")
        if isinstance(exc, requests.exceptions.Timeout):
            return _Retryable("timed out after %ss" % self.timeout, where, timeout=True)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            return _Retryable(short_reason(text), where)
        if isinstance(exc, OSError):
            return _Retryable(short_reason(text), where)
        return TransportError("Request to %s failed: %s." % (where, text))

    # ----- results

    def _remember_server(self, response):
        for name in ("Server", "X-AspNet-Version", "X-Powered-By"):
            value = response.headers.get(name)
            if value:
                self.server_headers[name] = value

    def _result(self, method, binding, response):
        status = response.status_code
        self._remember_server(response)
        where = self.service_url(method.service)
        if status in RETRY_STATUSES:
            raise _Retryable("HTTP %d" % status, where, status=status)
        if status == 403:
            raise AuthError("The NS forbade %s to %s (HTTP 403 from %s)." % (method.name, self.username, where),
                            hint="IIS refused the request before the ASDK saw it: check IP restrictions, required "
                                 "client certificates and SSL settings of the Altiris/ASDK.NS application.")
        if status == 404:
            raise TransportError("The NS has no ASDK web service at %s (HTTP 404)." % where,
                                 hint="ns_url must be the NS base URL (https://ns.example.com); check that the ASDK "
                                      "(Altiris/ASDK.NS) is installed on that server.")
        if status >= 300 and status < 400:
            raise TransportError("The NS redirected %s to %s (HTTP %d)." % (where, response.headers.get("Location"), status),
                                 hint="Set ns_url to the address the NS redirects to (often https:// and the FQDN).")
        body = response.content or b""
        if status >= 400:
            raise wire.fault(method.name, status, body, self.username, self._scrub)
        if method.result == "void":
            return None
        if not body.strip():
            raise VendorFault("The NS answered %s with an empty body where %s was expected." % (method.name, method.result))
        root = wire.parse_xml(body, method.name)
        element = wire.soap_result_element(root, method) if binding == "soap" else root
        return wire.PARSERS[method.result](element)


class PostBindingRefused(VendorFault):
    """The NS answered the form POST binding with ASP.NET's "Request format is unrecognized"."""

    @classmethod
    def of(cls, method, remedy):
        return cls("The NS refuses the HTTP POST binding for %s." % method.name,
                   hint="The HttpPost protocol is removed from the ASDK web.config; " + remedy)


class _Retryable(Exception):
    """A transient failure; becomes a TransportError when no attempt is left."""

    def __init__(self, reason, where, status=None, timeout=False):
        super(_Retryable, self).__init__(reason)
        self.reason = reason
        self.where = where
        self.status = status
        self.timeout = timeout

    def final(self, method, attempts):
        tried = "after %d attempt%s" % (attempts, "" if attempts == 1 else "s")
        if method.read_only:
            hint = "Check that the NS and IIS are up and reachable from the controller; raise ns_timeout or ns_retries " \
                   "for a slow or busy NS."
        else:
            hint = ("%s changes the NS and is never retried: it may or may not have been applied. Run the task again; "
                    "it reads the current state first." % method.name)
        if self.status:
            return TransportError("The NS answered %s with HTTP %d (%s) %s." % (method.name, self.status, self.where, tried),
                                  hint=hint)
        return TransportError("Calling %s at %s failed: %s %s." % (method.name, self.where, self.reason, tried), hint=hint)
