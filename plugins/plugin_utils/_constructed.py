# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Constructed features (compose, groups, keyed_groups) evaluated once per distinct input, through public API.

ansible-core evaluates every compose, groups and keyed_groups expression for every host. Most hosts of a CMDB
share a few values of the variables an expression reads (a handful of gateways, two connection states), so
``constructor`` runs each entry through its Constructable helper (``_set_composite_vars``,
``_add_host_to_composed_groups``, ``_add_host_to_keyed_groups``: the interface ansible-core's developer guide gives
inventory plugins) for the first host with a given input, records the inventory calls the helper made, and makes
the same calls for later hosts with that input. Sanitising, prefixes, separators, default_value, parent_group and
strict stay ansible-core's. docs/inventory.md says what falls back to per-host evaluation, and why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.template import is_trusted_as_template
from ansible.utils.vars import combine_vars
from jinja2 import Environment, TemplateError, meta, nodes
from jinja2.parser import Parser

# Off: every entry is evaluated for every host through Constructable's helpers, exactly as ansible-core's own
# plugins do (the reference the tests compare with).
MEMOIZE = True


# Names whose value differs between two evaluations with the same variables.
IMPURE_NAMES = frozenset(("lookup", "query", "q", "now"))
# Filters and tests (their last dotted part) with results that are not a function of their input: random numbers,
# shuffled lists, random salts (password_hash, vault) and the current time (strftime without a second).
IMPURE_FILTERS = frozenset(("random", "shuffle", "random_mac", "password_hash", "vault", "strftime"))
# The magic variables of a host (Host.get_magic_vars) that groups and keyed_groups see over its variables. The
# first two follow from the host name; group_names changes as the host joins groups.
HOST_NAMES = frozenset(("inventory_hostname", "inventory_hostname_short"))
MAGIC_NAMES = HOST_NAMES | frozenset(("group_names",))


class _AnyName(dict):
    """Filters or tests for parsing only: every name is known (Ansible resolves the real ones when it evaluates)."""

    def get(self, name, default=None):
        return _placeholder


def _placeholder(*args, **kwargs):  # pragma: no cover - never called, only looked up while parsing
    return None


@functools.lru_cache(maxsize=None)
def _parsing_environment():
    environment = Environment()
    environment.filters = _AnyName()
    environment.tests = _AnyName()
    # no globals: jinja2 would not count range, lipsum (random text), namespace, ... among the names read
    environment.globals = {}
    return environment


def expression_reads(text, template=False):
    """Pure: the names of the variables the Jinja expression ``text`` reads (with ``template``: the template).

    None when the outcome may differ between two evaluations with the same variables, or cannot be told from the
    text: not a string, not parseable, an expression holding template markers (the engine could template them in
    turn), a template with a #jinja2: header (other delimiters), a call of lookup/query/q/now, or a random-like
    filter or test.
    """
    if not isinstance(text, str) or text.lstrip().startswith("#jinja2:"):
        return None
    text = u"%s" % (text,)  # a plain str for the parser, whatever tags the option's value carries
    environment = _parsing_environment()
    try:
        if template:
            tree = environment.parse(text)
        else:
            if "{{" in text or "{%" in text or "{#" in text:
                return None
            # as jinja2's Environment.compile_expression parses an expression
            parser = Parser(environment, text, state="variable")
            expression = parser.parse_expression()
            if not parser.stream.eos:
                return None
            tree = nodes.Template([nodes.Output([expression])])
            tree.set_environment(environment)
        names = frozenset(meta.find_undeclared_variables(tree))
    except TemplateError:
        return None
    if names & IMPURE_NAMES:
        return None
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        short = node.name.rsplit(".", 1)[-1]
        if short in IMPURE_FILTERS or "random" in short or "shuffle" in short:
            return None
    return names


_MISSING = object()  # the key part of a variable the host does not have


class _PerHost(Exception):
    """This host's input cannot make a memo key (a container, a trusted template string)."""


def _key_part(value):
    if value is None or value is _MISSING:
        return value
    if isinstance(value, str):
        # a string trusted as a template is templated when read, so its text is not the input (a plain str carries no
        # tag, so it is not trusted)
        if value.__class__ is not str and is_trusted_as_template(value):
            raise _PerHost()
        return value.__class__, value
    if isinstance(value, float):  # 0.0 == -0.0 and 1.0 == 1 == True, but they do not render alike
        return float, repr(value)
    if isinstance(value, int):
        return value.__class__, value
    raise _PerHost()


