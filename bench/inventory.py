# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The itms.cem.cmdb inventory plugin against a static YAML inventory of the same hosts and variables.

    python bench/inventory.py [--computers 20000] [--quick]

Times `ansible-inventory --list` side by side in one run: the plugin with an empty cache (it reads
the CMDB and fills the cache), the plugin again (from the jsonfile cache), and a static YAML file
holding exactly the hosts and variables the plugin produced. Prints seconds and ratios; asserts none.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, _collection.LAB)
from itms_lab import cmdb as lab_cmdb  # noqa: E402  pylint: disable=wrong-import-position,import-error


def _plain(value):
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return value["__ansible_unsafe"]
    return value


def _timed(command, env, out_path):
    start = time.perf_counter()
    with open(out_path, "w") as out:
        subprocess.run(command, env=env, stdout=out, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computers", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="2,000 computers, for a smoke run")
    args = parser.parse_args()
    computers = 2000 if args.quick else args.computers
    work = tempfile.mkdtemp(prefix="itms-cem-bench-inventory-")
    try:
        db = os.path.join(work, "cmdb.sqlite")
        lab_cmdb.write(db, computers, 3)
        source = os.path.join(work, "lab.cmdb.yml")
        with open(source, "w") as handle:
            yaml.safe_dump(dict(plugin="itms.cem.cmdb", cmdb_url="sqlite:///" + db,
                                cmdb_profile=os.path.join(_collection.LAB, "profiles", "cmdb.yml"),
                                cache=True, cache_plugin="ansible.builtin.jsonfile",
                                cache_connection=os.path.join(work, "cache")), handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collection.collections_root(),
                   ANSIBLE_INVENTORY_ENABLED="itms.cem.cmdb,yaml", ANSIBLE_NOCOLOR="1")
        inventory_cli = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
        plugin_out, cached_out, static_out = (os.path.join(work, n) for n in ("plugin.json", "cached.json", "static.json"))
        uncached_s = _timed([inventory_cli, "-i", source, "--list"], env, plugin_out)
        cached_s = _timed([inventory_cli, "-i", source, "--list"], env, cached_out)

        with open(plugin_out) as handle:
            listed = json.load(handle)
        hostvars = listed["_meta"]["hostvars"]
        static = os.path.join(work, "static.yml")
        with open(static, "w") as handle:
            yaml.safe_dump({"all": {"hosts": {host: {k: _plain(v) for k, v in hv.items()}
                                              for host, hv in hostvars.items()}}}, handle)
        static_s = _timed([inventory_cli, "-i", static, "--list"], env, static_out)

        counts = []
        for path in (plugin_out, cached_out, static_out):
            with open(path) as handle:
                counts.append(len(json.load(handle)["_meta"]["hostvars"]))
        print("ansible-inventory --list, %d computers in the CMDB, %d hosts with %d variables each:"
              % (computers, counts[0], len(next(iter(hostvars.values()))) if hostvars else 0))
        print("  static YAML inventory:      %6.2f s" % static_s)
        print("  itms.cem.cmdb, uncached:    %6.2f s   ratio plugin/static %.2fx (target <= 0.5x)"
              % (uncached_s, uncached_s / static_s))
        print("  itms.cem.cmdb, from cache:  %6.2f s   ratio cached/uncached %.2fx (target < 1x)"
              % (cached_s, cached_s / uncached_s))
        if len(set(counts)) != 1:
            sys.exit("host counts differ: plugin %d, cached %d, static %d" % tuple(counts))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
