# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every figure of a connection_state report against counts written here in plain SQLite SQL.

The SQL below is deliberately independent of the collection's T-SQL catalog and its transpiler.
"""
import json
import sqlite3
import sys


def main(db_path, report_path):
    db = sqlite3.connect(db_path)

    def one(sql):
        return db.execute(sql).fetchone()[0]

    with open(report_path) as handle:
        report = json.load(handle)
    managed_joined = ("FROM vComputer vc JOIN Inv_AeX_AC_Network_Zone nz ON vc.Guid = nz._ResourceGuid "
                      "WHERE vc.IsManaged = 1")
    expected_summary = {
        "rows": one("SELECT COUNT(*) %s" % managed_joined.replace(
            "WHERE", "LEFT JOIN Inv_AeX_AC_InternetGatewayDetails gw ON vc.Guid = gw._ResourceGuid WHERE")),
        "computers": one("SELECT COUNT(DISTINCT vc.Guid) %s" % managed_joined),
        "cem_active": one("SELECT COUNT(DISTINCT vc.Guid) %s AND nz.IsOnInternet = 1" % managed_joined),
        "lan_active": one("SELECT COUNT(DISTINCT vc.Guid) %s AND COALESCE(nz.IsOnInternet, 0) <> 1" % managed_joined),
        "gateways": one("SELECT COUNT(DISTINCT gw.Gateway) FROM vComputer vc JOIN Inv_AeX_AC_Network_Zone nz "
                        "ON vc.Guid = nz._ResourceGuid JOIN Inv_AeX_AC_InternetGatewayDetails gw "
                        "ON vc.Guid = gw._ResourceGuid WHERE vc.IsManaged = 1"),
    }
    charts = {c["id"]: {d["label"]: d["value"] for d in c["data"]} for c in report["charts"]}
    expected_charts = {
        "connection_type": {
            "Internet Gateway (CEM)": one("SELECT COUNT(*) %s AND nz.IsOnInternet = 1" % managed_joined),
            "Intranet HTTPS": one("SELECT COUNT(*) %s AND nz.IsOnInternet <> 1 AND nz.HTTPSMode = 1" % managed_joined),
            "Intranet HTTP": one("SELECT COUNT(*) %s AND nz.IsOnInternet <> 1 AND nz.HTTPSMode <> 1" % managed_joined),
        },
        "authentication_type": {
            label: one("SELECT COUNT(*) FROM vComputer vc JOIN Lab_CEM_Agent_Authentication a "
                       "ON vc.Guid = a._ResourceGuid WHERE vc.IsManaged = 1 AND a.[Authentication Type] = %d" % value)
            for label, value in (("Permanent", 1), ("Ephemeral", 2), ("Both", 3))
        },
        "computers_per_gateway": dict(db.execute(
            "SELECT gw.Gateway, COUNT(DISTINCT vc.Guid) FROM vComputer vc JOIN Inv_AeX_AC_Network_Zone nz "
            "ON vc.Guid = nz._ResourceGuid JOIN Inv_AeX_AC_InternetGatewayDetails gw ON vc.Guid = gw._ResourceGuid "
            "WHERE vc.IsManaged = 1 GROUP BY gw.Gateway").fetchall()),
    }
    failures = []
    for key, value in expected_summary.items():
        if report["summary"].get(key) != value:
            failures.append("summary.%s: report %r, sqlite3 %r" % (key, report["summary"].get(key), value))
    for chart, expected in expected_charts.items():
        expected = {k: v for k, v in expected.items() if v}
        if charts.get(chart) != expected:
            failures.append("chart %s: report %r, sqlite3 %r" % (chart, charts.get(chart), expected))
    if len(report["rows"]) != expected_summary["rows"]:
        failures.append("rows: %d in the report, %d in sqlite3" % (len(report["rows"]), expected_summary["rows"]))
    with open(report_path[:-5] + ".csv", newline="") as handle:
        csv_rows = len(handle.readlines()) - 1
    if csv_rows != expected_summary["rows"]:
        failures.append("csv rows: %d, sqlite3 %d" % (csv_rows, expected_summary["rows"]))
    if failures:
        sys.stderr.write("\n".join(failures) + "\n")
        return 1
    print("all %d figures match sqlite3: %s" % (len(expected_summary) + sum(len(v) for v in expected_charts.values()),
                                                json.dumps(expected_summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
