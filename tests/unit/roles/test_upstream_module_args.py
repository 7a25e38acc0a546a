# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every upstream module the roles and playbooks call, held to that module's own documentation.

``ansible-doc --json`` of the installed collections (ansible.windows, community.windows, microsoft.iis,
community.general and ansible.builtin) gives each module's options, aliases, choices, required options and
suboptions. Every task of every role (``tasks/`` and ``handlers/``, through block, rescue and always) and of the
playbooks and molecule scenarios is parsed, and each call must name an existing module, pass only its options or
their aliases, give a literal value among the choices (and a boolean or integer where one is expected), and pass
its required options. So a role cannot pass an option the module does not have; the Windows modules cannot be run
here, which makes this the check that holds their calls.

The roles' ``meta/argument_specs.yml`` are also held to ``defaults/main.yml`` (same defaults, nothing undeclared)
and to ``README.md`` (every variable named).
"""
import collections
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible.parsing.splitter import parse_kv
from ansible.playbook.handler import Handler
from ansible.playbook.task import Task

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CHECKED_PREFIXES = ("ansible.windows.", "community.windows.", "microsoft.iis.", "community.general.", "ansible.builtin.")
TASK_KEYWORDS = frozenset(Task.fattributes) | frozenset(Handler.fattributes) | frozenset(["local_action"])
BLOCK_SECTIONS = ("block", "rescue", "always")
PLAY_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
FREE_FORM = frozenset(["free_form", "free-form", "_raw_params"])
# Modules that take keys besides their options: add_host makes them host variables (set_fact's documented
# ``key_value`` option is recognized from its documentation).
OPEN_MODULES = frozenset(["ansible.builtin.add_host"])

Call = collections.namedtuple("Call", "source file task module args")


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's tags (!vault, !unsafe) as the plain values they wrap."""


