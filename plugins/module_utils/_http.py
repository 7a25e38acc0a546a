# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one JSON-over-HTTPS session for the REST APIs of SEPM and EDR, and the bearer-token life cycle they share.

``HttpJson.request`` sends one request and returns the ``Answer`` whatever its status, so that the vendor client
decides what a 401 or a 404 means. What every REST client would otherwise get wrong on its own lives here:

* trust: a CA file, or a pinned SHA-256 fingerprint (SEPM certificates are usually self-signed, and every public
  SEPM client simply turns verification off), never a silent ``verify=False``;
* redirects: followed by hand and only within the configured origin, so that the Authorization header is never
  sent to another host (requests drops it on a redirect, which breaks the call without saying why);
* retries with backoff for requests that only read, on 502/503/504, timeouts and dropped connections;
* tolerant JSON: an HTML page (a login portal, a web console) is named as such, and keys that differ only by
  case (SEPM 14.3 sends ``sonar`` and ``SONAR``) are kept as given, read with ``field``;
* every message scrubbed of the secrets the client registers in ``secrets`` (passwords, client secrets and the
  tokens, appended as they are obtained).

``TokenSession`` is the base of ``SepmClient`` and ``EdrClient``: a token renewed before it expires, one renewal
and repeat on a 401, and one mapping of HTTP statuses to typed errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time
import warnings
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible_collections.itms.cem.plugins.module_utils._errors import (
    AuthError, InputError, MissingDependency, NotFound, TransportError, VendorFault,
)
from ansible_collections.itms.cem.plugins.module_utils._secrets import scrub

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import InsecureRequestWarning

    HAS_REQUESTS = True
except ImportError:
    requests = InsecureRequestWarning = None
    HTTPAdapter = object
    HAS_REQUESTS = False

# Transient failures worth another try, for requests that only read.
RETRY_STATUSES = frozenset((502, 503, 504))
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
MAX_REDIRECTS = 3
DEFAULT_PORTS = {"http": 80, "https": 443}
ERROR_TEXT_CHARS = 200

# Where each system's API lives, for the hint of an HTML answer.
API_HOMES = {
    "SEPM": "the SEPM REST API (https://host:8446)",
    "EDR": "the EDR API (https://edr-host, which serves /atpapi)",
}

# Said in the hint of a failed TLS verification (reference, pitfall 7: self-signed SEPM certificates are the norm).
SELF_SIGNED_NOTES = {"SEPM": " (as SEPM certificates usually are)"}

# Failures that mean the controller never reached the server (as opposed to a connection that broke).
UNREACHABLE_REASONS = ("connection refused", "name or service not known", "temporary failure in name resolution",
                       "no route to host", "network is unreachable")


# ----- helpers without I/O

def short_reason(text):
    """The short cause of a connection failure (``connection refused`` ...), else the first 300 characters."""
    for pattern in (r"Connection reset by peer", r"Connection refused", r"Connection aborted",
                    r"Name or service not known", r"Temporary failure in name resolution",
                    r"Remote end closed connection without response", r"No route to host", r"Network is unreachable"):
        if re.search(pattern, text, re.I):
            return pattern.lower()
    return text[:300]


def tls_reason(text):
    """OpenSSL's reason from a requests SSLError text, without the wrapping of urllib3 and requests."""
    found = re.search(r"(certificate verify failed: .*?)(?: \(_ssl\.c:\d+\)|'\)|\"\)|$)", text)
    if found:
        return found.group(1).strip().rstrip(".")
    found = re.search(r"\[SSL: ([A-Z0-9_]+)\]", text)
    if found:
        return found.group(1).lower().replace("_", " ")
    return short_reason(text)


