# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``itms-lab rollback`` and ``itms-lab fault``: a CMDB rollback to rehearse disaster recovery, and a dropped connection.

KB 440752: after a CMDB rollback the Internet Gateway blocks the agents whose ephemeral certificates it cannot match
to registration data, and they wait on the console's "Cloud-enabled Agents Access Troubleshooting" page until an
administrator approves or blocks them. ``rollback --dir DIR --keep FRACTION --rogues N`` does that to the lab:

* of the CEM agents of ``DIR/cmdb.sqlite`` (managed, not deleted, on the Internet through a current gateway), the
  newest ``round((1 - FRACTION) * agents)`` by ``Lab_Resource_State.RegisteredDate`` lose their registration: their
  ``vComputer``, ``Inv_AeX_AC_Network_Zone``, ``Inv_AeX_AC_InternetGatewayDetails``, authentication and resource
  state rows go (what each agent would send of itself when it registers again is kept in ``Lab_Agent_Inventory``);
* they knock at their gateway and wait in the access store (``Lab_CEM_Agent_Access``) as pending, ``ReportedBy``
  their current gateway, ``CreatedDate`` within the last two hours, ``AgentName`` as the agent presents it (the
  computer name, sometimes its FQDN or ``CORP\\NAME``);
* N rogue agents knock too: names no evidence knows (``DESKTOP-XXXXXXX``) and random GUIDs, M of them
  (``--reused-names``) with the name of an agent the rollback removed and another GUID;
* the lab gateway's troubleshooting mode and "Allow ephemeral certificates authentication" go on in
  ``DIR/ig/config.xml``;
* ``DIR/rollback.json`` keeps the truth for tests (the playbooks never read it).

Everything random comes from ``--seed``; only the times follow the clock. The CMDB changes in one transaction (with a
busy timeout: the lab may be running). A CMDB is rolled back once: write a new one to rehearse again.

