# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The client for the SEPM REST API (``https://host:8446/sepm/api/v1``): logon, token, paging, logout.

``get(operation, path, query)`` sends one read of ``OPERATIONS`` (names, methods, paths and query parameters
as the SEPM REST specification spells them; a unit test holds them to the contract file) and returns its JSON.
``pages`` walks a paged read to its end and refuses anything that is not a page instead of looping on it, which
is how a naive SEPM client hangs on an error string. The client knows nothing of groups or EDR: that is the
domain layer's language.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from urllib.parse import quote

from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, NotFound, VendorFault
from ansible_collections.itms.cem.plugins.module_utils._http import HttpJson, TokenSession, describe, field, vendor_message

API = "/sepm"

# name: (HTTP method, path under /sepm, allowed query parameters)
OPERATIONS = {
    "authenticate": ("POST", "/api/v1/identity/authenticate", ()),
    "logout": ("POST", "/api/v1/identity/logout", ()),
    "version": ("GET", "/api/v1/version", ()),
    "servers": ("GET", "/api/v1/admin/servers", ()),
    "groups": ("GET", "/api/v1/groups", ("domain", "pageIndex", "pageSize", "sort", "order", "mode", "fullPathName")),
    "group": ("GET", "/api/v1/groups/{groupId}", ("domainId",)),
    "group_computers": ("GET", "/api/v1/groups/{groupId}/computers",
                        ("pageIndex", "pageSize", "sort", "order", "lastUpdate", "os", "domain", "feature", "verbose")),
    "group_locations": ("GET", "/api/v1/groups/{groupId}/locations", ("domainId", "hasName")),
    "group_external_communication": ("GET", "/api/v1/groups/{groupId}/external-communication", ()),
    "location_external_communication": ("GET", "/api/v1/groups/{groupId}/locations/{locationId}/external-communication", ()),
    "location_settings": ("GET", "/api/v1/groups/{groupId}/locations/{locationId}/settings", ()),
    "computers": ("GET", "/api/v1/computers", ("computerName", "computer_id", "domain", "hardware_key", "lastUpdate", "mac",
                                               "os", "order", "pageIndex", "pageSize", "sort", "verbose")),
}

MAX_PAGES = 100000
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
LOGON_HINT = ("Check sepm_username, sepm_password and sepm_domain (empty for the default domain); the REST API needs a "
              "system administrator account.")


