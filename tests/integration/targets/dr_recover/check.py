"""What the DR run must have done, checked against the lab's truth (rollback.json) and the lab CMDB.

check.py LAB_DIR deny             the evidence file's deny list: the rogue names rollback.json suggests
check.py LAB_DIR outcome [DR_DIR] approved == the legitimate agents, blocked == the deny-listed rogues, every
                                  other rogue still pending, the approved agents back in the CMDB, and (with
                                  DR_DIR) the run's JSON report counts equal to SQL counts
check.py LAB_DIR writes           how many status changes the CMDB recorded
check.py LAB_DIR once             every access row changed status at most once
"""
import glob
import json
import os
import sqlite3
import sys

PENDING, APPROVED, BLOCKED = 0, 1, 2


def fail(message):
    sys.exit("check.py: " + message)


def truth(lab):
    return json.load(open(os.path.join(lab, "rollback.json")))


def db(lab):
    return sqlite3.connect(os.path.join(lab, "cmdb.sqlite"))


def rows(lab):
    """{guid lower: (name, status)} of the access store."""
    with db(lab) as conn:
        return dict((g.lower(), (n, s)) for g, n, s in
                    conn.execute("SELECT [AgentGuid], [AgentName], [Status] FROM Lab_CEM_Agent_Access"))


def report_counts(dr_dir):
    """The approve/block/hold counts the run's JSON report states (the newest report in the run's folder)."""
    candidates = [p for p in glob.glob(os.path.join(dr_dir, "**", "*.json"), recursive=True)
                  if "report" in os.path.basename(p)]
    if not candidates:
        fail("no JSON report in %s: %s" % (dr_dir, sorted(glob.glob(os.path.join(dr_dir, "**"), recursive=True))))
    document = json.load(open(max(candidates, key=os.path.getmtime)))
    summary = document.get("summary") or {}
    return dict((key, summary.get(key)) for key in ("approve", "block", "hold"))


def outcome(lab, dr_dir):
    facts = truth(lab)
    store = rows(lab)
    legitimate = set(e["guid"].lower() for e in facts["legitimate"])
    deny = set(n.lower() for n in facts["deny_suggestions"])
    rogues = dict((e["guid"].lower(), e["name"].lower()) for e in facts["rogues"])
    status = dict((guid, entry[1]) for guid, entry in store.items())
    approved = set(g for g, s in status.items() if s == APPROVED)
    blocked = set(g for g, s in status.items() if s == BLOCKED)
    pending = set(g for g, s in status.items() if s == PENDING)
    if approved != legitimate:
        fail("approved %d agents, the legitimate are %d; rogues approved: %s; legitimate not approved: %s"
             % (len(approved), len(legitimate), sorted(approved - legitimate)[:5], sorted(legitimate - approved)[:5]))
    denied = set(g for g, name in rogues.items() if name in deny)
    if blocked != denied:
        fail("blocked %s, the deny-listed rogues are %s" % (sorted(blocked), sorted(denied)))
    if pending != set(rogues) - denied:
        fail("still pending: %d agents, expected the %d rogues not deny-listed" % (len(pending), len(rogues) - len(denied)))
    with db(lab) as conn:
        back = set(g.lower() for (g,) in conn.execute("SELECT [Guid] FROM vComputer"))
    if not legitimate <= back:
        fail("%d approved agents did not reconnect (not in vComputer)" % len(legitimate - back))
    if set(rogues) & back:
        fail("a rogue is registered in the CMDB: %s" % sorted(set(rogues) & back))
    if dr_dir:
        stated = report_counts(dr_dir)
        expected = {"approve": len(approved), "block": len(blocked), "hold": len(pending)}
        if stated != expected:
            fail("the report states %s, SQL counts %s" % (stated, expected))
    print("outcome: %d approved (all legitimate), %d blocked (deny list), %d held (rogues)%s"
          % (len(approved), len(blocked), len(pending), "; the report agrees" if dr_dir else ""))


def writes(lab):
    with db(lab) as conn:
        return conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone()[0]


def once(lab):
    with db(lab) as conn:
        twice = conn.execute("SELECT [AccessId], COUNT(*) FROM Lab_Access_Writes GROUP BY [AccessId] "
                             "HAVING COUNT(*) > 1").fetchall()
        decided = conn.execute("SELECT COUNT(*) FROM Lab_CEM_Agent_Access WHERE [Status] <> 0").fetchone()[0]
    if twice:
        fail("written more than once: %s" % twice[:5])
    if writes(lab) != decided:
        fail("%d status changes recorded for %d decided agents" % (writes(lab), decided))
    print("once: %d decisions, each written exactly once" % decided)


def main(argv):
    lab, command = argv[1], argv[2]
    if command == "deny":
        print(json.dumps({"itms_dr_evidence": {"deny": truth(lab)["deny_suggestions"]}}))
    elif command == "outcome":
        outcome(lab, argv[3] if len(argv) > 3 else None)
    elif command == "writes":
        print(writes(lab))
    elif command == "once":
        once(lab)
    else:
        fail("unknown command %s" % command)


if __name__ == "__main__":
    main(sys.argv)