``fault --dir DIR --cmdb-fail-after-writes N`` makes the status change after the next N abort with "lab fault: the
CMDB connection dropped" (a trigger on ``Lab_CEM_Agent_Access`` counting ``Lab_Access_Writes``); ``fault --sepm NAME``
and ``--edr NAME`` make the lab SEPMs or the lab EDR misbehave (``DIR/sepm-edr-faults.json``, see ``sepm_edr.py``);
``--clear`` lifts them all.
"""

import argparse
import datetime
import json
import os
import random
import sqlite3
import string
import sys
import uuid
import xml.etree.ElementTree as ET

from itms_lab import cmdb, edge, procs, reconnect, sepm_edr
from itms_lab.procs import LabError
from itms_lab.sepm_edr_http import FAULTS

BUSY_TIMEOUT_S = 30
KNOCK_WINDOW_S = 2 * 3600
DENY_SUGGESTIONS = 3
DOMAIN = "corp.example.com"
NETBIOS_DOMAIN = "CORP"
ROGUE_PREFIX = "DESKTOP-"
ROGUE_OS = ("Windows 10 Pro", "Windows 11 Pro")
ALPHABET = string.ascii_uppercase + string.digits
PENDING = cmdb.ACCESS_STATUS["pending"]

CEM_AGENTS = """SELECT vc.[Guid], vc.[Name], gw.[Gateway], rs.[RegisteredDate]
FROM vComputer vc
JOIN Lab_Resource_State rs ON rs.[_ResourceGuid] = vc.[Guid]
JOIN Inv_AeX_AC_InternetGatewayDetails gw ON gw.[_ResourceGuid] = vc.[Guid] AND gw.[Current] = 1
WHERE vc.[IsManaged] = 1 AND rs.[Deleted] = 0
AND EXISTS (SELECT 1 FROM Inv_AeX_AC_Network_Zone nz WHERE nz.[_ResourceGuid] = vc.[Guid] AND nz.[IsOnInternet] = 1)
ORDER BY COALESCE(rs.[RegisteredDate], ''), vc.[Guid]"""
FAULT = "fail_after_writes"


# --------------------------------------------------------------------------- command line

def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--keep must be a fraction from 0 to 1, not %r" % text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("--keep must be a fraction from 0 to 1, not %s" % text)
    return value


def _count(flag):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be a whole number, not %r" % (flag, text))
        if value < 0:
            raise argparse.ArgumentTypeError("%s must be 0 or more" % flag)
        return value
    return parse


def add_subcommands(subparsers):
    p_roll = subparsers.add_parser("rollback", help="lose the newest CEM registrations of a lab CMDB: blocked agents, "
                                                    "rogues, troubleshooting mode on; write DIR/rollback.json")
    p_roll.add_argument("--dir", required=True, help="lab directory (its cmdb.sqlite and ig/config.xml change)")
    p_roll.add_argument("--keep", required=True, type=_fraction, metavar="FRACTION",
                        help="fraction (0 to 1) of the CEM agents whose registration survives")
    p_roll.add_argument("--rogues", required=True, type=_count("--rogues"), metavar="N",
                        help="unknown agents that knock at the gateways too")
    p_roll.add_argument("--reused-names", type=_count("--reused-names"), default=None, metavar="M",
                        help="rogues with the name of a removed agent and another GUID (at most --rogues and the "
                             "agents removed; default a third of the rogues, as far as there are removed agents)")
    p_roll.add_argument("--seed", type=int, default=1, help="random seed (default 1): the same seed, the same rollback")
    p_roll.set_defaults(func=_run(command_rollback))

    p_fault = subparsers.add_parser("fault", help="make the lab CMDB's access store fail a write, or the lab SEPM or EDR "
                                                  "misbehave; or clear that")
    p_fault.add_argument("--dir", required=True, help="lab directory")
    what = p_fault.add_mutually_exclusive_group()
    what.add_argument("--cmdb-fail-after-writes", type=_count("--cmdb-fail-after-writes"), metavar="N",
                      help="the status change after the next N aborts with '%s'" % cmdb.FAULT_MESSAGE)
    what.add_argument("--clear", action="store_true", help="remove the faults (the CMDB's, the SEPM's and the EDR's)")
    p_fault.add_argument("--sepm", action="append", choices=FAULTS["sepm"], metavar="NAME",
                         help="a fault of the lab SEPMs, at once and until --clear (repeatable; replaces the SEPM "
                              "faults set before): %s" % ", ".join(FAULTS["sepm"]))
    p_fault.add_argument("--edr", action="append", choices=FAULTS["edr"], metavar="NAME",
                         help="a fault of the lab EDR API (repeatable; replaces the EDR faults set before): %s"
                              % ", ".join(FAULTS["edr"]))
    p_fault.set_defaults(func=_run(command_fault), fault_parser=p_fault)


def _run(command):
    def run(args):
        try:
            return command(args)
        except (LabError, sqlite3.Error) as exc:
            sys.stderr.write("itms-lab: %s\n" % exc)
            return 2
    return run


# --------------------------------------------------------------------------- pure: the rollback's plan

def _guid(rng, taken):
    while True:
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if guid not in taken:
            taken.add(guid)
            return guid


def _rogue_name(rng, taken):
    while True:
        name = ROGUE_PREFIX + "".join(rng.choice(ALPHABET) for _index in range(7))
        if name.lower() not in taken:
            taken.add(name.lower())
            return name


def _presented(rng, name, domain):
    """The name as the agent presents it to the gateway: mostly the computer name, else its FQDN or DOMAIN\\NAME."""
    roll = rng.random()
    if roll < 0.7 or not domain:
        return name
    if roll < 0.9:
        return "%s.%s" % (name.lower(), domain)
    return "%s\\%s" % (NETBIOS_DOMAIN, name)


def removed_count(agents, keep):
    """How many of ``agents`` CEM agents a rollback that keeps ``keep`` of them removes (Python's round)."""
    return int(round((1.0 - keep) * agents))


def plan(agents, keep, rogues, reused_names, seed, now, known_names=(), known_guids=()):
    """What a rollback does, from the CEM agents [{guid, name, gateway, registered}] oldest registration first.

    Returns {removed: [agent], cutoff, rogues: [{guid, name, gateway, reused_name, inventory}], access: [{id, name,
    guid, gateway, agent_name, created, legitimate}], deny_suggestions}. ValueError when the counts do not fit.
    """
    if not 0.0 <= keep <= 1.0:
        raise ValueError("--keep must be a fraction from 0 to 1, not %s" % keep)
    if rogues < 0:
        raise ValueError("--rogues must be 0 or more")
    removing = removed_count(len(agents), keep)
    if reused_names is None:
        reused_names = min(rogues // 3, removing)
    if reused_names < 0 or reused_names > rogues:
        raise ValueError("--reused-names %d must be from 0 to --rogues (%d)" % (reused_names, rogues))
    if reused_names > removing:
        raise ValueError("--reused-names %d is more than the %d agent(s) the rollback removes (--keep %s of %d CEM "
                         "agents)" % (reused_names, removing, keep, len(agents)))
    removed = list(agents[len(agents) - removing:])
    rng = random.Random(seed)
    names = set(name.lower() for name in known_names) | set(a["name"].lower() for a in agents)
    guids = set(known_guids) | set(a["guid"] for a in agents)
    hosts, weights = [g[0] for g in cmdb.GATEWAYS], [g[2] for g in cmdb.GATEWAYS]
    reused_from = rng.sample(removed, reused_names)
    rogue_list = []
    for index in range(rogues):
        guid = _guid(rng, guids)
        reused = index < reused_names
        name = reused_from[index]["name"] if reused else _rogue_name(rng, names)
        gateway = rng.choices(hosts, weights=weights)[0]
        inventory = {"vComputer": [guid, name, DOMAIN if reused else "WORKGROUP",
                                   "192.168.%d.%d" % (rng.randrange(0, 256), rng.randrange(1, 255)), rng.choice(ROGUE_OS), 1],
                     "network_zone": [[1, 1, 1, 1, "TLS 1.2"]], "gateways": [[gateway, reconnect.PORTS.get(gateway, 443), 1, None]],
                     "auth": cmdb.AUTH_VALUES["ephemeral"]}
        rogue_list.append({"guid": guid, "name": name, "gateway": gateway, "reused_name": reused, "inventory": inventory})

    entries = [{"name": a["name"], "guid": a["guid"], "gateway": a["gateway"], "legitimate": True,
                "agent_name": _presented(rng, a["name"], DOMAIN)} for a in removed]
    entries += [{"name": r["name"], "guid": r["guid"], "gateway": r["gateway"], "legitimate": False,
                 "agent_name": _presented(rng, r["name"], DOMAIN if r["reused_name"] else None)} for r in rogue_list]
    for entry in entries:
        entry["created"] = cmdb.stamp(now - datetime.timedelta(seconds=rng.randrange(60, KNOCK_WINDOW_S)))
    rng.shuffle(entries)
    for number, entry in enumerate(entries, 1):
        entry["id"] = number
    plain = sorted(r["name"] for r in rogue_list if not r["reused_name"])
    return {"removed": removed, "cutoff": removed[0]["registered"] if removed else None, "rogues": rogue_list,
            "access": entries, "deny_suggestions": sorted(rng.sample(plain, min(DENY_SUGGESTIONS, len(plain))))}


def troubleshooting_on(text):
    """``config.xml`` text with troubleshooting mode and "Allow ephemeral certificates authentication" on."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise LabError("the lab gateway's config.xml does not parse: %s" % exc)
    element = root.find("Troubleshooting")
    if element is None:
        element = ET.SubElement(root, "Troubleshooting")
    element.set("mode", "true")
    element.set("allowEphemeralCertificates", "true")
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- I/O

def lab_files(directory):
    directory = os.path.abspath(directory)
    return {"cmdb": os.path.join(directory, "cmdb.sqlite"), "config_xml": edge.paths(directory)["config_xml"],
            "truth": os.path.join(directory, "rollback.json"), "lab": os.path.join(directory, "lab.json"),
            "gateway_config": os.path.join(directory, "gateway-config.json")}


def policy_interval(directory):
    """The policy update interval the lab gateway uses (its config, else lab.json, else the default)."""
    files = lab_files(directory)
    value = (procs.read_json(files["gateway_config"]) or {}).get("policy_interval_seconds")
    if value is None:
        value = ((procs.read_json(files["lab"]) or {}).get("access") or {}).get("policy_interval_seconds")
    return reconnect.DEFAULT_POLICY_INTERVAL_S if value is None else value


def open_cmdb(path):
    """A connection to the lab CMDB at ``path`` (autocommit, busy timeout); LabError when it is missing or too old."""
    if not os.path.isfile(path):
        raise LabError("no lab CMDB at %s: run itms-lab up --dir %s first" % (path, os.path.dirname(path)))
    conn = reconnect.connect(path, BUSY_TIMEOUT_S)
    tables = set(row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    if not {"Lab_CEM_Agent_Access", "Lab_Access_Writes", "Lab_Faults", "Lab_Agent_Inventory"} <= tables:
        conn.close()
        raise LabError("%s was written by an older itms-lab and has no access store: write it again (itms-lab cmdb "
                       "--db %s, or itms-lab down and up)" % (path, path))
    return conn


def _inventory(conn, guid):
    """What an agent sends of itself when it registers: its rows before the rollback."""
    def rows(sql):
        return [list(row) for row in conn.execute(sql, (guid,))]
    auth = conn.execute("SELECT [Authentication Type] FROM Lab_CEM_Agent_Authentication WHERE [_ResourceGuid] = ?",
                        (guid,)).fetchone()
    return {"vComputer": rows("SELECT * FROM vComputer WHERE [Guid] = ?")[0],
            "network_zone": rows("SELECT [IsOnInternet], [InternetModeSupported], [AppliedPolicyCount], [HTTPSMode], [TLS] "
                                 "FROM Inv_AeX_AC_Network_Zone WHERE [_ResourceGuid] = ? ORDER BY [_id]"),
            "gateways": rows("SELECT [Gateway], [Port], [Current], [Last Success] FROM Inv_AeX_AC_InternetGatewayDetails "
                             "WHERE [_ResourceGuid] = ? ORDER BY [_id]"),
            "auth": auth[0] if auth else None}


def apply(conn, keep, rogues, reused_names, seed, now):
    """Roll the CMDB back in one transaction; the plan (see ``plan``) with ``cem_agents``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        waiting = conn.execute("SELECT COUNT(*) FROM Lab_CEM_Agent_Access").fetchone()[0]
        if waiting:
            raise LabError("the lab CMDB has been rolled back already (%d agents in the access store): write a new one "
                           "to rehearse again (itms-lab cmdb --db PATH --computers N --seed S)" % waiting)
        agents = [{"guid": guid, "name": name, "gateway": gateway, "registered": registered}
                  for guid, name, gateway, registered in conn.execute(CEM_AGENTS)]
        known = [row[0] for row in conn.execute("SELECT [Name] FROM vComputer")]
        result = plan(agents, keep, rogues, reused_names, seed, now, known,
                      [row[0] for row in conn.execute("SELECT [Guid] FROM vComputer")])
        stash = [(a["guid"], json.dumps(_inventory(conn, a["guid"]))) for a in result["removed"]]
        stash += [(r["guid"], json.dumps(r["inventory"])) for r in result["rogues"]]
        conn.executemany("INSERT OR REPLACE INTO Lab_Agent_Inventory ([AgentGuid], [Inventory]) VALUES (?, ?)", stash)
        gone = [(a["guid"],) for a in result["removed"]]
        for table, column in (("Inv_AeX_AC_Network_Zone", "_ResourceGuid"), ("Inv_AeX_AC_InternetGatewayDetails", "_ResourceGuid"),
                              ("Lab_CEM_Agent_Authentication", "_ResourceGuid"), ("Lab_Resource_State", "_ResourceGuid"),
                              ("vComputer", "Guid")):
            conn.executemany("DELETE FROM %s WHERE [%s] = ?" % (table, column), gone)
        conn.executemany("INSERT INTO Lab_CEM_Agent_Access ([Id], [AgentName], [AgentGuid], [ReportedBy], [CreatedDate], "
                         "[Status], [DecidedDate]) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                         [(e["id"], e["agent_name"], e["guid"], e["gateway"], e["created"], PENDING) for e in result["access"]])
        conn.execute("INSERT OR REPLACE INTO Lab_Info VALUES ('rollback', ?)",
                     (json.dumps({"at": cmdb.stamp(now), "keep": keep, "rogues": rogues, "seed": seed}),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    result["cem_agents"] = len(agents)
    return result


def truth(result, keep, seed, now, interval, cmdb_path):
    """The content of rollback.json."""
    access = dict((e["guid"], e) for e in result["access"])
    legitimate = [{"name": a["name"], "guid": a["guid"], "gateway": a["gateway"], "registered": a["registered"],
                   "agent_name": access[a["guid"]]["agent_name"], "access_id": access[a["guid"]]["id"]}
                  for a in result["removed"]]
    rogues = [{"name": r["name"], "guid": r["guid"], "reused_name": r["reused_name"], "gateway": r["gateway"],
               "agent_name": access[r["guid"]]["agent_name"], "access_id": access[r["guid"]]["id"]}
              for r in result["rogues"]]
    return {"at": cmdb.stamp(now), "cutoff": result["cutoff"], "keep": keep, "seed": seed,
            "cem_agents": result["cem_agents"], "kept": result["cem_agents"] - len(legitimate), "removed": len(legitimate),
            "legitimate": sorted(legitimate, key=lambda e: (e["name"], e["guid"])),
            "rogues": sorted(rogues, key=lambda e: (e["name"], e["guid"])),
            "deny_suggestions": result["deny_suggestions"], "policy_interval_seconds": interval,
            "cmdb": cmdb_path, "access_table": "Lab_CEM_Agent_Access"}


def rollback(directory, keep, rogues, reused_names=None, seed=1, now=None):
    """Roll the lab of ``directory`` back (see the module docstring); the content of rollback.json."""
    files = lab_files(directory)
    if reused_names is not None and reused_names > rogues:
        raise LabError("--reused-names %d must not be more than --rogues %d" % (reused_names, rogues))
    if not os.path.isfile(files["config_xml"]):
        raise LabError("no lab gateway configuration at %s: run itms-lab up --dir %s first"
                       % (files["config_xml"], os.path.dirname(files["cmdb"])))
    with open(files["config_xml"], encoding="utf-8") as handle:
        config_text = troubleshooting_on(handle.read())
    now = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    conn = open_cmdb(files["cmdb"])
    try:
        result = apply(conn, keep, rogues, reused_names, seed, now)
    except ValueError as exc:
        raise LabError(str(exc))
    finally:
        conn.close()
    procs.write_text(files["config_xml"], config_text)
    data = truth(result, keep, seed, now, policy_interval(directory), files["cmdb"])
    procs.write_json(files["truth"], data)
    return data


def set_fault(path, after):
    """Make the status change after the next ``after`` ones abort; (writes so far, the threshold stored)."""
    conn = open_cmdb(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute("SELECT COUNT(*) FROM Lab_Access_Writes").fetchone()[0]
            conn.execute("INSERT OR REPLACE INTO Lab_Faults ([Name], [Value]) VALUES (?, ?)", (FAULT, str(done + after)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return done, done + after


def clear_fault(path):
    """Remove the fault; True when there was one."""
    conn = open_cmdb(path)
    try:
        return conn.execute("DELETE FROM Lab_Faults WHERE [Name] = ?", (FAULT,)).rowcount > 0
    finally:
        conn.close()


def command_rollback(args):
    data = rollback(args.dir, args.keep, args.rogues, args.reused_names, args.seed)
    sys.stdout.write("itms-lab: rolled back %s: %d of %d CEM agents lost their registration (registered from %s on), "
                     "%d rogue(s) (%d reusing a name); %d agent(s) pending in the access store; troubleshooting mode on; "
                     "agents approved reconnect after %s s; truth: %s\n"
                     % (data["cmdb"], data["removed"], data["cem_agents"], data["cutoff"] or "-", len(data["rogues"]),
                        sum(1 for r in data["rogues"] if r["reused_name"]), data["removed"] + len(data["rogues"]),
                        data["policy_interval_seconds"], lab_files(args.dir)["truth"]))
    return 0


def command_fault(args):
    if args.clear and (args.sepm or args.edr):
        args.fault_parser.error("--clear lifts every fault: give it alone")
    if not (args.clear or args.sepm or args.edr or args.cmdb_fail_after_writes is not None):
        args.fault_parser.error("one of the arguments --cmdb-fail-after-writes --clear is required (or --sepm/--edr NAME)")
    path = lab_files(args.dir)["cmdb"]
    if args.sepm or args.edr:
        directory = os.path.abspath(args.dir)
        now = sepm_edr.set_faults(directory, sepm=args.sepm, edr=args.edr)
        sys.stdout.write("itms-lab: faults of the lab SEPMs: %s; of the lab EDR: %s (%s, read at every request); "
                         "itms-lab fault --dir %s --clear lifts them\n"
                         % (", ".join(now["sepm"]) or "none", ", ".join(now["edr"]) or "none",
                            sepm_edr.files(directory)["faults"], args.dir))
        if args.cmdb_fail_after_writes is None:
            return 0
    if args.clear:
        if sepm_edr.clear_faults(os.path.abspath(args.dir)):
            sys.stdout.write("itms-lab: SEPM and EDR faults cleared\n")
            if not os.path.isfile(path):
                return 0
        if clear_fault(path):
            sys.stdout.write("itms-lab: fault cleared: status changes of %s go through again\n" % path)
        else:
            sys.stdout.write("itms-lab: no fault was set on %s\n" % path)
        return 0
    done, threshold = set_fault(path, args.cmdb_fail_after_writes)
    sys.stdout.write("itms-lab: %s: status change %d aborts with '%s' (%d written so far); itms-lab fault --dir %s "
                     "--clear lifts it\n" % (path, threshold + 1, cmdb.FAULT_MESSAGE, done, args.dir))
    return 0
