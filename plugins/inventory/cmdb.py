# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: cmdb
short_description: Managed computers from the Symantec CMDB, with their CEM state
version_added: 0.1.0
author: ITMS CEM Developers (@itms-cem)
description:
  - Adds every managed computer of the Symantec CMDB (C(vComputer) with C(IsManaged = 1)) as a host, with its
    Cloud-enabled Management (CEM) state as variables.
  - Reads the tables of KB 440752 Part 2 through a schema profile, which is checked against the CMDB before the
    query runs. The certificate kind (C(itms_authentication_type) with the default prefix) comes from the
    profile's C(tables.authentication); without that mapping the variable is null.
  - Every value read from the CMDB is marked unsafe, so a computer name such as C({{ 7 * 7 }}) stays that text and
    is never templated.
  - The inventory file name must end in C(cmdb.yml) or C(cmdb.yaml).
  - "Variables set on each host (with the default prefix): C(itms_guid), C(itms_computer_name),
    C(itms_connection_state) (C(cem) or C(lan)), C(itms_is_on_internet), C(itms_https_mode),
    C(itms_cem_configured), C(itms_gateway), C(itms_gateway_port), C(itms_last_success) and
    C(itms_authentication_type)."
extends_documentation_fragment:
  # cmdb_url, cmdb_password, cmdb_profile, cmdb_timeout and cmdb_encryption, as the modules have them; the options
  # below add what an inventory plugin needs on top (ansible-core merges them per option)
  - itms.cem.cmdb
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; marks the file as a source for it.
    type: str
    required: true
    choices: [itms.cem.cmdb]
  cmdb_url:
    env:
      - name: ITMS_CMDB_URL
  cmdb_password:
    secret: true
    env:
      - name: ITMS_CMDB_PASSWORD
  hostname:
    description:
      - Which column names the host. V(name) uses the computer name (plus O(host_domain)); V(guid) uses the resource
        GUID, which keeps computers that share a name.
    type: str
    default: name
    choices: [name, guid]
  host_domain:
    description:
      - A DNS suffix appended to the computer name to make the inventory host name, such as V(corp.example.com).
      - Only used with O(hostname=name).
    type: str
  variable_prefix:
    description: Prefix of every variable this plugin sets.
    type: str
    default: itms_