def _tagged(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_Loader.add_multi_constructor("!", _tagged)


def load_yaml(path):
    with open(path) as handle:
        return yaml.load(handle, Loader=_Loader)  # nosec - a SafeLoader subclass


def templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


# ---------------------------------------------------------------------------------------------------- the tasks
def iter_tasks(items, trail=""):
    """(task, label) of every task of a task list, through block/rescue/always.

    The label is the task's name (or its place) after those of the blocks around it: "outer (rescue) > inner".
    """
    for index, item in enumerate(items or []):
        own = (item.get("name") if isinstance(item, dict) else None) or "tasks[%d]" % index
        label = "%s > %s" % (trail, own) if trail else own
        if isinstance(item, dict) and any(section in item for section in BLOCK_SECTIONS):
            for section in BLOCK_SECTIONS:
                yield from iter_tasks(item.get(section), "%s (%s)" % (label, section))
        else:
            yield item, label


def task_call(task):
    """(module, args) of one task; ValueError when it does not name exactly one module."""
    if "action" in task or "local_action" in task:
        value = task.get("action", task.get("local_action"))
        if isinstance(value, dict):
            args = dict(value)
            module = args.pop("module", None)
        else:
            module, args = (str(value).strip().split(" ", 1) + [""])[:2]
    else:
        keys = [key for key in task if key not in TASK_KEYWORDS and not key.startswith("with_")]
        if len(keys) != 1:
            raise ValueError("names %s module keys (%s); a task names exactly one module"
                             % ("no" if not keys else "several", ", ".join(sorted(keys)) or "none"))
        module, args = keys[0], task[keys[0]]
    if not module:
        raise ValueError("names no module in its action")
    if args is None:
        args = {}
    if isinstance(task.get("args"), dict) and isinstance(args, dict):
        args = dict(task["args"], **args)
    return module, args


def collect(tasks, source, file):
    """(calls, problems) of a task list."""
    calls, problems = [], []
    for task, label in iter_tasks(tasks):
        if not isinstance(task, dict):
            problems.append("%s %s: %s is a %s, not a task" % (source, file, label, type(task).__name__))
            continue
        try:
            module, args = task_call(task)
        except ValueError as error:
            problems.append("%s %s: task %r %s" % (source, file, label, error))
            continue
        calls.append(Call(source, file, label, module, args))
    return calls, problems


def role_files(role):
    root = os.path.join(REPO, "roles", role)
    found = []
    for folder in ("tasks", "handlers"):
        for pattern in ("*.yml", "*.yaml"):
            found.extend(glob.glob(os.path.join(root, folder, "**", pattern), recursive=True))
    return sorted(found)


def collect_role(role):
    calls, problems = [], []
    for path in role_files(role):
        more, wrong = collect(load_yaml(path), "role " + role, os.path.relpath(path, REPO))
        calls.extend(more)
        problems.extend(wrong)
    return calls, problems


def playbook_files():
    found = glob.glob(os.path.join(REPO, "playbooks", "*.yml"))
    found += glob.glob(os.path.join(REPO, "extensions", "molecule", "*", "*.yml"))
    return sorted(found)


def collect_playbook(path):
    """Calls of the plays of one playbook file (a molecule.yml or any file that is not a list of plays: none)."""
    data = load_yaml(path)
    calls, problems = [], []
    if not isinstance(data, list):
        return calls, problems
    relative = os.path.relpath(path, REPO)
    for play in data:
        if not isinstance(play, dict) or "hosts" not in play:
            continue  # import_playbook entries
        for section in PLAY_SECTIONS:
            more, wrong = collect(play.get(section), "playbook", "%s (%s)" % (relative, section))
            calls.extend(more)
            problems.extend(wrong)
    return calls, problems


def roles():
    return sorted(os.path.basename(os.path.dirname(path)) for path in glob.glob(os.path.join(REPO, "roles", "*", "")))


# ---------------------------------------------------------------------------------------------------- the check
def _names(options):
    index = {}
    for name, spec in options.items():
        index[name] = name
        for alias in spec.get("aliases") or []:
            index[alias] = name
    return index


def _is_bool(value):
    return isinstance(value, bool) or (isinstance(value, (str, int)) and value in BOOLEANS) or \
        (isinstance(value, str) and value.lower() in BOOLEANS)


def _is_int(value):
    return (isinstance(value, int) and not isinstance(value, bool)) or \
        (isinstance(value, str) and re.match(r"^[+-]?\d+$", value.strip()) is not None)


def check_value(where, name, spec, value):
    """Problems of one literal value (templated values are left to run time)."""
    if templated(value):
        return []
    problems = []
    kind = spec.get("type")
    if kind == "bool" and not _is_bool(value):
        problems.append("%s: argument %r = %r is not a boolean" % (where, name, value))
    if kind == "int" and not _is_int(value):
        problems.append("%s: argument %r = %r is not an integer" % (where, name, value))
    choices = spec.get("choices")
    if choices:
        values = value if isinstance(value, list) else [value]
        if kind == "list" and isinstance(value, str):
            values = [part.strip() for part in value.split(",")]
        allowed = [str(choice) for choice in choices]
        for item in values:
            if not templated(item) and item not in choices and str(item) not in allowed:
                problems.append("%s: argument %r = %r is not one of: %s" % (where, name, item, ", ".join(allowed)))
    suboptions = spec.get("suboptions")
    if suboptions:
        elements = value if isinstance(value, list) else [value]
        for index, element in enumerate(elements):
            if isinstance(element, dict):
                prefix = "%s[%d]" % (name, index) if isinstance(value, list) else name
                problems.extend(check_options(where, suboptions, element, prefix=prefix + "."))
    return problems


def check_options(where, options, args, open_keys=False, prefix=""):
    problems = []
    index = _names(options)
    for key, value in args.items():
        canonical = index.get(key)
        if canonical is None:
            if not open_keys:
                close = difflib.get_close_matches(str(key), sorted(index), n=1)
                hint = "did you mean %r?" % close[0] if close else "not an option or alias of the module"
                problems.append("%s: unknown argument %r (%s)" % (where, prefix + str(key), hint))
            continue
        problems.extend(check_value(where, prefix + str(key), options[canonical], value))
    for name, spec in sorted(options.items()):
        if spec.get("required") and name not in FREE_FORM and name != "key_value":
            if not any(alias in args for alias in [name] + list(spec.get("aliases") or [])):
                problems.append("%s: required argument %r is missing" % (where, prefix + name))
    return problems


def check_call(call, docs):
    """Problems of one call against ``ansible-doc --json`` output ({module: {"doc": {...}}})."""
    where = "%s %s: task %r: %s" % (call.source, call.file, call.task, call.module)
    if call.module not in docs:
        return ["%s: no such module in the installed collections (ansible-doc found none)" % where]
    options = docs[call.module]["doc"].get("options") or {}
    args = call.args
    if isinstance(args, str):
        if templated(args) or FREE_FORM.intersection(options):
            return []
        args = parse_kv(args)
    if not isinstance(args, dict):
        return ["%s: arguments are a %s, not a mapping" % (where, type(args).__name__)]
    return check_options(where, options, args, open_keys="key_value" in options or call.module in OPEN_MODULES)


def checked(calls):
    return [call for call in calls if call.module.startswith(CHECKED_PREFIXES)]


def unqualified(calls):
    """Calls by a short module name, which would escape the check: every call is fully qualified."""
    return ["%s %s: task %r: module %r is not fully qualified (use the collection's name, such as "
            "ansible.windows.%s), so its arguments cannot be checked" % (c.source, c.file, c.task, c.module, c.module)
            for c in calls if c.module.count(".") < 2]


# ---------------------------------------------------------------------------------------------------- the docs
SELF_TEST_TASKS = [
    {"name": "fine", "community.windows.win_firewall_rule": {
        "name": "r", "direction": "in", "localport": "{{ port }}", "enable": True, "profiles": ["domain", "private"]}},
    {"name": "outer", "block": [
        {"name": "bad argument", "community.windows.win_firewall_rule": {"name": "r", "remote_ip": "192.0.2.1"}},
    ], "rescue": [
        {"name": "bad choice", "community.windows.win_firewall_rule": {"name": "r", "direction": "sideways"}},
    ], "always": [
        {"name": "templated choice", "community.windows.win_firewall_rule": {"name": "r", "direction": "{{ d }}"}},
        {"name": "missing required", "microsoft.iis.website": {"state": "started"}},
        {"name": "bad suboption choice", "microsoft.iis.website": {
            "name": "S", "bindings": {"add": [{"port": 443, "protocol": "ftp"}]}}},
        {"name": "bad boolean", "ansible.windows.win_stat": {"path": "C:\\x", "get_checksum": "maybe"}},
        {"name": "key=value string", "action": "ansible.windows.win_file path=C:\\x state=gone"},
        {"name": "no such module", "ansible.windows.win_nope": {}},
    ]},
]


def ansible_doc_path():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    return beside if os.path.exists(beside) else shutil.which("ansible-doc")


@pytest.fixture(scope="session")
def module_docs():
    """``ansible-doc --json -t module`` of every checked module of the roles, the playbooks and the self-test, once."""
    calls = []
    for role in roles():
        calls.extend(collect_role(role)[0])
    for path in playbook_files():
        calls.extend(collect_playbook(path)[0])
    calls.extend(collect(SELF_TEST_TASKS, "synthetic", "tasks.yml")[0])
    modules = sorted(set(call.module for call in checked(calls)))
    program = ansible_doc_path()
    if not program:
        pytest.fail("ansible-doc is not installed beside %s nor on PATH: the module arguments cannot be checked"
                    % sys.executable)
    run = subprocess.run([program, "--json", "-t", "module"] + modules, cwd=REPO, capture_output=True, text=True,
                         timeout=600, check=False)
    if run.returncode != 0:
        pytest.fail("ansible-doc failed (%d): %s" % (run.returncode, run.stderr.strip()[-2000:]))
    try:
        docs = json.loads(run.stdout)
    except ValueError:
        docs = None
    if not isinstance(docs, dict):
        pytest.fail("ansible-doc printed no JSON object: %s %s" % (run.stdout[:500], run.stderr.strip()[-2000:]))
    return docs


# ---------------------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("role", roles())
def test_role_tasks_parse_into_module_calls(role):
    files = role_files(role)
    assert files, "role %s has no tasks/*.yml" % role
    calls, problems = collect_role(role)
    assert problems == []
    assert unqualified(calls) == []
    assert calls, "role %s: no task calls a module" % role


@pytest.mark.parametrize("role", roles())
def test_role_module_arguments_are_documented(role, module_docs):
    calls, problems = collect_role(role)
    for call in checked(calls):
        problems.extend(check_call(call, module_docs))
    assert problems == [], "\n".join(problems)


def test_playbook_module_arguments_are_documented(module_docs):
    problems = []
    for path in playbook_files():
        calls, wrong = collect_playbook(path)
        problems.extend(wrong)
        problems.extend(unqualified(calls))
        for call in checked(calls):
            problems.extend(check_call(call, module_docs))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role, modules", [
    ("notification_server", {
        "itms.cem.tls_certificate_info", "ansible.windows.win_certificate_info", "ansible.windows.win_copy",
        "ansible.windows.win_certificate_store", "ansible.windows.win_file", "microsoft.iis.website_info",
        "community.windows.win_iis_webbinding", "community.windows.win_firewall_rule"}),
    ("cem_agent", {"ansible.windows.win_stat", "ansible.windows.win_copy", "ansible.windows.win_package",
                   "ansible.windows.win_command", "ansible.windows.win_powershell", "ansible.builtin.copy"}),
])
def test_windows_roles_are_seen_calling_their_modules(role, modules):
    """The scan reaches the modules inside blocks and imported files (or the check above would prove nothing)."""
    calls, problems = collect_role(role)
    assert problems == []
    assert modules - set(call.module for call in calls) == set()


