# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation testing of the security-critical code: do the unit tests notice when it breaks?

    python tests/mutation/run.py [--target NAME ...] [--jobs 2] [--list]

For each target (a function, class or module-level name in one file, see TARGETS) it makes every
mutant that the operators below allow, one at a time, in a private copy of the repository, runs that
target's tests against it, and counts the mutant as killed when a test fails (or the run times out).
A surviving mutant is a bug the tests would not notice; each is printed with its line and change.

Operators (the classic set): comparison swaps (== !=, < <=, > >=, in / not in, is / is not),
and/or swaps, dropping a `not`, True/False flips, numbers +1, an empty string for a string and a
string for an empty one (not in messages), any/all swaps, dropping a .upper()/.lower()/.strip()/.casefold() call,
dropping a `raise`, a call statement, an assignment or a `continue`, and `return None` for a return value.

It exits 1 when a target marked `strict` keeps a surviving mutant (the read-only SQL check and the
scrubbers must have none), else 0. It is not part of `make test`: run it with `make mutation`.
"""
import argparse
import ast
import concurrent.futures
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = "tests/unit/plugins"

# name: (file, [qualified names to mutate], [pytest paths], strict)
# The read-only check: both layers, the lexer under them, and the parameter values. Message wording is left out.
READ_ONLY_CHECK = ["check_read_only", "_check_text", "_words", "_lex", "_check_tree", "_unquoted_identifiers",
                   "_linked_server_name", "_write_node_types", "check_parameter_values", "READ_ONLY_KEYWORD_GROUPS",
                   "STATEMENT_WORDS", "_EXTERNAL_FUNCTIONS", "_NILADIC_FUNCTIONS", "PARAMETER_TYPES"]

# name: (file, [qualified names to mutate, or "*" for the whole file], [pytest paths], strict)
TARGETS = {
    "read_only_check": ("plugins/module_utils/_sqltext.py", READ_ONLY_CHECK,
                        [UNIT + "/module_utils/test_sqltext.py", UNIT + "/module_utils/test_sqltext_hostile.py",
                         UNIT + "/module_utils/test_sqltext_layers.py", UNIT + "/module_utils/test_cmdb.py",
                         UNIT + "/modules/test_cmdb_modules.py"], True),
    "scrubber": ("plugins/module_utils/_secrets.py", ["*"],
                 [UNIT + "/module_utils/test_runner.py", UNIT + "/module_utils/test_asdk.py",
                  UNIT + "/modules/test_ns_info.py", UNIT + "/modules/test_cmdb_modules.py",
                  UNIT + "/inventory/test_cmdb_inventory.py"], True),
    "runner": ("plugins/module_utils/_runner.py", ["*"],
               [UNIT + "/module_utils/test_runner.py", UNIT + "/modules"], False),
    "cmdb_no_log": ("plugins/module_utils/_cmdb_args.py", ["CMDB_SPEC"],
                    [UNIT + "/modules/test_cmdb_modules.py", UNIT + "/modules/test_cem_report.py"], False),
    "ns_no_log": ("plugins/module_utils/_ns_args.py", ["NS_SPEC"],
                  [UNIT + "/modules", UNIT + "/module_utils/test_asdk.py"], False),
    "report_changed": ("plugins/modules/cem_report.py", ["run"], [UNIT + "/modules/test_cem_report.py"], False),
    "report_files": ("plugins/module_utils/_report.py", ["write_if_changed", "render_csv", "neutralize_formula"],
                     [UNIT + "/module_utils/test_report.py", UNIT + "/modules/test_cem_report.py"], False),
    "inventory_unsafe": ("plugins/inventory/cmdb.py", ["make_unsafe", "InventoryModule._populate",
                                                       "InventoryModule._fail"],
                         [UNIT + "/inventory/test_cmdb_inventory.py",
                          UNIT + "/inventory/test_cmdb_constructed.py::test_progress_of_a_slow_parse_goes_to_stderr",
                          UNIT + "/inventory/test_cmdb_constructed.py::test_no_progress_on_a_quick_parse"], False),
}

# Mutants no test can kill because the mutated code behaves the same: (target, description) -> why. They are
# reported, not counted as survivors.
EQUIVALENT = {
    ("scrubber", "'' -> 'XX'"): "quote() never encodes letters, so safe='' and safe='XX' give the same spellings",
}

_SWAPS = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
          ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_DROPPED_METHODS = ("upper", "lower", "strip", "casefold", "lstrip", "rstrip")


class Mutant:
    def __init__(self, target, line, description, apply):
        self.target = target
        self.line = line
        self.description = description
        self.apply = apply  # (tree) -> None, on a copy of the module's tree


def _prose(text):
    """Messages and comments in strings are not mutated: a changed word in a message is not a bug the tests miss."""
    return " " in text.strip() and any(c.islower() for c in text)


def _docstrings(tree):
    """The string constants that are docstrings (of the module, classes and functions): never mutated."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(body[0].value)
            found.add(body[0])
    return found


