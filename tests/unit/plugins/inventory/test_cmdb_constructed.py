# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compose, groups and keyed_groups of the itms.cem.cmdb inventory plugin: evaluated once per distinct input, with
exactly the outcome of Constructable's helpers called for every host; and the progress lines of a long run."""
import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins import inventory as ansible_inventory_plugins
from ansible.plugins.loader import inventory_loader
from ansible.template import is_trusted_as_template, trust_as_template

from ansible_collections.itms.cem.plugins.inventory import cmdb as plugin_module
from ansible_collections.itms.cem.plugins.plugin_utils import _constructed

# docs/inventory.md, "A complete inventory file"
DOCUMENTED = dict(
    compose={"ansible_host": "(itms_computer_name | lower) ~ '.corp.example.com'",
             "ansible_connection": "'winrm'"},
    groups={"cem_configured_but_offline": "itms_cem_configured and not itms_is_on_internet",
            "intranet_http": "not itms_is_on_internet and not itms_https_mode"},
    keyed_groups=[{"key": "itms_gateway | default('none', true)", "prefix": "gateway"},
                  {"key": "itms_connection_state", "prefix": "cem"},
                  {"key": "(itms_authentication_type | default('unknown', true)) | lower", "prefix": "auth"}],
)

# docs/inventory.md, "Grouping examples" (cem_stale calls now(): evaluated for every host)
GROUPING_EXAMPLES = dict(
    keyed_groups=[{"key": "itms_gateway | default('none', true)", "prefix": "gateway"},
                  {"key": "(itms_gateway ~ '_' ~ itms_gateway_port) if itms_gateway else 'none'", "prefix": "gw"},
                  {"key": "itms_connection_state", "prefix": "cem"},
                  {"key": "(itms_authentication_type | default('unknown', true)) | lower", "prefix": "auth"},
                  {"key": "itms_computer_name.split('-')[0] | lower", "prefix": "kind"}],
    groups={"cem_configured_but_offline": "itms_cem_configured and not itms_is_on_internet",
            "cem_unexpected": "itms_is_on_internet and not itms_cem_configured",
            "intranet_http": "not itms_is_on_internet and not itms_https_mode",
            "ephemeral_only": "itms_authentication_type == 'Ephemeral'",
            "cem_stale": "itms_last_success is not none and "
                         "(now(utc=true) - (itms_last_success | to_datetime)).days > 7"},
    compose={"ansible_host": "(itms_computer_name | lower) ~ '.corp.example.com'",
             "gateway_short": "(itms_gateway | default('none', true)).split('.')[0]"},
)

EXOTIC = dict(
    compose={
        # a composed variable that groups and keyed_groups read
        "site": "(itms_gateway | default('none-', true)).split('-')[1].split('.')[0] or 'lan'",
        # replaces a variable of the plugin for groups and keyed_groups (compose itself still sees the original)
        "itms_gateway": "itms_gateway | default('none', true) | upper",
        "gateway_again": "itms_gateway",
        # True/False and 1/0 are equal in Python but render differently
        "mixed": "itms_is_on_internet if itms_https_mode else (itms_is_on_internet | int)",
        "ratio": "(itms_gateway_port | default(0, true)) / 443",
        # containers: not shared between hosts
        "facts": "[itms_connection_state, itms_https_mode]",
        "by_state": "{'state': itms_connection_state}",
        # undefined in compose (composed variables and magic variables are not there): skipped
        "from_site": "site ~ '!'",
        "named": "inventory_hostname",
        # per host: lookup and a random filter (seeded, so that both runs agree)
        "looked_up": "lookup('ansible.builtin.env', 'HOME') ~ itms_connection_state",
        "lucky": "['a', 'b', 'c'] | random(seed=itms_guid)",
        "shuffled": "[1, 2, 3] | shuffle(seed=itms_guid) | first",
        "literal_template": "'{{ itms_guid }}'",
        "constant": 42,
        "digits": "itms_computer_name | regex_replace('\\\\d', '#')",
        # fails for the computers without a gateway, omitted for some
        "gateway_host": "itms_gateway.split('.')[0]",
        "maybe": "omit if itms_https_mode else itms_connection_state",
    },
    groups={
        "on_cem": "itms_is_on_internet",
        # group_names as the groups phase began: on_cem is not in it yet (though the host joined it just before)
        "also_on_cem": "'on_cem' in group_names",
        "emea": "site == 'emea'",
        "upper_gateway": "itms_gateway == itms_gateway | upper",
        "short_name": "inventory_hostname_short.startswith('LT')",
        "mixed_true": "mixed is sameas true",
        "has_facts": "facts | length == 2",
        "Bad-Name.group": "itms_https_mode",
        "always": True,
        "broken": "itms_no_such_variable.attribute",
        "from_a_missing_composed": "from_site == 'x!'",
    },
    keyed_groups=[
        {"key": "site", "prefix": "site", "parent_group": "sites"},
        {"key": "itms_connection_state", "prefix": "state", "parent_group": "{{ site }}_states"},
        {"key": "itms_authentication_type", "prefix": "auth", "default_value": "none"},
        {"key": "{'gw': itms_gateway if itms_gateway != 'NONE' else ''}", "trailing_separator": False},
        {"key": "{'port': itms_gateway_port, 'https': itms_https_mode}", "prefix": "p", "separator": "-"},
        {"key": "[itms_connection_state, itms_authentication_type | default('', true)]", "prefix": "l",
         "default_value": "unset"},
        {"key": "mixed | string", "prefix": "mixed"},
        {"key": "ratio | string", "prefix": "ratio"},
        {"key": "inventory_hostname[:2]", "prefix": "host"},
        {"key": "group_names | length | string", "prefix": "count"},
        {"key": "facts | join('-')", "prefix": "facts"},
        {"key": "by_state", "prefix": "dict"},
        {"key": "itms_computer_name.split('-')[0]", "prefix": ""},
        {"key": "gateway_again", "prefix": "again"},
        {"key": "itms_last_success.split(' ')[0]", "prefix": "day"},  # fails on null: not grouped
        {"key": "itms_connection_state", "parent_group": "{{ itms_no_such_variable }}"},
        {"key": "''", "prefix": "empty"},
    ],
)