def normalize_fingerprint(text, option="fingerprint"):
    """``AB:CD:...``, the upper-case SHA-256 of a certificate as ``text`` spells it, or InputError.

    Accepted: colons or spaces between the bytes, lower case, and a ``sha256:`` prefix or the
    ``SHA256 Fingerprint=`` that ``openssl x509 -fingerprint -sha256`` prints.
    """
    command = "openssl s_client -connect host:port </dev/null | openssl x509 -noout -fingerprint -sha256"
    raw = str(text if text is not None else "").strip()
    digits = re.sub(r"^(sha-?256\s*fingerprint\s*=|sha-?256\s*[:=])", "", raw, flags=re.I)
    digits = re.sub(r"[\s:]", "", digits)
    if re.match(r"^[0-9a-fA-F]{64}$", digits):
        return ":".join(digits[i:i + 2] for i in range(0, 64, 2)).upper()
    if re.match(r"^[0-9a-fA-F]{40}$", digits):
        raise InputError("%s looks like a SHA-1 fingerprint (40 hex digits); it must be the SHA-256 one (64)." % option,
                         hint="Print it with: %s" % command)
    raise InputError("%s %r is not a SHA-256 certificate fingerprint (64 hex digits, colons allowed)." % (option, raw[:120]),
                     hint="Print it with: %s" % command)


def field(obj, name, default=None):
    """``obj[name]``, else the first key equal to ``name`` ignoring case, else ``default`` (also for a non-object)."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def parse_json(body, content_type, what, system, status=200, secrets=()):
    """The JSON of an answer, or a VendorFault that says what came instead (HTML, nothing, text)."""
    body = body or b""
    content_type = (content_type or "").strip()
    stripped = body.strip()
    if "html" in content_type.lower() or stripped[:1] == b"<":
        title = re.search(br"<title[^>]*>(.*?)</title>", body, re.I | re.S)
        title_text = " ".join(title.group(1).decode("utf-8", "replace").split())[:100] if title else ""
        raise VendorFault(scrub("%s answered %s with HTML (HTTP %s, %s%s) instead of JSON."
                                % (system, what, status, content_type or "no Content-Type",
                                   ", title '%s'" % title_text if title_text else ", no title"), secrets),
                          hint="Check that the URL points at %s, not a web console or a proxy login page."
                               % API_HOMES.get(system, "the %s REST API" % system))
    if not stripped:
        raise VendorFault("%s answered %s with an empty body (HTTP %s) where JSON was expected." % (system, what, status),
                          hint="Run the task again; if it persists, see the %s server log for that request." % system)
    try:
        return json.loads(body)
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        head = body[:ERROR_TEXT_CHARS].decode("utf-8", "replace")
        raise VendorFault(scrub("%s answered %s with something that is not JSON (HTTP %s, %s): %r"
                                % (system, what, status, content_type or "no Content-Type", head), secrets),
                          hint="Check that the URL points at %s and that nothing between the controller and %s "
                               "rewrites the answers." % (API_HOMES.get(system, "the %s REST API" % system), system)) from exc


def vendor_message(answer):
    """The error text a JSON error answer carries (``errorMessage``, ``message``, ``error_description``, ``error``), or ""."""
    body = (answer.body or b"").strip()
    if not body or body[:1] not in (b"{", b"["):
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    for name in ("errorMessage", "message", "error_description", "error"):
        value = field(data, name)
        if value not in (None, "", [], {}):
            return " ".join(str(value).split())[:300]
    return ""


def describe(data, list_name):
    """A short phrase for JSON that came instead of an object with a ``list_name`` list (quoting values only in part)."""
    if data is None:
        return "nothing (null)"
    if isinstance(data, str):
        return "the text %r" % data[:80]
    if isinstance(data, list):
        return "a list of %d item%s" % (len(data), "" if len(data) == 1 else "s")
    if isinstance(data, dict):
        return "an object without a %s list (keys: %s)" % (list_name, ", ".join(sorted(str(k) for k in data)[:10]))
    return "the value %r" % (data,)


def origin_of(url):
    """(scheme, host in lower case, port) of an absolute URL; the port defaults by scheme."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(parts.scheme.lower())


