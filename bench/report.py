# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cem_report's work against a minimal script doing the same SQL and the same JSON, side by side.

    python bench/report.py [--computers 100000] [--rounds 5]

The module's work is what cem_report does in-process: open the CMDB, load the profile, check it
against the schema, run the report's queries (transpiled from T-SQL), shape the document, render
JSON and write the file. The minimal script runs the same SQLite SQL with sqlite3, builds the same
document by hand and writes it with json; the two files are compared byte for byte. Also renders the
HTML of the same data and reports its size and how many rows it embeds. Prints ratios, asserts none.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

_collection.install()

from itms_lab import cmdb as lab_cmdb  # noqa: E402  pylint: disable=wrong-import-position,import-error
from ansible_collections.itms.cem.plugins.module_utils import _cmdb, _queries, _report, _sqltext  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile  # noqa: E402

PROFILE = os.path.join(_collection.LAB, "profiles", "cmdb.yml")


def module_work(db, dest):
    client = _cmdb.CmdbClient("sqlite:///" + db)
    try:
        profile = load_cmdb_profile(PROFILE)
        document = _report.build("connection_state", client, profile)
        _report.write_if_changed(dest, _report.render_json(document), check_mode=False)
    finally:
        client.close()
    return document


def minimal_script(db, dest, sql, source):
    conn = sqlite3.connect(db)
    cursor = conn.execute(sql["connection_state"])
    columns = [d[0] for d in cursor.description]
    rows = [list(r) for r in cursor.fetchall()]
    cem, lan, gateways, per_gateway = set(), set(), set(), {}
    for r in rows:
        (cem if r[2] == _queries.CEM_ACTIVE else lan).add(r[0])
        if r[3] is not None:
            gateways.add(r[3])
            per_gateway.setdefault(r[3], set()).add(r[0])
    charts = []
    for chart_id, title, name in (("connection_type", "Connection type", "connection_type_distribution"),
                                  ("authentication_type", "Authentication type", "authentication_type_distribution")):
        data = [dict(label=str(label), value=value) for label, value in conn.execute(sql[name], sql[name + "_params"])]
        charts.append(dict(id=chart_id, title=title, data=data, total=sum(d["value"] for d in data)))
    data = sorted((dict(label=k, value=len(v)) for k, v in per_gateway.items()), key=lambda d: (-d["value"], d["label"]))
    computers = len(cem) + len(lan)
    charts.append(dict(id="computers_per_gateway", title="Computers per gateway", data=data, total=computers,
                       note="Share of the {:,} computers in the report; an agent may list more than one gateway."
                       .format(computers)))
    document = dict(report="connection_state", title=_report.REPORTS["connection_state"][0], source=source,
                    summary=dict(rows=len(rows), computers=len(cem) + len(lan), cem_active=len(cem),
                                 lan_active=len(lan), gateways=len(gateways)),
                    charts=charts, columns=columns, rows=rows, notes=[])
    with open(dest, "w", encoding="utf-8") as out:
        out.write(json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n")
    conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computers", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="itms-cem-bench-report-")
    try:
        db = os.path.join(work, "cmdb.sqlite")
        lab_cmdb.write(db, args.computers, 7)
        profile = load_cmdb_profile(PROFILE)
        sql = {}
        for name in ("connection_state", "connection_type_distribution", "authentication_type_distribution"):
            rendered = _queries.render(_queries.get_query(name), profile)
            sql[name] = _sqltext.to_sqlite(rendered.sql)
            sql[name + "_params"] = rendered.params
        source = dict(cmdb="sqlite:///" + db, profile=profile.name)
        module_times, script_times = [], []
        for i in range(args.rounds):
            mod_dest, raw_dest = os.path.join(work, "m%d.json" % i), os.path.join(work, "s%d.json" % i)
            start = time.perf_counter()
            document = module_work(db, mod_dest)
            module_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            minimal_script(db, raw_dest, sql, source)
            script_times.append(time.perf_counter() - start)
            with open(mod_dest, "rb") as a, open(raw_dest, "rb") as b:
                if a.read() != b.read():
                    sys.exit("the module and the minimal script wrote different JSON")
        module_s, script_s = statistics.median(module_times), statistics.median(script_times)
        start = time.perf_counter()
        html = _report.render_html(document)
        html_s = time.perf_counter() - start
        print("connection_state report over %d computers (%d rows), median of %d rounds, same JSON bytes:"
              % (args.computers, len(document["rows"]), args.rounds))
        print("  cem_report work (query, shape, write JSON): %.3f s" % module_s)
        print("  minimal sqlite3 + json script:              %.3f s" % script_s)
        print("  ratio module/minimal:                       %.2fx (target <= 1.5x)" % (module_s / script_s))
        print("  HTML: %.1f MB, %d of %d rows embedded (paged table), charts over all rows, rendered in %.3f s"
              % (len(html) / 1e6, min(20000, len(document["rows"])), len(document["rows"]), html_s))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
