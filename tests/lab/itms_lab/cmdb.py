# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab CMDB: a deterministic SQLite database with the CEM tables of KB 440752.

Tables and columns named by KB 440752 Part 2 are reproduced with those names. The CEM
authentication type, the deleted flag and the store behind the console's "Cloud-enabled
Agents Access Troubleshooting" page (KB 440752) are not publicly documented, so the lab
keeps them in tables of its own (prefix ``Lab_``) and ``profiles/cmdb.yml`` maps them; a
real CMDB needs its own profile for them.

``Lab_Resource_State`` holds one row per resource: its deleted flag and the time it
registered (``RegisteredDate``), so that ``itms-lab rollback`` (``rollback.py``) can lose the
registrations made after a point. The access store (``Lab_CEM_Agent_Access``) is empty until
a rollback fills it; every status change is counted in ``Lab_Access_Writes`` by a trigger,
and ``Lab_Faults`` lets ``itms-lab fault`` make a status change fail as a dropped connection.
"""

import argparse
import datetime
import os
import random
import sqlite3
import sys
import uuid

MIN_COMPUTERS = 10
MAX_COMPUTERS = 100000


def computers_option(option):
    """The argparse type of a number-of-computers option: an int from MIN_COMPUTERS to MAX_COMPUTERS."""
    def parse(text):
        value = int(text)
        if not MIN_COMPUTERS <= value <= MAX_COMPUTERS:
            raise argparse.ArgumentTypeError("%s must be between %d and %d" % (option, MIN_COMPUTERS, MAX_COMPUTERS))
        return value
    return parse


# host, port, weight. One gateway listens on 8443 (KB 440283's example) so that a
# port mismatch can be rehearsed.
GATEWAYS = (
    ("ig-emea.cem.example.com", 443, 50),
    ("ig-amer.cem.example.com", 443, 35),
    ("ig-apac.cem.example.com", 8443, 15),
)
AUTH_VALUES = {"permanent": 1, "ephemeral": 2, "both": 3}
BASE_TIME = datetime.datetime(2026, 11, 1, 12, 0, 0)
GENERATOR = "itms-lab cmdb 2"  # in Lab_Info: a lab directory with an older CMDB gets a new one at the next up
# Registrations spread over two years that end a day before BASE_TIME (before any Last Success).
REGISTRATION_DAYS = 730
# The access store: Status values (mapped in profiles/cmdb.yml values.agent_access_status).
ACCESS_STATUS = {"pending": 0, "approved": 1, "blocked": 2}
FAULT_MESSAGE = "lab fault: the CMDB connection dropped"

ACCESS_SCHEMA = """
CREATE TABLE Lab_CEM_Agent_Access (
    [Id] INTEGER PRIMARY KEY,
    [AgentName] TEXT NOT NULL,
    [AgentGuid] TEXT,
    [ReportedBy] TEXT,
    [CreatedDate] TEXT,
    [Status] INTEGER NOT NULL,
    [DecidedDate] TEXT
);
CREATE INDEX ix_access_status ON Lab_CEM_Agent_Access ([Status]);
CREATE TABLE Lab_Access_Writes (
    [Id] INTEGER PRIMARY KEY,
    [AccessId] INTEGER NOT NULL,
    [OldStatus] INTEGER,
    [NewStatus] INTEGER,
    [At] TEXT NOT NULL
);
CREATE INDEX ix_writes_access ON Lab_Access_Writes ([AccessId]);
CREATE TABLE Lab_Faults (
    [Name] TEXT PRIMARY KEY,
    [Value] TEXT
);
CREATE TABLE Lab_Agent_Inventory (
    [AgentGuid] TEXT PRIMARY KEY,
    [Inventory] TEXT NOT NULL
);
CREATE TRIGGER lab_access_fault BEFORE UPDATE OF [Status] ON Lab_CEM_Agent_Access
WHEN NEW.[Status] IS NOT OLD.[Status] AND EXISTS (
    SELECT 1 FROM Lab_Faults f WHERE f.[Name] = 'fail_after_writes'
    AND (SELECT COUNT(*) FROM Lab_Access_Writes) >= CAST(f.[Value] AS INTEGER))
BEGIN
    SELECT RAISE(ABORT, '""" + FAULT_MESSAGE + """');