def parse_base_url(url, option, system, api_root=None):
    """(base URL without a trailing slash, its origin) of a URL option, or InputError.

    https:// is added when there is no scheme; a URL with credentials is refused before anything quotes it;
    ``api_root`` (``/sepm``, ``/atpapi``) and what follows it are cut, so that a URL copied from an API call works.
    """
    env = "ITMS_" + option.upper()
    if not url or not isinstance(url, str) or not url.strip():
        raise InputError("%s is empty." % option, hint="Set %s (or %s) to https://<your %s host>." % (option, env, system))
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if "@" in parts.netloc:  # checked first: the URL is quoted in the next messages
        raise InputError("%s holds credentials; they would end up in logs and results." % option,
                         hint="Remove them and set the user name and password (or client secret) options instead.")
    try:
        parts.port  # pylint: disable=pointless-statement  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise InputError("%s %r has an invalid port." % (option, url), hint="Use https://host:port with a numeric port.") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError("%s %r is not an http(s) URL of a host." % (option, url),
                         hint="Use the form https://host:port.")
    path = parts.path
    if api_root:
        cut = re.search(r"%s(/|$)" % re.escape(api_root), path, re.I)
        if cut:
            path = path[:cut.start()]
    base = urlunsplit((parts.scheme.lower(), parts.netloc, path.rstrip("/"), "", ""))
    return base, origin_of(base)