STRICT_PASSING = dict(
    compose={"site": "(itms_gateway | default('none-', true)).split('-')[1].split('.')[0] or 'lan'"},
    groups={"emea": "site == 'emea'", "short": "inventory_hostname_short.startswith('LT')"},
    keyed_groups=[{"key": "site", "prefix": "site", "parent_group": "{{ itms_connection_state }}_sites"},
                  {"key": "itms_gateway | default('', true)", "default_value": "none", "prefix": "gw"},
                  {"key": "{'state': itms_connection_state}", "prefix": "s"}],
    strict=True,
)


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory):
    """A 300-computer lab CMDB: every expression also runs for every host (ansible-core 2.19 takes about half a
    millisecond per expression and host), and 300 computers still have every gateway, state and certificate kind."""
    from itms_lab import cmdb

    path = str(tmp_path_factory.mktemp("small-lab") / "cmdb.sqlite")
    cmdb.write(path, 300, 11)
    return path


def _config(tmp_path, lab_db, lab_profile_path, options, name="lab.cmdb.yml"):
    path = tmp_path / name
    data = dict(plugin="itms.cem.cmdb", cmdb_url="sqlite:///" + lab_db, cmdb_profile=lab_profile_path, **options)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


class Counting:
    """How often each Constructable helper ran."""

    def __init__(self, monkeypatch, plugin):
        self.calls = dict(compose=0, groups=0, keyed_groups=0)
        for name, helper in (("compose", "_set_composite_vars"), ("groups", "_add_host_to_composed_groups"),
                             ("keyed_groups", "_add_host_to_keyed_groups")):
            monkeypatch.setattr(plugin, helper, self._counted(name, getattr(plugin, helper)))

    def _counted(self, name, helper):
        def counted(*args, **kwargs):
            self.calls[name] += 1
            return helper(*args, **kwargs)

        return counted


def _parse(path, memoize, monkeypatch, counting=None):
    with monkeypatch.context() as patch:
        patch.setattr(_constructed, "MEMOIZE", memoize)
        plugin = inventory_loader.get("itms.cem.cmdb")
        helpers = Counting(patch, plugin) if counting is not None else None
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), path, cache=False)
    if counting is not None:
        counting.update(helpers.calls)
    return inventory


