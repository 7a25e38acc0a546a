# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab SEPM REST API (``/sepm/api/v1``): the subset the diagnosis reads, in the contract's shapes.

As the reference documents it: ``POST /sepm/api/v1/identity/authenticate`` with a JSON ``UserCredential`` whose
``username``, ``password`` and ``domain`` are all required (a missing one is a 400; ``""`` or ``Default`` is the
default domain), answering ``identity_UserToken`` (``tokenExpiration`` in seconds); every other path wants
``Authorization: Bearer <token>`` (401 without a live one); ``POST .../identity/logout`` answers 204 and the token
dies. Pages (``groups``, a group's ``computers``, ``computers``) take ``pageIndex`` (from 1) and ``pageSize``
(defaults 25 for groups, 20 for computers) and answer ``content``, ``firstPage``, ``lastPage``, ``number``,
``numberOfElements``, ``size``, ``totalElements``, ``totalPages``. ``computerName`` and ``mac`` take ``*``
wildcards. Errors are JSON ``{"errorCode", "errorMessage"}``.

Inferred where the vendor is silent (verify on a live SEPM): ``number`` is zero-based (SEPM is a Spring
application); an unknown group answers 410 as the contract lists for it, an unknown location 404; the page has no
``sort`` (the contract's ``Sort`` is an object whose shape is not documented); ``mode``, ``verbose`` and ``feature``
change nothing; an inheriting group answers its non-inheriting parent's settings and locations.

Faults (``DIR/sepm-edr-faults.json`` ``"sepm"``): ``unauthorized_mid_paging`` (a token that served page 1 of a
paged path answers 401 to page 2 of it, and dies, as an expired token would: a client that logs in again and asks
page 2 goes on), ``token_expired`` (a token dies after 2 calls), ``html`` (every answer is a 200 HTML login page),
``redirect`` (302 to ``https://other.cem-lab.invalid:<port>/...``), ``bad_page`` (page 2 of any paged path is a
200 with the JSON string ``"Internal error"``). While ``unauthorized_mid_paging`` or ``bad_page`` is on, a page holds
at most 5 items whatever ``pageSize`` asks (the answer's ``size`` says so), so that the lab's 6 groups and 40
computers take a second page even for a client that asks 100 a page.
"""

import hmac
import json
import re
import time
from urllib.parse import unquote

from itms_lab import edr_scenarios
from itms_lab.sepm_edr_http import App, Tokens, bearer, empty_answer, json_answer

API = "/sepm/api/v1"
TOKEN_LIFETIME_S = 3600
TOKEN_CALLS = 2  # fault token_expired: calls a token serves
ROUTES = tuple((re.compile("^" + API + pattern + "$"), name) for pattern, name in (
    ("/version", "version"),
    ("/admin/servers", "servers"),
    ("/groups", "groups"),
    ("/groups/([^/]+)", "group"),
    ("/groups/([^/]+)/computers", "group_computers"),
    ("/groups/([^/]+)/locations", "group_locations"),
    ("/groups/([^/]+)/external-communication", "group_external_communication"),
    ("/groups/([^/]+)/locations/([^/]+)/external-communication", "location_external_communication"),
    ("/groups/([^/]+)/locations/([^/]+)/settings", "location_settings"),
    ("/computers", "computers"),
))
PAGED = {"groups": 25, "group_computers": 20, "computers": 20}  # operation: default pageSize
PAGING_FAULTS = {"unauthorized_mid_paging", "bad_page"}
PAGE_CAP = 5  # while a paging fault is on, pages hold at most this many items
COMPUTER_SORTS = {"COMPUTER_NAME": lambda c: c["computerName"].lower(), "COMPUTER_ID": lambda c: c["uniqueId"],
                  "COMPUTER_DOMAIN_NAME": lambda c: (c["domainOrWorkgroup"].lower(), c["computerName"].lower()),
                  "DOMAIN_ID": lambda c: (c["group"]["domain"]["id"], c["computerName"].lower())}
GROUP_SORTS = ("fullPathName", "name", "id")


class BadRequest(Exception):
    """A 400 with a message."""


def error(status, message):
    return json_answer(status, {"errorCode": str(status), "errorMessage": message})


def wildcard(pattern):
    """A compiled, case-insensitive match for a SEPM filter where ``*`` is the only wildcard."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


def _one(query, name, default=None):
    values = query.get(name)
    return values[-1] if values else default


def _int(query, name, default):
    text = _one(query, name)
    if text in (None, ""):
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest("%s must be an integer, not %r" % (name, text))


def _list(query, name):
    """A list parameter, repeated (``multi``) or comma separated (``csv``)."""
    return [part.strip() for value in query.get(name) or [] for part in value.split(",") if part.strip()]


def page(items, query, default_size):
    index, size = _int(query, "pageIndex", 1), _int(query, "pageSize", default_size)
    if index < 1 or size < 1:
        raise BadRequest("pageIndex and pageSize must be 1 or more")
    total = len(items)
    pages = (total + size - 1) // size
    content = items[(index - 1) * size:index * size]
    return {"content": content, "firstPage": index == 1, "lastPage": index >= pages, "number": index - 1,
            "numberOfElements": len(content), "size": size, "totalElements": total, "totalPages": pages}


def _ordered(items, key, query):
    order = (_one(query, "order") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise BadRequest("order must be ASC or DESC, not %r" % _one(query, "order"))
    return sorted(items, key=key, reverse=order == "DESC")


class SepmApp(App):
    """One lab SEPM (``role`` sepm or sepm_peer) over a ``worlds.get(scenario)`` that holds its data."""

    system = "sepm"
    title = "Symantec Endpoint Protection Manager"
    server_header = "itms-lab-sepm"

    def __init__(self, role, account, switches, request_log, worlds):
        super(SepmApp, self).__init__(role, switches, request_log)
        self.role = role
        self.account = account  # {"username", "password"}
        self.worlds = worlds
        self.tokens = Tokens(TOKEN_LIFETIME_S)

    def handle(self, request):
        scenario = self.switches.scenario()
        faults = self.switches.faults(self.system)
        extra = {"scenario": scenario, "fault": None, "user": None}
        answer, extra["fault"] = self.common_fault(request, faults - {"down"})
        if answer is not None:
            return answer, extra
        site = self.worlds.get(scenario).sites[self.role]
        if request.path == API + "/identity/authenticate":
            if request.method != "POST":
                return error(405, "use POST to authenticate"), extra
            return self._authenticate(request, site, extra), extra
        if not request.path.startswith(API + "/"):
            return error(404, "no such resource: %s" % request.path), extra

        token = bearer(request.headers)
        record = self.tokens.get(token) if token else None
        if record is None:
            return error(401, "the request needs a valid access token (Authorization: Bearer)"), extra
        extra["user"] = record["user"]
        record["calls"] += 1
        if "token_expired" in faults and record["calls"] > TOKEN_CALLS:
            self.tokens.kill(token)
            extra["fault"] = "token_expired"
            return error(401, "the access token has expired"), extra
        if request.path == API + "/identity/logout":
            if request.method != "POST":
                return error(405, "use POST to log out"), extra
            self.tokens.kill(token)
            return empty_answer(204), extra

        for pattern, operation in ROUTES:
            match = pattern.match(request.path)
            if match:
                break
        else:
            return error(404, "no such resource: %s" % request.path), extra
        if request.method != "GET":
            return error(405, "the lab SEPM serves GET on %s" % request.path), extra
        query = request.query
        if operation in PAGED:
            try:
                index, size = _int(query, "pageIndex", 1), _int(query, "pageSize", PAGED[operation])
            except BadRequest as exc:
                return error(400, str(exc)), extra
            if faults & PAGING_FAULTS and size > PAGE_CAP:
                query = dict(query, pageSize=[str(PAGE_CAP)])  # a page 2 to break, even in the lab's small tree
            if index == 1:
                record["paged"].add(request.path)
            elif index == 2 and "unauthorized_mid_paging" in faults and request.path in record["paged"]:
                self.tokens.kill(token)
                extra["fault"] = "unauthorized_mid_paging"
                return error(401, "the access token has expired"), extra
            elif index == 2 and "bad_page" in faults:
                extra["fault"] = "bad_page"
                return json_answer(200, "Internal error"), extra
        try:
            return getattr(self, "_" + operation)(site, query, *[unquote(g) for g in match.groups()]), extra
        except BadRequest as exc:
            return error(400, str(exc)), extra

    # ----- identity

    def _authenticate(self, request, site, extra):
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return error(400, "the body must be a JSON UserCredential")
        if not isinstance(body, dict):
            return error(400, "the body must be a JSON UserCredential")
        missing = [key for key in ("username", "password", "domain") if key not in body]
        if missing:
            return error(400, "UserCredential is missing the required %s" % ", ".join(missing))
        if not all(isinstance(body[key], str) for key in ("username", "password", "domain")):
            return error(400, "username, password and domain must be strings")
        known = (body["username"].lower() == self.account["username"].lower()
                 and hmac.compare_digest(body["password"].encode("utf-8"), self.account["password"].encode("utf-8"))
                 and body["domain"].lower() in ("", "default"))
        if not known:
            return error(401, "Invalid user name, password or domain")
        extra["user"] = self.account["username"]
        token = self.tokens.issue(self.account["username"])
        return json_answer(200, {
            "adminId": site.admin_id, "token": token, "tokenExpiration": TOKEN_LIFETIME_S,
            "username": self.account["username"], "getfullName": "SEPM lab administrator",
            "domain": site.domain["name"], "domainid": site.domain["id"],
            "role": {"bitMask": 8, "title": "System Administrator"},
            "permissionSet": {"reportingRights": True, "groupRights": True, "siteRights": True,
                              "remoteCommandRights": True, "policyRights": True},
            "serverTime": int(time.time() * 1000)})

    # ----- infrastructure

    def _version(self, site, query):
        return json_answer(200, dict(edr_scenarios.SEPM_VERSION))

    def _servers(self, site, query):
        return json_answer(200, [{"id": site.server_id, "directory_server_integration": {"enable": False}}])

    # ----- groups and their settings

    def _group_or_410(self, site, group_id):
        group = site.group(group_id) or site.group(group_id.upper())
        if group is None:
            raise _NotFound(410, "Cannot find the specified object: group %s" % group_id)
        return group

    def _groups(self, site, query):
        groups = [g["json"] for g in site.groups]
        path = _one(query, "fullPathName")
        if path:
            groups = [g for g in groups if g["fullPathName"].lower() == path.lower()]
        domain = _one(query, "domain")
        if domain:
            groups = [g for g in groups if g["domain"]["id"].lower() == domain.lower()]
        sort = _one(query, "sort") or "fullPathName"
        key = dict((name.lower(), name) for name in GROUP_SORTS).get(sort.lower())
        if key is None:
            raise BadRequest("sort must be one of %s, not %r" % (", ".join(GROUP_SORTS), sort))
        return json_answer(200, page(_ordered(groups, lambda g: str(g[key]).lower(), query), query, PAGED["groups"]))

    def _group(self, site, query, group_id):
        return self._lookup(lambda: json_answer(200, self._group_or_410(site, group_id)["json"]))

    def _group_computers(self, site, query, group_id):
        def answer():
            group = self._group_or_410(site, group_id)
            members = [c for c in site.computers if c["group"]["id"] == group["id"]]
            return json_answer(200, page(self._filter_computers(site, members, query), query, PAGED["group_computers"]))
        return self._lookup(answer)

    def _group_locations(self, site, query, group_id):
        def answer():
            locations = site.locations(self._group_or_410(site, group_id))
            if (_one(query, "hasName") or "").lower() == "false":
                return json_answer(200, [{"id": loc["id"]} for loc in locations])
            return json_answer(200, [dict(loc) for loc in locations])
        return self._lookup(answer)

    def _group_external_communication(self, site, query, group_id):
        def answer():
            group = site.group(group_id) or site.group(group_id.upper())
            if group is None:
                raise _NotFound(404, "Cannot find the specified object: group %s" % group_id)
            return json_answer(200, {"configuration": site.group_settings(group), "lockedoptions": {}})
        return self._lookup(answer)

    def _location(self, site, group_id, location_id):
        group = site.group(group_id) or site.group(group_id.upper())
        if group is None:
            raise _NotFound(404, "Cannot find the specified object: group %s" % group_id)
        if site.location_settings(group, location_id) is None:
            raise _NotFound(404, "Cannot find the specified object: location %s of group %s" % (location_id, group_id))
        return group

    def _location_external_communication(self, site, query, group_id, location_id):
        def answer():
            group = self._location(site, group_id, location_id)
            return json_answer(200, {"configuration": site.location_settings(group, location_id), "lockedoptions": {}})
        return self._lookup(answer)

    def _location_settings(self, site, query, group_id, location_id):
        def answer():
            group = self._location(site, group_id, location_id)
            return json_answer(200, {"configuration": site.settings_configuration(group, location_id), "lockedoptions": {}})
        return self._lookup(answer)

    @staticmethod
    def _lookup(answer):
        try:
            return answer()
        except _NotFound as exc:
            return error(exc.status, exc.message)

    # ----- computers

    def _computers(self, site, query):
        return json_answer(200, page(self._filter_computers(site, site.computers, query), query, PAGED["computers"]))

    def _filter_computers(self, site, computers, query):
        domain = _one(query, "domain")
        if domain:
            computers = [c for c in computers if c["group"]["domain"]["id"].lower() == domain.lower()]
        for name, field in (("computer_id", "uniqueId"), ("hardware_key", "hardwareKey")):
            value = _one(query, name)
            if value:  # "the query will ignore all other query conditions except domain, feature and verbose"
                return [c for c in computers if c[field].lower() == value.lower()]
        name = _one(query, "computerName")
        if name:
            match = wildcard(name)
            computers = [c for c in computers if match.match(c["computerName"])]
        mac = _one(query, "mac")
        if mac:
            match = wildcard(re.sub(r"[^0-9A-Fa-f*]", "", mac))
            computers = [c for c in computers if any(match.match(re.sub(r"[^0-9A-Fa-f]", "", m)) for m in c["macAddresses"])]
        systems = _list(query, "os")
        if systems:
            wanted = set(s.lower() for s in systems)
            computers = [c for c in computers if site.os_codes[c["uniqueId"]].lower() in wanted]
        since = _int(query, "lastUpdate", 0)
        if since:
            computers = [c for c in computers if c["lastUpdateTime"] > since]
        sort = (_one(query, "sort") or "COMPUTER_NAME").upper()
        if sort not in COMPUTER_SORTS:
            raise BadRequest("sort must be one of %s, not %r" % (", ".join(COMPUTER_SORTS), _one(query, "sort")))
        return _ordered(computers, COMPUTER_SORTS[sort], query)


class _NotFound(Exception):
    def __init__(self, status, message):
        super(_NotFound, self).__init__(message)
        self.status, self.message = status, message