def test_checker_catches_bad_arguments_and_choices(module_docs):
    calls, problems = collect(SELF_TEST_TASKS, "synthetic", "tasks.yml")
    assert problems == []
    assert [call.task for call in calls] == [
        "fine", "outer (block) > bad argument", "outer (rescue) > bad choice", "outer (always) > templated choice",
        "outer (always) > missing required", "outer (always) > bad suboption choice", "outer (always) > bad boolean",
        "outer (always) > key=value string", "outer (always) > no such module"]
    for call in checked(calls):
        problems.extend(check_call(call, module_docs))
    where = "synthetic tasks.yml: task 'outer (%s) > %s': "
    assert problems == [
        where % ("block", "bad argument")
        + "community.windows.win_firewall_rule: unknown argument 'remote_ip' (did you mean 'remoteip'?)",
        where % ("rescue", "bad choice")
        + "community.windows.win_firewall_rule: argument 'direction' = 'sideways' is not one of: in, out",
        where % ("always", "missing required") + "microsoft.iis.website: required argument 'name' is missing",
        where % ("always", "bad suboption choice")
        + "microsoft.iis.website: argument 'bindings.add[0].protocol' = 'ftp' is not one of: http, https",
        where % ("always", "bad boolean") + "ansible.windows.win_stat: argument 'get_checksum' = 'maybe' is not a boolean",
        where % ("always", "key=value string")
        + "ansible.windows.win_file: argument 'state' = 'gone' is not one of: absent, directory, file, touch",
        where % ("always", "no such module")
        + "ansible.windows.win_nope: no such module in the installed collections (ansible-doc found none)",
    ]


