# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The itms.cem.cmdb inventory plugin against the lab CMDB, checked with plain sqlite3.

(The file is not named test_cmdb.py: tests/unit/plugins/module_utils/test_cmdb.py already uses that basename and
pytest's default import mode needs unique basenames in directories without __init__.py.)
"""
import os
import shutil
import sqlite3
import traceback
from urllib.parse import quote

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader, inventory_loader
from ansible.template import Templar, is_trusted_as_template, trust_as_template
from ansible.utils.plugin_docs import get_docstring
from ansible.vars.manager import VariableManager

from ansible_collections.itms.cem.plugins.inventory import cmdb as plugin_module
from ansible_collections.itms.cem.plugins.plugin_utils import _constructed
from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _secrets
from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError
from itms_lab import cmdb as lab_cmdb  # tests/lab is on sys.path (tests/unit/conftest.py)

PASSWORD = "N0t-in-any-message-4711"
AUTH = {1: "Permanent", 2: "Ephemeral", 3: "Both"}
MANAGED_WITH_ZONE = ("SELECT c.Guid FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON z._ResourceGuid = c.Guid "
                     "WHERE c.IsManaged = 1 AND %s ORDER BY c.Name LIMIT 1")


# -- helpers -----------------------------------------------------------------------------------

def _config(tmp_path, name="lab.cmdb.yml", **options):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict(plugin="itms.cem.cmdb", **options), sort_keys=False))
    return str(path)


def _lab_config(tmp_path, db, profile, **options):
    return _config(tmp_path, cmdb_url="sqlite:///" + db, cmdb_profile=profile, **options)


def _parse(path, cache=True):
    """Parse with a fresh plugin instance, as the InventoryManager does (including the cache write-back)."""
    plugin = inventory_loader.get("itms.cem.cmdb")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    try:
        plugin.update_cache_if_changed()
    except AttributeError:  # no cache plugin when the cache option is off; the manager ignores this too
        pass
    return inventory


def _failure(path, cache=True):
    with pytest.raises(AnsibleParserError) as info:
        _parse(path, cache=cache)
    return str(info.value)


def _host_vars(inventory, name):
    host = inventory.get_host(name)
    assert host is not None, name
    return dict((k, v) for k, v in host.vars.items() if k.startswith("itms_"))


def _expected_vars(raw, guid):
    """The plugin's variables for one computer, from the tables one by one (not the plugin's JOIN)."""
    name = raw.execute("SELECT Name FROM vComputer WHERE Guid = ?", (guid,)).fetchone()[0]
    zone = raw.execute("SELECT IsOnInternet, HTTPSMode, InternetModeSupported, AppliedPolicyCount "
                       "FROM Inv_AeX_AC_Network_Zone WHERE _ResourceGuid = ?", (guid,)).fetchone()
    online, https, supported, policies = zone if zone else (None, None, None, None)
    gateway = raw.execute("SELECT Gateway, Port, [Last Success] FROM Inv_AeX_AC_InternetGatewayDetails "
                          "WHERE _ResourceGuid = ? AND [Current] = 1", (guid,)).fetchone() or (None, None, None)
    auth = raw.execute("SELECT [Authentication Type] FROM Lab_CEM_Agent_Authentication WHERE _ResourceGuid = ?",
                       (guid,)).fetchone()
    return {
        "itms_guid": guid,
        "itms_computer_name": name,
        "itms_connection_state": "cem" if online == 1 else "lan",
        "itms_is_on_internet": online == 1,
        "itms_https_mode": https == 1,
        "itms_cem_configured": supported == 1 and (policies or 0) > 0,
        "itms_gateway": gateway[0],
        "itms_gateway_port": gateway[1],
        "itms_last_success": gateway[2],
        "itms_authentication_type": AUTH[auth[0]] if auth else None,
    }


def _add_computer(db, guid, name, gateway="ig-emea.cem.example.com"):
    lab_cmdb.add_computer(db, guid, name, gateway=gateway)


@pytest.fixture
def db(lab_db_copy):
    """A private copy of the 1,000-computer lab CMDB (tests may change or remove it)."""
    return lab_db_copy


@pytest.fixture
def raw(db):
    conn = sqlite3.connect(db)
    yield conn
    conn.close()


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    plugin = inventory_loader.get("itms.cem.cmdb")
    monkeypatch.setattr(plugin.display, "warning", lambda msg, *args, **kwargs: seen.append(msg))
    return seen


# -- hosts and variables -----------------------------------------------------------------------

def test_hosts_are_the_managed_computers(db, raw, lab_profile_path, tmp_path, warnings):
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    managed = raw.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    distinct = raw.execute("SELECT COUNT(DISTINCT Name) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    assert managed == distinct  # the lab's names are unique
    assert len(inventory.hosts) == distinct
    unmanaged = raw.execute("SELECT Name FROM vComputer WHERE IsManaged = 0 LIMIT 1").fetchone()[0]
    assert inventory.get_host(unmanaged) is None
    assert warnings == []


@pytest.mark.parametrize("where", [
    "z.IsOnInternet = 1",                                                    # on CEM, current gateway, certificate
    "z.IsOnInternet = 0 AND z.HTTPSMode = 0",                                # intranet over HTTP
    "z.IsOnInternet = 0 AND z.InternetModeSupported = 1 AND z.AppliedPolicyCount > 0",  # configured, not connected
    "z.InternetModeSupported = 1 AND z.AppliedPolicyCount = 0",              # supported, no policy
])
def test_variables_match_the_tables(db, raw, lab_profile_path, tmp_path, where):
    guid = raw.execute(MANAGED_WITH_ZONE % where).fetchone()[0]
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    expected = _expected_vars(raw, guid)
    assert _host_vars(inventory, expected["itms_computer_name"]) == expected


def test_computer_without_network_zone_inventory_is_a_lan_host(db, raw, lab_profile_path, tmp_path):
    guid = raw.execute("SELECT c.Guid FROM vComputer c WHERE c.IsManaged = 1 AND NOT EXISTS "
                       "(SELECT 1 FROM Inv_AeX_AC_Network_Zone z WHERE z._ResourceGuid = c.Guid) LIMIT 1").fetchone()[0]
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    expected = _expected_vars(raw, guid)
    assert expected["itms_connection_state"] == "lan" and expected["itms_is_on_internet"] is False
    assert _host_vars(inventory, expected["itms_computer_name"]) == expected


def test_every_host_agrees_with_the_tables(db, raw, lab_profile_path, tmp_path):
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    for (guid,) in raw.execute("SELECT Guid FROM vComputer WHERE IsManaged = 1").fetchall():
        expected = _expected_vars(raw, guid)
        assert _host_vars(inventory, expected["itms_computer_name"]) == expected


def test_without_a_profile_the_certificate_kind_is_null(db, raw, tmp_path):
    inventory = _parse(_config(tmp_path, cmdb_url="sqlite:///" + db))
    assert len(inventory.hosts) == raw.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    assert all(h.vars["itms_authentication_type"] is None for h in inventory.hosts.values())
    assert any(h.vars["itms_gateway"] for h in inventory.hosts.values())


def test_url_from_the_environment(db, raw, lab_profile_path, tmp_path, monkeypatch):
    monkeypatch.setenv("ITMS_CMDB_URL", "sqlite:///" + db)
    inventory = _parse(_config(tmp_path, cmdb_profile=lab_profile_path))
    assert len(inventory.hosts) == raw.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]


def test_host_domain_prefix_and_guid_names(db, raw, lab_profile_path, tmp_path):
    name, guid = raw.execute("SELECT Name, Guid FROM vComputer WHERE IsManaged = 1 ORDER BY Name LIMIT 1").fetchone()
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path, host_domain=".corp.example.com.",
                                   variable_prefix="cmdb_"))
    host = inventory.get_host(name + ".corp.example.com")
    assert host is not None and host.vars["cmdb_guid"] == guid and host.vars["cmdb_computer_name"] == name
    assert not any(k.startswith("itms_") for k in host.vars)

    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path, hostname="guid", host_domain="corp.example.com"))
    assert inventory.get_host(guid).vars["itms_computer_name"] == name  # no domain on a GUID


# -- constructed ---------------------------------------------------------------------------------

def test_keyed_groups_groups_and_compose(db, raw, lab_profile_path, tmp_path):
    inventory = _parse(_lab_config(
        tmp_path, db, lab_profile_path,
        compose={"ansible_host": "itms_computer_name | lower ~ '.corp.example.com'",
                 "site": "(itms_gateway | default('none-', true)).split('-')[1].split('.')[0] or 'lan'"},
        groups={"offline_cem": "itms_cem_configured and not itms_is_on_internet",
                "emea": "site == 'emea'"},
        keyed_groups=[{"key": "itms_gateway | default('none', true)", "prefix": "gateway"},
                      {"key": "itms_connection_state", "prefix": "cem"},
                      {"key": "site", "prefix": "site"}],
        strict=True))
    managed = "FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON z._ResourceGuid = c.Guid WHERE c.IsManaged = 1"

    def count(sql):
        return raw.execute(sql).fetchone()[0]

    def members(group):
        return len(inventory.groups[group].get_hosts())

    assert members("cem_cem") == count("SELECT COUNT(*) %s AND z.IsOnInternet = 1" % managed)
    assert members("cem_lan") == len(inventory.hosts) - members("cem_cem")
    assert members("offline_cem") == count(
        "SELECT COUNT(*) %s AND z.InternetModeSupported = 1 AND z.AppliedPolicyCount > 0 AND z.IsOnInternet = 0" % managed)
    current_emea = count("SELECT COUNT(*) FROM vComputer c JOIN Inv_AeX_AC_InternetGatewayDetails g "
                         "ON g._ResourceGuid = c.Guid AND g.[Current] = 1 "
                         "WHERE c.IsManaged = 1 AND g.Gateway = 'ig-emea.cem.example.com'")
    assert members("gateway_ig_emea_cem_example_com") == current_emea
    # composed variables exist before groups and keyed_groups are evaluated
    assert members("emea") == members("site_emea") == current_emea
    assert members("gateway_none") == members("site_lan")
    host = inventory.get_host(raw.execute("SELECT Name FROM vComputer WHERE IsManaged = 1 LIMIT 1").fetchone()[0])
    assert host.vars["ansible_host"] == host.name.lower() + ".corp.example.com"


def test_strict_reports_a_broken_expression(db, lab_profile_path, tmp_path):
    broken = dict(keyed_groups=[{"key": "itms_no_such_variable.attribute", "prefix": "x"}])
    assert "itms_no_such_variable" in _failure(_lab_config(tmp_path, db, lab_profile_path, strict=True, **broken))
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path, strict=False, **broken))
    assert inventory.hosts and not [g for g in inventory.groups if g.startswith("x_")]


# -- unsafe values --------------------------------------------------------------------------------

# One of each kind of Jinja markup: an expression, a statement, a comment, and an expression without a brace (a
# #jinja2: header changes the delimiters). A template engine trusting any of them would turn the text into 49.
TEMPLATE_TEXTS = ["{{ 7 * 7 }}", "{% if true %}49{% endif %}", "{# hidden #}49",
                  "#jinja2: variable_start_string:'[[', variable_end_string:']]'\n[[ 7 * 7 ]]"]
TEMPLATE_KINDS = ["expression", "statement", "comment", "jinja2-header"]


@pytest.fixture
def trusting_source(monkeypatch):
    """Rows whose strings are trusted as templates, as a trusting cache plugin or driver could deliver them.

    Values read from SQLite are never trusted on ansible-core 2.19, so without this a test of the plugin's own
    marking would pass even if the plugin marked nothing.
    """
    run_rendered = plugin_module._queries.run_rendered

    def trusting(*args, **kwargs):
        result = run_rendered(*args, **kwargs)
        result.rows = [[trust_as_template(v) if isinstance(v, str) else v for v in row] for row in result.rows]
        return result

    monkeypatch.setattr(plugin_module._queries, "run_rendered", trusting)


def _as_a_play_sees_it(path, host, monkeypatch):
    """The host's variables through InventoryManager (with its 2.19 wrapper), VariableManager; and a Templar."""
    monkeypatch.setattr(C, "INVENTORY_ENABLED", ["itms.cem.cmdb"])
    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[path])
    assert manager.get_host(host) is not None, sorted(manager.hosts)[:5]
    variables = VariableManager(loader=loader, inventory=manager).get_vars(host=manager.get_host(host))
    return manager, variables, Templar(loader=loader, variables=variables)


