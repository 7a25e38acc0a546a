#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cmdb_schema_info
short_description: Check a CMDB schema profile against the live CMDB and search its schema
version_added: 0.1.0
description:
  - The "schema verification" step of KB 440752 as a task. The vendor warns that C(Inv_AeX_AC_InternetGatewayDetails)
    may not exist everywhere and that "Table and column naming may vary by schema version".
  - Checks that every table and column the schema profile names exists in the CMDB and lists what is missing.
  - Lists the logical tables the profile leaves unmapped (not publicly documented), so you know which catalog
    queries cannot run yet.
  - With O(search), lists the tables whose name or columns match a pattern, to find the tables to put in a profile.
  - When the profile maps the access store (C(tables.agent_access), not publicly documented), also checks how a
    decision is written (C(access.write)) - the C(set_now) columns of kind C(update), or that the stored procedure
    of kind C(procedure) exists on SQL Server - and reports it in RV(access). Kind C(procedure) on an SQLite CMDB is
    an input error (SQLite has no stored procedures).
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.cmdb
  - itms.cem.attributes
  - itms.cem.attributes.INFO
  - itms.cem.attributes.CMDB
options:
  search:
    description:
      - A SQL C(LIKE) pattern (C(%) and C(_) wildcards, case-insensitive on a default SQL Server collation) matched
        against table and column names.
    type: str
  fail_on_mismatch:
    description:
      - Fail the task when the profile names a table or column the CMDB does not have.
      - By default the result only reports it in RV(profile_ok) and RV(missing).
    type: bool
    default: false
notes:
  - "Runs on the controller: use C(delegate_to: localhost) or a play on localhost."
requirements:
  - sqlglot >= 25.0 (parses the read-only check and transpiles T-SQL for SQLite)
  - pymssql >= 2.3.0, for C(mssql://) URLs
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.cmdb_query
"""

EXAMPLES = r"""
- name: Verify the profile before deploying reports (fail if the CMDB differs)
  itms.cem.cmdb_schema_info:
    cmdb_url: mssql://LAB%5Csvc_cem@sql01.corp.example.com/Symantec_CMDB
    cmdb_password: "{{ vault_cmdb_password }}"
    fail_on_mismatch: true
  delegate_to: localhost

- name: Find where the CMDB keeps certificate or authentication data
  itms.cem.cmdb_schema_info:
    cmdb_url: "{{ itms_cmdb_url }}"
    search: "%Auth%"
  delegate_to: localhost
  register: auth_tables

- name: Show candidate tables
  ansible.builtin.debug:
    var: auth_tables.matches
"""

RETURN = r"""
profile_name:
  description: Name of the profile that was checked.
  returned: always
  type: str
  sample: itms-8.8-documented
profile_ok:
  description: Whether every table and column the profile names exists.
  returned: always
  type: bool
  sample: true
missing:
  description: Tables (C(name (table))) and columns (C(table.column)) the profile names but the CMDB lacks.
  returned: always
  type: list
  elements: str
  sample: ["Inv_AeX_AC_InternetGatewayDetails (table)"]
checked:
  description: Every C(table.column) the profile names, as checked.
  returned: always
  type: list
  elements: str
  sample: ["vComputer.Guid", "vComputer.Name"]
unmapped:
  description: Logical tables the profile leaves unmapped, and what to do about each.
  returned: always
  type: dict
  sample: {"authentication": "The table that holds each computer's CEM authentication type ... is not publicly documented."}
tables:
  description: For each table the profile names and the CMDB has, its columns as the CMDB spells them.
  returned: always
  type: dict
  sample: {"vComputer": ["Guid", "Name", "IsManaged"]}
access:
  description:
    - How the profile reads and writes the access store of the "Cloud-enabled Agents Access Troubleshooting" page.
    - C(mapped) whether C(tables.agent_access) is mapped (when not, C(hint) says how to find it); C(table); C(write)
      the write kind (C(update), C(procedure), or null when C(access.write) is missing); C(set_now) the columns set to
      the time of a decision; C(procedure) and C(procedure_exists) for kind C(procedure); C(statuses) the stored value
      of each state (null when not mapped).
  returned: always
  type: dict
  sample: {"mapped": true, "table": "Lab_CEM_Agent_Access", "write": "update", "set_now": ["DecidedDate"],
           "procedure": null, "procedure_exists": null, "statuses": {"pending": 0, "approved": 1, "blocked": 2}}
matches:
  description: With O(search), the tables whose name or columns match, with the matching columns (all columns when
    the table name matched).
  returned: when O(search) is set
  type: dict
  sample: {"Inv_AeX_AC_InternetGatewayDetails": ["Gateway"]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.itms.cem.plugins.module_utils import _access
from ansible_collections.itms.cem.plugins.module_utils._cmdb_args import cmdb_argument_spec, run_cmdb_module
from ansible_collections.itms.cem.plugins.module_utils._errors import ProfileMismatch
from ansible_collections.itms.cem.plugins.module_utils._profile import (
    ACCESS_STATUSES, UNDOCUMENTED_HINT, load_cmdb_profile,
)


def access_section(client, profile, missing):
    """What the profile says of the access store, with the stored procedure checked (appended to ``missing``)."""
    write = (profile.data.get("access") or {}).get("write") or {}
    statuses = (profile.data.get("values") or {}).get("agent_access_status") or {}
    section = dict(mapped=profile.has_table(_access.TABLE), table=None, write=write.get("kind"),
                   set_now=list(write.get("set_now") or []), procedure=write.get("procedure"), procedure_exists=None,
                   statuses=dict((s, statuses.get(s)) for s in ACCESS_STATUSES))
    if section["mapped"]:
        section["table"] = profile.table(_access.TABLE)
    else:
        section["hint"] = UNDOCUMENTED_HINT[_access.TABLE]
    if write.get("kind") == "procedure":
        section["procedure_exists"] = _access.procedure_exists(client, write["procedure"])
        if not section["procedure_exists"]:
            missing.append("%s (procedure)" % write["procedure"])
    return section


def run(module, client):
    profile = load_cmdb_profile(module.params["cmdb_profile"])
    pairs = profile.physical_columns() + _access.write_columns(profile)
    missing = client.missing(pairs)
    access = access_section(client, profile, missing)
    schema = client.schema()
    tables = {}
    for table, _column in pairs:
        columns = schema.get(table.lower())
        if columns is not None and table not in tables:
            tables[table] = sorted(columns.values(), key=str.lower)
    unmapped = dict((logical, UNDOCUMENTED_HINT.get(logical, "Not mapped by the profile."))
                    for logical, entry in sorted(profile.data["tables"].items()) if entry is None)
    result = dict(profile_name=profile.name, profile_ok=not missing, missing=missing,
                  checked=["%s.%s" % pair for pair in pairs], unmapped=unmapped, tables=tables, access=access)
    if module.params["search"]:
        result["matches"] = client.search(module.params["search"])
    if missing and module.params["fail_on_mismatch"]:
        details = dict((k, v) for k, v in result.items() if k != "missing")
        raise ProfileMismatch("The CMDB at %s does not match the profile %r: missing %s."
                              % (client.url.display(), profile.name, ", ".join(missing)),
                              hint="The vendor warns that table and column names may vary by schema version; find the "
                                   "right names with the search option and correct cmdb_profile.",
                              missing=missing, **details)
    return False, result, None


def main():
    module = AnsibleModule(
        argument_spec=cmdb_argument_spec(
            search=dict(type="str"),
            fail_on_mismatch=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_cmdb_module(module, run)


if __name__ == "__main__":
    main()