def _scopes(tree, names):
    """The nodes to mutate: functions/classes/methods named like 'Class.method', module-level assignments, or '*'."""
    if names == ["*"]:
        return [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
                and not isinstance(n, (ast.Import, ast.ImportFrom))]
    found = []
    for name in names:
        parts = name.split(".")
        candidates = tree.body
        node = None
        for part in parts:
            node = None
            for item in candidates:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and item.name == part:
                    node = item
                elif isinstance(item, ast.Assign) and any(getattr(t, "id", None) == part for t in item.targets):
                    node = item
            if node is None:
                raise SystemExit("mutation: %s not found" % name)
            candidates = getattr(node, "body", [])
        found.append(node)
    return found


def _path(tree, target):
    """A function that finds ``target``'s twin in a copy of ``tree`` (by position in ast.walk order)."""
    index = next(i for i, node in enumerate(ast.walk(tree)) if node is target)
    return lambda other: next(node for i, node in enumerate(ast.walk(other)) if i == index)


def mutants(target, tree, scopes):
    found = []

    def add(node, description, change):
        locate = _path(tree, node)
        found.append(Mutant(target, getattr(node, "lineno", 0), description, lambda t: change(locate(t))))

    docstrings = _docstrings(tree)
    parents = {}
    for scope in scopes:
        for parent in ast.walk(scope):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
    for scope in scopes:
        for node in ast.walk(scope):
            parent = parents.get(node)
            if isinstance(node, ast.Compare):
                for i, op in enumerate(node.ops):
                    if type(op) in _SWAPS:
                        def change(n, i=i):
                            n.ops[i] = _SWAPS[type(n.ops[i])]()
                        add(node, "%s -> %s" % (type(op).__name__, _SWAPS[type(op)].__name__), change)
            elif isinstance(node, ast.BoolOp):
                add(node, "and <-> or", lambda n: setattr(n, "op", ast.Or() if isinstance(n.op, ast.And) else ast.And()))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and parent is not None:
                def drop_not(n):
                    holder = parents_of(n)
                    _replace(holder, n, n.operand)
                add(node, "drop not", drop_not)
            elif isinstance(node, ast.Constant) and node not in docstrings:
                value = node.value
                if isinstance(value, bool):
                    add(node, "%r -> %r" % (value, not value), lambda n: setattr(n, "value", not n.value))
                elif isinstance(value, int):
                    add(node, "%r -> %r" % (value, value + 1), lambda n: setattr(n, "value", n.value + 1))
                elif isinstance(value, str) and not _prose(value):
                    add(node, "%r -> %r" % (value, "" if value else "XX"),
                        lambda n: setattr(n, "value", "" if n.value else "XX"))
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ("any", "all"):
                    add(node, "%s -> %s" % (func.id, "all" if func.id == "any" else "any"),
                        lambda n: setattr(n.func, "id", "all" if n.func.id == "any" else "any"))
                if isinstance(func, ast.Attribute) and func.attr in _DROPPED_METHODS and not node.args:
                    def drop_call(n):
                        _replace(parents_of(n), n, n.func.value)
                    add(node, "drop .%s()" % func.attr, drop_call)
            elif isinstance(node, (ast.Raise, ast.Continue)) or (
                    isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and isinstance(parent, (
                        ast.FunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try, ast.ExceptHandler))
                    and node not in docstrings):
                add(node, "drop %s" % type(node).__name__.lower(), lambda n: _replace(parents_of(n), n, ast.Pass()))
            elif isinstance(node, ast.Return) and node.value is not None and not (
                    isinstance(node.value, ast.Constant) and node.value.value is None):
                add(node, "return None", lambda n: setattr(n, "value", ast.Constant(value=None)))
    return found


_PARENTS = {}


def parents_of(node):
    return _PARENTS[id(node)]