@pytest.mark.parametrize("trusted", [False, True], ids=["rows-as-sqlite-gives-them", "rows-trusted"])
def test_remote_values_are_never_templated(db, lab_profile_path, tmp_path, monkeypatch, request, trusted):
    if trusted:
        request.getfixturevalue("trusting_source")
    marker = tmp_path / "templated"
    _add_computer(db, "00000000-0000-4000-8000-000000000001", "{{ 7 * 7 }}",
                  gateway="{{ lookup('pipe', 'touch %s') }}" % marker)
    path = _lab_config(tmp_path, db, lab_profile_path,
                       keyed_groups=[{"key": "itms_gateway", "prefix": "gateway"}],
                       compose={"shown_name": "itms_computer_name"})

    # the plugin on its own
    inventory = _parse(path)
    host_vars = inventory.get_host("{{ 7 * 7 }}").vars
    assert not is_trusted_as_template(host_vars["itms_computer_name"])
    assert not is_trusted_as_template(host_vars["itms_gateway"])
    assert host_vars["shown_name"] == "{{ 7 * 7 }}"

    # as a play sees it
    _manager, variables, templar = _as_a_play_sees_it(path, "{{ 7 * 7 }}", monkeypatch)
    assert templar.template(trust_as_template("{{ itms_computer_name }}")) == "{{ 7 * 7 }}"
    assert templar.template(trust_as_template("{{ itms_gateway }}")) == "{{ lookup('pipe', 'touch %s') }}" % marker
    assert templar.template(variables["itms_computer_name"]) == "{{ 7 * 7 }}"
    assert not marker.exists()


