# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Schema profiles: logical names for CMDB objects mapped to physical tables and columns.

The vendor documents only part of the CEM schema (KB 440752 Part 2) and warns that
"Table and column naming may vary by schema version". Everything a query needs is
therefore looked up here, never hard-coded, and checked against the live CMDB before
use. A logical table mapped to ``None`` is not publicly documented: queries that need
it fail with a message that says how to supply it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def coerce_value(kind, value, label):
    """A desired setting value as the profile's type says (``bool``, ``int`` or text); InputError naming ``label``."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise InputError("%s must be true or false, not %r." % (label, value))
    if kind == "int":
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(str(value).strip())
        except ValueError:
            raise InputError("%s must be a whole number, not %r." % (label, value))
    if isinstance(value, (dict, list)):
        raise InputError("%s must be a string, not a %s." % (label, type(value).__name__))
    return str(value)


try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False


# Only what KB 440752 Part 2 names. "authentication" and "resource_state" are not
# publicly documented and stay None until a profile supplies them.
DEFAULT_CMDB_PROFILE = {
    "name": "itms-8.8-documented",
    "description": "Tables and columns named in KB 440752 Part 2 (ITMS 8.7.x/8.8.x).",
    "tables": {
        "computer": {
            "name": "vComputer",
            "columns": {"guid": "Guid", "name": "Name", "is_managed": "IsManaged"},
        },
        "network_zone": {
            "name": "Inv_AeX_AC_Network_Zone",
            "columns": {
                "resource_guid": "_ResourceGuid",
                "is_on_internet": "IsOnInternet",
                "internet_mode_supported": "InternetModeSupported",
                "applied_policy_count": "AppliedPolicyCount",
                "https_mode": "HTTPSMode",
                "tls": "TLS",
            },
        },
        "gateway": {
            "name": "Inv_AeX_AC_InternetGatewayDetails",
            "columns": {
                "resource_guid": "_ResourceGuid",
                "gateway": "Gateway",
                "port": "Port",
                "current": "Current",
                "last_success": "Last Success",
            },
        },
        # Per-computer certificate kind (permanent / ephemeral / both). The 8.8.1
        # reports show it but their SQL is not published.
        "authentication": None,
        # Soft-deleted resources, for the stricter managed-client view (KB 187342,
        # whose SQL is not published).
        "resource_state": None,
    },
    # Stored values that stand for each authentication kind in authentication.type, and for each state of an agent
    # in the access store (tables.agent_access, not publicly documented: unmapped here, so absent).
    "values": {"authentication": {"permanent": None, "ephemeral": None, "both": None},
               "agent_access_status": {"pending": None, "approved": None, "blocked": None}},
}

# Which logical columns a supplied table entry must map, so a profile typo fails
# at load time rather than as a SQL error.
REQUIRED_COLUMNS = {
    "computer": ("guid", "name", "is_managed"),
    "network_zone": ("resource_guid", "is_on_internet", "internet_mode_supported",
                     "applied_policy_count", "https_mode"),
    "gateway": ("resource_guid", "gateway", "port", "current", "last_success"),
    "authentication": ("resource_guid", "type"),
    "resource_state": ("resource_guid", "deleted"),
    # agent_guid is optional: the store may have no GUID column.
    "agent_access": ("id", "agent_name", "reported_by", "created", "status"),
}

UNDOCUMENTED_HINT = {
    "authentication": (
        "The table that holds each computer's CEM authentication type (permanent, ephemeral or both) "
        "is not publicly documented. Find it with itms.cem.cmdb_schema_info (search: '%Auth%' or '%Cert%') "
        "and set tables.authentication and values.authentication in your cmdb_profile."
    ),
    "resource_state": (
        "The column that marks a resource as deleted is not publicly documented. Find it with "
        "itms.cem.cmdb_schema_info (search: '%Deleted%') and set tables.resource_state in your cmdb_profile."
    ),
    "agent_access": (
        "The tables behind the console's 'Cloud-enabled Agents Access Troubleshooting' page are not publicly "
        "documented. Capture what the console sends when you click Approve (SQL Server Extended Events; see "
        "docs/profiles.md, 'The access store'), then set tables.agent_access, values.agent_access_status and "
        "access.write in your cmdb_profile."
    ),
    "agent_access_status": (
        "The stored values of the access store's status column are not publicly documented; read them from "
        "the statements the console sends (docs/profiles.md, 'The access store')."
    ),
}

ACCESS_STATUSES = ("pending", "approved", "blocked")
WRITE_KINDS = ("update", "procedure")
_PROCEDURE_PARAMETER = re.compile(r"^@[A-Za-z_][A-Za-z0-9_]*$")

_SIMPLE_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_identifier(name, force=False):
    """Quote a T-SQL identifier; a dotted name is quoted part by part.

    Plain names stay bare unless ``force`` so that the seed's query renders verbatim.
    """
    parts = name.split(".")
    quoted = []
    for part in parts:
        if not part:
            raise InputError("Identifier %r in the profile has an empty part." % name)
        if force or not _SIMPLE_IDENT.match(part):
            quoted.append("[%s]" % part.replace("]", "]]"))
        else:
            quoted.append(part)
    return ".".join(quoted)


def _merge(base, override):
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _validate(data, origin):
    if not isinstance(data, dict):
        raise InputError("The CMDB profile from %s is not a mapping." % origin)
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise InputError("The CMDB profile from %s has no 'tables' mapping." % origin)
    for logical, entry in tables.items():
        if entry is None:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry.get("name"):
            raise InputError("Profile table %r (from %s) needs a 'name' string." % (logical, origin))
        columns = entry.get("columns")
        if not isinstance(columns, dict) or not all(isinstance(v, str) and v for v in columns.values()):
            raise InputError("Profile table %r (from %s) needs a 'columns' mapping of logical to physical names."
                             % (logical, origin))
        missing = [c for c in REQUIRED_COLUMNS.get(logical, ()) if c not in columns]
        if missing:
            raise InputError("Profile table %r (from %s) does not map the column(s) %s."
                             % (logical, origin, ", ".join(missing)))
    values = data.get("values", {})
    if not isinstance(values, dict):
        raise InputError("The 'values' entry of the CMDB profile from %s is not a mapping." % origin)
    _validate_access_statuses(values.get("agent_access_status"), origin)
    _validate_access(data.get("access"), origin)


def _validate_access_statuses(statuses, origin):
    if statuses is None:
        return
    if not isinstance(statuses, dict):
        raise InputError("values.agent_access_status (from %s) must map %s to stored values."
                         % (origin, ", ".join(ACCESS_STATUSES)))
    unknown = sorted(str(k) for k in statuses if k not in ACCESS_STATUSES)
    if unknown:
        raise InputError("values.agent_access_status (from %s) names %s; the states are %s."
                         % (origin, ", ".join(unknown), ", ".join(ACCESS_STATUSES)))
    seen = {}
    for key in ACCESS_STATUSES:
        value = statuses.get(key)
        if value is None:
            continue
        if isinstance(value, (dict, list, bool)):
            raise InputError("values.agent_access_status.%s (from %s) must be a number or a string, not %r."
                             % (key, origin, value))
        if str(value) in seen:
            raise InputError("values.agent_access_status (from %s) gives %s and %s the same stored value %r."
                             % (origin, seen[str(value)], key, value))
        seen[str(value)] = key


def _validate_access(access, origin):
    """The ``access:`` section: how a decision is written (an UPDATE generated from the mapping, or a procedure)."""
    if access is None:
        return
    write = access.get("write") if isinstance(access, dict) else None
    if not isinstance(access, dict) or not isinstance(write, dict):
        raise InputError("The 'access' entry of the CMDB profile from %s must be a mapping with a 'write' mapping."
                         % origin)
    kind = write.get("kind")
    if kind not in WRITE_KINDS:
        raise InputError("access.write.kind (from %s) is %r; it must be one of %s."
                         % (origin, kind, ", ".join(WRITE_KINDS)))
    set_now = write.get("set_now", [])
    if not isinstance(set_now, list) or not all(isinstance(c, str) and c for c in set_now):
        raise InputError("access.write.set_now (from %s) must be a list of column names." % origin)
    if kind == "update":
        return
    if set_now:
        raise InputError("access.write.set_now (from %s) applies to kind update only; the procedure sets what it sets."
                         % origin)
    if not isinstance(write.get("procedure"), str) or not write["procedure"].strip():
        raise InputError("access.write.procedure (from %s) must name the stored procedure, e.g. dbo.spName." % origin)
    parameters = write.get("parameters")
    if not isinstance(parameters, dict) or sorted(parameters) != ["id", "status"]:
        raise InputError("access.write.parameters (from %s) must map id and status to the procedure's parameter "
                         "names, e.g. {id: '@AgentId', status: '@Status'}." % origin)
    for key in ("id", "status"):
        if not isinstance(parameters[key], str) or not _PROCEDURE_PARAMETER.match(parameters[key]):
            raise InputError("access.write.parameters.%s (from %s) is %r; a procedure parameter is @ followed by a "
                             "plain name." % (key, origin, parameters[key]))
    if parameters["id"].lower() == parameters["status"].lower():
        raise InputError("access.write.parameters (from %s) names the same parameter for id and status." % origin)


class CmdbProfile:
    """A validated profile with lookups that raise actionable errors."""

    def __init__(self, data, origin="the built-in profile"):
        _validate(data, origin)
        self.data = data
        self.origin = origin
        self.name = data.get("name", "custom")

    def has_table(self, logical):
        return self.data["tables"].get(logical) is not None

    def _entry(self, logical):
        entry = self.data["tables"].get(logical)
        if entry is None:
            raise ProfileMismatch(
                "The CMDB profile (%s) does not map the logical table %r." % (self.origin, logical),
                hint=UNDOCUMENTED_HINT.get(logical, "Add tables.%s to your cmdb_profile." % logical),
                missing=["%s" % logical],
            )
        return entry

    def table(self, logical):
        return self._entry(logical)["name"]

    def column(self, logical_table, logical_column):
        columns = self._entry(logical_table)["columns"]
        if logical_column not in columns:
            raise ProfileMismatch(
                "The CMDB profile (%s) does not map column %r of table %r." % (self.origin, logical_column, logical_table),
                hint="Add tables.%s.columns.%s to your cmdb_profile." % (logical_table, logical_column),
                missing=["%s.%s" % (logical_table, logical_column)],
            )
        return columns[logical_column]

    def value(self, group, key):
        found = (self.data.get("values") or {}).get(group, {}) or {}
        if found.get(key) is None:
            raise ProfileMismatch(
                "The CMDB profile (%s) does not say which stored value means %s %r." % (self.origin, group, key),
                hint="Set values.%s.%s in your cmdb_profile. %s" % (group, key, UNDOCUMENTED_HINT.get(group, "")),
                missing=["values.%s.%s" % (group, key)],
            )
        return found[key]

    def access_write(self):
        """The validated ``access.write`` mapping; ProfileMismatch when the profile does not say how to write."""
        write = (self.data.get("access") or {}).get("write")
        if write is None:
            raise ProfileMismatch(
                "The CMDB profile (%s) does not say how a decision is written to the access store." % self.origin,
                hint="Set access.write in your cmdb_profile (kind update or procedure). %s"
                     % UNDOCUMENTED_HINT["agent_access"],
                missing=["access.write"],
            )
        return write

    def physical_columns(self):
        """Every (table, column) the profile maps, as physical names."""
        pairs = []
        for entry in self.data["tables"].values():
            if entry is None:
                continue
            for physical in entry["columns"].values():
                pairs.append((entry["name"], physical))
        return pairs


def load_profile_data(spec, what, option):
    """The mapping of a profile given as a dict or as the path of a YAML file, and where it came from.

    The one loader of every profile (CMDB, policy, ...). Returns ``(None, None)`` when ``spec`` is empty;
    raises InputError that names the file and what is wrong with it.
    """
    if spec is None or spec == {} or spec == "":
        return None, None
    if isinstance(spec, dict):
        return copy.deepcopy(spec), "the %s option" % option
    if not isinstance(spec, str):
        raise InputError("The %s from %s is not a mapping: %s must be a path to a YAML file or a dictionary, not %s."
                         % (what, option, option, type(spec).__name__))
    path = os.path.expanduser(spec)
    if not os.path.exists(path):
        raise InputError("Cannot read the %s file %s: it does not exist." % (what, spec), hint="Check the path in %s." % option)
    if os.path.isdir(path):
        raise InputError("The %s file %s is a directory." % (what, spec), hint="Give the path of the YAML file in %s." % option)
    if not HAS_YAML:  # pragma: no cover - PyYAML ships with ansible-core
        raise InputError("Reading a %s file needs PyYAML on the controller." % what)
    try:
        with open(path, "r") as handle:
            data = yaml.safe_load(handle)
    except (IOError, OSError) as exc:
        raise InputError("Cannot read the %s file %s: %s." % (what, spec, exc.strerror or exc),
                         hint="Check the path in %s." % option)
    except yaml.YAMLError as exc:
        raise InputError("The %s file %s is not valid YAML: %s" % (what, spec, exc))
    if not isinstance(data, dict):
        raise InputError("The %s from %s is not a mapping." % (what, spec))
    return data, path


def load_cmdb_profile(spec=None):
    """Build a profile from None (built-in), a dict, or a path to a YAML file.

    A supplied profile is merged over the built-in one, so it only needs to name what differs.
    """
    data, origin = load_profile_data(spec, "CMDB profile", "cmdb_profile")
    if data is None:
        return CmdbProfile(copy.deepcopy(DEFAULT_CMDB_PROFILE))
    return CmdbProfile(_merge(DEFAULT_CMDB_PROFILE, data), origin)