def test_task_call_refuses_a_task_without_exactly_one_module():
    calls, problems = collect([{"name": "two", "ansible.windows.win_stat": {"path": "x"}, "wehn": "x"},
                               {"name": "none", "when": "x"}, "text"], "synthetic", "t.yml")
    assert calls == []
    assert problems == [
        "synthetic t.yml: task 'two' names several module keys (ansible.windows.win_stat, wehn); "
        "a task names exactly one module",
        "synthetic t.yml: task 'none' names no module keys (none); a task names exactly one module",
        "synthetic t.yml: tasks[2] is a str, not a task",
    ]
    assert unqualified([Call("s", "f", "t", "win_stat", {})]) == [
        "s f: task 't': module 'win_stat' is not fully qualified (use the collection's name, such as "
        "ansible.windows.win_stat), so its arguments cannot be checked"]


# ---------------------------------------------------------------------------------------------------- role variables
def _argument_specs(role):
    path = os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")
    if not os.path.exists(path):
        return None
    return (load_yaml(path) or {}).get("argument_specs") or {}


def _defaults(role):
    data = {}
    root = os.path.join(REPO, "roles", role, "defaults")
    for path in [os.path.join(root, "main.yml")] + sorted(glob.glob(os.path.join(root, "main", "*.yml"))):
        if os.path.exists(path):
            data.update(load_yaml(path) or {})
    return data


