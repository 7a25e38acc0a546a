# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  cmdb_url:
    description:
      - Where the CMDB is.
      - C(mssql://user@host[:port]/Symantec_CMDB) for the SMP database on SQL Server (through pymssql); the port
        defaults to 1433. A Windows login is written C(DOMAIN%5Cuser).
      - C(sqlite:///relative/path.sqlite) or C(sqlite:////absolute/path.sqlite) for an SQLite CMDB such as the lab's.
      - A password in the URL is refused; use O(cmdb_password).
      - If not set, the value of the E(ITMS_CMDB_URL) environment variable is used.
    type: str
    required: true
  cmdb_password:
    description:
      - Password of the SQL Server login. Never returned or logged.
      - Use a login that is only in C(db_datareader); the modules warn when the login may write to the CMDB.
      - If not set, the value of the E(ITMS_CMDB_PASSWORD) environment variable is used.
    type: str
  cmdb_profile:
    description:
      - The schema profile that maps logical CMDB names to your tables and columns, as a path to a YAML file on the
        controller or as a dictionary. It is merged over the built-in profile, which holds only what KB 440752
        documents (C(vComputer), C(Inv_AeX_AC_Network_Zone), C(Inv_AeX_AC_InternetGatewayDetails)).
      - The authentication type of each computer and the deleted flag are not publicly documented; the queries that
        need them fail until the profile maps them (the C(itms.cem.cmdb) inventory plugin sets the authentication
        type to null instead). See the profiles guide in the collection's docs.
      - A path may start with C(~), which is expanded to the home directory.
      - Every table and column a query needs is checked against the live CMDB before the query runs.
    type: raw
  cmdb_timeout:
    description:
      - Seconds; what they bound differs between the backends.
      - On SQLite, each query as a whole, from its start to the last row read. A query still running then is
        interrupted with an error that names O(cmdb_timeout). The same time bounds the wait for a database file that
        another process has locked.
      - On SQL Server, pymssql's C(login_timeout) and C(timeout), which FreeTDS applies to each wait for an answer of
        the server (C(dbsetlogintime) for the connection and login, C(dbsettime) for a query). They do not bound a
        query's total time; a query the server works on without answering for longer fails, while one that keeps
        sending rows runs as long as it sends them.
    type: int
    default: 30
  cmdb_encryption:
    description:
      - TLS for the SQL Server connection (pymssql/FreeTDS C(encryption)).
      - V(require) by default. FreeTDS checks the server certificate only when its own configuration names a CA
        file; see docs/getting-started.md in the collection.
      - Ignored for SQLite.
    type: str
    default: require
    choices: [require, request, "off"]
"""