class SepmClient(TokenSession):
    """A session with one SEPM's REST API, logged in on the first call and logged out by ``close``."""

    FORBIDDEN_HINT = "The SEPM REST API needs a system administrator account: check the role of sepm_username."
    NOT_FOUND_HINT = ("The object may have been deleted since it was listed, or this SEPM version does not have that API; "
                      "check that sepm_url is https://host:8446.")
    BAD_REQUEST_HINT = "SEPM refused the parameters of the request; see the message, and the SEPM log (scm-server)."
    TOKEN_REFUSED_HINT = ("SEPM issued a token and refused it at once: check that nothing between the controller and SEPM "
                          "(a proxy, a load balancer to another SEPM) drops the Authorization header, then run the task again.")

    def __init__(self, url, username, password, domain="", validate_certs=True, ca_path=None,
                 fingerprint=None, timeout=30, retries=3, session=None, sleep=time.sleep, clock=time.monotonic):
        if not username:
            raise InputError("sepm_username is not set.",
                             hint="Set sepm_username (or ITMS_SEPM_USERNAME) to a SEPM system administrator account.")
        if not password:
            raise InputError("sepm_password is not set.", hint="Set sepm_password (or ITMS_SEPM_PASSWORD).")
        http = HttpJson("SEPM", url, validate_certs=validate_certs, ca_path=ca_path, fingerprint=fingerprint,
                        timeout=timeout, retries=retries, secrets=[password], session=session, sleep=sleep,
                        option_prefix="sepm_", api_root=API)
        super(SepmClient, self).__init__(http, clock)
        self.base_url = http.base_url
        self.username = username
        self.domain = domain or ""
        self._password = password
        self.logins = 0

    # ----- token

    def login(self):
        """Log on now (the first ``get`` does it anyway)."""
        self._renew_token()

    def _fetch_token(self):
        self._count("authenticate")
        method, path = OPERATIONS["authenticate"][:2]
        answer = self.http.request(method, API + path, json_body={"username": self.username, "password": self._password,
                                                                  "domain": self.domain}, read_only=True)
        where = "in domain '%s'" % self.domain
        if answer.status in (400, 401, 403):
            message = vendor_message(answer)
            raise self.http.error(AuthError, "SEPM refused the logon of %s %s (HTTP %d)%s."
                                  % (self.username, where, answer.status, ": " + message if message else ""), hint=LOGON_HINT)
        if answer.status == 404:
            raise self.http.error(NotFound, "SEPM has no REST logon at %s%s%s (HTTP 404)." % (self.base_url, API, path),
                                  hint="Set sepm_url to https://host:8446, the port of the SEPM REST API.")
        if not 200 <= answer.status < 300:
            raise self.status_error(answer, "the logon of %s %s" % (self.username, where))
        data = answer.json("the logon of %s" % self.username)
        token = field(data, "token")
        if not token or not isinstance(token, str):
            raise self.http.error(VendorFault, "SEPM accepted the logon of %s but answered without a token." % self.username,
                                  hint="Check that sepm_url points at the SEPM REST API (https://host:8446).")
        # Everything in the answer that opens a session is a secret from here on.
        self.http.secrets.extend(s for s in (token, field(data, "refreshToken"), field(data, "clientSecret"))
                                 if s and isinstance(s, str))
        self.logins += 1
        return token, self._lifetime(field(data, "tokenExpiration"))

    # ----- reads

    def _url_path(self, operation, path, query):
        spec = OPERATIONS.get(operation)
        if spec is None:
            raise InputError("The SEPM client does not know the operation %s." % operation)
        method, template, allowed = spec
        unknown = sorted(set(query or {}) - set(allowed))
        if unknown:
            raise InputError("SEPM operation %s has no query parameter(s) %s; it takes %s."
                             % (operation, ", ".join(unknown), ", ".join(allowed) or "none"))
        names = PATH_PARAMETER.findall(template)
        given = dict(path or {})
        if sorted(given) != sorted(names):
            raise InputError("SEPM operation %s needs the path parameter(s) %s, not %s."
                             % (operation, ", ".join(names) or "none", ", ".join(sorted(given)) or "none"))

        def value_of(match):
            return quote(str(given[match.group(1)]), safe="")

        return method, API + PATH_PARAMETER.sub(value_of, template)

    def get(self, operation, path=None, query=None):
        """The JSON of one read (``path``: the path parameters; ``query``: query parameters, None values left out)."""
        return self._get(operation, path, query, None)

    def _get(self, operation, path, query, what):
        query = dict((k, v) for k, v in (query or {}).items() if v is not None)
        method, url_path = self._url_path(operation, path, query)
        if method != "GET":
            raise InputError("SEPM operation %s is not a read." % operation)
        what = what or "%s (%s %s)" % (operation, method, url_path)
        self._count(operation)
        answer = self._authorized(method, url_path, what, params=query or None)
        if answer.status == 204:
            return None
        return answer.json(what)

    def pages(self, operation, path=None, query=None, page_size=100, max_items=None):
        """The ``content`` items of every page of a paged read, in order; at most ``max_items`` when given."""
        if "pageIndex" not in OPERATIONS.get(operation, ("", "", ()))[2]:
            raise InputError("SEPM operation %s is not paged." % operation)
        if int(page_size) < 1:
            raise InputError("The SEPM page size must be at least 1, not %s." % page_size)
        items = []
        previous = None
        index = 1
        while True:
            if index > MAX_PAGES:
                raise VendorFault("SEPM kept answering pages of %s beyond page %d; paging stopped." % (operation, MAX_PAGES),
                                  hint="The server seems to ignore pageIndex or lastPage; narrow the query.")
            what = "page %d of %s" % (index, operation)
            page_query = dict(query or {}, pageIndex=index, pageSize=int(page_size))
            data = self._get(operation, path, page_query, what)
            self.pages_read += 1
            content = field(data, "content")
            if not isinstance(data, dict) or not isinstance(content, list):
                raise self.http.error(VendorFault, "SEPM answered %s with %s instead of a page; paging stopped."
                                      % (what, describe(data, "content")),
                                      hint="See the SEPM log (scm-server) for that request; run the task again if it was "
                                           "transient.")
            if content and content == previous:
                raise VendorFault("SEPM answered %s with the same items as page %d; paging stopped." % (what, index - 1),
                                  hint="The server ignores pageIndex for this request; report it with the SEPM version.")
            items.extend(content)
            if max_items is not None and len(items) >= max_items:
                return items[:max_items]
            if not content or _is_true(field(data, "lastPage")):
                return items
            total_pages = field(data, "totalPages")
            if isinstance(total_pages, int) and not isinstance(total_pages, bool) and index >= total_pages:
                return items
            previous = content
            index += 1

    # ----- end

    def stats(self):
        """What this client did, for the task result (``sepm_requests``)."""
        stats = self.stats_base()
        stats["logins"] = self.logins
        return stats

    def close(self):
        """Log out if logged in (a failure is a warning: the token expires by itself), then close the session."""
        token, self._token = self._token, None
        try:
            if token:
                self._count("logout")
                method, path = OPERATIONS["logout"][:2]
                try:
                    answer = self.http.request(method, API + path, headers={"Authorization": "Bearer " + token},
                                               read_only=False)
                    if not 200 <= answer.status < 300:
                        message = vendor_message(answer)
                        self.http.warn("SEPM did not log out the session (HTTP %d%s); its token expires by itself."
                                       % (answer.status, ": " + message if message else ""))
                except Exception as exc:  # pylint: disable=broad-except  # logging out must never mask the task's result
                    self.http.warn("SEPM did not log out the session (%s); its token expires by itself." % exc)
        finally:
            self.http.close()


def _is_true(value):
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
