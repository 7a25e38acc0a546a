# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.agent_access deciding and writing 50,000 blocked agents, against a bare executemany of the same writes.

    python bench/approvals.py [--agents 50000] [--rounds 3] [--loop 20] [--skip-playbook]

In one temporary directory: a lab CMDB (tests/lab) whose access store holds --agents pending agents, and a
pre-rollback cem_report JSON (ResourceGuid, Computer Name) that covers most of them - the rest are rogues the
deny-list blocks, unknown agents and agents whose name another GUID reuses (held). Then, each on a fresh copy of the
CMDB:

  (a) the module's run() in-process: profile, evidence, read, decide, then the writes in batches of the default size,
      journaled (what the task does, without Ansible around it);
  (b) a bare sqlite3 executemany of the same UPDATE decisions (same rows, same values, one transaction), in the
      row-key order the module writes them; and, for comparison, in the plan's order (by agent name), which touches
      pages all over the table;
  (c) the same task through ansible-playbook (a one-task playbook, the collection reached through a link farm),
      wall time of the whole process.

Prints the median times, the ratio (a)/(b) (the issue's target: at most 3x), where (a)'s time goes, and the playbook's
wall time (target: under 30 s). Last, it times a loop of --loop no-op itms.cem tasks (agent_access setting an agent that is approved
already) against an empty loop, and prints what one task per agent would cost for --agents agents. Asserts nothing.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _collection  # noqa: E402  pylint: disable=wrong-import-position

_collection.install()

from itms_lab import cmdb as lab_cmdb  # noqa: E402  pylint: disable=wrong-import-position,import-error
from ansible_collections.itms.cem.plugins.module_utils import _access, _cmdb, _evidence  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _access_report as shape  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._access_decide import decide  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._profile import load_cmdb_profile  # noqa: E402
from ansible_collections.itms.cem.plugins.modules import agent_access  # noqa: E402

PROFILE = os.path.join(_collection.LAB, "profiles", "cmdb.yml")
GATEWAYS = [g[0] for g in lab_cmdb.GATEWAYS]
STATUS = {"approve": lab_cmdb.ACCESS_STATUS["approved"], "block": lab_cmdb.ACCESS_STATUS["blocked"]}
# Shares of the access store: legitimate agents the report knows (by GUID; some present their FQDN or DOMAIN\NAME),
# rogues the deny-list blocks, unknown agents, and pairs of agents sharing a name with two GUIDs (the report knows one).
ROGUE_SHARE, UNKNOWN_SHARE, SHARED_NAME_PAIRS_SHARE = 0.01, 0.02, 0.005


def build(work, agents, seed=9):
    """(CMDB path, evidence report path): the access store filled, the report written."""
    db = os.path.join(work, "cmdb.sqlite")
    lab_cmdb.write(db, 200, seed)
    rng = random.Random(seed)
    rows, known = [], []
    rogues, unknown, pairs = int(agents * ROGUE_SHARE), int(agents * UNKNOWN_SHARE), int(agents * SHARED_NAME_PAIRS_SHARE)
    legit = agents - rogues - unknown - 2 * pairs
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())

    def add(name, guid):
        rows.append((len(rows) + 1, name, guid, rng.choice(GATEWAYS), now, lab_cmdb.ACCESS_STATUS["pending"]))

    for index in range(legit):
        name, guid = "LT-%06d" % index, str(uuid.UUID(int=rng.getrandbits(128), version=4))
        known.append([guid, name])
        roll = rng.random()
        add(name if roll < 0.8 else "%s.corp.example.com" % name.lower() if roll < 0.9 else "CORP\\" + name, guid)
    for index in range(rogues):
        add("DESKTOP-%07X" % index, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    for index in range(unknown):
        add("UNKNOWN-%06d" % index, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    for index in range(pairs):
        name = "WKS-%06d" % index
        first = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        known.append([first, name])
        add(name, first)
        add(name, str(uuid.UUID(int=rng.getrandbits(128), version=4)))  # a second computer presenting that name
    rng.shuffle(rows)
    rows = [(number,) + row[1:] for number, row in enumerate(rows, 1)]
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany("INSERT INTO Lab_CEM_Agent_Access ([Id], [AgentName], [AgentGuid], [ReportedBy], [CreatedDate], "
                         "[Status], [DecidedDate]) VALUES (?, ?, ?, ?, ?, ?, NULL)", rows)
    conn.close()
    report = os.path.join(work, "cem-report.json")
    with open(report, "w", encoding="utf-8") as handle:
        json.dump(dict(report="connection_state", columns=["ResourceGuid", "Computer Name"], rows=known), handle)
    return db, report


def params(db, report, journal):
    """The task's parameters as AnsibleModule fills them (defaults included)."""
    return dict(cmdb_url="sqlite:///" + db, cmdb_password=None, cmdb_profile=PROFILE, cmdb_timeout=120,
                cmdb_encryption="require", state=None, agents=None, decide="from_evidence",
                evidence=dict(reports=[report], exports=None, names=None, name_files=None, allow=None, deny=["DESKTOP-*"]),
                apply=["approve", "block"], max_approvals=1000000, journal=journal, batch_size=1000, gateway=None)


def module_run(db, report, journal):
    """agent_access's run() in-process; (seconds, the plan)."""
    module = types.SimpleNamespace(params=params(db, report, journal), check_mode=False, warn=lambda msg: None)
    start = time.perf_counter()
    client = _cmdb.CmdbClient("sqlite:///" + db, timeout=120)
    try:
        changed, result, _diff = agent_access.run(module, client)
    finally:
        client.close()
    elapsed = time.perf_counter() - start
    if not changed:
        sys.exit("the module wrote nothing")
    return elapsed, result


def breakdown(db, report, journal):
    """Where the module's time goes: the steps of run(), called one by one on a fresh CMDB; [(step, seconds)]."""
    steps, clock = [], [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        steps.append((name, now - clock[0]))
        clock[0] = now

    client = _cmdb.CmdbClient("sqlite:///" + db, timeout=120)
    try:
        profile = load_cmdb_profile(PROFILE)
        evidence = _evidence.load(dict(reports=[report], deny=["DESKTOP-*"]))
        lap("evidence (read the report)")
        agents = _access.read_agents(client, profile)
        lap("read the access store")
        plan = shape.keep_administrator_blocks(decide(agents, evidence))
        lap("decide")
        todo = shape.writes(plan, ["approve", "block"])
        shape.diff(plan, todo)
        lap("what to write, and the diff")
        _access.apply(client, profile, todo, _access.Journal(journal), 1000, False)
        lap("write: journaled batches")
    finally:
        client.close()
    return steps


def bare_executemany(db, plan, by_key):
    """The same decisions as one executemany per decision, one transaction; seconds. ``by_key``: in row-key order,
    as the module writes them (each batch then touches few pages), else in the plan's order (by agent name)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    if by_key:
        plan = sorted(plan, key=lambda e: e["id"])
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for decision in ("approve", "block"):
        status = STATUS[decision]
        conn.executemany("UPDATE Lab_CEM_Agent_Access SET [Status] = ?, [DecidedDate] = ? WHERE [Id] = ? AND [Status] <> ?",
                         [(status, stamp, e["id"], status) for e in plan if e["decision"] == decision])
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def written(db):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone()[0]
    finally:
        conn.close()


def fresh(base, work, name):
    path = os.path.join(work, name)
    shutil.copyfile(base, path)
    return path


def playbook(work, farm, cli, tasks, name):
    """Run a playbook of ``tasks`` on localhost; wall seconds."""
    path = os.path.join(work, name + ".yml")
    with open(path, "w") as handle:
        json.dump([dict(hosts="localhost", gather_facts=False, tasks=tasks)], handle)  # JSON is YAML
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=farm, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    start = time.perf_counter()
    done = subprocess.run([cli, "-i", "localhost,", "-c", "local", path], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("%s failed (%d):\n%s" % (name, done.returncode, done.stdout[-3000:]))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop", type=int, default=20, help="iterations of the measured per-agent loop")
    parser.add_argument("--skip-playbook", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="itms-cem-bench-approvals-")
    try:
        base, report = build(work, args.agents)
        module_times, bare_times, plan_order_times = [], [], []
        for i in range(args.rounds):  # interleaved, so that drift in the machine's speed touches each kind alike
            db = fresh(base, work, "m%d.sqlite" % i)
            seconds, result = module_run(db, report, os.path.join(work, "journal-%d.jsonl" % i))
            module_times.append(seconds)
            to_write = result["approve"] + result["block"]
            if written(db) != to_write or result["applied"] != to_write:
                sys.exit("the module wrote %d decisions, %d expected" % (written(db), to_write))
            for by_key, times in ((True, bare_times), (False, plan_order_times)):
                db = fresh(base, work, "b%d.sqlite" % i)
                times.append(bare_executemany(db, result["plan"], by_key))
                if written(db) != to_write:
                    sys.exit("executemany wrote %d decisions, %d expected" % (written(db), to_write))
        module_s, bare_s = statistics.median(module_times), statistics.median(bare_times)
        plan_order_s = statistics.median(plan_order_times)
        print("agent_access, %d pending agents: approve %d, block %d, hold %d; %d rows written in %d batches of %d "
              "(median of %d rounds)" % (args.agents, result["approve"], result["block"], result["hold"],
                                         result["applied"], len(result["batches"]), 1000, args.rounds))
        print("  (a) module run() in-process (evidence, read, decide, journaled batches): %.3f s" % module_s)
        print("  (b) bare sqlite3 executemany of the same UPDATEs, one transaction, in row-key order (as the module "
              "writes them): %.3f s" % bare_s)
        print("      the same in the plan's order (by agent name), for comparison: %.3f s" % plan_order_s)
        print("  ratio (a)/(b): %.2fx (target <= 3x); against the plan-order executemany: %.2fx"
              % (module_s / bare_s, module_s / plan_order_s))
        steps = breakdown(fresh(base, work, "steps.sqlite"), report, os.path.join(work, "journal-steps.jsonl"))
        print("      where (a)'s time goes, one run: %s" % "; ".join("%s %.3f s" % step for step in steps))
        if args.skip_playbook:
            return
        farm = _collection.collections_root()
        cli = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        if not os.path.exists(cli):
            cli = shutil.which("ansible-playbook") or "ansible-playbook"
        db = fresh(base, work, "p.sqlite")
        task = {"itms.cem.agent_access": dict((k, v) for k, v in params(db, report, os.path.join(work, "journal-p.jsonl"))
                                              .items() if v is not None)}
        wall = playbook(work, farm, cli, [dict(name="decide and write", register="decided", **task)], "one-task")
        if written(db) != to_write:
            sys.exit("the playbook wrote %d decisions, %d expected" % (written(db), to_write))
        print("  (c) the same through ansible-playbook (one task), wall time: %.1f s (target < 30 s)"
              % wall)
        # One task per agent: a loop of no-op tasks (the agent is approved already) against an empty loop.
        small = fresh(base, work, "loop.sqlite")
        conn = sqlite3.connect(small)
        with conn:
            conn.execute("DELETE FROM Lab_CEM_Agent_Access WHERE [Id] > 1")
            conn.execute("UPDATE Lab_CEM_Agent_Access SET [Status] = ? WHERE [Id] = 1", (STATUS["approve"],))
            name = conn.execute("SELECT [AgentName] FROM Lab_CEM_Agent_Access WHERE [Id] = 1").fetchone()[0]
        conn.close()
        noop = {"itms.cem.agent_access": dict(cmdb_url="sqlite:///" + small, cmdb_profile=PROFILE, state="approved",
                                              agents=[name])}
        looped = playbook(work, farm, cli, [dict(name="one agent", loop=list(range(args.loop)), **noop)], "loop")
        empty = playbook(work, farm, cli, [dict(name="one agent", loop=[], **noop)], "empty-loop")
        per_agent = (looped - empty) / args.loop
        hours = per_agent * args.agents / 3600.0
        print("  an Ansible loop of one task per agent costs about %.2f s per agent (measured over %d no-op "
              "itms.cem.agent_access tasks) = about %.1f hours for %d agents" % (per_agent, args.loop, hours, args.agents))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