END;
CREATE TRIGGER lab_access_written AFTER UPDATE OF [Status] ON Lab_CEM_Agent_Access
WHEN NEW.[Status] IS NOT OLD.[Status]
BEGIN
    INSERT INTO Lab_Access_Writes ([AccessId], [OldStatus], [NewStatus], [At])
    VALUES (NEW.[Id], OLD.[Status], NEW.[Status], strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
"""

SCHEMA = """
CREATE TABLE vComputer (
    [Guid] TEXT PRIMARY KEY,
    [Name] TEXT NOT NULL,
    [Domain] TEXT,
    [IP Address] TEXT,
    [OS Name] TEXT,
    [IsManaged] INTEGER NOT NULL
);
CREATE TABLE Inv_AeX_AC_Network_Zone (
    [_id] INTEGER PRIMARY KEY,
    [_ResourceGuid] TEXT NOT NULL,
    [IsOnInternet] INTEGER,
    [InternetModeSupported] INTEGER,
    [AppliedPolicyCount] INTEGER,
    [HTTPSMode] INTEGER,
    [TLS] TEXT
);
CREATE TABLE Inv_AeX_AC_InternetGatewayDetails (
    [_id] INTEGER PRIMARY KEY,
    [_ResourceGuid] TEXT NOT NULL,
    [Gateway] TEXT,
    [Port] INTEGER,
    [Current] INTEGER,
    [Last Success] TEXT
);
CREATE TABLE Lab_CEM_Agent_Authentication (
    [_ResourceGuid] TEXT PRIMARY KEY,
    [Authentication Type] INTEGER NOT NULL
);
CREATE TABLE Lab_Resource_State (
    [_ResourceGuid] TEXT PRIMARY KEY,
    [Deleted] INTEGER NOT NULL,
    [RegisteredDate] TEXT
);
CREATE INDEX ix_nz_resource ON Inv_AeX_AC_Network_Zone ([_ResourceGuid]);
CREATE INDEX ix_gw_resource ON Inv_AeX_AC_InternetGatewayDetails ([_ResourceGuid]);
""" + ACCESS_SCHEMA

OS_NAMES = ("Windows 11 Enterprise", "Windows 10 Enterprise", "Windows Server 2022 Standard",
            "Windows Server 2019 Standard", "macOS 14")


def _stamp(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def stamp(moment):
    """A time as the lab CMDB writes it (``Last Success``, ``RegisteredDate``, ``CreatedDate``): UTC, to the second."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return _stamp(moment)


def registration_times(computers, seed):
    """``RegisteredDate`` of resources 1..computers: strictly increasing with the index, deterministic per seed.

    From a random stream of its own, so the rest of the CMDB is what it was before registration times existed.
    """
    rng = random.Random("itms-lab registration %d" % seed)
    first = BASE_TIME - datetime.timedelta(days=REGISTRATION_DAYS + 1)
    step = REGISTRATION_DAYS * 86400.0 / computers  # >= 630 s: one second apart at least
    return [_stamp(first + datetime.timedelta(seconds=int((index + rng.random()) * step))) for index in range(computers)]


def generate(computers, seed):
    """Return the rows of every table for ``computers`` resources; pure and deterministic."""
    rng = random.Random(seed)
    tables = {"vComputer": [], "Inv_AeX_AC_Network_Zone": [], "Inv_AeX_AC_InternetGatewayDetails": [],
              "Lab_CEM_Agent_Authentication": [], "Lab_Resource_State": []}
    gateway_weights = [g[2] for g in GATEWAYS]
    registered = registration_times(computers, seed)
    for index in range(1, computers + 1):
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        kind = rng.random()
        prefix, os_name = (("SRV-", rng.choice(OS_NAMES[2:4])) if kind < 0.1 else
                           ("LT-", rng.choice(OS_NAMES[:2] + OS_NAMES[4:])) if kind < 0.6 else
                           ("WKS-", rng.choice(OS_NAMES[:2])))
        name = "%s%06d" % (prefix, index)
        managed = 0 if rng.random() < 0.05 else 1
        ip = "10.%d.%d.%d" % (rng.randrange(0, 64), rng.randrange(0, 256), rng.randrange(1, 255))
        tables["vComputer"].append((guid, name, "corp.example.com", ip, os_name, managed))
        deleted = 1 if rng.random() < 0.02 else 0
        tables["Lab_Resource_State"].append((guid, deleted, registered[index - 1]))
        if rng.random() < 0.02:
            continue  # never sent Network Zone inventory: absent from the seed query's JOIN

        roll = rng.random()
        if roll < 0.58:            # provisioned for CEM
            supported, policies = 1, rng.choice((1, 1, 1, 2))
        elif roll < 0.63:          # CEM supported but no policy applied (seed 001, cause 4)
            supported, policies = 1, 0
        else:
            supported, policies = 0, 0
        configured = supported == 1 and policies > 0
        on_internet = 1 if (configured and rng.random() < 0.56) or rng.random() < 0.005 else 0
        https = 1 if on_internet or rng.random() < 0.7 else 0
        tls = rng.choice(("TLS 1.2", "TLS 1.2", "TLS 1.3")) if https else None
        tables["Inv_AeX_AC_Network_Zone"].append((guid, on_internet, supported, policies, https, tls))

        if configured or on_internet:
            first = rng.choices(range(len(GATEWAYS)), weights=gateway_weights)[0]
            chosen = [first]
            if rng.random() < 0.3:
                chosen.append((first + 1 + rng.randrange(len(GATEWAYS) - 1)) % len(GATEWAYS))
            for position, gateway_index in enumerate(chosen):
                host, port, _weight = GATEWAYS[gateway_index]
                current = 1 if on_internet and position == 0 else 0
                if current:
                    last = BASE_TIME - datetime.timedelta(minutes=rng.randrange(0, 24 * 60))
                elif rng.random() < 0.8:
                    last = BASE_TIME - datetime.timedelta(minutes=rng.randrange(24 * 60, 60 * 24 * 60))
                else:
                    last = None
                tables["Inv_AeX_AC_InternetGatewayDetails"].append(
                    (guid, host, port, current, _stamp(last) if last else None))
            auth_roll = rng.random()
            auth = ("permanent" if auth_roll < 0.40 else "ephemeral" if auth_roll < 0.75 else "both")
            tables["Lab_CEM_Agent_Authentication"].append((guid, AUTH_VALUES[auth]))
    return tables


INSERTS = {
    "vComputer": "INSERT INTO vComputer VALUES (?, ?, ?, ?, ?, ?)",
    "Inv_AeX_AC_Network_Zone": "INSERT INTO Inv_AeX_AC_Network_Zone ([_ResourceGuid], [IsOnInternet], "
                               "[InternetModeSupported], [AppliedPolicyCount], [HTTPSMode], [TLS]) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
    "Inv_AeX_AC_InternetGatewayDetails": "INSERT INTO Inv_AeX_AC_InternetGatewayDetails ([_ResourceGuid], "
                                         "[Gateway], [Port], [Current], [Last Success]) VALUES (?, ?, ?, ?, ?)",
    "Lab_CEM_Agent_Authentication": "INSERT INTO Lab_CEM_Agent_Authentication VALUES (?, ?)",
    "Lab_Resource_State": "INSERT INTO Lab_Resource_State VALUES (?, ?, ?)",
}


def add_computer(path, guid, name, managed=True, on_internet=True, gateway=None):
    """Add one computer to an existing lab CMDB, with its Network Zone inventory and, given ``gateway``, a current
    gateway row: for rehearsing a change between two reports or two inventory runs. It registers now."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        with conn:
            conn.execute(INSERTS["Lab_Resource_State"],
                         (guid, 0, stamp(datetime.datetime.now(datetime.timezone.utc))))
            conn.execute(INSERTS["vComputer"], (guid, name, "corp.example.com", "10.9.9.9", "Windows 11 Enterprise",
                                                1 if managed else 0))
            conn.execute(INSERTS["Inv_AeX_AC_Network_Zone"], (guid, 1 if on_internet else 0, 1, 1, 1, "TLS 1.3"))
            if gateway:
                conn.execute(INSERTS["Inv_AeX_AC_InternetGatewayDetails"],
                             (guid, gateway, 443, 1 if on_internet else 0, _stamp(BASE_TIME)))
    finally:
        conn.close()


def write(path, computers, seed):
    """Write the lab CMDB to ``path`` atomically (a half-written file never replaces a good one)."""
    if not MIN_COMPUTERS <= computers <= MAX_COMPUTERS:
        raise ValueError("computers must be between %d and %d" % (MIN_COMPUTERS, MAX_COMPUTERS))
    tables = generate(computers, seed)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    if os.path.exists(tmp):
        os.remove(tmp)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(SCHEMA)
        for table, rows in tables.items():
            conn.executemany(INSERTS[table], rows)
        conn.execute("CREATE TABLE Lab_Info (Key TEXT PRIMARY KEY, Value TEXT)")
        conn.executemany("INSERT INTO Lab_Info VALUES (?, ?)",
                         [("computers", str(computers)), ("seed", str(seed)), ("generator", GENERATOR)])
        conn.commit()
    finally:
        conn.close()
    os.replace(tmp, path)
    return {table: len(rows) for table, rows in tables.items()}


def command(path, computers, seed):
    counts = write(path, computers, seed)
    sys.stdout.write("itms-lab: wrote %s (%d computers, seed %d): %s\n" % (
        path, computers, seed, ", ".join("%s=%d" % item for item in sorted(counts.items()))))
    return 0
