#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_query
short_description: Run a catalog CEM query or a read-only SELECT against the CMDB
version_added: 0.1.0
description:
  - Runs one of the collection's catalog queries (KB 440752 Part 2 and the CEM reports of KB 187342) or a custom
    read-only T-SQL C(SELECT) against the Symantec CMDB, and returns the rows.
  - Catalog queries are T-SQL whose table and column names come from the schema profile (O(cmdb_profile)); every
    table and column they need is checked against the live CMDB first.
  - Custom SQL must be exactly one C(SELECT) (a C(WITH) or C(UNION) of selects is fine). Anything that writes,
    C(SELECT ... INTO), C(EXEC), several statements (with or without semicolons, or a C(GO) line), four-part names
    through a linked server and C(OPENROWSET)-style functions are refused before the CMDB sees them. Values go in
    O(parameters) and are always bound, never pasted into the SQL.
  - On SQL Server every statement is rolled back, and the task warns when the login could write to the CMDB; use a
    login that is only in C(db_datareader).
  - At most O(limit) rows are read and returned; RV(truncated) tells whether the query had more.
  - On an SQLite CMDB the T-SQL is translated with sqlglot.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.CMDB
options:
  query:
    description:
      - Name of a catalog query. Each is described with its columns in the reports guide.
      - V(connection_state) is the KB 440752 Part 2 query, sent verbatim with the built-in profile.
      - V(authentication_type_distribution) and V(cloud_enabled_by_authentication) need C(tables.authentication) in
        the profile; V(managed_clients) needs C(tables.resource_state).
      - Exactly one of O(query) and O(sql) is required.
    type: str
    choices:
      - authentication_type_distribution
      - cloud_enabled_by_authentication
      - computers_by_gateway
      - configured_vs_connected
      - connection_state
      - connection_type_distribution
      - inventory_hosts
      - managed_clients
      - managed_computers
      - on_internet
      - over_http
  sql:
    description:
      - A custom read-only T-SQL C(SELECT) with C(@name) placeholders for values.
      - Every reserved T-SQL keyword that one C(SELECT) has no use for is refused wherever it stands outside strings,
        comments and delimited names (T-SQL needs no semicolon between statements). A column or alias with such a
        name must be bracketed, for example C([Delete]).
      - C(OFFSET ... FETCH) paging is refused with the rest of C(FETCH); use C(TOP) or O(limit).
    type: str
  parameters:
    description:
      - Values for the C(@name) placeholders of O(sql), without the C(@). Every placeholder needs a value and every
        value a placeholder.
      - Each value is one string, number, boolean or null; a list or dictionary is refused. For C(IN), write one
        placeholder per value, C(IN (@a, @b)).
    type: dict
    default: {}
  limit:
    description:
      - The most rows to read from the CMDB and return. When the query has more, the rest is never fetched,
        RV(truncated) is true and the task warns.
      - V(0) reads every row; a large result makes a large task result, so rather aggregate in SQL (C(COUNT),
        C(GROUP BY)).
    type: int
    default: 1000
  select:
    description:
      - A JMESPath expression applied to the list of rows returned (at most O(limit) of them); its result is
        returned as RV(rows).
      - Needs the jmespath library on the controller.
    type: str
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
requirements:
  - sqlglot >= 25.0 (parses the read-only check and transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
  - jmespath, for O(select)
seealso:
  - module: itms.cem.cmdb_schema_info
  - module: itms.cem.cem_report
"""

EXAMPLES = r"""
- name: Count managed computers by connection type
  itms.cem.cmdb_query:
    cmdb_url: mssql://LAB%5Csvc_cem@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_password }}"
    query: connection_type_distribution
  delegate_to: localhost
  register: by_type

- name: Computers currently on CEM through one gateway (names only)
  itms.cem.cmdb_query:
    cmdb_url: "{{ itms_cmdb_url }}"
    cmdb_profile: "{{ playbook_dir }}/profiles/cmdb.yml"
    sql: >-
      SELECT vc.[Name], gw.[Last Success]
      FROM vComputer vc
      JOIN Inv_AeX_AC_InternetGatewayDetails gw ON vc.[Guid] = gw.[_ResourceGuid]
      WHERE gw.[Gateway] = @gateway AND gw.[Current] = 1
    parameters:
      gateway: ig-emea.cem.example.com
    select: "[].Name"
  delegate_to: localhost
  register: emea

- name: Set the connection once for every CMDB task of a play
  hosts: localhost
  module_defaults:
    group/itms.cem.cmdb:
      cmdb_url: sqlite:////var/lib/itms-lab/cmdb.sqlite
  tasks:
    - name: Who is on the Internet
      itms.cem.cmdb_query:
        query: on_internet
"""

RETURN = r"""
rows:
  description:
    - The rows, one dictionary per row keyed by column name; or the result of O(select) when it is set.
  returned: success
  type: raw
  sample: [{"Connection Type": "Internet Gateway (CEM)", "Computers": 312}]
columns:
  description: Column names in query order.
  returned: success
  type: list
  elements: str
  sample: ["Connection Type", "Computers"]
row_count:
  description: Number of rows returned, at most O(limit) (counted before O(select)).
  returned: success
  type: int
  sample: 3
truncated:
  description: Whether the query had more rows than O(limit); those were not read.
  returned: success
  type: bool
  sample: false
elapsed_ms:
  description: Milliseconds the query took in the CMDB, fetch included.
  returned: success
  type: int
  sample: 42
query:
  description: The catalog query name, or C(custom).
  returned: success
  type: str
  sample: connection_type_distribution
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile
from ansible_collections.itms.cem.plugins.module_utils._queries import QUERY_NAMES, run_catalog

try:
    import jmespath

    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False


def run(module, client):
    params = module.params
    if params["limit"] < 0:
        raise InputError("limit is %d; it must be 0 (every row) or more." % params["limit"])
    max_rows = params["limit"] or None
    if params["query"]:
        if params["parameters"]:
            raise InputError("Catalog queries take no parameters; the profile supplies their values.",
                             hint="Use sql with @name placeholders for a query of your own.")
        result = run_catalog(client, params["query"], load_cmdb_profile(params["cmdb_profile"]), max_rows)
        name = params["query"]
    else:
        result = client.run_sql(params["sql"], params["parameters"], max_rows=max_rows)
        name = "custom"
    if len(set(result.columns)) != len(result.columns):
        module.warn("The query returns several columns with the same name; only the last of each is kept in "
                    "rows. Give them distinct aliases.")
    if result.truncated:
        module.warn("The query has more than %d rows; only the first %d were read and returned (truncated: true). "
                    "Raise limit, set it to 0 for every row, or aggregate in SQL (COUNT, GROUP BY)."
                    % (params["limit"], params["limit"]))
    rows = result.as_dicts()
    if params["select"]:
        try:
            rows = jmespath.search(params["select"], rows)
        except jmespath.exceptions.JMESPathError as exc:
            raise InputError("The select expression is not valid JMESPath: %s" % exc)
    return False, dict(rows=rows, columns=result.columns, row_count=len(result.rows), truncated=result.truncated,
                       elapsed_ms=result.elapsed_ms, query=name), None


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            query=dict(type="str", choices=QUERY_NAMES),
            sql=dict(type="str"),
            parameters=dict(type="dict", default={}),
            limit=dict(type="int", default=1000),
            select=dict(type="str"),
        ),
        mutually_exclusive=[("query", "sql")],
        required_one_of=[("query", "sql")],
        supports_check_mode=True,
    )
    if module.params["select"] and not HAS_JMESPATH:
        module.fail_json(msg=missing_required_lib("jmespath"))
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