notes:
  - Two computers with the same name (compared without case, as Windows does) give one host, the first in name order;
    a single warning gives the count. Use O(hostname=guid) to keep them all.
  - With O(cache=true) the rows read from the CMDB are kept by the cache plugin; a later run reads them instead of the
    CMDB. C(ansible-inventory --flush-cache) or O(cache_timeout) refreshes them, and so does changing O(cmdb_url)
    or the profile.
  - Each O(compose), O(groups) and O(keyed_groups) expression is evaluated once per distinct value of the variables
    it reads (the plugin's variables, composed variables, C(inventory_hostname)), and its outcome is applied to
    every host with the same values. An expression that reads any other name (such as C(group_names) or an extra
    variable), calls C(lookup), C(query), C(q) or C(now), or uses a C(random) or C(shuffle) like filter is
    evaluated for every host.
  - A run that takes longer than 5 seconds prints a progress line on stderr every 5 seconds.
seealso:
  - name: The CMDB inventory guide
    description: Inventory file, variables, grouping and caching (docs/inventory.md in the collection).
    link: https://github.com/itms-cem/itms.cem/blob/main/docs/inventory.md
"""

EXAMPLES = r"""
---
# inventory/cem.cmdb.yml  (the file name must end in cmdb.yml or cmdb.yaml)
plugin: itms.cem.cmdb
cmdb_url: mssql://CORP%5Csvc_cem_read@sql01.corp.example.com/Symantec_CMDB
# cmdb_password comes from ITMS_CMDB_PASSWORD
cmdb_profile: /etc/itms/cmdb-profile.yml
compose:
  # host names stay the computer names; connections go to the FQDN
  ansible_host: (itms_computer_name | lower) ~ '.corp.example.com'
keyed_groups:
  # gateway_ig_emea_cem_example_com, ..., gateway_none
  - key: itms_gateway | default('none', true)
    prefix: gateway
  # cem_cem (through a gateway now), cem_lan
  - key: itms_connection_state
    prefix: cem
  # auth_permanent, auth_ephemeral, auth_both, auth_unknown
  - key: (itms_authentication_type | default('unknown', true)) | lower
    prefix: auth
groups:
  cem_configured_but_offline: itms_cem_configured and not itms_is_on_internet
  intranet_http: not itms_is_on_internet and not itms_https_mode
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/itms-cem-inventory
cache_timeout: 3600

---
# fqdn.cmdb.yml: host names are FQDNs (NAME.corp.example.com); no certificate kind without a profile
plugin: itms.cem.cmdb
cmdb_url: mssql://CORP%5Csvc_cem_read@sql01.corp.example.com/Symantec_CMDB
host_domain: corp.example.com

---
# lab.cmdb.yml: the lab CMDB, one host per resource GUID
plugin: itms.cem.cmdb
cmdb_url: sqlite:///build/lab/cmdb.sqlite
cmdb_profile: tests/lab/profiles/cmdb.yml
hostname: guid
compose:
  ansible_host: itms_computer_name
keyed_groups:
  - key: itms_connection_state
    prefix: cem
"""

import hashlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from operator import itemgetter  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible.utils.unsafe_proxy import wrap_var  # noqa: E402
from ansible.utils.vars import load_extra_vars  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _queries, _secrets  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile  # noqa: E402
from ansible_collections.itms.cem.plugins.plugin_utils._constructed import constructor  # noqa: E402

# Columns of _queries' inventory_hosts query, in the order the loop below unpacks them.
COLUMNS = ("guid", "name", "is_on_internet", "https_mode", "cem_configured", "gateway", "gateway_port",
           "last_success", "authentication_type")
# Variables per host, without the prefix, in the order they are set.
VARIABLES = ("guid", "computer_name", "connection_state", "is_on_internet", "https_mode", "cem_configured",
             "gateway", "gateway_port", "last_success", "authentication_type")
# Bumped when the shape of what is cached changes, so an old cache entry is read as a miss.
CACHE_FORMAT = 1

# Progress on stderr: a line every PROGRESS_EVERY seconds of a run, the clock read every PROGRESS_CHECK computers.
PROGRESS_EVERY = 5.0
PROGRESS_CHECK = 500
_clock = time.monotonic  # a module attribute, so that tests can put a fake clock here

# Exactly these classes: a value of one of them carries no tag, so it is not trusted as a template. (A tagged value,
# trusted or not, is of a subclass.)
_UNTAGGED = frozenset((str, bool, int, float, type(None)))


def make_unsafe(value):
    """Mark a value read from the CMDB as unsafe: it is never templated.

    On ansible-core 2.19 and later only a value tagged as trusted is templated. A plain str, bool, int, float or None
    carries no tag and is returned as it is, which keeps the per-host cost low. Anything else (a string tagged as
    trusted, as a trusting cache or driver could hand it over, or a container) goes through wrap_var, which removes
    the trust whatever the text holds: {{, {% or {#, or no brace at all under a #jinja2: header that changes the
    delimiters.
    """
    if value.__class__ in _UNTAGGED:
        return value
    return wrap_var(value)


class HostCounts:
    """What iter_hosts left out: same-name computers and computers without a name."""

    def __init__(self):
        self.collisions = 0
        self.unnamed = 0


def iter_hosts(columns, rows, hostname="name", host_domain=None, counts=None):
    """Pure: ``(host name, values)`` per host, values in the order of VARIABLES, not yet marked unsafe.

    A resource seen again (the same GUID, say with two current gateway rows) is skipped silently; a second computer
    with a name already used (compared without case, as Windows and DNS do) is skipped and counted in
    ``counts.collisions``; a computer without a name is counted in ``counts.unnamed`` (with ``hostname=name``).
    """
    counts = counts if counts is not None else HostCounts()
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise ValueError("the inventory query returned no column(s) %s" % ", ".join(missing))
    row_values = itemgetter(*[list(columns).index(c) for c in COLUMNS])
    by_guid = hostname == "guid"
    domain = (host_domain or "").strip().strip(".")
    suffix = "." + domain if domain and not by_guid else ""
    guids, seen = set(), set()
    for row in rows:
        guid, name, online, https, configured, gateway, port, last, auth = row_values(row)
        if guid in guids:
            continue
        guids.add(guid)
        if by_guid:
            host = str(guid)
        elif not name:
            counts.unnamed += 1
            continue
        else:
            host = name + suffix if suffix else name
        folded = host.lower()
        if folded in seen:
            counts.collisions += 1
            continue
        seen.add(folded)
        online = online == 1
        yield host, (guid, name, "cem" if online else "lan", online, https == 1, configured == 1, gateway, port,
                     last, auth)


class Progress:
    """Progress lines on stderr during a long run: one every PROGRESS_EVERY seconds, none on a short run."""

    def __init__(self, total, display, started, clock=None):
        self.total = total
        self.display = display
        self.clock = clock or _clock
        self.started = started
        self.last = started
        self.shown = False

    def tick(self, done):
        """``done`` computers are in: a line if PROGRESS_EVERY seconds passed since the last one (or the start)."""
        now = self.clock()
        if now - self.last >= PROGRESS_EVERY:
            self.show(done, now)

    def show(self, done, now):
        self.display.display("itms.cem.cmdb: {0:,} of {1:,} computers added ({2:.0f} s)".format(
            done, self.total, now - self.started), stderr=True)
        self.last = now
        self.shown = True

    def finish(self):
        """The last line, when earlier ones were shown."""
        if self.shown:
            self.show(self.total, self.clock())


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "itms.cem.cmdb"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("cmdb.yml", "cmdb.yaml"))

    # -- reading the CMDB --------------------------------------------------------------------
    def _fail(self, exc):
        """An AnsibleParserError with the typed error's message, never holding a password in any spelling."""
        secrets = [self.get_option("cmdb_password"), _secrets.url_password(self.get_option("cmdb_url"))]
        return AnsibleParserError("itms.cem.cmdb: %s" % _secrets.scrub(exc, secrets))

    def _prepare(self):
        """The rendered inventory query and a fingerprint of where the rows come from (no database access)."""
        profile = load_cmdb_profile(self.get_option("cmdb_profile") or None)
        query = _queries.CATALOG["inventory_hosts"] if profile.has_table("authentication") \
            else _queries.INVENTORY_WITHOUT_AUTH
        rendered = _queries.render(query, profile)
        source = json.dumps([self.get_option("cmdb_url"), rendered.sql, sorted(rendered.params.items())],
                            sort_keys=True, default=str)
        return profile, rendered, hashlib.sha256(source.encode("utf-8")).hexdigest()

    def _fetch(self, profile, rendered, fingerprint):
        # Imported here: the client brings sqlglot, which a run served from the cache does not need.
        from ansible_collections.itms.cem.plugins.module_utils._cmdb import CmdbClient

        client = CmdbClient(self.get_option("cmdb_url"), password=self.get_option("cmdb_password"),
                            timeout=self.get_option("cmdb_timeout"), encryption=self.get_option("cmdb_encryption"))
        try:
            result = _queries.run_rendered(client, rendered, profile)
        finally:
            client.close()
        for warning in client.warnings:  # such as a SQL Server login that may write
            self.display.warning("itms.cem.cmdb: %s" % warning)
        # The raw rows, JSON-safe, so that every cache plugin can keep them.
        return dict(format=CACHE_FORMAT, source=fingerprint, columns=list(result.columns), rows=result.rows)

    @staticmethod
    def _usable(data, fingerprint):
        return isinstance(data, dict) and data.get("format") == CACHE_FORMAT and data.get("source") == fingerprint \
            and isinstance(data.get("columns"), list) and isinstance(data.get("rows"), list)

    def parse(self, inventory, loader, path, cache=True):
        started = _clock()  # the progress lines count from here: the CMDB query is part of a long run
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)  # also sets up the cache plugin

        failure = None
        try:
            data = self._rows(path, cache)
        except CemError as exc:
            failure = self._fail(exc)
        if failure is not None:
            # Raised outside the except block: the typed error (whose text may hold what was scrubbed) is neither
            # the cause nor the context of what Ansible shows, and the driver's exception stays out of tracebacks.
            raise failure from None

        self._populate(data["columns"], data["rows"], started)

    def _rows(self, path, cache):
        profile, rendered, fingerprint = self._prepare()
        cache_key = self.get_cache_key(path)
        user_cache_setting = self.get_option("cache")
        attempt_to_read_cache = user_cache_setting and cache
        cache_needs_update = user_cache_setting and not cache
        data = None
        if attempt_to_read_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                data = None
            if not self._usable(data, fingerprint):  # a miss, an old format, or another URL or profile
                data = None
                cache_needs_update = True
        if data is None:
            data = self._fetch(profile, rendered, fingerprint)
        if cache_needs_update:
            self._cache[cache_key] = data
        return data

    # -- filling the inventory ---------------------------------------------------------------
    def _populate(self, columns, rows, started):
        # Options and names are looked up once, not per host.
        names = [(self.get_option("variable_prefix") or "") + v for v in VARIABLES]
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        add_host = self.inventory.add_host
        set_variable = self.inventory.set_variable

        missing = [c for c in COLUMNS if c not in columns]
        if missing:  # not from this plugin's own query or cache
            raise AnsibleParserError("itms.cem.cmdb: the inventory query returned no column(s) %s." % ", ".join(missing))
        counts = HostCounts()
        # a list: its length is the total of the progress lines
        hosts = list(iter_hosts(columns, rows, self.get_option("hostname"), self.get_option("host_domain"), counts))
        extra = frozenset(load_extra_vars(self.loader)) if self.get_option("use_extra_vars") else frozenset()
        construct = constructor(self, names, compose, groups, keyed_groups, strict, extra)
        progress = Progress(len(hosts), self.display, started)
        check = PROGRESS_CHECK
        for index, (host, values) in enumerate(hosts):
            if index and not index % check:
                progress.tick(index)
            host = add_host(make_unsafe(host))
            host_vars = dict(zip(names, map(make_unsafe, values)))
            # InventoryData has no call that sets several variables at once: one call per variable.
            for key, value in host_vars.items():
                set_variable(host, key, value)
            if construct is not None:
                construct(host, host_vars)
        progress.finish()

        if counts.collisions:
            self.display.warning(
                "itms.cem.cmdb: %d managed computer(s) have a name that another one already uses; only the first of "
                "each name is in the inventory. Set 'hostname: guid' to keep every computer." % counts.collisions)
        if counts.unnamed:
            self.display.warning("itms.cem.cmdb: %d managed computer(s) have no name and are left out. Set "
                                 "'hostname: guid' to include them." % counts.unnamed)