@pytest.mark.parametrize("text", TEMPLATE_TEXTS, ids=TEMPLATE_KINDS)
def test_trusted_rows_come_out_untrusted(db, lab_profile_path, tmp_path, monkeypatch, trusting_source, text):
    _add_computer(db, "00000000-0000-4000-8000-000000000002", text, gateway=text)
    path = _lab_config(tmp_path, db, lab_profile_path)
    manager, variables, templar = _as_a_play_sees_it(path, text, monkeypatch)
    host_vars = manager.get_host(text).vars
    assert host_vars["itms_computer_name"] == host_vars["itms_gateway"] == text
    assert [n for n, v in host_vars.items() if n.startswith("itms_") and is_trusted_as_template(v)] == []
    for name in ("inventory_hostname", "itms_computer_name", "itms_gateway"):
        assert templar.template(trust_as_template("{{ %s }}" % name)) == text, name
    assert templar.template(trust_as_template("{{ itms_computer_name ~ '|' ~ itms_gateway }}")) == text + "|" + text
    assert templar.template(trust_as_template("{{ itms_connection_state }}")) == "cem"


@pytest.mark.parametrize("text", TEMPLATE_TEXTS, ids=TEMPLATE_KINDS)
def test_populate_untrusts_trusted_rows(db, lab_profile_path, tmp_path, text):
    """_populate on its own, fed rows whose every string is trusted, as a trusting cache could hand them over."""
    plugin = inventory_loader.get("itms.cem.cmdb")
    plugin.parse(InventoryData(), DataLoader(), _lab_config(tmp_path, db, lab_profile_path), cache=False)
    plugin.inventory = inventory = InventoryData()
    row = dict(guid="00000000-0000-4000-8000-000000000003", name=text, is_on_internet=1, https_mode=1,
               cem_configured=1, gateway=text, gateway_port=443, last_success=text, authentication_type=text)
    trusted = [trust_as_template(row[c]) if isinstance(row[c], str) else row[c] for c in plugin_module.COLUMNS]
    plugin._populate(list(plugin_module.COLUMNS), [trusted], 0.0)  # pylint: disable=protected-access
    host = inventory.get_host(text)
    for name in ("itms_computer_name", "itms_gateway", "itms_last_success", "itms_authentication_type"):
        assert host.vars[name] == text, name
    assert [n for n, v in host.vars.items() if n.startswith("itms_") and is_trusted_as_template(v)] == []
    templar = Templar(loader=DataLoader(), variables=host.get_vars())
    for name in ("inventory_hostname", "itms_computer_name", "itms_gateway", "itms_authentication_type"):
        assert templar.template(trust_as_template("{{ %s }}" % name)) == text, name