def _value(value):
    """A value with its type and trust, recursively, so that 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return ("dict", [(_value(k), _value(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_value(v) for v in value])
    trusted = isinstance(value, str) and is_trusted_as_template(value)
    return (type(value).__name__, repr(value), trusted)


def _snapshot(inventory):
    """Everything a consumer of the inventory can see, in order."""
    inventory.reconcile_inventory()
    return dict(
        # sorted: ansible-core adds a group's ancestors to a host in the order of a set of Group objects
        hosts=[(name, [(k, _value(v)) for k, v in host.vars.items()], sorted(g.name for g in host.groups))
               for name, host in inventory.hosts.items()],
        groups=[(name, [h.name for h in group.hosts], [g.name for g in group.child_groups],
                 [g.name for g in group.parent_groups], group.depth, sorted(group.vars.items()))
                for name, group in inventory.groups.items()],
    )


def _both_ways(path, monkeypatch):
    counted = {}
    memoized = _snapshot(_parse(path, True, monkeypatch, counted))
    reference = _snapshot(_parse(path, False, monkeypatch))
    return memoized, reference, counted


@pytest.mark.parametrize("options", [
    DOCUMENTED,
    GROUPING_EXAMPLES,
    EXOTIC,
    dict(EXOTIC, hostname="guid"),
    dict(EXOTIC, host_domain="corp.example.com", leading_separator=False, variable_prefix="cmdb_"),
    STRICT_PASSING,
], ids=["documented", "grouping-examples", "exotic", "exotic-by-guid", "exotic-fqdn-no-leading-separator",
        "strict"])
def test_memoized_and_per_host_give_the_same_inventory(small_lab, lab_profile_path, tmp_path, monkeypatch, options):
    if options.get("variable_prefix") == "cmdb_":
        options = yaml.safe_load(yaml.safe_dump(options).replace("itms_", "cmdb_"))
    path = _config(tmp_path, small_lab, lab_profile_path, options)
    memoized, reference, _calls = _both_ways(path, monkeypatch)
    assert len(memoized["hosts"]) > 250 and len(memoized["groups"]) > 3
    assert memoized["groups"] == reference["groups"]
    assert memoized["hosts"] == reference["hosts"]


def test_extra_vars_are_read_for_every_host(small_lab, lab_profile_path, tmp_path, monkeypatch):
    """With use_extra_vars an extra variable overrides the host's own in compose and keyed_groups keys."""
    extra = {"itms_gateway": "forced.example.com", "suffix": "-x"}
    for module in (plugin_module, ansible_inventory_plugins):
        monkeypatch.setattr(module, "load_extra_vars", lambda loader: dict(extra))
    options = dict(use_extra_vars=True,
                   compose={"gw": "itms_gateway | default('none', true)", "state": "itms_connection_state ~ suffix",
                            "plain": "itms_connection_state"},
                   groups={"forced": "itms_gateway == 'forced.example.com'"},
                   keyed_groups=[{"key": "itms_gateway | default('none', true)", "prefix": "gw"},
                                 {"key": "state", "prefix": "s"}, {"key": "plain", "prefix": "p"}])
    path = _config(tmp_path, small_lab, lab_profile_path, options)
    memoized, reference, calls = _both_ways(path, monkeypatch)
    assert memoized == reference
    groups = [g[0] for g in memoized["groups"]]
    assert "gw_forced_example_com" in groups and "forced" not in groups  # groups see no extra vars
    hosts = len(memoized["hosts"])
    # gw and state read an extra variable: per host; plain, s_ and p_ twice (cem, lan)
    assert calls["compose"] == 2 * hosts + 2 and calls["keyed_groups"] == hosts + 2 + 2


def test_hosts_never_share_a_composed_container(small_lab, lab_profile_path, tmp_path, monkeypatch):
    options = dict(compose={"facts": "[itms_connection_state, itms_https_mode]", "by_state": "{'s': itms_connection_state}",
                            "state": "itms_connection_state"})
    inventory = _parse(_config(tmp_path, small_lab, lab_profile_path, options), True, monkeypatch)
    hosts = list(inventory.hosts.values())
    for name in ("facts", "by_state"):
        assert len(set(id(h.vars[name]) for h in hosts)) == len(hosts), name
    assert len(set(h.vars["state"] for h in hosts)) == 2


def test_an_entry_with_a_new_input_for_every_host_goes_per_host(small_lab, lab_profile_path, tmp_path, monkeypatch):
    monkeypatch.setattr(_constructed, "UNIQUE_INPUTS", 5)
    path = _config(tmp_path, small_lab, lab_profile_path, EXOTIC)
    memoized, reference, _calls = _both_ways(path, monkeypatch)
    assert memoized["groups"] == reference["groups"]
    assert memoized["hosts"] == reference["hosts"]