class _Entry:
    """One compose, groups or keyed_groups entry: the one-entry option its helper gets, and its outcomes per input.

    ``names`` are the variables whose values make the memo key (sorted), or None when the entry is evaluated for
    every host. ``outcomes`` maps a key to the inventory calls the helper made for the first host with that key;
    ``hit`` says whether a later host used one.
    """

    __slots__ = ("option", "names", "outcomes", "hit")

    def __init__(self, option, names):
        self.option = option
        self.names = names
        self.outcomes = {}
        self.hit = False


# An entry whose first UNIQUE_INPUTS inputs all differ (say ansible_host from the computer name) is evaluated per
# host from then on: its outcomes would only fill memory.
UNIQUE_INPUTS = 1000


# kinds of a recorded call; the host is the first argument of set_variable and add_host, the second of add_child
_SET_VARIABLE = 0
_ADD_HOST = 1
_ADD_CHILD = 2
_REPLAYABLE_VALUES = (str, int, float, type(None))  # immutable: one value object may be shared by many hosts


class _Recorder:
    """Stands in for the inventory while a Constructable helper runs for one host.

    Every call goes to the real inventory; the ones that change what a host is (a variable, a group membership)
    are noted with the host left out, so that they can be made again for another host with the same input. Group
    creation and group-to-group links are not noted: they exist from then on. Any other call that changes the
    inventory makes the outcome one not to repeat.
    """

    def __init__(self, inventory, host):
        self.inventory = inventory
        self.host = host
        self.calls = []
        # a group with the host's name would take the host's place in add_child and set_variable
        self.repeatable = host not in inventory.groups

    def __getattr__(self, name):
        if name not in ("get_host", "add_group", "groups", "hosts"):  # reads, and creating a group
            self.repeatable = False
        return getattr(self.inventory, name)

    def set_variable(self, entity, varname, value):
        self.inventory.set_variable(entity, varname, value)
        if entity == self.host and isinstance(value, _REPLAYABLE_VALUES):
            self.calls.append((_SET_VARIABLE, varname, value))
        else:
            self.repeatable = False

    def add_host(self, host, group=None, port=None):
        result = self.inventory.add_host(host, group, port)
        if host == self.host and port is None and group is not None:
            self.calls.append((_ADD_HOST, group, None))
        else:
            self.repeatable = False
        return result

    def add_child(self, group, child):
        result = self.inventory.add_child(group, child)
        if child in self.inventory.groups:
            pass  # a group under a group (parent_group): there for every later host
        elif child == self.host:
            self.calls.append((_ADD_CHILD, group, None))
        else:
            self.repeatable = False
        return result


def constructor(plugin, names, compose, groups, keyed_groups, strict, extra=frozenset()):
    """``construct(host, host_vars)`` for ``plugin`` (a Constructable), or None without constructed features.

    ``names`` are the plugin's own variable names; ``extra`` the names of the extra vars the expressions see
    (use_extra_vars). With MEMOIZE off, every entry is evaluated for every host.
    """
    if not (compose or groups or keyed_groups):
        return None
    if MEMOIZE:
        return OncePerInput(plugin, names, compose, groups, keyed_groups, strict, extra)

    # pylint: disable=protected-access
    def construct(host, host_vars):
        # composed variables first, so that groups and keyed_groups can use them
        plugin._set_composite_vars(compose, host_vars, host, strict=strict)
        plugin._add_host_to_composed_groups(groups, host_vars, host, strict=strict)
        plugin._add_host_to_keyed_groups(keyed_groups, host_vars, host, strict=strict)

    return construct


def _entries(names, compose, groups, keyed_groups, extra):
    """The compose, groups and keyed_groups entries, each with the names of its memo key (None: per host)."""
    plugin_names = frozenset(names)
    # groups and keyed_groups also see composed variables and the host's magic variables, magic ones winning
    host_known = ((plugin_names | frozenset(u"%s" % (n,) for n in (compose or {}))) - MAGIC_NAMES) | HOST_NAMES

    def key_names(reads, known, extra=frozenset()):
        # _compose lets extra vars override any variable: an expression reading one is evaluated per host
        if reads is None or not reads <= known or reads & extra:
            return None
        return tuple(sorted(reads))

    composed = [_Entry({name: expression}, key_names(expression_reads(expression), plugin_names, extra))
                for name, expression in (compose or {}).items()] if isinstance(compose, dict) else []
    grouped = [_Entry({name: expression}, key_names(expression_reads(expression), host_known))
               for name, expression in (groups or {}).items()] if isinstance(groups, dict) else []
    keyed = []
    for entry in (keyed_groups or []) if isinstance(keyed_groups, list) else []:
        reads = None
        if isinstance(entry, dict) and entry:
            reads = expression_reads(entry.get("key"))
            parent = entry.get("parent_group")
            if reads is not None and parent is not None:
                parent_reads = expression_reads(parent, template=True)
                reads = None if parent_reads is None else reads | parent_reads
        keyed.append(_Entry([entry], key_names(reads, host_known, extra)))
    return composed, grouped, keyed