def test_make_unsafe_keeps_plain_values_and_untrusts_templates():
    for value in (None, True, 443, 1.5, "LT-000001"):
        assert plugin_module.make_unsafe(value) is value
    for text in TEMPLATE_TEXTS + ["{{", "{%", "{#", "}}"]:
        unsafe = plugin_module.make_unsafe(trust_as_template(text))
        assert unsafe == text and not is_trusted_as_template(unsafe), text


# -- duplicates ----------------------------------------------------------------------------------

def test_same_name_keeps_the_first_and_warns_once(db, raw, lab_profile_path, tmp_path, warnings):
    names = [r[0] for r in raw.execute("SELECT Name FROM vComputer WHERE IsManaged = 1 ORDER BY Name LIMIT 2")]
    first_guid = raw.execute("SELECT Guid FROM vComputer WHERE Name = ?", (names[0],)).fetchone()[0]
    _add_computer(db, "ffffffff-0000-4000-8000-000000000001", names[0].lower())
    _add_computer(db, "ffffffff-0000-4000-8000-000000000002", names[1])
    managed = raw.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]

    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    assert len(inventory.hosts) == managed - 2
    assert inventory.get_host(names[0]).vars["itms_guid"] == first_guid
    assert len(warnings) == 1 and "2 managed computer(s)" in warnings[0] and "hostname: guid" in warnings[0]

    del warnings[:]
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path, hostname="guid"))
    assert len(inventory.hosts) == managed and warnings == []


