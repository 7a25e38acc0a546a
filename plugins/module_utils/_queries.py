# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The catalog of CEM queries over the CMDB, written in T-SQL.

Kept as strings (modules travel as AnsiballZ zips, so no .sql files at run time).
Identifiers are placeholders resolved from the schema profile:

* ``{T:logical}``              a table name (bare when it is a plain name, as in the seed)
* ``{C:logical.column}``       a column name, always bracket-quoted
* ``{V:group.key}``            a stored value from the profile, sent as a bound parameter

Rendering the ``connection_state`` query with the built-in profile gives the query of
KB 440752 Part 2 character for character (a unit test holds it to that).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.itms.cem.plugins.module_utils._errors import NotFound, ProfileMismatch
from ansible_collections.itms.cem.plugins.module_utils._profile import quote_identifier

# KB 440752 Part 2, verbatim: what the built-in profile must render to.
SEED_CONNECTION_STATE_SQL = """SELECT
vc.[Guid] AS [ResourceGuid],
vc.[Name] AS [Computer Name],
CASE
WHEN nz.[IsOnInternet] = 1 THEN 'CEM Mode Active (Internet Gateway)'
ELSE 'LAN Mode Active (Internal Network)'
END AS [Connectivity State],
gw.[Gateway] AS [Assigned Internet Gateway],
gw.[Port] AS [Gateway Port],
gw.[Current] AS [Is Current Gateway],
gw.[Last Success] AS [Last Successful Connection]
FROM vComputer vc
JOIN Inv_AeX_AC_Network_Zone nz ON vc.[Guid] = nz.[_ResourceGuid]
LEFT JOIN Inv_AeX_AC_InternetGatewayDetails gw ON vc.[Guid] = gw.[_ResourceGuid]
WHERE vc.[IsManaged] = 1;"""

CEM_ACTIVE = "CEM Mode Active (Internet Gateway)"
LAN_ACTIVE = "LAN Mode Active (Internal Network)"

# Labels produced by the catalog for derived categories.
CONNECTION_TYPES = ("Internet Gateway (CEM)", "Intranet HTTPS", "Intranet HTTP")

_CONNECTION_TYPE_CASE = """CASE
WHEN nz.{C:network_zone.is_on_internet} = 1 THEN 'Internet Gateway (CEM)'
WHEN nz.{C:network_zone.https_mode} = 1 THEN 'Intranet HTTPS'
ELSE 'Intranet HTTP'
END"""

_AUTH_TYPE_CASE = """CASE
WHEN au.{C:authentication.type} IS NULL THEN NULL
WHEN au.{C:authentication.type} = {V:authentication.permanent} THEN 'Permanent'
WHEN au.{C:authentication.type} = {V:authentication.ephemeral} THEN 'Ephemeral'
WHEN au.{C:authentication.type} = {V:authentication.both} THEN 'Both'
ELSE 'Other'
END"""

_CONFIGURED = "nz.{C:network_zone.internet_mode_supported} = 1 AND nz.{C:network_zone.applied_policy_count} > 0"


class CatalogQuery:
    """One named query: its T-SQL template and the columns it returns."""

    def __init__(self, name, title, description, template, columns):
        self.name = name
        self.title = title
        self.description = description
        self.template = template
        self.columns = columns  # list of (column name, meaning)

    @property
    def column_names(self):
        return [c[0] for c in self.columns]


CATALOG = {}


def _add(name, title, description, template, columns):
    CATALOG[name] = CatalogQuery(name, title, description, template, columns)