class OncePerInput:
    """``construct(host, host_vars)`` evaluating every entry once per distinct input.

    Entries run one at a time, in the order Constructable runs them (compose, groups, keyed_groups), each through
    its Constructable helper with a one-entry dict or list. The first host with a given input runs the helper;
    later hosts with the same input get the same inventory calls. An entry that reads anything else runs for
    every host.
    """

    def __init__(self, plugin, names, compose, groups, keyed_groups, strict, extra=frozenset()):
        self.plugin = plugin
        self.strict = strict
        self.composed, self.grouped, self.keyed = _entries(names, compose, groups, keyed_groups, extra)
        # an entry that may read group_names needs the host's variables made before any group entry runs
        self.groups_per_host = any(e.names is None for e in self.grouped)

    # pylint: disable=protected-access
    def _set_composite_vars(self, option, variables, host):
        self.plugin._set_composite_vars(option, variables, host, strict=self.strict)

    def _add_to_composed_groups(self, option, variables, host):
        # variables of the whole groups phase, as Constructable's one call with every group would have them
        self.plugin._add_host_to_composed_groups(option, variables, host, strict=self.strict, fetch_hostvars=False)

    def _add_to_keyed_groups(self, option, variables, host):
        self.plugin._add_host_to_keyed_groups(option, variables, host, strict=self.strict)
    # pylint: enable=protected-access

    def __call__(self, host, host_vars):
        for entry in self.composed:
            key = self._lookup(entry, host, host_vars.get)
            if key is not True:
                self._evaluate(entry, key, self._set_composite_vars, host, host_vars)
        if not (self.grouped or self.keyed):
            return
        host_object = self.plugin.inventory.get_host(host)
        get = host_object.vars.get
        if self.grouped:
            # Constructable combines the host's variables once for all groups (group_names as they are now)
            variables = combine_vars(host_vars, host_object.get_vars()) if self.groups_per_host else None
            for entry in self.grouped:
                key = self._lookup(entry, host, get)
                if key is not True:
                    if variables is None:
                        variables = combine_vars(host_vars, host_object.get_vars())
                    self._evaluate(entry, key, self._add_to_composed_groups, host, variables)
        for entry in self.keyed:
            key = self._lookup(entry, host, get)
            if key is not True:
                self._evaluate(entry, key, self._add_to_keyed_groups, host, host_vars)

    def _lookup(self, entry, host, get):
        """True when the entry's recorded outcome for the host's input was applied; else the memo key to record the
        outcome under, or None (no memo for this entry or this input)."""
        names = entry.names
        if names is None:
            return None
        try:
            key = tuple([host if name in HOST_NAMES else _key_part(get(name, _MISSING)) for name in names])
            calls = entry.outcomes.get(key)
        except (_PerHost, TypeError):  # TypeError: unhashable
            return None
        inventory = self.plugin.inventory
        if calls is None or host in inventory.groups:
            return key
        entry.hit = True
        for kind, name, value in calls:
            if kind == _SET_VARIABLE:
                inventory.set_variable(host, name, value)
            elif kind == _ADD_HOST:
                inventory.add_host(host, name)
            else:
                inventory.add_child(name, host)
        return True

    def _evaluate(self, entry, key, helper, host, variables):
        """Run the entry's helper for the host; with a key, note the inventory calls it made as the outcome."""
        if key is None:
            helper(entry.option, variables, host)
            return
        plugin = self.plugin
        inventory = plugin.inventory
        recorder = _Recorder(inventory, host)
        plugin.inventory = recorder  # the helpers make their calls through the plugin's inventory attribute
        try:
            helper(entry.option, variables, host)
        finally:
            plugin.inventory = inventory
        outcomes = entry.outcomes
        if recorder.repeatable and key not in outcomes:
            outcomes[key] = tuple(recorder.calls)
            if len(outcomes) >= UNIQUE_INPUTS and not entry.hit:
                entry.names, entry.outcomes = None, {}