def test_documented_expressions_run_once_per_distinct_input(lab_db, lab_profile_path, tmp_path, monkeypatch):
    path = _config(tmp_path, lab_db, lab_profile_path, DOCUMENTED)
    memoized, reference, calls = _both_ways(path, monkeypatch)
    assert memoized == reference
    inventory = _parse(path, True, monkeypatch)
    hosts = len(inventory.hosts)

    def distinct(*names):
        return len(set(tuple(h.vars["itms_" + n] for n in names) for h in inventory.hosts.values()))

    # ansible_host: a new input for every host (every name differs); 'winrm': once. Each group and keyed group:
    # once per distinct value of what it reads.
    assert distinct("computer_name") == hosts
    assert calls == dict(compose=hosts + 1,
                         groups=distinct("cem_configured", "is_on_internet") + distinct("is_on_internet", "https_mode"),
                         keyed_groups=distinct("gateway") + distinct("connection_state")
                         + distinct("authentication_type"))
    assert calls["keyed_groups"] == 4 + 2 + 4


@pytest.mark.parametrize("options,message", [
    (dict(keyed_groups=[{"key": "itms_gateway.split('.')[0]", "prefix": "gw"}]), "Could not generate group"),
    (dict(groups={"g": "itms_gateway.startswith('ig')"}), "Could not add host"),
    (dict(compose={"short": "itms_gateway.split('.')[0]"}), "Could not set short"),
    (dict(keyed_groups=[{"key": "itms_connection_state", "parent_group": "{{ itms_gateway.upper() }}"}]),
     "Could not generate parent group"),
    (dict(keyed_groups=[{"key": "itms_gateway", "prefix": "gw"}]), "No key or key resulted empty"),
    (dict(keyed_groups=[{"key": "itms_gateway_port", "prefix": "port"}]), "Invalid group name format"),
    (dict(keyed_groups=[{"key": "itms_gateway", "default_value": "x", "trailing_separator": False}]),
     "mutually exclusive"),
])
def test_errors_are_the_same_both_ways(small_lab, lab_profile_path, tmp_path, monkeypatch, options, message):
    """Each expression works for some hosts and fails for others (a null gateway): the same host fails."""
    path = _config(tmp_path, small_lab, lab_profile_path, dict(options, strict=True))
    failures = []
    for memoize in (True, False):
        with pytest.raises(AnsibleError) as info:
            _parse(path, memoize, monkeypatch)
        failures.append((type(info.value), str(info.value)))
    assert message in failures[0][1]
    assert failures[0] == failures[1]
    # without strict the same hosts are left out of the group both ways (where ansible-core does not always fail)
    path = _config(tmp_path, small_lab, lab_profile_path, dict(options, strict=False), name="lax.cmdb.yml")
    outcomes = []
    for memoize in (True, False):
        try:
            outcomes.append(_snapshot(_parse(path, memoize, monkeypatch)))
        except AnsibleError as exc:
            outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]


# -- what is evaluated per host -----------------------------------------------------------------

@pytest.mark.parametrize("text,names", [
    ("itms_gateway | default('none', true)", {"itms_gateway"}),
    ("(itms_authentication_type | default('unknown', true)) | lower", {"itms_authentication_type"}),
    ("(itms_gateway ~ '_' ~ itms_gateway_port) if itms_gateway else 'none'", {"itms_gateway", "itms_gateway_port"}),
    ("itms_computer_name.split('-')[0] | lower", {"itms_computer_name"}),
    ("'winrm'", set()),
    ("inventory_hostname_short is ansible.builtin.match('LT')", {"inventory_hostname_short"}),
    ("[a, b] | map('ansible.builtin.regex_replace', c, '') | list", {"a", "b", "c"}),
    ("'x' in group_names", {"group_names"}),
    ("hostvars[inventory_hostname].x", {"hostvars", "inventory_hostname"}),
])
def test_expression_reads(text, names):
    assert _constructed.expression_reads(text) == names


@pytest.mark.parametrize("text", [
    "lookup('ansible.builtin.env', 'HOME')",
    "query('ansible.builtin.inventory_hostnames', 'all') | length",
    "q('ansible.builtin.env', 'HOME')",
    "now(utc=true).year",
    "[1, 2] | random",
    "[1, 2] | ansible.builtin.shuffle",
    "itms_guid | password_hash('sha512')",
    "'%Y' | strftime",
    "'00:00:00:00:00:00' | community.general.random_mac",
    "'{{ itms_guid }}'",
    "x }} {{ y",
    "itms_gateway | ",
    None,
    42,
])
def test_expressions_evaluated_for_every_host(text):
    assert _constructed.expression_reads(text) is None


def test_parent_group_templates():
    assert _constructed.expression_reads("{{ site }}_states", template=True) == {"site"}
    assert _constructed.expression_reads("sites", template=True) == set()
    assert _constructed.expression_reads("{{ lookup('env', 'X') }}", template=True) is None
    assert _constructed.expression_reads("{% if", template=True) is None
    # other delimiters: the names read cannot be told with the default ones
    assert _constructed.expression_reads("#jinja2: variable_start_string:'[[', variable_end_string:']]'\n"
                                         "[[ itms_gateway ]]", template=True) is None


