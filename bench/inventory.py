# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The itms.cem.cmdb inventory plugin against a static YAML inventory of the same hosts and variables.

    python bench/inventory.py [--computers 20000 [100000 ...]] [--quick] [--repeat 3] [--static-repeat 1]
                              [--profile] [--keep]

Run from the repository root with the project's venv active. For each number of computers, in one temporary
directory, it builds a lab CMDB, writes the same hosts and variables as a static YAML inventory (derived
independently with sqlite3), makes a collections link farm (T/ansible_collections/itms/cem -> this checkout) and an
ansible.cfg that enables the jsonfile inventory cache, then times `ansible-inventory --list` side by side (the plugin
runs in interleaved rounds, the median kept):

  * the static YAML inventory;
  * the plugin, uncached (cache turned off);
  * the plugin, uncached, with the compose, groups and keyed_groups of docs/inventory.md's complete inventory file;
  * the plugin with the cache on, first run (reads the CMDB and fills the cache);
  * the plugin with the cache on, second run (served from the cache).

Prints the seconds and the ratios plugin/static, constructed/plain (the same run with and without compose, groups
and keyed_groups) and cached/uncached, then a summary line per number of computers. With --profile, the last
constructed run is also made under cProfile and the functions that took the most time are listed. It asserts
nothing about time; it exits non-zero only when the runs list different hosts, or the constructed groups differ
from the ones derived with sqlite3.
"""
import argparse
import json
import os
import pstats
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

try:
    from yaml import CSafeDumper as Dumper
except ImportError:  # pragma: no cover - libyaml is usually there
    from yaml import SafeDumper as Dumper

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LAB_CLI = os.path.join(REPO, "tests", "lab", "itms-lab")
LAB_PROFILE = os.path.join(REPO, "tests", "lab", "profiles", "cmdb.yml")
SEED = 3
PREFIX = "itms_"

# The plugin's variables derived without the plugin: plain SQLite over the lab tables.
STATIC_SQL = """
SELECT c.Guid, c.Name, z.IsOnInternet, z.HTTPSMode,
       CASE WHEN z.InternetModeSupported = 1 AND z.AppliedPolicyCount > 0 THEN 1 ELSE 0 END,
       g.Gateway, g.Port, g.[Last Success], a.[Authentication Type]
