# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab agents that come back once an administrator approves them (KB 440752).

After ``itms-lab rollback`` the agents whose registrations were lost knock at the gateways and wait in the access
store (``Lab_CEM_Agent_Access``) as pending. On a real site an approved agent connects again at its next policy
update interval and the Notification Server records it; the lab has no agents, so the lab gateway's process runs
this loop instead (``Reconnector``, started by ``gateway.Gateway`` when its configuration names the CMDB). Every
``POLL_S`` it reads the access rows that are approved and whose agent is not in ``vComputer``; once the approval
(``DecidedDate``, or the time the lab's trigger recorded the change in ``Lab_Access_Writes``, whichever is later;
else the time the loop first saw it approved) is ``policy_interval_seconds`` old, the agent registers again:

* ``vComputer`` (managed), with what the agent sends of itself (``Lab_Agent_Inventory``, kept by the rollback);
* ``Inv_AeX_AC_Network_Zone`` with ``IsOnInternet`` = 1 and the CEM columns as before (an Internet agent's);
* ``Inv_AeX_AC_InternetGatewayDetails``: the row of the gateway that reported it (``ReportedBy``) current, with
  ``Last Success`` = now (UTC, ``YYYY-MM-DD HH:MM:SS`` as the generator writes it), its other gateways not current;
* its lab rows: authentication type, and ``Lab_Resource_State`` with ``RegisteredDate`` = now.

Pending and blocked agents never come back. A rogue agent that gets approved comes back too - which is how a test
sees that a rogue was approved. Reads are one short statement; each write is one short transaction of at most
``BATCH`` agents, so the loop never holds the database for long while a playbook writes decisions.
"""

import datetime
import json
import sqlite3
import sys
import threading
from urllib.parse import quote

from itms_lab import cmdb

DEFAULT_POLICY_INTERVAL_S = 5
POLL_S = 1.0
BUSY_TIMEOUT_S = 2.0
BATCH = 200
EPHEMERAL = cmdb.AUTH_VALUES["ephemeral"]
PORTS = dict((host, port) for host, port, _weight in cmdb.GATEWAYS)

CANDIDATES = """SELECT a.[Id], a.[AgentName], a.[AgentGuid], a.[ReportedBy], a.[DecidedDate],
 (SELECT MAX(w.[At]) FROM Lab_Access_Writes w WHERE w.[AccessId] = a.[Id] AND w.[NewStatus] = a.[Status])
FROM Lab_CEM_Agent_Access a
WHERE a.[Status] = ? AND a.[AgentGuid] IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM vComputer vc WHERE vc.[Guid] = a.[AgentGuid])
ORDER BY a.[Id]"""


# --------------------------------------------------------------------------- pure

def parse_time(text):
    """An aware UTC datetime from ISO 8601 text (``T`` or space, ``Z`` or an offset; naive is UTC); None if unreadable."""
    if not text:
        return None
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def approval_time(decided, recorded):
    """When an agent was approved: the later of the two times that can be read, or None."""
    times = [t for t in (parse_time(decided), parse_time(recorded)) if t is not None]
    return max(times) if times else None


def short_name(agent_name):
    """``CORP\\PC01`` or ``pc01.corp.example.com`` -> the computer name as vComputer keeps it."""
    name = agent_name.strip().rsplit("\\", 1)[-1]
    return name.split(".", 1)[0].upper() if "." in name else name


def registration(guid, agent_name, reported_by, inventory, now_text):
    """The rows an approved agent registers with: {table: [row tuples]} in the order of ``cmdb.INSERTS``.

    ``inventory`` is what the rollback kept of the agent ({vComputer, network_zone, gateways, auth}) or None (an
    access row the lab did not write): then the agent tells only its GUID and name.
    """
    inventory = inventory or {}
    computer = list(inventory.get("vComputer") or [guid, short_name(agent_name), None, None, None, 1])
    computer[0], computer[5] = guid, 1
    zones = inventory.get("network_zone") or [[1, 1, 1, 1, "TLS 1.2"]]
    zone_rows = [(guid, 1, row[1], row[2], 1, row[4] or "TLS 1.2") for row in zones]
    gateway_rows, seen = [], False
    for host, port, _current, last in inventory.get("gateways") or []:
        if host == reported_by and not seen:
            seen = True
            gateway_rows.append((guid, host, port, 1, now_text))
        else:
            gateway_rows.append((guid, host, port, 0, last))
    if not seen and reported_by:
        gateway_rows.insert(0, (guid, reported_by, PORTS.get(reported_by, 443), 1, now_text))
    auth = inventory.get("auth") or EPHEMERAL
    return {"vComputer": [tuple(computer)], "Inv_AeX_AC_Network_Zone": zone_rows,
            "Inv_AeX_AC_InternetGatewayDetails": gateway_rows, "Lab_CEM_Agent_Authentication": [(guid, auth)],
            "Lab_Resource_State": [(guid, 0, now_text)]}


# --------------------------------------------------------------------------- I/O

def connect(path, timeout=BUSY_TIMEOUT_S):
    """An autocommit connection to an existing lab CMDB (never creates the file), with a busy timeout."""
    return sqlite3.connect("file:%s?mode=rw" % quote(path), uri=True, timeout=timeout, isolation_level=None)


def candidates(conn):
    """[(id, agent name, guid, reported by, decided date, recorded change time)] approved and not in vComputer."""
    return conn.execute(CANDIDATES, (cmdb.ACCESS_STATUS["approved"],)).fetchall()


def register(conn, agents, now):
    """Register ``agents`` [(id, name, guid, reported_by)] again in one transaction; the GUIDs registered."""
    now_text = cmdb.stamp(now)
    done = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for _access_id, name, guid, reported_by in agents:
            if conn.execute("SELECT 1 FROM vComputer WHERE [Guid] = ?", (guid,)).fetchone():
                continue  # registered meanwhile (another approved row of the same GUID)
            found = conn.execute("SELECT [Inventory] FROM Lab_Agent_Inventory WHERE [AgentGuid] = ?", (guid,)).fetchone()
            rows = registration(guid, name, reported_by, json.loads(found[0]) if found else None, now_text)
            for table in ("Inv_AeX_AC_Network_Zone", "Inv_AeX_AC_InternetGatewayDetails", "Lab_CEM_Agent_Authentication",
                          "Lab_Resource_State"):
                conn.execute("DELETE FROM %s WHERE [_ResourceGuid] = ?" % table, (guid,))
            for table, table_rows in rows.items():
                conn.executemany(cmdb.INSERTS[table], table_rows)
            done.append(guid)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return done


class Reconnector:
    """The loop over one lab CMDB: ``start()``, ``run_once(now)``, ``stop()``."""

    def __init__(self, path, interval=DEFAULT_POLICY_INTERVAL_S, poll=POLL_S, log=None):
        self.path = path
        self.interval = float(interval)
        self.poll = float(poll)
        self.log = log or (lambda text: sys.stderr.write("itms-lab reconnect: %s\n" % text))
        self.first_seen = {}  # access id -> when the loop first saw it approved with no time to read
        self.stopping = threading.Event()
        self._thread = None
        self._last_error = None

    def run_once(self, now=None):
        """One pass: the GUIDs registered again (empty when nothing is due)."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        conn = connect(self.path)
        try:
            rows = candidates(conn)
            seen = set()
            due = []
            for access_id, name, guid, reported_by, decided, recorded in rows:
                seen.add(access_id)
                approved = approval_time(decided, recorded) or self.first_seen.setdefault(access_id, now)
                if (now - approved).total_seconds() >= self.interval:
                    due.append((access_id, name, guid, reported_by))
            self.first_seen = dict((key, value) for key, value in self.first_seen.items() if key in seen)
            done = []
            for start in range(0, len(due), BATCH):
                done.extend(register(conn, due[start:start + BATCH], now))
        finally:
            conn.close()
        if done:
            self.log("%d approved agent(s) registered again: %s%s"
                     % (len(done), ", ".join(done[:5]), ", ..." if len(done) > 5 else ""))
        return done

    def _loop(self):
        while not self.stopping.wait(self.poll):
            try:
                self.run_once()
                self._last_error = None
            except (sqlite3.Error, ValueError) as exc:  # locked, or a CMDB without the access store: say it once, go on
                if str(exc) != self._last_error:
                    self._last_error = str(exc)
                    self.log("cannot use %s: %s (trying again every %g s)" % (self.path, exc, self.poll))

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="lab-reconnect", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(5)