_add(
    "connection_state",
    "CEM connection state of managed computers",
    "KB 440752 Part 2 query, verbatim: every managed computer with its connection state and, where "
    "available, its Internet Gateway rows (one row per gateway the agent knows).",
    """SELECT
vc.{C:computer.guid} AS [ResourceGuid],
vc.{C:computer.name} AS [Computer Name],
CASE
WHEN nz.{C:network_zone.is_on_internet} = 1 THEN 'CEM Mode Active (Internet Gateway)'
ELSE 'LAN Mode Active (Internal Network)'
END AS [Connectivity State],
gw.{C:gateway.gateway} AS [Assigned Internet Gateway],
gw.{C:gateway.port} AS [Gateway Port],
gw.{C:gateway.current} AS [Is Current Gateway],
gw.{C:gateway.last_success} AS [Last Successful Connection]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
LEFT JOIN {T:gateway} gw ON vc.{C:computer.guid} = gw.{C:gateway.resource_guid}
WHERE vc.{C:computer.is_managed} = 1;""",
    [
        ("ResourceGuid", "GUID of the computer resource"),
        ("Computer Name", "Computer name"),
        ("Connectivity State", "'%s' when IsOnInternet = 1, else '%s'" % (CEM_ACTIVE, LAN_ACTIVE)),
        ("Assigned Internet Gateway", "Gateway host name from InternetGatewayDetails (NULL when none)"),
        ("Gateway Port", "Gateway port"),
        ("Is Current Gateway", "1 when the agent uses this gateway now"),
        ("Last Successful Connection", "Last successful connection through this gateway"),
    ],
)

_add(
    "computers_by_gateway",
    "Computers by gateway",
    "Managed computers associated with each Internet Gateway (console report "
    "'Cloud-enabled Management > Gateway > Computers by gateway').",
    """SELECT
gw.{C:gateway.gateway} AS [Gateway],
gw.{C:gateway.port} AS [Port],
COUNT(DISTINCT vc.{C:computer.guid}) AS [Computers],
SUM(CASE WHEN gw.{C:gateway.current} = 1 THEN 1 ELSE 0 END) AS [Current Computers],
MAX(gw.{C:gateway.last_success}) AS [Last Successful Connection]
FROM {T:computer} vc
JOIN {T:gateway} gw ON vc.{C:computer.guid} = gw.{C:gateway.resource_guid}
WHERE vc.{C:computer.is_managed} = 1
GROUP BY gw.{C:gateway.gateway}, gw.{C:gateway.port}
ORDER BY [Computers] DESC, [Gateway];""",
    [
        ("Gateway", "Gateway host name"),
        ("Port", "Gateway port"),
        ("Computers", "Managed computers that list this gateway"),
        ("Current Computers", "Managed computers whose current gateway it is"),
        ("Last Successful Connection", "Most recent successful connection through it"),
    ],
)

_add(
    "connection_type_distribution",
    "Agents distribution by connection type",
    "Managed computers counted by how they reach the Notification Server: through an Internet "
    "Gateway (IsOnInternet = 1), or on the intranet over HTTPS (HTTPSMode = 1) or HTTP.",
    """SELECT
ct.[Connection Type],
COUNT(*) AS [Computers]
FROM (
SELECT
""" + _CONNECTION_TYPE_CASE + """ AS [Connection Type]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
WHERE vc.{C:computer.is_managed} = 1
) ct
GROUP BY ct.[Connection Type]
ORDER BY [Computers] DESC, ct.[Connection Type];""",
    [
        ("Connection Type", "One of: %s" % ", ".join(CONNECTION_TYPES)),
        ("Computers", "Managed computers of that type"),
    ],
)

_add(
    "authentication_type_distribution",
    "Agents distribution by authentication type",
    "Managed computers counted by CEM certificate kind: permanent, ephemeral or both "
    "(ITMS 8.8.1). Needs tables.authentication in the profile.",
    """SELECT
a.[Authentication Type],
COUNT(*) AS [Computers]
FROM (
SELECT
""" + _AUTH_TYPE_CASE + """ AS [Authentication Type]
FROM {T:computer} vc
JOIN {T:authentication} au ON vc.{C:computer.guid} = au.{C:authentication.resource_guid}
WHERE vc.{C:computer.is_managed} = 1
) a
GROUP BY a.[Authentication Type]
ORDER BY [Computers] DESC, a.[Authentication Type];""",
    [
        ("Authentication Type", "Permanent, Ephemeral, Both, or Other for an unmapped stored value"),
        ("Computers", "Managed computers of that kind"),
    ],
)