def _replace(parent, old, new):
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise RuntimeError("node not found in its parent")


def mutated_source(tree, mutant):
    other = copy.deepcopy(tree)
    _PARENTS.clear()
    for parent in ast.walk(other):
        for child in ast.iter_child_nodes(parent):
            _PARENTS[id(child)] = parent
    mutant.apply(other)
    ast.fix_missing_locations(other)
    return ast.unparse(other)


def make_copy():
    work = tempfile.mkdtemp(prefix="itms-cem-mutation-")
    ignore = shutil.ignore_patterns(".venv*", "build", "dist", ".git", "__pycache__", ".pytest_cache", "reports")
    shutil.copytree(REPO, os.path.join(work, "cem"), ignore=ignore, symlinks=True)
    return os.path.join(work, "cem")


def run_tests(copy_root, tests, timeout):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += [t for t in tests if os.path.exists(os.path.join(copy_root, t.split("::")[0]))]
    try:
        done = subprocess.run(command, cwd=copy_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "passed" if done.returncode == 0 else "failed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="only these targets")
    parser.add_argument("--jobs", type=int, default=2, help="copies of the repository tested side by side")
    parser.add_argument("--list", action="store_true", help="only list the mutants")
    args = parser.parse_args()
    names = args.target or sorted(TARGETS)

    plans = []
    for name in names:
        path, scopes, tests, strict = TARGETS[name]
        with open(os.path.join(REPO, path)) as handle:
            tree = ast.parse(handle.read())
        for mutant in mutants(name, tree, _scopes(tree, scopes)):
            plans.append((name, path, tests, tree, mutant))
    print("mutation: %d mutants over %d target(s)" % (len(plans), len(names)), flush=True)
    if args.list:
        for name, path, _tests, _tree, mutant in plans:
            print("  %s %s:%d %s" % (name, path, mutant.line, mutant.description))
        return 0

    copies = [make_copy() for _job in range(max(1, args.jobs))]
    limits = {}  # a mutant that makes a loop endless is killed by a timeout: 3 times what the tests take, 20 s at least
    for name in names:  # the unmutated tests must pass first, or nothing below means anything
        begun = time.time()
        if run_tests(copies[0], TARGETS[name][2], 600) != "passed":
            print("mutation: the tests of %s fail without any mutation; fix them first" % name)
            return 2
        limits[name] = max(20.0, 3 * (time.time() - begun))
    free = list(copies)
    results = {}
    started = time.time()

    def work(plan):
        name, path, tests, tree, mutant = plan
        root = free.pop()
        target_file = os.path.join(root, path)
        with open(target_file) as handle:
            original = handle.read()
        try:
            with open(target_file, "w") as handle:
                handle.write(mutated_source(tree, mutant))
            outcome = run_tests(root, tests, limits[name])
        finally:
            with open(target_file, "w") as handle:
                handle.write(original)
            free.append(root)
        return plan, outcome

    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(copies)) as pool:
        for plan, outcome in pool.map(work, plans):
            results.setdefault(plan[0], []).append((plan[4], outcome))
            done += 1
            if done % 25 == 0:
                print("mutation: %d of %d mutants run (%d s)" % (done, len(plans), time.time() - started), flush=True)

    failing_strict = False
    print()
    for name in names:
        outcomes = results.get(name, [])
        passed = [m for m, outcome in outcomes if outcome == "passed"]
        equivalent = [m for m in passed if (name, m.description) in EQUIVALENT]
        survivors = [m for m in passed if (name, m.description) not in EQUIVALENT]
        print("%-18s %4d mutants, %4d killed, %3d survived, %d equivalent%s" % (
            name, len(outcomes), len(outcomes) - len(passed), len(survivors), len(equivalent),
            "  (strict)" if TARGETS[name][3] else ""))
        for mutant in survivors:
            print("    survived: %s:%d %s" % (TARGETS[name][0], mutant.line, mutant.description))
        for mutant in equivalent:
            print("    equivalent: %s:%d %s (%s)" % (TARGETS[name][0], mutant.line, mutant.description,
                                                     EQUIVALENT[(name, mutant.description)]))
        if survivors and TARGETS[name][3]:
            failing_strict = True
    for root in copies:
        shutil.rmtree(os.path.dirname(root), ignore_errors=True)
    return 1 if failing_strict else 0


if __name__ == "__main__":
    sys.exit(main())