def backoff(attempt):
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): 0.5, 1, 2, ... at most 8."""
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** (attempt - 1)))


# ----- the transport

class Answer:
    """One HTTP answer: ``status``, ``headers`` (case-insensitive), ``body`` (bytes), ``url``."""

    def __init__(self, status, headers, body, url, system="", secrets=()):
        self.status = status
        self.headers = headers
        self.body = body or b""
        self.url = url
        self.system = system
        self._secrets = secrets

    def json(self, what):
        return parse_json(self.body, self.headers.get("Content-Type"), what, self.system, self.status, self._secrets)


class PinnedAdapter(HTTPAdapter):
    """An adapter that trusts exactly one certificate: the one whose SHA-256 is ``fingerprint``.

    urllib3 compares the digest of the certificate presented in the handshake and counts a match as verified
    (no InsecureRequestWarning). The CA chain and the host name are not checked, which is the point of a pin:
    a self-signed SEPM certificate, reached by any name or address.
    """

    def __init__(self, fingerprint, **kwargs):
        self.fingerprint = fingerprint.replace(":", "").lower()  # before HTTPAdapter.__init__ calls init_poolmanager
        super(PinnedAdapter, self).__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        super(PinnedAdapter, self).init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        del verify  # the pin replaces CA verification, for this adapter only
        return super(PinnedAdapter, self).send(request, stream=stream, timeout=timeout, verify=False, cert=cert,
                                               proxies=proxies)


class HttpJson:
    """A JSON-over-HTTPS session with one SEPM or EDR server."""

    def __init__(self, system, base_url, validate_certs=True, ca_path=None, fingerprint=None,
                 timeout=30, retries=3, secrets=(), session=None, sleep=time.sleep, option_prefix="", api_root=None):
        if not HAS_REQUESTS:
            raise MissingDependency("The Python library requests is required to talk to %s." % system,
                                    hint="Install it on the controller with 'pip install requests'.")
        self.system = system
        self.option_prefix = option_prefix
        self.secrets = [s for s in secrets if s]
        self.warnings = []
        self.http_requests = 0
        self._sleep = sleep
        self.base_url, self.origin = parse_base_url(base_url, option_prefix + "url", system, api_root)
        host = self.origin[1]
        self.where = "%s:%s" % ("[%s]" % host if ":" in host else host, self.origin[2])  # host:port, as in messages
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            self.timeout = 0
        if self.timeout <= 0:
            raise InputError("%stimeout must be a positive number of seconds, not %r." % (option_prefix, timeout))
        self.retries = max(0, int(retries or 0))
        self.fingerprint = normalize_fingerprint(fingerprint, option_prefix + "fingerprint") if fingerprint else None
        if ca_path and not os.path.exists(ca_path):
            raise InputError("%sca_path %s does not exist." % (option_prefix, ca_path),
                             hint="Give the PEM file (or c_rehash directory) of the CA that issued the %s certificate; "
                                  "for a self-signed certificate, the certificate itself." % system)
        if self.fingerprint:
            self.verify = False  # for the pinned adapter only; it checks the fingerprint instead
        elif not validate_certs:
            self.verify = False
            self.warnings.append("%svalidate_certs is false and %sfingerprint is not set: the %s certificate is not checked, "
                                 "so anyone on the path can impersonate %s and receive the credentials; set %sca_path or "
                                 "%sfingerprint." % (option_prefix, option_prefix, system, system, option_prefix, option_prefix))
        else:
            # With trust_env off, requests does not read REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE: honoured here.
            self.verify = ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        if self.origin[0] == "http":
            self.warnings.append("%surl uses http://: credentials, tokens and answers travel unencrypted%s. Use https://."
                                 % (option_prefix, " and %sfingerprint has no effect" % option_prefix if self.fingerprint else ""))
        if session is None:
            session = requests.Session()
        session.trust_env = False  # no proxy, CA bundle or .netrc from the environment
        if self.fingerprint:
            session.mount("https://", PinnedAdapter(self.fingerprint, max_retries=0))
        self._session = session

    # ----- text hygiene

    def scrub(self, text):
        return scrub(text, self.secrets)

    def error(self, cls, msg, hint=None, **details):
        """A typed error whose message and hint are scrubbed of every registered secret."""
        return cls(self.scrub(msg), hint=self.scrub(hint) if hint else None, **details)

    def warn(self, text):
        self.warnings.append(self.scrub(text))

    # ----- requests

    def request(self, method, path, params=None, json_body=None, form=None, headers=None, auth=None, read_only=True):
        """Send ``method`` ``path`` (under the base URL); the Answer of any status but a retried or redirected one.

        Only ``read_only`` requests are sent again after a transient failure.
        """
        attempts = 1 + (self.retries if read_only else 0)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._follow(method, path, params, json_body, form, headers, auth)
            except _Transient as exc:
                if attempt >= attempts:
                    raise self._gave_up(exc, method, path, attempt, read_only)
                self._sleep(backoff(attempt))

    def close(self):
        try:
            self._session.close()
        except Exception:  # pylint: disable=broad-except  # closing must never mask the task's own result
            pass

    def _follow(self, method, path, params, json_body, form, headers, auth):
        """One attempt, following redirects within the configured origin only."""
        url = self.base_url + path
        sent = dict(headers or {})
        sent.setdefault("Accept", "application/json")
        redirects = 0
        while True:
            response = self._send(method, url, params, json_body, form, sent, auth)
            status = response.status_code
            if status in RETRY_STATUSES:
                raise _Transient("HTTP %d" % status, status=status)
            if status not in REDIRECT_STATUSES:
                return Answer(status, response.headers, response.content, response.url, self.system, self.secrets)
            location = response.headers.get("Location")
            if not location:
                raise self.error(VendorFault, "%s answered %s %s with HTTP %d but no Location." % (self.system, method, path, status),
                                 hint="Set %surl to the address %s answers on." % (self.option_prefix, self.system))
            target = urljoin(url, location)
            target_origin = origin_of(target)
            if target_origin != self.origin:
                raise self.error(
                    TransportError,
                    "%s redirected %s to another host (%s://%s:%s); the request was not sent there and the credentials were "
                    "not sent there either." % ((self.system, path) + target_origin),
                    hint="Set %surl to the host that answers (check its scheme, name and port)." % self.option_prefix)
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise self.error(TransportError, "%s redirected %s more than %d times." % (self.system, path, MAX_REDIRECTS),
                                 hint="Set %surl to the address that answers without a redirect." % self.option_prefix)
            url, params = target, None  # the Location carries the query
            if status == 303:
                method, json_body, form = "GET", None, None

    def _send(self, method, url, params, json_body, form, headers, auth):
        self.http_requests += 1
        try:
            with warnings.catch_warnings():
                if self.verify is False and not self.fingerprint:
                    # Already a task warning (see __init__); urllib3 would repeat it on every request.
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                return self._session.request(method, url, params=params, json=json_body, data=form, headers=headers,
                                             auth=auth, timeout=(self.timeout, self.timeout), verify=self.verify,
                                             allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise self._tls_error(exc)
        except requests.exceptions.ConnectTimeout as exc:
            raise _Transient("no connection within %g s" % self.timeout, unreachable=True) from exc
        except requests.exceptions.Timeout as exc:
            raise _Transient("no answer within %g s" % self.timeout) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            reason = short_reason(self.scrub(exc))
            raise _Transient(reason, unreachable=reason in UNREACHABLE_REASONS) from exc
        except requests.exceptions.RequestException as exc:
            raise self.error(TransportError, "Request %s %s to %s failed: %s." % (method, urlsplit(url).path, self.system, exc))

    # ----- failures

    def _tls_error(self, exc):
        text = self.scrub(exc)
        prefix = self.option_prefix
        command = ("openssl s_client -connect %s </dev/null | openssl x509 -noout -fingerprint -sha256" % self.where)
        if self.fingerprint and "Fingerprints did not match" in text:
            got = re.search(r'got "([0-9a-fA-F]{64})"', text)
            presented = normalize_fingerprint(got.group(1)) if got else "a certificate with another fingerprint"
            return self.error(TransportError,
                              "The %s certificate at %s does not match %sfingerprint: expected %s, the server presented %s."
                              % (self.system, self.where, prefix, self.fingerprint, presented),
                              hint="If the certificate was renewed, update %sfingerprint (%s). If it was not, another "
                                   "server or a TLS-inspecting proxy answers on that address." % (prefix, command))
        return self.error(TransportError,
                          "TLS verification of the %s certificate failed for %s: %s." % (self.system, self.base_url, tls_reason(text)),
                          hint="If the certificate is self-signed%s or from an internal CA, set %sca_path to the PEM file of "
                               "the CA that issued it (a self-signed certificate is its own CA) or pin it with %sfingerprint (%s); "
                               "check that %surl uses a name the certificate covers. %svalidate_certs: false skips the check "
                               "(not recommended)." % (SELF_SIGNED_NOTES.get(self.system, ""), prefix, prefix, command, prefix, prefix))

    def _gave_up(self, exc, method, path, attempts, read_only):
        tried = "%d attempt%s" % (attempts, "" if attempts == 1 else "s")
        prefix = self.option_prefix
        if read_only:
            hint = ("Check that %surl names the %s server and that the controller can reach it (DNS, firewall); raise "
                    "%stimeout or %sretries for a slow or busy server." % (prefix, self.system, prefix, prefix))
        else:
            hint = ("%s %s was not sent again because it may change %s; run the task again." % (method, path, self.system))
        if exc.status:
            return self.error(TransportError, "%s answered %s %s with HTTP %d (%s)." % (self.system, method, path, exc.status, tried),
                              hint=hint)
        if exc.unreachable:
            return self.error(TransportError, "The controller cannot reach %s at %s: %s (%s)." % (self.system, self.where, exc.reason, tried),
                              hint=hint)
        return self.error(TransportError, "%s %s to %s at %s failed: %s (%s)." % (method, path, self.system, self.where, exc.reason, tried),
                          hint=hint)


class _Transient(Exception):
    """A failure worth another attempt; becomes a TransportError when no attempt is left."""

    def __init__(self, reason, status=None, unreachable=False):
        super(_Transient, self).__init__(reason)
        self.reason = reason
        self.status = status
        self.unreachable = unreachable


# ----- the bearer-token life cycle

class TokenSession:
    """What SEPM and EDR clients share: a bearer token renewed before it expires and once on a 401, and status errors.

    A subclass sets ``http`` (HttpJson) and the hints, and implements ``_fetch_token() -> (token, lifetime_s)``,
    which must append the token to ``http.secrets`` as soon as it has read it.
    """

    EXPIRY_MARGIN_S = 60
    DEFAULT_LIFETIME_S = 3600
    FORBIDDEN_HINT = None
    NOT_FOUND_HINT = None
    BAD_REQUEST_HINT = None
    TOKEN_REFUSED_HINT = None

    def __init__(self, http, clock):
        self.http = http
        self.warnings = http.warnings
        self._clock = clock
        self._token = None
        self._renew_at = 0.0
        self.calls = {}
        self.reauthentications = 0
        self.pages_read = 0

    def _fetch_token(self):
        raise NotImplementedError

    def _lifetime(self, value):
        """Seconds a token lives: ``value`` when it is a positive number, else the documented default of one hour."""
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            return self.DEFAULT_LIFETIME_S
        return seconds if seconds > 0 else self.DEFAULT_LIFETIME_S

    def _renew_token(self):
        token, lifetime = self._fetch_token()
        # Renew 60 s before expiry; a token that lives less than two minutes is used for half of its life.
        self._renew_at = self._clock() + lifetime - min(self.EXPIRY_MARGIN_S, lifetime / 2.0)
        self._token = token

    def _bearer(self):
        if self._token is None or self._clock() >= self._renew_at:
            self._renew_token()
        return {"Authorization": "Bearer " + self._token}

    def _count(self, operation):
        self.calls[operation] = self.calls.get(operation, 0) + 1

    def _authorized(self, method, path, what, params=None, json_body=None, read_only=True):
        """The 2xx Answer of an API request with the token; one renewal and repeat on a 401, else a typed error."""
        answer = self.http.request(method, path, params=params, json_body=json_body, headers=self._bearer(),
                                   read_only=read_only)
        if answer.status == 401:
            self.reauthentications += 1
            self._renew_token()
            answer = self.http.request(method, path, params=params, json_body=json_body, headers=self._bearer(),
                                       read_only=read_only)
            if answer.status == 401:
                raise self.http.error(AuthError, "%s refused the token twice for %s (HTTP 401), the second time right after "
                                                 "issuing it%s." % (self.http.system, what, _detail(answer)),
                                      hint=self.TOKEN_REFUSED_HINT)
        if not 200 <= answer.status < 300:
            raise self.status_error(answer, what)
        return answer

    def status_error(self, answer, what):
        """The typed error for a non-2xx answer to ``what``."""
        system, status = self.http.system, answer.status
        if status == 403:
            return self.http.error(AuthError, "%s forbade %s (HTTP 403)%s." % (system, what, _detail(answer)),
                                   hint=self.FORBIDDEN_HINT)
        if status == 404:
            return self.http.error(NotFound, "%s has no %s (HTTP 404)%s." % (system, what, _detail(answer)),
                                   hint=self.NOT_FOUND_HINT)
        if status == 400:
            return self.http.error(VendorFault, "%s refused %s as invalid (HTTP 400)%s." % (system, what, _detail(answer)),
                                   hint=self.BAD_REQUEST_HINT)
        return self.http.error(VendorFault, "%s answered %s with HTTP %d%s." % (system, what, status, _detail(answer)),
                               hint="See the %s server log for that request; run the task again if the error was "
                                    "transient." % system)

    def stats_base(self):
        return dict(http_requests=self.http.http_requests, calls=dict(sorted(self.calls.items())),
                    reauthentications=self.reauthentications, pages=self.pages_read)


def _detail(answer):
    message = vendor_message(answer)
    return ": %s" % message if message else ""