_add(
    "cloud_enabled_by_authentication",
    "Cloud-enabled computers by authentication",
    "Managed computers connected through a gateway now (IsOnInternet = 1) with their certificate "
    "kind and current gateway (ITMS 8.8.1). Needs tables.authentication in the profile.",
    """SELECT
vc.{C:computer.guid} AS [ResourceGuid],
vc.{C:computer.name} AS [Computer Name],
""" + _AUTH_TYPE_CASE + """ AS [Authentication Type],
gw.{C:gateway.gateway} AS [Current Gateway],
gw.{C:gateway.last_success} AS [Last Successful Connection]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
LEFT JOIN {T:authentication} au ON vc.{C:computer.guid} = au.{C:authentication.resource_guid}
LEFT JOIN {T:gateway} gw ON vc.{C:computer.guid} = gw.{C:gateway.resource_guid} AND gw.{C:gateway.current} = 1
WHERE vc.{C:computer.is_managed} = 1 AND nz.{C:network_zone.is_on_internet} = 1
ORDER BY [Computer Name];""",
    [
        ("ResourceGuid", "GUID of the computer resource"),
        ("Computer Name", "Computer name"),
        ("Authentication Type", "Permanent, Ephemeral, Both; Other for an unmapped value; NULL when no record"),
        ("Current Gateway", "The gateway the agent uses now"),
        ("Last Successful Connection", "Last successful connection through it"),
    ],
)

_add(
    "on_internet",
    "All computers currently on the Internet",
    "Console filter 'All Computers Currently on the Internet': IsOnInternet = 1.",
    """SELECT
vc.{C:computer.guid} AS [ResourceGuid],
vc.{C:computer.name} AS [Computer Name],
vc.{C:computer.is_managed} AS [Is Managed]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
WHERE nz.{C:network_zone.is_on_internet} = 1
ORDER BY [Computer Name];""",
    [
        ("ResourceGuid", "GUID of the computer resource"),
        ("Computer Name", "Computer name"),
        ("Is Managed", "1 when the computer is managed"),
    ],
)

_add(
    "over_http",
    "All computers operating over HTTP",
    "Console filter 'All Computers operating over HTTP': HTTPSMode = 0.",
    """SELECT
vc.{C:computer.guid} AS [ResourceGuid],
vc.{C:computer.name} AS [Computer Name],
nz.{C:network_zone.is_on_internet} AS [Is On Internet],
vc.{C:computer.is_managed} AS [Is Managed]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
WHERE nz.{C:network_zone.https_mode} = 0
ORDER BY [Computer Name];""",
    [
        ("ResourceGuid", "GUID of the computer resource"),
        ("Computer Name", "Computer name"),
        ("Is On Internet", "IsOnInternet as reported"),
        ("Is Managed", "1 when the computer is managed"),
    ],
)

_add(
    "configured_vs_connected",
    "Computers configured for CEM versus actively connected",
    "Managed computers counted by CEM provisioning (InternetModeSupported = 1 and "
    "AppliedPolicyCount > 0) against connection through a gateway now (IsOnInternet = 1).",
    """SELECT
s.[CEM State],
COUNT(*) AS [Computers]
FROM (
SELECT
CASE
WHEN """ + _CONFIGURED + """ AND nz.{C:network_zone.is_on_internet} = 1 THEN 'Configured, connected'
WHEN """ + _CONFIGURED + """ THEN 'Configured, not connected'
WHEN nz.{C:network_zone.is_on_internet} = 1 THEN 'Connected, not configured'
ELSE 'Not configured'
END AS [CEM State]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
WHERE vc.{C:computer.is_managed} = 1
) s
GROUP BY s.[CEM State]
ORDER BY [Computers] DESC, s.[CEM State];""",
    [
        ("CEM State", "Configured, connected / Configured, not connected / Connected, not configured / Not configured"),
        ("Computers", "Managed computers in that state"),
    ],
)

