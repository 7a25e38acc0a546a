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
    # every managed computer, with or without Network Zone inventory (what the inventory plugin lists)
    expected_summary["managed_computers"] = one("SELECT COUNT(*) FROM vComputer WHERE IsManaged = 1")
    expected_summary["without_network_zone"] = one(
        "SELECT COUNT(*) FROM vComputer vc WHERE vc.IsManaged = 1 AND NOT EXISTS "
        "(SELECT 1 FROM Inv_AeX_AC_Network_Zone nz WHERE nz._ResourceGuid = vc.Guid)")
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
    with_auth = one("SELECT COUNT(*) FROM vComputer vc JOIN Lab_CEM_Agent_Authentication a "
                    "ON vc.Guid = a._ResourceGuid WHERE vc.IsManaged = 1")
    computers = expected_summary["computers"]
    auth_note = [c.get("note") for c in report["charts"] if c["id"] == "authentication_type"]
    expected_note = [None]  # the chart covers every computer of the report
    if with_auth < computers:
        expected_note = ["Covers {:,} of the {:,} computers in the report; {:,} have no authentication record.".format(
            with_auth, computers, computers - with_auth)]
    elif with_auth > computers:
        expected_note = [n for n in auth_note if n and n.startswith("Counts {:,} computers".format(with_auth))] or ["?"]
    if auth_note != expected_note:
        failures.append("authentication chart note: report %r, expected %r" % (auth_note, expected_note))
    zone_notes = [n for n in report["notes"] if "INNER JOINs Inv_AeX_AC_Network_Zone" in n]
    if expected_summary["without_network_zone"] and (
            len(zone_notes) != 1 or "{:,} have no Network Zone inventory".format(
                expected_summary["without_network_zone"]) not in zone_notes[0]):
        failures.append("Network Zone note: %r" % zone_notes)
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