def test_inputs_that_make_no_memo_key():
    key_part = _constructed._key_part  # pylint: disable=protected-access
    assert key_part("LT-1") == (str, "LT-1") and key_part(True) != key_part(1) != key_part(1.0)
    assert key_part(None) is None
    for value in (["a"], {"a": 1}, trust_as_template("{{ x }}"),
                  trust_as_template("#jinja2: variable_start_string:'[[', variable_end_string:']]'\n[[ x ]]")):
        with pytest.raises(_constructed._PerHost):  # pylint: disable=protected-access
            key_part(value)


def test_which_entries_are_memoized():
    names = ["itms_" + v for v in plugin_module.VARIABLES]
    entries = _constructed._entries  # pylint: disable=protected-access
    composed, grouped, keyed = entries(names, EXOTIC["compose"], EXOTIC["groups"], EXOTIC["keyed_groups"], frozenset())
    per_host = dict(
        compose=sorted(next(iter(e.option)) for e in composed if e.names is None),
        groups=sorted(next(iter(e.option)) for e in grouped if e.names is None),
        keyed_groups=[e.option[0]["key"] for e in keyed if e.names is None],
    )
    assert per_host == dict(
        # not a string; names the plugin does not set before compose (omit among them); lookup; random; shuffle;
        # a template inside
        compose=["constant", "from_site", "literal_template", "looked_up", "lucky", "maybe", "named", "shuffled"],
        # group_names; not a string; an undefined name
        groups=["also_on_cem", "always", "broken"],
        # group_names; an undefined name in parent_group
        keyed_groups=["group_names | length | string", "itms_connection_state"],
    )
    assert keyed[1].names == ("itms_connection_state", "site")  # the key and the templated parent_group


# -- progress ------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, step):
        self.now = 1000.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


class Lines:
    def __init__(self):
        self.lines = []

    def display(self, msg, stderr=False, **kwargs):
        self.lines.append((msg, stderr))


def test_progress_lines_every_five_seconds():
    clock, out = FakeClock(1.0), Lines()
    progress = plugin_module.Progress(100000, out, clock.now, clock=clock)  # each look at the clock: 1 s later
    for done in range(500, 100000, 500):
        progress.tick(done)
    progress.finish()
    assert len(out.lines) == 199 // 5 + 1
    assert out.lines[0] == ("itms.cem.cmdb: 2,500 of 100,000 computers added (5 s)", True)
    assert out.lines[1] == ("itms.cem.cmdb: 5,000 of 100,000 computers added (10 s)", True)
    assert out.lines[-1] == ("itms.cem.cmdb: 100,000 of 100,000 computers added (200 s)", True)


def test_no_progress_on_a_short_run():
    clock, out = FakeClock(0.001), Lines()
    progress = plugin_module.Progress(100000, out, clock.now, clock=clock)
    for done in range(500, 100000, 500):
        progress.tick(done)
    progress.finish()
    assert out.lines == []


def test_progress_of_a_slow_parse_goes_to_stderr(lab_db, lab_profile_path, tmp_path, monkeypatch):
    clock, out = FakeClock(0.75), Lines()
    plugin = inventory_loader.get("itms.cem.cmdb")
    monkeypatch.setattr(plugin_module, "_clock", clock)
    monkeypatch.setattr(plugin_module, "PROGRESS_CHECK", 100)
    monkeypatch.setattr(plugin.display, "display", out.display)
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), _config(tmp_path, lab_db, lab_profile_path, DOCUMENTED), cache=False)
    assert len(inventory.hosts) > 900
    assert out.lines and all(stderr for _msg, stderr in out.lines)
    # the 8th look at the clock (0.75 s each, the first when parse began) is the first 5 s after the start
    computers = "{0:,}".format(len(inventory.hosts))
    assert out.lines[0][0] == "itms.cem.cmdb: 700 of %s computers added (5 s)" % computers
    assert out.lines[-1][0].startswith("itms.cem.cmdb: %s of %s computers added (" % (computers, computers))


def test_no_progress_on_a_quick_parse(lab_db, lab_profile_path, tmp_path, monkeypatch):
    out = Lines()
    plugin = inventory_loader.get("itms.cem.cmdb")
    monkeypatch.setattr(plugin_module, "PROGRESS_CHECK", 1)
    monkeypatch.setattr(plugin.display, "display", out.display)
    plugin.parse(InventoryData(), DataLoader(), _config(tmp_path, lab_db, lab_profile_path, {}), cache=False)
    assert out.lines == []