_add(
    "managed_clients",
    "Managed clients (strict)",
    "Like connection_state but one row per computer (current gateway only) and excluding "
    "unmanaged and deleted resources. Needs tables.resource_state in the profile.",
    """SELECT
vc.{C:computer.guid} AS [ResourceGuid],
vc.{C:computer.name} AS [Computer Name],
CASE
WHEN nz.{C:network_zone.is_on_internet} = 1 THEN 'CEM Mode Active (Internet Gateway)'
ELSE 'LAN Mode Active (Internal Network)'
END AS [Connectivity State],
CASE WHEN """ + _CONFIGURED + """ THEN 1 ELSE 0 END AS [CEM Configured],
gw.{C:gateway.gateway} AS [Current Gateway],
gw.{C:gateway.port} AS [Gateway Port],
gw.{C:gateway.last_success} AS [Last Successful Connection]
FROM {T:computer} vc
JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
LEFT JOIN {T:resource_state} rs ON vc.{C:computer.guid} = rs.{C:resource_state.resource_guid}
LEFT JOIN {T:gateway} gw ON vc.{C:computer.guid} = gw.{C:gateway.resource_guid} AND gw.{C:gateway.current} = 1
WHERE vc.{C:computer.is_managed} = 1 AND COALESCE(rs.{C:resource_state.deleted}, 0) = 0
ORDER BY [Computer Name];""",
    [
        ("ResourceGuid", "GUID of the computer resource"),
        ("Computer Name", "Computer name"),
        ("Connectivity State", "As in connection_state"),
        ("CEM Configured", "1 when InternetModeSupported = 1 and AppliedPolicyCount > 0"),
        ("Current Gateway", "The gateway the agent uses now (NULL when none)"),
        ("Gateway Port", "Its port"),
        ("Last Successful Connection", "Last successful connection through it"),
    ],
)

# The KB 440752 query INNER JOINs the Network Zone inventory, so it leaves out managed computers that never sent
# it; this count (no join) is what connection_state's figures are reconciled against (and what the inventory lists).
_add(
    "managed_computers",
    "Managed computers",
    "Managed computers (IsManaged = 1), with or without Network Zone inventory: the computers the inventory "
    "plugin lists. connection_state leaves out those without Inv_AeX_AC_Network_Zone rows (its INNER JOIN).",
    """SELECT
COUNT(DISTINCT vc.{C:computer.guid}) AS [Computers]
FROM {T:computer} vc
WHERE vc.{C:computer.is_managed} = 1;""",
    [
        ("Computers", "Managed computers"),
    ],
)

# One row per managed computer for the inventory plugin; the authentication column is
# added only when the profile maps it (see inventory_query()).
_INVENTORY_TEMPLATE = """SELECT
vc.{C:computer.guid} AS [guid],
vc.{C:computer.name} AS [name],
nz.{C:network_zone.is_on_internet} AS [is_on_internet],
nz.{C:network_zone.https_mode} AS [https_mode],
CASE WHEN """ + _CONFIGURED + """ THEN 1 ELSE 0 END AS [cem_configured],
gw.{C:gateway.gateway} AS [gateway],
gw.{C:gateway.port} AS [gateway_port],
gw.{C:gateway.last_success} AS [last_success],
%(auth_select)s AS [authentication_type]
FROM {T:computer} vc
LEFT JOIN {T:network_zone} nz ON vc.{C:computer.guid} = nz.{C:network_zone.resource_guid}
LEFT JOIN {T:gateway} gw ON vc.{C:computer.guid} = gw.{C:gateway.resource_guid} AND gw.{C:gateway.current} = 1
%(auth_join)s
WHERE vc.{C:computer.is_managed} = 1
ORDER BY [name];"""