def _same(left, right):
    return json.dumps(left, sort_keys=True, default=str) == json.dumps(right, sort_keys=True, default=str)


def spec_problems(role, specs, defaults):
    """Where meta/argument_specs.yml and defaults/main.yml disagree."""
    problems, declared = [], set()
    for entry, spec in sorted(specs.items()):
        for name, option in sorted((spec.get("options") or {}).items()):
            declared.add(name)
            where = "role %s, entry point %s, variable %s" % (role, entry, name)
            if "default" in option:
                if name not in defaults:
                    problems.append("%s: argument_specs gives default %r but defaults/main.yml does not set it"
                                    % (where, option["default"]))
                elif not _same(defaults[name], option["default"]):
                    problems.append("%s: argument_specs default %r != defaults/main.yml %r"
                                    % (where, option["default"], defaults[name]))
            elif not option.get("required") and defaults.get(name) is not None:
                problems.append("%s: defaults/main.yml sets %r but argument_specs gives no default"
                                % (where, defaults[name]))
    for name in sorted(set(defaults) - declared):
        if not name.startswith("_"):
            problems.append("role %s, variable %s: set in defaults/main.yml but not in meta/argument_specs.yml"
                            % (role, name))
    return problems


@pytest.mark.parametrize("role", roles())
def test_argument_specs_match_defaults(role):
    specs = _argument_specs(role)
    assert specs, "role %s has no meta/argument_specs.yml (or it declares no entry point)" % role
    problems = spec_problems(role, specs, _defaults(role))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role", roles())
def test_readme_lists_every_variable(role):
    specs = _argument_specs(role)
    assert specs, "role %s has no meta/argument_specs.yml" % role
    path = os.path.join(REPO, "roles", role, "README.md")
    assert os.path.exists(path), "role %s has no README.md" % role
    with open(path) as handle:
        readme = handle.read()
    missing = sorted(set(name for spec in specs.values() for name in spec.get("options") or {}
                         if not re.search(r"(?<![\w])%s(?![\w])" % re.escape(name), readme)))
    assert missing == [], "role %s: README.md does not name %s" % (role, ", ".join(missing))


def test_spec_problems_are_named():
    specs = {"main": {"options": {
        "r_port": {"type": "int", "default": 443},
        "r_names": {"type": "list", "default": []},
        "r_flag": {"type": "bool", "default": True},
        "r_list": {"type": "list"},
        "r_need": {"type": "str", "required": True},
    }}}
    defaults = {"r_port": 4726, "r_flag": 1, "r_list": ["a"], "r_need": "", "r_extra": 1, "__r_internal": 2}
    assert spec_problems("r", specs, defaults) == [
        "role r, entry point main, variable r_flag: argument_specs default True != defaults/main.yml 1",
        "role r, entry point main, variable r_list: defaults/main.yml sets ['a'] but argument_specs gives no default",
        "role r, entry point main, variable r_names: argument_specs gives default [] but defaults/main.yml does not set it",
        "role r, entry point main, variable r_port: argument_specs default 443 != defaults/main.yml 4726",
        "role r, variable r_extra: set in defaults/main.yml but not in meta/argument_specs.yml",
    ]