def test_iter_hosts_rules():
    columns = list(plugin_module.COLUMNS)
    rows = [
        ("g1", "PC", 1, 1, 1, "ig", 443, "2026-11-01 10:00:00", "Both"),
        ("g1", "PC", 1, 1, 1, "ig2", 443, None, "Both"),   # the same resource again (two 'current' rows)
        ("g2", "pc", 0, 0, 0, None, None, None, None),     # another computer with the same name
        ("g3", None, 0, 1, 0, None, None, None, None),     # no name
        ("g4", "LT-2", None, None, 0, None, None, None, None),  # no Network Zone row
    ]
    found = plugin_module.HostCounts()
    hosts = [(host, dict(zip(plugin_module.VARIABLES, values)))
             for host, values in plugin_module.iter_hosts(columns, rows, counts=found)]
    assert [h for h, _v in hosts] == ["PC", "LT-2"] and found.collisions == 1 and found.unnamed == 1
    assert hosts[0][1]["gateway"] == "ig" and hosts[0][1]["connection_state"] == "cem"
    assert hosts[1][1] == dict(guid="g4", computer_name="LT-2", connection_state="lan", is_on_internet=False,
                               https_mode=False, cem_configured=False, gateway=None, gateway_port=None,
                               last_success=None, authentication_type=None)
    counts = plugin_module.HostCounts()
    assert [h for h, _v in plugin_module.iter_hosts(columns, rows, "guid", "corp.example.com", counts)] == \
        ["g1", "g2", "g3", "g4"]
    assert counts.collisions == counts.unnamed == 0
    with pytest.raises(ValueError, match="gateway"):
        list(plugin_module.iter_hosts([c for c in columns if c != "gateway"], rows))


# -- cache ---------------------------------------------------------------------------------------

def _cached_config(tmp_path, db, profile, **options):
    return _lab_config(tmp_path, db, profile, cache=True, cache_plugin="ansible.builtin.jsonfile",
                       cache_connection=str(tmp_path / "cache"), **options)