_add(
    "inventory_hosts",
    "Managed computers for the inventory",
    "One row per managed computer: connection state, current gateway and certificate kind.",
    _INVENTORY_TEMPLATE % dict(
        auth_select=_AUTH_TYPE_CASE,
        auth_join="LEFT JOIN {T:authentication} au ON vc.{C:computer.guid} = au.{C:authentication.resource_guid}",
    ),
    [
        ("guid", "GUID of the computer resource"),
        ("name", "Computer name"),
        ("is_on_internet", "IsOnInternet"),
        ("https_mode", "HTTPSMode"),
        ("cem_configured", "1 when InternetModeSupported = 1 and AppliedPolicyCount > 0"),
        ("gateway", "Current gateway"),
        ("gateway_port", "Its port"),
        ("last_success", "Last successful connection through it"),
        ("authentication_type", "Permanent / Ephemeral / Both / Other, NULL when unknown"),
    ],
)

INVENTORY_WITHOUT_AUTH = CatalogQuery(
    "inventory_hosts", CATALOG["inventory_hosts"].title, CATALOG["inventory_hosts"].description,
    _INVENTORY_TEMPLATE % dict(auth_select="CAST(NULL AS VARCHAR(16))", auth_join=""),
    CATALOG["inventory_hosts"].columns,
)

# Catalog entries a user can pick by name in cmdb_query (inventory_hosts is internal but harmless).
QUERY_NAMES = sorted(CATALOG)

_PLACEHOLDER = re.compile(r"\{([TCV]):([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")


def get_query(name):
    try:
        return CATALOG[name]
    except KeyError:
        raise NotFound("There is no catalog query named %r." % name,
                       hint="Known queries: %s." % ", ".join(QUERY_NAMES))


class RenderedQuery:
    """T-SQL text ready to run, its bound values, and the (table, column) pairs it touches."""

    def __init__(self, name, sql, params, requirements, columns):
        self.name = name
        self.sql = sql
        self.params = params
        self.requirements = requirements
        self.columns = columns


def render(query, profile):
    """Resolve the placeholders of ``query`` through ``profile``."""
    params = {}
    requirements = []

    def substitute(match):
        kind, first, second = match.group(1), match.group(2), match.group(3)
        if kind == "T":
            return quote_identifier(profile.table(first))
        if kind == "C":
            table = profile.table(first)
            column = profile.column(first, second)
            if (table, column) not in requirements:
                requirements.append((table, column))
            return quote_identifier(column, force=True)
        param = "%s_%s" % (first, second)
        params[param] = profile.value(first, second)
        return "@" + param

    sql = _PLACEHOLDER.sub(substitute, query.template)
    return RenderedQuery(query.name, sql, params, requirements, query.column_names)


# -- running (I/O through the CMDB client) --------------------------------------------------------
def verify(client, requirements, profile):
    """Raise ProfileMismatch unless the CMDB has every (table, column) of ``requirements``."""
    missing = client.missing(requirements)
    if missing:
        raise ProfileMismatch(
            "The CMDB at %s does not match the profile %r: missing %s."
            % (client.url.display(), profile.name, ", ".join(missing)),
            hint="Run itms.cem.cmdb_schema_info to see what the CMDB has (the vendor warns that table and "
                 "column names may vary by schema version) and correct cmdb_profile.",
            missing=missing,
        )


def run_rendered(client, rendered, profile, max_rows=None):
    """Check a rendered query's tables and columns against the CMDB, then run it (at most ``max_rows`` rows)."""
    verify(client, rendered.requirements, profile)
    return client.execute(rendered.sql, rendered.params, max_rows=max_rows)


def run_catalog(client, name, profile, max_rows=None):
    """Render the catalog query ``name`` through ``profile`` and run it (at most ``max_rows`` rows)."""
    return run_rendered(client, render(get_query(name), profile), profile, max_rows)
