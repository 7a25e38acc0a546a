# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import os
import shutil
import sqlite3

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

from ansible_collections.itms.cem.plugins.inventory.cmdb import rows_to_hosts

PASSWORD = "N0t-in-any-message"


def _write_config(tmp_path, body, name="lab.cmdb.yml"):
    path = tmp_path / name
    path.write_text("plugin: itms.cem.cmdb\n" + body)
    return str(path)


def _parse(path, cache=True):
    plugin = inventory_loader.get("itms.cem.cmdb")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    try:
        plugin.update_cache_if_changed()  # as the InventoryManager does after parse()
    except AttributeError:  # no cache configured; the manager ignores this too
        pass
    return inventory


@pytest.fixture
def db(lab_db, tmp_path):
    copy = str(tmp_path / "cmdb.sqlite")
    shutil.copy(lab_db, copy)
    return copy


def test_hosts_and_variables_match_the_cmdb(db, lab_profile_path, tmp_path):
    path = _write_config(tmp_path, "cmdb_url: sqlite:///%s\ncmdb_profile: %s\n" % (db, lab_profile_path))
    inventory = _parse(path)
    raw = sqlite3.connect(db)
    assert len(inventory.hosts) == raw.execute("SELECT COUNT(DISTINCT Name) FROM vComputer WHERE IsManaged = 1").fetchone()[0]
    guid, name = raw.execute(
        "SELECT c.Guid, c.Name FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
        "JOIN Inv_AeX_AC_InternetGatewayDetails g ON c.Guid = g._ResourceGuid AND g.[Current] = 1 "
        "WHERE c.IsManaged = 1 ORDER BY c.Name LIMIT 1").fetchone()
    host_vars = inventory.get_host(name).vars
    gateway, last = raw.execute("SELECT Gateway, [Last Success] FROM Inv_AeX_AC_InternetGatewayDetails "
                                "WHERE _ResourceGuid = ? AND [Current] = 1", (guid,)).fetchone()
    auth = raw.execute("SELECT [Authentication Type] FROM Lab_CEM_Agent_Authentication WHERE _ResourceGuid = ?",
                       (guid,)).fetchone()[0]
    assert host_vars["itms_guid"] == guid
    assert host_vars["itms_connection_state"] == "cem" and host_vars["itms_is_on_internet"] is True
    assert host_vars["itms_gateway"] == gateway and host_vars["itms_last_success"] == last
    assert host_vars["itms_authentication_type"] == {1: "Permanent", 2: "Ephemeral", 3: "Both"}[auth]


def test_constructed_groups_and_compose(db, lab_profile_path, tmp_path):
    path = _write_config(tmp_path, (
        "cmdb_url: sqlite:///%s\ncmdb_profile: %s\nhost_domain: corp.example.com\n"
        "keyed_groups:\n  - key: itms_gateway | default('none', true)\n    prefix: gateway\n"
        "groups:\n  offline_cem: itms_cem_configured and not itms_is_on_internet\n"
        "compose:\n  ansible_host: itms_computer_name ~ '.lab'\n") % (db, lab_profile_path))
    inventory = _parse(path)
    assert "gateway_ig_emea_cem_example_com" in inventory.groups and "gateway_none" in inventory.groups
    raw = sqlite3.connect(db)
    offline = raw.execute(
        "SELECT COUNT(DISTINCT c.Name) FROM vComputer c JOIN Inv_AeX_AC_Network_Zone z ON c.Guid = z._ResourceGuid "
        "WHERE c.IsManaged = 1 AND z.InternetModeSupported = 1 AND z.AppliedPolicyCount > 0 AND z.IsOnInternet = 0"
    ).fetchone()[0]
    assert len(inventory.groups["offline_cem"].hosts) == offline
    host = next(iter(inventory.hosts.values()))
    assert host.name.endswith(".corp.example.com")
    assert host.vars["ansible_host"] == host.vars["itms_computer_name"] + ".lab"


def test_remote_values_are_unsafe(db, lab_profile_path, tmp_path):
    conn = sqlite3.connect(db)
    conn.execute("UPDATE vComputer SET Name = '{{ lookup(''pipe'', ''id'') }}' WHERE Name = "
                 "(SELECT MIN(Name) FROM vComputer WHERE IsManaged = 1)")
    conn.commit()
    path = _write_config(tmp_path, "cmdb_url: sqlite:///%s\ncmdb_profile: %s\n" % (db, lab_profile_path))
    inventory = _parse(path)
    host = inventory.get_host("{{ lookup('pipe', 'id') }}")
    assert host is not None
    templar = Templar(loader=DataLoader(), variables=host.vars)
    assert templar.template(host.vars["itms_computer_name"]) == "{{ lookup('pipe', 'id') }}"


def test_cache_is_used(db, lab_profile_path, tmp_path):
    cache_dir = tmp_path / "cache"
    path = _write_config(tmp_path, ("cmdb_url: sqlite:///%s\ncmdb_profile: %s\ncache: true\n"
                                    "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n")
                         % (db, lab_profile_path, cache_dir))
    first = _parse(path, cache=False)  # refresh: reads the CMDB and fills the cache
    os.remove(db)                      # nothing left to read
    second = _parse(path, cache=True)
    assert sorted(first.hosts) == sorted(second.hosts)
    with pytest.raises(AnsibleParserError, match="does not exist"):
        _parse(path, cache=False)


def test_without_authentication_mapping(db, tmp_path):
    inventory = _parse(_write_config(tmp_path, "cmdb_url: sqlite:///%s\n" % db))
    assert all(h.vars["itms_authentication_type"] is None for h in inventory.hosts.values())


@pytest.mark.parametrize("body,words", [
    ("cmdb_url: ftp://x/y\n", "Unsupported CMDB URL scheme"),
    ("cmdb_url: sqlite:////nonexistent/cmdb.sqlite\n", "does not exist"),
    ("cmdb_url: mssql://sa@127.0.0.1:1/Symantec_CMDB\ncmdb_password: %s\ncmdb_timeout: 3\n" % PASSWORD,
     "Cannot reach SQL Server"),
])
def test_clear_errors(tmp_path, body, words):
    with pytest.raises(AnsibleParserError) as info:
        _parse(_write_config(tmp_path, body))
    assert words in str(info.value)
    assert PASSWORD not in str(info.value)


def test_profile_mismatch(db, tmp_path):
    body = "cmdb_url: sqlite:///%s\ncmdb_profile: %s\n" % (db, tmp_path / "p.yml")
    (tmp_path / "p.yml").write_text("tables:\n  gateway:\n    name: NoGateways\n")
    with pytest.raises(AnsibleParserError, match="missing NoGateways"):
        _parse(_write_config(tmp_path, body))


def test_verify_file(tmp_path):
    plugin = inventory_loader.get("itms.cem.cmdb")
    assert plugin.verify_file(_write_config(tmp_path, "", "x.cmdb.yaml"))
    assert not plugin.verify_file(_write_config(tmp_path, "", "hosts.yml"))


def test_duplicate_names_keep_the_first():
    columns = ["guid", "name", "is_on_internet", "https_mode", "cem_configured", "gateway", "gateway_port",
               "last_success", "authentication_type"]
    rows = [["g1", "PC", 1, 1, 1, "ig", 443, None, None], ["g2", "pc", 0, 1, 0, None, None, None, None]]
    hosts, duplicates = rows_to_hosts(columns, rows)
    assert [h[0] for h in hosts] == ["PC"] and duplicates == 1
    hosts, duplicates = rows_to_hosts(columns, rows, hostname="guid")
    assert [h[0] for h in hosts] == ["g1", "g2"] and duplicates == 0