def _no_database(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the CMDB was opened")

    monkeypatch.setattr(_cmdb, "CmdbClient", refuse)


def test_cache_serves_the_second_parse_without_the_database(db, lab_profile_path, tmp_path, monkeypatch):
    path = _cached_config(tmp_path, db, lab_profile_path, keyed_groups=[{"key": "itms_connection_state",
                                                                         "prefix": "cem"}])
    first = _parse(path, cache=False)            # a refresh: reads the CMDB and fills the cache
    assert os.listdir(str(tmp_path / "cache"))
    os.rename(db, db + ".away")                  # nothing left to read ...
    _no_database(monkeypatch)                    # ... and no way to open it
    second = _parse(path, cache=True)
    assert sorted(first.hosts) == sorted(second.hosts)
    assert all(first.get_host(h).vars == second.get_host(h).vars for h in first.hosts)
    assert sorted(h.name for h in first.groups["cem_cem"].get_hosts()) == \
        sorted(h.name for h in second.groups["cem_cem"].get_hosts())
    monkeypatch.undo()
    assert "does not exist" in _failure(path, cache=False)  # a refresh does read the CMDB


def test_an_empty_cache_is_filled_on_the_first_cached_parse(db, lab_profile_path, tmp_path, monkeypatch):
    path = _cached_config(tmp_path, db, lab_profile_path)
    first = _parse(path, cache=True)             # a miss: reads the CMDB
    os.remove(db)
    _no_database(monkeypatch)
    assert sorted(_parse(path, cache=True).hosts) == sorted(first.hosts)


def test_cache_off_always_reads_the_database(db, lab_profile_path, tmp_path):
    path = _lab_config(tmp_path, db, lab_profile_path, cache=False)
    _parse(path, cache=True)
    os.remove(db)
    assert "does not exist" in _failure(path, cache=True)


def test_cache_is_not_used_for_another_source(db, raw, lab_profile_path, tmp_path):
    path = _cached_config(tmp_path, db, lab_profile_path)
    before = _parse(path, cache=False)
    other = str(tmp_path / "other.sqlite")
    shutil.copy(db, other)
    _add_computer(other, "eeeeeeee-0000-4000-8000-000000000001", "NEW-000001")
    path = _cached_config(tmp_path, other, lab_profile_path)  # same inventory file, another CMDB
    after = _parse(path, cache=True)
    assert len(after.hosts) == len(before.hosts) + 1 and after.get_host("NEW-000001") is not None


def test_cache_holds_raw_rows_only(db, lab_profile_path, tmp_path):
    path = _cached_config(tmp_path, db, lab_profile_path)
    plugin = inventory_loader.get("itms.cem.cmdb")
    plugin.parse(InventoryData(), DataLoader(), path, cache=False)
    cached = plugin._cache[plugin.get_cache_key(path)]  # pylint: disable=protected-access
    assert sorted(cached) == ["columns", "format", "rows", "source"]
    assert cached["columns"] == list(plugin_module.COLUMNS)
    assert all(type(v) in (str, int, float, type(None)) for row in cached["rows"] for v in row)


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("options,words", [
    (dict(cmdb_url="ftp://cmdb.example.com/x"), "Unsupported CMDB URL scheme"),
    (dict(cmdb_url="sqlite:////nonexistent/dir/cmdb.sqlite"), "The CMDB file /nonexistent/dir/cmdb.sqlite does not exist"),
    (dict(cmdb_url="mssql://sa@127.0.0.1:1/Symantec_CMDB", cmdb_password=PASSWORD, cmdb_timeout=3),
     "Cannot reach SQL Server at 127.0.0.1:1/Symantec_CMDB"),
    (dict(cmdb_url="mssql://sa:%s@sql01.example.com/Symantec_CMDB" % PASSWORD), "The CMDB URL holds a password"),
    (dict(cmdb_url="sqlite:///x.db", cmdb_profile="/nonexistent/profile.yml", cmdb_password=PASSWORD),
     "Cannot read the CMDB profile file /nonexistent/profile.yml"),
])
def test_clear_errors_without_the_password(tmp_path, options, words):
    message = _failure(_config(tmp_path, **options))
    assert message.startswith("itms.cem.cmdb: ") and words in message
    assert PASSWORD not in message


def test_password_from_the_environment_is_not_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("ITMS_CMDB_PASSWORD", PASSWORD)
    with pytest.raises(AnsibleParserError) as info:
        _parse(_config(tmp_path, cmdb_url="mssql://sa@127.0.0.1:1/Symantec_CMDB", cmdb_timeout=3))
    chain, exc = [], info.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    assert "Cannot reach SQL Server" in chain[0] and not any(PASSWORD in text for text in chain)
    assert info.value.__suppress_context__  # the driver's exception is not shown in tracebacks


# Characters that URL-encode, so that the password has several spellings (as given, encoded, decoded).
SECRET = "p@ss:w/rd %41+\u00fc"
SECRET_URL = "mssql://sa:%s@sql01.example.com/Symantec_CMDB" % quote(SECRET, safe="")


def _spellings(where):
    """The spellings of the password the scrubber covers: those of the password as the option or the URL has it."""
    given = _secrets.url_password(SECRET_URL) if where == "url" else SECRET
    return set([SECRET, given] + _secrets.variants(given))


def _refusing(spellings):
    class Refusing:
        """A CMDB client whose login fails with a message holding the password in every spelling."""

        def __init__(self, url, password=None, **kwargs):
            raise AuthError("SQL Server refused the login %r with password %s (%s)."
                            % (url, password, " / ".join(sorted(spellings))),
                            hint="The driver said: %s" % ", ".join(repr(s) for s in sorted(spellings)))

    return Refusing


def _exception_texts(exc):
    """Every text an exception, its causes and contexts show: messages, reprs, args and formatted tracebacks."""
    texts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts.extend([str(exc), repr(exc), repr(exc.args), str(getattr(exc, "message", "")),
                      "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))])
        texts.extend(_exception_texts(exc.__cause__))
        exc = exc.__context__
    return texts


@pytest.mark.parametrize("where", ["option", "environment", "url"])
def test_the_password_is_scrubbed_in_every_spelling(tmp_path, monkeypatch, where):
    spellings = _spellings(where)
    assert len(spellings) >= 3
    monkeypatch.setattr(_cmdb, "CmdbClient", _refusing(spellings))
    monkeypatch.delenv("ITMS_CMDB_PASSWORD", raising=False)
    options = dict(cmdb_url="mssql://sa@sql01.example.com/Symantec_CMDB")
    if where == "option":
        options["cmdb_password"] = SECRET
    elif where == "environment":
        monkeypatch.setenv("ITMS_CMDB_PASSWORD", SECRET)
    else:  # written into the URL (the real client refuses such a URL; a message may still show it)
        options["cmdb_url"] = SECRET_URL
    with pytest.raises(AnsibleParserError) as info:
        _parse(_config(tmp_path, **options))
    message = str(info.value)
    assert message.startswith("itms.cem.cmdb: SQL Server refused the login") and "********" in message
    assert [(s, t) for t in _exception_texts(info.value) for s in spellings if s in t] == []
    assert info.value.__cause__ is None and info.value.__context__ is None  # the refused login is not in the chain


# -- options from the doc fragment ----------------------------------------------------------------

def test_documentation_merges_the_cmdb_fragment():
    doc = get_docstring(plugin_module.__file__, fragment_loader, collection_name="itms.cem", plugin_type="inventory")[0]
    options = doc["options"]
    # the fragment's descriptions, types and defaults, with the plugin's environment variables and secret flag
    assert options["cmdb_url"]["required"] is True and options["cmdb_url"]["type"] == "str"
    assert options["cmdb_url"]["env"] == [{"name": "ITMS_CMDB_URL"}]
    assert any("password in the URL is refused" in line for line in options["cmdb_url"]["description"])
    assert options["cmdb_password"]["secret"] is True
    assert options["cmdb_password"]["env"] == [{"name": "ITMS_CMDB_PASSWORD"}]
    assert options["cmdb_password"]["description"][0].startswith("Password of the SQL Server login")
    assert options["cmdb_profile"]["type"] == "raw"
    assert options["cmdb_timeout"]["type"] == "int" and options["cmdb_timeout"]["default"] == 30
    assert options["cmdb_encryption"]["default"] == "require"
    assert options["cmdb_encryption"]["choices"] == ["require", "request", "off"]
    # ansible.builtin.constructed and ansible.builtin.inventory_cache, and the plugin's own
    assert {"compose", "groups", "keyed_groups", "strict", "use_extra_vars", "leading_separator", "cache",
            "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix", "plugin", "hostname", "host_domain",
            "variable_prefix"} <= set(options)


def test_options_from_the_environment_through_the_inventory_manager(db, raw, lab_profile_path, tmp_path, monkeypatch):
    """As ansible-inventory reads a source: the URL and the password from the environment, the rest defaulted."""
    seen = {}
    real = _cmdb.CmdbClient

    def recording(url, **kwargs):
        seen.update(kwargs, url=url)
        return real(url, **kwargs)

    monkeypatch.setattr(_cmdb, "CmdbClient", recording)
    monkeypatch.setenv("ITMS_CMDB_URL", "sqlite:///" + db)
    monkeypatch.setenv("ITMS_CMDB_PASSWORD", PASSWORD)
    monkeypatch.setattr(C, "INVENTORY_ENABLED", ["itms.cem.cmdb"])
    manager = InventoryManager(loader=DataLoader(), sources=[_config(tmp_path, cmdb_profile=lab_profile_path)])
    managed = raw.execute("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    assert len(manager.hosts) == managed
    assert seen == dict(url="sqlite:///" + db, password=PASSWORD, timeout=30, encryption="require")


@pytest.mark.parametrize("spec", ["home", "mapping"])
def test_profile_from_the_home_directory_or_as_a_mapping(db, raw, lab_profile_path, tmp_path, monkeypatch, spec):
    """cmdb_profile is raw (a path or a mapping, as for the modules); a path starting with ~ is expanded."""
    if spec == "home":
        home = tmp_path / "home"
        (home / "profiles").mkdir(parents=True)
        shutil.copy(lab_profile_path, str(home / "profiles" / "cmdb.yml"))
        monkeypatch.setenv("HOME", str(home))
        profile = "~/profiles/cmdb.yml"
    else:
        with open(lab_profile_path) as handle:
            profile = yaml.safe_load(handle)
    inventory = _parse(_config(tmp_path, cmdb_url="sqlite:///" + db, cmdb_profile=profile))
    kinds = set(h.vars["itms_authentication_type"] for h in inventory.hosts.values())
    assert {"Permanent", "Ephemeral", "Both"} <= kinds  # only the lab profile maps the certificate kind


def test_the_plugin_uses_no_private_template_engine_api():
    # _constructed calls only Constructable's documented helpers (_set_composite_vars, ...), never the engine
    for path in (plugin_module.__file__, _constructed.__file__):
        with open(path) as handle:
            source = handle.read()
        for private in ("_engine", "_compile_expression", "_compile_template", "templar._", "_AnsibleCollectionFinder"):
            assert private not in source, (path, private)
    with open(plugin_module.__file__) as handle:
        assert "protected-access" not in handle.read()


def test_profile_that_does_not_match_the_cmdb(db, tmp_path):
    profile = tmp_path / "profile.yml"
    profile.write_text("tables:\n  gateway:\n    name: NoGateways\n    columns: {resource_guid: _ResourceGuid, "
                       "gateway: Gateway, port: Port, current: Current, last_success: Last Success}\n")
    message = _failure(_config(tmp_path, cmdb_url="sqlite:///" + db, cmdb_profile=str(profile)))
    assert "does not match the profile" in message and "missing NoGateways (table)" in message
    assert "cmdb_schema_info" in message


def test_profile_without_a_required_column(db, tmp_path):
    profile = tmp_path / "profile.yml"
    profile.write_text("tables:\n  authentication:\n    name: Lab_CEM_Agent_Authentication\n"
                       "    columns: {resource_guid: _ResourceGuid}\n")
    message = _failure(_config(tmp_path, cmdb_url="sqlite:///" + db, cmdb_profile=str(profile)))
    assert "does not map the column(s) type" in message


def test_missing_url(tmp_path, monkeypatch):
    monkeypatch.delenv("ITMS_CMDB_URL", raising=False)
    with pytest.raises(AnsibleError, match="cmdb_url"):
        _parse(_config(tmp_path))


def test_verify_file(tmp_path):
    plugin = inventory_loader.get("itms.cem.cmdb")
    assert plugin.verify_file(_config(tmp_path, "x.cmdb.yml"))
    assert plugin.verify_file(_config(tmp_path, "cmdb.yaml"))
    assert not plugin.verify_file(_config(tmp_path, "hosts.yml"))
    assert not plugin.verify_file(str(tmp_path / "absent.cmdb.yml"))


def test_the_clients_warnings_are_shown(db, lab_profile_path, tmp_path, warnings, monkeypatch):
    """A warning of the CMDB client (such as a SQL Server login that may write) reaches the user."""
    class WarningClient(_cmdb.CmdbClient):
        def __init__(self, *args, **kwargs):
            super(WarningClient, self).__init__(*args, **kwargs)
            self.warnings.append("The SQL Server login 'svc' may INSERT in sql01:1433/Symantec_CMDB.")

    monkeypatch.setattr(_cmdb, "CmdbClient", WarningClient)
    _parse(_lab_config(tmp_path, db, lab_profile_path))
    assert warnings == ["itms.cem.cmdb: The SQL Server login 'svc' may INSERT in sql01:1433/Symantec_CMDB."]


def test_computers_without_a_name_are_left_out_with_one_warning(db, lab_profile_path, tmp_path, warnings):
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE vComputer SET Name = '' WHERE Name IN (SELECT Name FROM vComputer WHERE IsManaged = 1 "
                     "ORDER BY Name LIMIT 3)")
    conn.close()
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path))
    assert warnings == ["itms.cem.cmdb: 3 managed computer(s) have no name and are left out. Set 'hostname: guid' to "
                        "include them."]
    by_guid = _parse(_lab_config(tmp_path, db, lab_profile_path, hostname="guid"), cache=False)
    assert len(by_guid.hosts) == len(inventory.hosts) + 3


def test_rows_without_the_plugins_columns_are_refused(tmp_path):
    """Rows that did not come from the plugin's own query (a cache entry of another shape) are refused."""
    plugin = inventory_loader.get("itms.cem.cmdb")
    plugin.inventory, plugin.loader = InventoryData(), DataLoader()
    plugin._read_config_data(_config(tmp_path, cmdb_url="sqlite:///x.sqlite"))  # pylint: disable=protected-access
    with pytest.raises(AnsibleParserError, match="returned no column.s. guid, name"):
        plugin._populate(["other"], [], 0.0)  # pylint: disable=protected-access


def test_an_empty_variable_prefix(db, lab_profile_path, tmp_path):
    inventory = _parse(_lab_config(tmp_path, db, lab_profile_path, variable_prefix=""))
    host = next(iter(inventory.hosts.values()))
    assert "computer_name" in host.vars and "itms_computer_name" not in host.vars