FROM vComputer c
LEFT JOIN Inv_AeX_AC_Network_Zone z ON z._ResourceGuid = c.Guid
LEFT JOIN Inv_AeX_AC_InternetGatewayDetails g ON g._ResourceGuid = c.Guid AND g.[Current] = 1
LEFT JOIN Lab_CEM_Agent_Authentication a ON a._ResourceGuid = c.Guid
WHERE c.IsManaged = 1
ORDER BY c.Name
"""
AUTH_NAMES = {1: "Permanent", 2: "Ephemeral", 3: "Both"}

ANSIBLE_CFG = """[inventory]
enable_plugins = itms.cem.cmdb, yaml
cache = true
cache_plugin = ansible.builtin.jsonfile
cache_connection = {cache}
cache_timeout = 3600
"""

# The compose, groups and keyed_groups of docs/inventory.md's complete inventory file.
CONSTRUCTED = {
    "compose": {
        "ansible_host": "(itms_computer_name | lower) ~ '.corp.example.com'",
        "ansible_connection": "'winrm'",
    },
    "groups": {
        "cem_configured_but_offline": "itms_cem_configured and not itms_is_on_internet",
        "intranet_http": "not itms_is_on_internet and not itms_https_mode",
    },
    "keyed_groups": [
        {"key": "itms_gateway | default('none', true)", "prefix": "gateway"},
        {"key": "itms_connection_state", "prefix": "cem"},
        {"key": "(itms_authentication_type | default('unknown', true)) | lower", "prefix": "auth"},
    ],
}
SAFE = re.compile(r"[^A-Za-z0-9_]")


def expected_groups(hosts):
    """{group: sorted hosts} of CONSTRUCTED, derived from the static variables without Ansible."""
    groups = {}

    def add(group, host):
        groups.setdefault(SAFE.sub("_", group), []).append(host)

    for host, v in hosts.items():
        if v[PREFIX + "cem_configured"] and not v[PREFIX + "is_on_internet"]:
            add("cem_configured_but_offline", host)
        if not v[PREFIX + "is_on_internet"] and not v[PREFIX + "https_mode"]:
            add("intranet_http", host)
        add("gateway_" + (v[PREFIX + "gateway"] or "none"), host)
        add("cem_" + v[PREFIX + "connection_state"], host)
        add("auth_" + (v[PREFIX + "authentication_type"] or "unknown").lower(), host)
    return dict((g, sorted(members)) for g, members in groups.items())


def listed_groups(listed):
    """{group: sorted hosts} of an `ansible-inventory --list` output (groups with hosts of their own)."""
    return dict((g, sorted(v["hosts"])) for g, v in listed.items() if g != "_meta" and v.get("hosts"))


def static_hosts(db):
    """{host: variables} as the plugin should produce them (hostname: name, no domain)."""
    hosts, seen = {}, set()
    conn = sqlite3.connect(db)
    try:
        for guid, name, online, https, configured, gateway, port, last, auth in conn.execute(STATIC_SQL):
            if not name or name.lower() in seen:
                continue
            seen.add(name.lower())
            hosts[name] = {
                PREFIX + "guid": guid,
                PREFIX + "computer_name": name,
                PREFIX + "connection_state": "cem" if online == 1 else "lan",
                PREFIX + "is_on_internet": online == 1,
                PREFIX + "https_mode": https == 1,
                PREFIX + "cem_configured": configured == 1,
                PREFIX + "gateway": gateway,
                PREFIX + "gateway_port": port,
                PREFIX + "last_success": last,
                PREFIX + "authentication_type": None if auth is None else AUTH_NAMES.get(auth, "Other"),
            }
    finally:
        conn.close()
    return hosts


def _plain(value):
    """A value of `ansible-inventory --list` output without the unsafe marker of ansible-core 2.19."""
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return value["__ansible_unsafe"]
    return value


def timed(command, env, out_path):
    start = time.perf_counter()
    with open(out_path, "w") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("%s failed (%d):\n%s" % (" ".join(command), done.returncode, done.stderr))
    with open(out_path) as handle:
        listed = json.load(handle)
    return elapsed, listed, done.stderr


class Series:
    """Times of one kind of run; the median is reported."""

    def __init__(self, label):
        self.label = label
        self.times = []
        self.listed = None

    def run(self, command, env, out_path):
        elapsed, self.listed, stderr = timed(command, env, out_path)
        self.times.append(elapsed)
        if "WARNING" in stderr or "ERROR" in stderr:
            sys.stderr.write("%s: %s" % (self.label, stderr))

    @property
    def seconds(self):
        return statistics.median(self.times)

    @property
    def hosts(self):
        return len(self.listed["_meta"]["hostvars"])


def write_source(path, db, **extra):
    data = dict(plugin="itms.cem.cmdb", cmdb_url="sqlite:///" + db, cmdb_profile=LAB_PROFILE, **extra)
    with open(path, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


def ratio(numerator, denominator):
    return numerator / denominator if denominator else float("nan")


def profile(cli, source, env, work, out_path, top=25):
    """Run `ansible-inventory --list` under cProfile and print where the time went."""
    stats_path = os.path.join(work, "constructed.prof")
    with open(out_path, "w") as out:
        subprocess.run([sys.executable, "-m", "cProfile", "-o", stats_path, cli, "-i", source, "--list"], env=env,
                       stdout=out, stderr=subprocess.DEVNULL, check=True)
    print("  cProfile of the constructed run (top %d by own time, then by cumulative time):" % top)
    for order in ("tottime", "cumulative"):
        stats = pstats.Stats(stats_path, stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(top)


def bench(computers, args, cli, farm):
    """Time one number of computers; returns (computers, hosts, static s, plain s, constructed s, cached s)."""
    work = tempfile.mkdtemp(prefix="itms-cem-bench-inventory-")
    try:
        # the lab CMDB, through its documented entry point
        db = os.path.join(work, "cmdb.sqlite")
        subprocess.run([LAB_CLI, "cmdb", "--computers", str(computers), "--seed", str(SEED), "--db", db],
                       env=dict(os.environ, ITMS_LAB_PYTHON=sys.executable), check=True, stdout=subprocess.DEVNULL)

        # the same hosts and variables as a static YAML inventory
        expected = static_hosts(db)
        static_path = os.path.join(work, "static.yml")
        with open(static_path, "w") as handle:
            yaml.dump({"all": {"hosts": expected}}, handle, Dumper=Dumper, default_flow_style=False)

        # ansible.cfg with the jsonfile inventory cache
        cache_dir = os.path.join(work, "cache")
        config = os.path.join(work, "ansible.cfg")
        with open(config, "w") as handle:
            handle.write(ANSIBLE_CFG.format(cache=cache_dir))

        source = os.path.join(work, "lab.cmdb.yml")
        write_source(source, db)
        constructed = os.path.join(work, "constructed.cmdb.yml")
        write_source(constructed, db, **CONSTRUCTED)

        env = dict(os.environ, ANSIBLE_CONFIG=config, ANSIBLE_COLLECTIONS_PATH=farm, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0")
        env.pop("ANSIBLE_INVENTORY_CACHE", None)
        no_cache = dict(env, ANSIBLE_INVENTORY_CACHE="false")

        def empty_cache():
            shutil.rmtree(cache_dir, ignore_errors=True)

        def out(name):
            return os.path.join(work, name + ".json")

        static, uncached, constructed_run, cold, cached = (
            Series(label) for label in ("static", "uncached", "constructed", "cache, 1st run", "cache, 2nd run"))
        for _run in range(args.static_repeat):
            static.run([cli, "-i", static_path, "--list"], env, out("static"))
        # Interleaved rounds, so that drift in the machine's speed touches every kind of run alike.
        for _run in range(args.repeat):
            uncached.run([cli, "-i", source, "--list"], no_cache, out("uncached"))
            constructed_run.run([cli, "-i", constructed, "--list"], no_cache, out("constructed"))
            empty_cache()
            cold.run([cli, "-i", source, "--list"], env, out("cold"))
            cached.run([cli, "-i", source, "--list"], env, out("cached"))

        runs = (static, uncached, constructed_run, cold, cached)
        counts = [r.hosts for r in runs]
        hostvars = uncached.listed["_meta"]["hostvars"]
        differing = sum(1 for host, variables in expected.items()
                        if {k: _plain(v) for k, v in hostvars.get(host, {}).items()
                            if k.startswith(PREFIX)} != variables)
        groups = listed_groups(constructed_run.listed)
        wrong_groups = groups != expected_groups(expected)

        print("ansible-inventory --list: %d computers in the lab CMDB, %d hosts with %d variables each"
              % (computers, counts[0], len(next(iter(expected.values()), {}))))
        print("  static YAML inventory:              %7.2f s   (median of %d)" % (static.seconds, args.static_repeat))
        print("  itms.cem.cmdb, uncached:            %7.2f s   plugin/static   %.2fx (target <= 0.5x)"
              % (uncached.seconds, ratio(uncached.seconds, static.seconds)))
        print("  itms.cem.cmdb, uncached, with the documented compose (2), groups (2) and keyed_groups (3):")
        print("                                      %7.2f s   constructed/plain %.2fx (goal <= 2x; %d groups)"
              % (constructed_run.seconds, ratio(constructed_run.seconds, uncached.seconds), len(groups)))
        print("  itms.cem.cmdb, cache on, 1st run:   %7.2f s   (reads the CMDB, writes the cache)" % cold.seconds)
        print("  itms.cem.cmdb, cache on, 2nd run:   %7.2f s   cached/uncached %.2fx (target < 1x)"
              % (cached.seconds, ratio(cached.seconds, uncached.seconds)))
        print("  (plugin runs: median of %d interleaved rounds; uncached %s, constructed %s, cached %s)"
              % (args.repeat, " ".join("%.2f" % t for t in uncached.times),
                 " ".join("%.2f" % t for t in constructed_run.times), " ".join("%.2f" % t for t in cached.times)))
        print("  host counts: static %d, uncached %d, constructed %d, cache 1st %d, cache 2nd %d" % tuple(counts))
        if differing:
            print("  note: %d host(s) have variables that differ from the static inventory" % differing)
        if wrong_groups:
            print("  note: the constructed groups differ from the ones derived with sqlite3")
        if args.profile:
            profile(cli, constructed, no_cache, work, out("profiled"))
        if args.keep:
            print("  kept %s" % work)
        sys.stdout.flush()
        if len(set(counts)) != 1 or wrong_groups:
            sys.exit("host counts or groups differ")
        return computers, counts[0], static.seconds, uncached.seconds, constructed_run.seconds, cached.seconds
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computers", type=int, nargs="+", default=[20000],
                        help="computers in the lab CMDB, one or more numbers (default 20000)")
    parser.add_argument("--quick", action="store_true", help="2,000 computers, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the plugin runs (uncached, constructed, cache 1st, cache 2nd, interleaved); "
                             "median kept")
    parser.add_argument("--static-repeat", type=int, default=1, help="runs of the static YAML inventory (slow)")
    parser.add_argument("--profile", action="store_true", help="also profile a constructed run with cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories and print their paths")
    args = parser.parse_args()
    sizes = [2000] if args.quick else args.computers
    args.repeat = max(1, args.repeat)
    args.static_repeat = max(1, args.static_repeat)

    cli = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(cli):
        cli = shutil.which("ansible-inventory") or "ansible-inventory"
    farm = tempfile.mkdtemp(prefix="itms-cem-bench-collections-")
    try:
        _collection.link_farm(farm)
        results = [bench(computers, args, cli, farm) for computers in sizes]
    finally:
        shutil.rmtree(farm, ignore_errors=True)
    if len(results) > 1:
        print("summary (seconds; ratios):")
        print("  computers   hosts    static    plain  constructed  cached   plain/static  constructed/plain")
        for computers, hosts, static, plain, constructed, cached in results:
            print("  %9d %7d %9.2f %8.2f %12.2f %7.2f %14.2fx %17.2fx"
                  % (computers, hosts, static, plain, constructed, cached, ratio(plain, static),
                     ratio(constructed, plain)))


if __name__ == "__main__":
    main()
