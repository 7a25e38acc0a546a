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
    Cloud-enabled Management state as variables.
  - Reads the tables of KB 440752 Part 2 through the schema profile, which is checked against the CMDB first.
    The certificate kind comes from the profile's C(tables.authentication); without it the variable is null.
  - Every value read from the CMDB is marked unsafe, so it is never templated.
  - The file must end in C(cmdb.yml) or C(cmdb.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [itms.cem.cmdb]
  cmdb_url:
    description:
      - C(mssql://user@host[:port]/Symantec_CMDB) or C(sqlite:///path); see the itms.cem.cmdb doc fragment.
    type: str
    required: true
    env:
      - name: ITMS_CMDB_URL
  cmdb_password:
    description: Password of the SQL Server login. Never shown.
    type: str
    env:
      - name: ITMS_CMDB_PASSWORD
  cmdb_profile:
    description: Path of a YAML schema profile on the controller (see docs/profiles.md).
    type: path
  cmdb_timeout:
    description: Seconds for the login and the query.
    type: int
    default: 30
  cmdb_encryption:
    description: TLS for SQL Server (FreeTDS C(encryption)).
    type: str
    default: require
    choices: [require, request, "off"]
  hostname:
    description: Which column names the host, the computer name or its resource GUID.
    type: str
    default: name
    choices: [name, guid]
  host_domain:
    description: A DNS suffix appended to the computer name to make the inventory host name, such as C(corp.example.com).
    type: str
  variable_prefix:
    description: Prefix of every variable this plugin sets.
    type: str
    default: itms_
"""

EXAMPLES = r"""
# cem.cmdb.yml
plugin: itms.cem.cmdb
cmdb_url: mssql://CORP%5Csvc_cem_read@sql01.corp.example.com/Symantec_CMDB
cmdb_profile: /etc/itms/cmdb-profile.yml
host_domain: corp.example.com
keyed_groups:
  - key: itms_gateway | default('none', true)
    prefix: gateway
  - key: itms_connection_state
    prefix: cem
  - key: itms_authentication_type | default('unknown', true)
    prefix: auth
groups:
  cem_configured_but_offline: itms_cem_configured and not itms_is_on_internet
compose:
  ansible_host: inventory_hostname
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/itms-cem-inventory
cache_timeout: 3600
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.itms.cem.plugins.module_utils import _queries
from ansible_collections.itms.cem.plugins.module_utils._cmdb import CmdbClient
from ansible_collections.itms.cem.plugins.module_utils._errors import CemError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile

BOOLEAN_COLUMNS = ("is_on_internet", "https_mode", "cem_configured")


def rows_to_hosts(columns, rows, hostname="name", host_domain=None):
    """Pure: (host name, variables) per row; later rows with a name already seen are dropped and counted."""
    index = dict((c, i) for i, c in enumerate(columns))
    seen = set()
    hosts, duplicates = [], 0
    suffix = "." + host_domain.strip(".") if host_domain else ""
    for row in rows:
        name = row[index[hostname]]
        if not name:
            continue
        name = str(name) + (suffix if hostname == "name" else "")
        if name.lower() in seen:
            duplicates += 1
            continue
        seen.add(name.lower())
        online = bool(row[index["is_on_internet"]])
        variables = dict(
            guid=row[index["guid"]],
            computer_name=row[index["name"]],
            connection_state="cem" if online else "lan",
            is_on_internet=online,
            https_mode=bool(row[index["https_mode"]]),
            cem_configured=bool(row[index["cem_configured"]]),
            gateway=row[index["gateway"]],
            gateway_port=row[index["gateway_port"]],
            authentication_type=row[index["authentication_type"]],
            last_success=row[index["last_success"]],
        )
        hosts.append((name, variables))
    return hosts, duplicates


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "itms.cem.cmdb"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("cmdb.yml", "cmdb.yaml"))

    def _fetch(self):
        try:
            profile = load_cmdb_profile(self.get_option("cmdb_profile"))
            query = _queries.CATALOG["inventory_hosts"] if profile.has_table("authentication") \
                else _queries.INVENTORY_WITHOUT_AUTH
            client = CmdbClient(self.get_option("cmdb_url"), password=self.get_option("cmdb_password"),
                                timeout=self.get_option("cmdb_timeout"), encryption=self.get_option("cmdb_encryption"))
            try:
                result = client.run_rendered(_queries.render(query, profile), profile)
            finally:
                client.close()
        except CemError as exc:
            raise AnsibleParserError("itms.cem.cmdb: %s" % exc)
        return dict(columns=result.columns, rows=[list(r) for r in result.rows])

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[cache_key] = data
        self._populate(data)

    def _populate(self, data):
        hosts, duplicates = rows_to_hosts(data["columns"], data["rows"], self.get_option("hostname"),
                                          self.get_option("host_domain"))
        if duplicates:
            self.display.warning("itms.cem.cmdb: %d computers share a name with another one; only the first of each "
                                 "is in the inventory (use hostname: guid to keep them all)." % duplicates)
        prefix = self.get_option("variable_prefix")
        strict = self.get_option("strict")
        compose, groups, keyed = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        inventory = self.inventory
        for name, variables in hosts:
            name = inventory.add_host(wrap_var(name))
            host_vars = dict((prefix + key, wrap_var(value)) for key, value in variables.items())
            for key, value in host_vars.items():
                inventory.set_variable(name, key, value)
            if compose:
                self._set_composite_vars(compose, host_vars, name, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, host_vars, name, strict=strict)
            if keyed:
                self._add_host_to_keyed_groups(keyed, host_vars, name, strict=strict)
