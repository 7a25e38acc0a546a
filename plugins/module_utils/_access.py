# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The access store behind the console's "Cloud-enabled Agents Access Troubleshooting" page (KB 440752).

Its tables and procedures are not publicly documented: every name comes from the schema profile
(``tables.agent_access``, ``values.agent_access_status``, ``access.write``), identifiers bracket-quoted, values
bound. Reads go through ``CmdbClient.execute``; decisions through ``CmdbClient.write_batches`` only, as the
statements built here. ``Journal`` records each batch before it is sent and after it is committed, so that an
interrupted ``apply`` resumes without writing any (decision, agent) twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import fnmatch
import functools
import gc
import json
import os
import re
import uuid

from ansible_collections.itms.cem.plugins.module_utils._cmdb_write import MAX_PARAMETERS, Batch
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, ProfileMismatch
from ansible_collections.itms.cem.plugins.module_utils._profile import (
    ACCESS_STATUSES, UNDOCUMENTED_HINT, quote_identifier,
)
from ansible_collections.itms.cem.plugins.module_utils._queries import verify

TABLE = "agent_access"
STATUS_FOR = {"approve": "approved", "block": "blocked"}
ORDER = ("approve", "block")  # approvals first: they end an outage; blocks only keep one going
LIKE_ESCAPE = "!"
_OPTIONAL_COLUMNS = ("agent_guid",)


def _q(name):
    return quote_identifier(name, force=True)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def columns(profile):
    """{logical: physical} of the access store; ProfileMismatch (saying how to find it) when it is not mapped."""
    if not profile.has_table(TABLE):
        raise ProfileMismatch("The CMDB profile (%s) does not map the access store (tables.%s)." % (profile.origin, TABLE),
                              hint=UNDOCUMENTED_HINT[TABLE], missing=[TABLE])
    mapped = profile.data["tables"][TABLE]["columns"]
    names = ("id", "agent_name", "agent_guid", "reported_by", "created", "status")
    return dict((c, profile.column(TABLE, c)) for c in names if c in mapped or c not in _OPTIONAL_COLUMNS)


def write_columns(profile):
    """(table, column) pairs a write needs beyond the read's: the access.write.set_now columns."""
    write = (profile.data.get("access") or {}).get("write") or {}
    if not profile.has_table(TABLE):
        return []
    return [(profile.table(TABLE), c) for c in write.get("set_now") or []]


def time_text(client, moment):
    """A UTC time as bound text: 'YYYY-MM-DD HH:MM:SS' on SQLite (the lab stores and compares that text);
    ISO 8601 with a T on SQL Server, which converts it to the column's datetime type whatever DATEFORMAT is."""
    sep = " " if client.url.scheme == "sqlite" else "T"
    return moment.strftime("%Y-%m-%d" + sep + "%H:%M:%S")


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while a run builds tens of thousands of rows, evidence entries and
    decisions: they hold no reference cycles, and each full collection walks all of them (measured: 0.05 to 0.07 s
    per 50,000 agents). Restored as it was, whatever happens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def parse_time(value, label="time"):
    """A naive UTC datetime from ISO 8601 text (a space or T; Z or an offset converted to UTC); None stays None."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    text = str(value).strip()
    try:
        moment = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise InputError("%s %r is not an ISO 8601 time (YYYY-MM-DD HH:MM:SS, optionally with T, Z or an offset)."
                         % (label, value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def procedure_exists(client, name):
    """Whether the stored procedure ``name`` exists (SQL Server); InputError on SQLite, which has none."""
    if client.url.scheme == "sqlite":
        raise InputError("access.write.kind is procedure, but an SQLite CMDB has no stored procedures.",
                         hint="Use access.write.kind update for an SQLite CMDB, or point cmdb_url at SQL Server.")
    found = client.execute("SELECT 1 AS [found] FROM sys.objects WHERE object_id = OBJECT_ID(@name) "
                           "AND type IN ('P', 'PC')", {"name": name})
    return bool(found.rows)


def verify_store(client, profile, write=False):
    """Check the mapped table, its columns and, for a write, the set_now columns or the procedure; ProfileMismatch."""
    cols = columns(profile)
    table = profile.table(TABLE)
    requirements = [(table, c) for c in cols.values()]
    if write:
        spec = profile.access_write()
        requirements += write_columns(profile)
        verify(client, requirements, profile)
        if spec["kind"] == "procedure" and not procedure_exists(client, spec["procedure"]):
            raise ProfileMismatch("The CMDB at %s has no stored procedure %s (access.write.procedure)."
                                  % (client.url.display(), spec["procedure"]),
                                  hint="Check the name the console's Approve click sends (docs/profiles.md).",
                                  missing=["%s (procedure)" % spec["procedure"]])
        return
    verify(client, requirements, profile)


# -- reading -----------------------------------------------------------------------------------------
def name_filter(pattern):
    """(bound LIKE pattern or None, compiled regex) for an fnmatch ``pattern`` matched case-insensitively.

    The LIKE is only the literal prefix before the first wildcard (%, _, [ and the escape character escaped with
    ESCAPE '!'), so SQL narrows the rows on SQLite and SQL Server alike; the regex decides. A prefix stops at the
    first character beyond ASCII, which SQLite's LIKE compares case-sensitively.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InputError("The agent name pattern must be a non-empty string, not %r." % (pattern,))
    end = 0
    while end < len(pattern) and pattern[end] not in "*?[" and ord(pattern[end]) < 128:
        end += 1
    like = None
    if end:
        like = "".join(LIKE_ESCAPE + ch if ch in "%_[" + LIKE_ESCAPE else ch for ch in pattern[:end])
        if end < len(pattern):
            like += "%"
    return like, re.compile(fnmatch.translate(pattern.lower()), re.S)


def _hours(value, label):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InputError("%s must be a number of hours (0 or more), not %r." % (label, value))
    return datetime.timedelta(hours=value)


def _status_values(profile, statuses):
    stored = {}
    for status in statuses:
        if status not in ACCESS_STATUSES:
            raise InputError("Unknown agent access status %r; the states are %s." % (status, ", ".join(ACCESS_STATUSES)))
        stored[status] = profile.value("agent_access_status", status)
    return stored


def read_agents(client, profile, statuses=("pending", "blocked"), gateway=None, name_like=None,
                older_than_hours=None, newer_than_hours=None, now=None):
    """The agents of the access store in ``statuses``, one query: [{id, agent_name, agent_guid (lower-case or
    None), reported_by, created, status}], ordered by id. ``gateway`` (the Reported-by name, case-insensitive) and
    ``name_like`` (fnmatch, case-insensitive) narrow them; so do the ages, in hours before ``now`` (UTC)."""
    cols = columns(profile)
    stored = _status_values(profile, list(statuses))
    older, newer = _hours(older_than_hours, "older_than_hours"), _hours(newer_than_hours, "newer_than_hours")
    verify_store(client, profile)
    names = [c for c in ("id", "agent_name", "agent_guid", "reported_by", "created", "status") if c in cols]
    params = dict(("s%d" % i, value) for i, value in enumerate(stored.values()))
    where = ["a.%s IN (%s)" % (_q(cols["status"]), ", ".join("@" + p for p in params))]
    if gateway:
        where.append("LOWER(a.%s) = @gateway" % _q(cols["reported_by"]))
        params["gateway"] = str(gateway).lower()
    regex = None
    if name_like is not None:
        like, regex = name_filter(name_like)
        if like is not None:
            where.append("a.%s LIKE @name ESCAPE '%s'" % (_q(cols["agent_name"]), LIKE_ESCAPE))
            params["name"] = like
    now = parse_time(now) or utc_now()
    if older is not None:
        where.append("a.%s < @created_before" % _q(cols["created"]))
        params["created_before"] = time_text(client, now - older)
    if newer is not None:
        where.append("a.%s >= @created_after" % _q(cols["created"]))
        params["created_after"] = time_text(client, now - newer)
    sql = "SELECT %s FROM %s a WHERE %s ORDER BY a.%s" % (
        ", ".join("a." + _q(cols[c]) for c in names), _q(profile.table(TABLE)), " AND ".join(where), _q(cols["id"]))
    back = dict((str(v), k) for k, v in stored.items())
    agents = []
    for row in client.execute(sql, params).rows:
        agent = dict(zip(names, row))
        if regex is not None and not regex.match(str(agent["agent_name"] or "").lower()):
            continue
        guid = agent.get("agent_guid")
        agent["agent_guid"] = str(guid).strip("{}").lower() if guid else None
        agent["status"] = back.get(str(agent["status"]))
        created = agent["created"]
        agent["created"] = None if created is None else str(created)
        agents.append(agent)
    return agents


def counts(agents):
    """{by_gateway: {gateway: {status: n}}, by_status: {status: n}, total}."""
    by_gateway, by_status = {}, {}
    for agent in agents:
        gateway = agent.get("reported_by") or "(none)"
        status = agent.get("status")
        per = by_gateway.setdefault(gateway, {})
        per[status] = per.get(status, 0) + 1
        by_status[status] = by_status.get(status, 0) + 1
    return dict(by_gateway=by_gateway, by_status=by_status, total=len(agents))


def read_statuses(client, profile, ids):
    """{id: status ('pending', 'approved', 'blocked' or None for a value the profile does not name)} of ``ids``."""
    cols = columns(profile)
    back = {}
    for status in ACCESS_STATUSES:
        value = ((profile.data.get("values") or {}).get("agent_access_status") or {}).get(status)
        if value is not None:
            back[str(value)] = status
    found = {}
    for chunk in _chunks(list(ids), MAX_PARAMETERS):
        params = dict(("k%d" % i, value) for i, value in enumerate(chunk))
        sql = "SELECT a.%s, a.%s FROM %s a WHERE a.%s IN (%s)" % (
            _q(cols["id"]), _q(cols["status"]), _q(profile.table(TABLE)), _q(cols["id"]),
            ", ".join("@" + p for p in params))
        for key, status in client.execute(sql, params).rows:
            found[key] = back.get(str(status))
    return found


# -- writing -----------------------------------------------------------------------------------------
def statements(profile, decision, ids, now=None):
    """[(T-SQL, params)] that write ``decision`` (approve or block) for ``ids``, chunked to the parameter limit.

    kind update: one UPDATE per chunk, ``AND [status] <> @status`` so that a row already decided is left alone;
    kind procedure: one EXEC per agent. ``now`` is the text bound to the set_now columns (UTC, ISO 8601).
    """
    if decision not in STATUS_FOR:
        raise InputError("Only approve and block are written, not %r." % (decision,))
    spec = profile.access_write()
    cols = columns(profile)
    status = profile.value("agent_access_status", STATUS_FOR[decision])
    ids = list(ids)
    if spec["kind"] == "procedure":
        sql = "EXEC %s %s = @id, %s = @status" % (_q(spec["procedure"]), spec["parameters"]["id"],
                                                  spec["parameters"]["status"])
        return [(sql, {"id": key, "status": status}) for key in ids]
    set_now = spec.get("set_now") or []
    assignments = ["%s = @status" % _q(cols["status"])] + ["%s = @decided_at" % _q(c) for c in set_now]
    fixed = {"status": status}
    if set_now:
        fixed["decided_at"] = now or utc_now().strftime("%Y-%m-%dT%H:%M:%S")
    out = []
    for chunk in _chunks(ids, MAX_PARAMETERS - len(fixed)):
        names, marks = _key_placeholders(len(chunk))
        params = dict(fixed)
        params.update(zip(names, chunk))
        sql = "UPDATE %s SET %s WHERE %s IN (%s) AND %s <> @status" % (
            _q(profile.table(TABLE)), ", ".join(assignments), _q(cols["id"]), marks, _q(cols["status"]))
        out.append((sql, params))
    return out


@functools.lru_cache(maxsize=8)
def _key_placeholders(count):
    """(("k0", ..., "k<count-1>"), "@k0, ..., @k<count-1>"): the row keys' placeholders of one UPDATE (a run's
    batches have one or two sizes)."""
    names = tuple("k%d" % i for i in range(count))
    return names, ", ".join("@" + name for name in names)


class Journal:
    """JSON lines, each flushed and fsynced before the next step; a torn last line is ignored (and cut off).

    Records: begin {run_id, plan}, batch_started / batch_committed {key, decision, ids[, rows]}, finished {counts};
    each a JSON object with its fields in key order, except a batch's ``ids``: last, so that a line read by eye
    starts with what it is, and encoded once for the batch's two records.
    ``done`` and ``in_doubt`` look at the records since the last ``finished`` one: a finished run leaves nothing to
    resume, and the next run starts afresh.
    """

    def __init__(self, path):
        self.path = os.path.expanduser(path)
        self.run_id = None
        self._fd = None
        self._ids_json = None  # (ids, their JSON) of the last batch written

    def records(self):
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InputError("Cannot read the journal %s: %s." % (self.path, exc.strerror or exc))
        lines = data.split(b"\n")[:-1]  # what follows the last newline is a torn write
        out = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line.decode("utf-8"))
                if not isinstance(record, dict) or "event" not in record:
                    raise ValueError(line)
            except ValueError:
                raise InputError("The journal %s is damaged at line %d: it is not a record of itms.cem.agent_access."
                                 % (self.path, number),
                                 hint="Give a new journal path; read this one to see what was committed.")
            out.append(record)
        return out

    def _open_run(self):
        records = self.records()
        ends = [i for i, r in enumerate(records) if r["event"] == "finished"]
        return records[ends[-1] + 1:] if ends else records

    def _pairs(self, records, event):
        return set((r["decision"], _hashable(i)) for r in records if r["event"] == event for i in r["ids"])

    def done(self):
        """{(decision, id)} committed by the run that has not finished."""
        return self._pairs(self._open_run(), "batch_committed")

    def in_doubt(self):
        """{(decision, id)} sent in a batch whose commit was not journaled: re-read before sending again."""
        records = self._open_run()
        return self._pairs(records, "batch_started") - self._pairs(records, "batch_committed")

    def unfinished(self):
        return bool(self._open_run())

    def _write(self, record, ids=None):
        if self._fd is None:
            self._open_for_append()
        record["at"] = utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.run_id is not None:
            record.setdefault("run_id", self.run_id)
        line = json.dumps(record, sort_keys=True)
        if ids is not None:
            line = '%s, "ids": %s}' % (line[:-1], self._encode_ids(ids))
        os.write(self._fd, (line + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def _encode_ids(self, ids):
        """The JSON of a batch's ids, encoded when the batch starts and reused when it is committed."""
        ids = list(ids)
        if self._ids_json is None or self._ids_json[0] != ids:
            self._ids_json = (ids, json.dumps(ids))
        return self._ids_json[1]

    def _open_for_append(self):
        created = not os.path.exists(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InputError("Cannot write the journal %s: %s." % (self.path, exc.strerror or exc),
                             hint="The journal's folder must exist and be writable by the user running the task.")
        size = os.lseek(fd, 0, os.SEEK_END)
        keep = size
        while keep and os.pread(fd, 1, keep - 1) != b"\n":  # cut a torn last line before appending
            keep -= 1
        if keep != size:
            os.ftruncate(fd, keep)
            os.fsync(fd)
        os.lseek(fd, keep, os.SEEK_SET)
        if created:
            folder = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        self._fd = fd

    def begin(self, run_id, plan_summary):
        self.run_id = run_id
        self._write(dict(event="begin", plan=plan_summary))

    def batch_started(self, key, decision, ids):
        self._write(dict(event="batch_started", key=key, decision=decision), ids)

    def batch_committed(self, key, decision, ids, rows):
        self._write(dict(event="batch_committed", key=key, decision=decision, rows=rows), ids)

    def finished(self, counts):
        self._write(dict(event="finished", counts=counts))

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def apply(client, profile, plan, journal, batch_size, check_mode, progress=None):
    """Write the approve and block decisions of ``plan`` (approvals first; hold is never written) in batches.

    Pairs (decision, id) the journal shows committed are skipped; those sent but not known committed are re-read
    and dropped when the store already has their status. Returns {applied, skipped_from_journal,
    confirmed_in_store, batches, rows, pending}; in check mode nothing is written, the journal included.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError("batch_size must be a whole number of 1 or more, not %r." % (batch_size,))
    wanted, seen = dict((d, []) for d in ORDER), dict((d, set()) for d in ORDER)
    for item in plan:
        decision, key = item["decision"], item["id"]
        if decision in wanted and key not in seen[decision]:
            seen[decision].add(key)
            wanted[decision].append(key)
    done = journal.done() if journal is not None else set()
    todo = dict((d, [i for i in wanted[d] if (d, i) not in done] if done else wanted[d]) for d in ORDER)
    result = dict(applied=0, skipped_from_journal=sum(len(wanted[d]) - len(todo[d]) for d in ORDER),
                  confirmed_in_store=0, batches=0, rows=0)
    in_doubt = journal.in_doubt() if journal is not None else set()
    doubtful = [(d, i) for d in ORDER for i in todo[d] if (d, i) in in_doubt] if in_doubt else []
    confirmed = dict((d, []) for d in ORDER)
    if doubtful:
        current = read_statuses(client, profile, [i for _d, i in doubtful])
        for decision, key in doubtful:
            if current.get(key) == STATUS_FOR[decision]:
                confirmed[decision].append(key)
        for decision in ORDER:
            gone = set(confirmed[decision])
            todo[decision] = [i for i in todo[decision] if i not in gone]
    result["confirmed_in_store"] = sum(len(v) for v in confirmed.values())
    result["pending"] = sum(len(v) for v in todo.values())
    if check_mode or not (result["pending"] or (journal is not None and journal.unfinished())):
        return result
    verify_store(client, profile, write=True)  # before any write
    kind = profile.access_write()["kind"]
    stamp = time_text(client, utc_now())
    journal = journal if journal is not None else _NoJournal()
    journal.begin(str(uuid.uuid4()), dict((d, len(todo[d])) for d in ORDER))
    for decision in ORDER:
        if confirmed[decision]:
            journal.batch_committed("confirmed-%s" % decision, decision, confirmed[decision], 0)
    total = sum(-(-len(ids) // batch_size) for ids in todo.values())
    sent = {}

    def batches():
        number = 0
        for decision in ORDER:
            for chunk in _chunks(todo[decision], batch_size):
                number += 1
                key = "%s-%04d" % (decision, number)
                sent[key] = (decision, chunk)
                journal.batch_started(key, decision, chunk)
                yield Batch(key, statements(profile, decision, chunk, now=stamp),
                            expected=len(chunk) if kind == "update" else None)

    def on_batch(key, rows):
        decision, chunk = sent.pop(key)
        journal.batch_committed(key, decision, chunk, rows)
        result["applied"] += len(chunk)
        result["batches"] += 1
        result["rows"] += rows
        result["pending"] -= len(chunk)
        if progress is not None:
            progress(dict(key=key, decision=decision, batches_done=result["batches"], batches_total=total,
                          applied=result["applied"], pending=result["pending"]))

    if result["pending"]:
        client.write_batches(batches(), on_batch)
    journal.finished(dict((k, result[k]) for k in ("applied", "skipped_from_journal", "confirmed_in_store", "rows")))
    return result


class _NoJournal:
    def begin(self, run_id, plan_summary):
        pass

    def batch_started(self, key, decision, ids):
        pass

    def batch_committed(self, key, decision, ids, rows):
        pass

    def finished(self, counts):
        pass


# -- verification ------------------------------------------------------------------------------------
def verify_reconnected(client, profile, guids, since_iso):
    """{guid: {on_internet, last_success, reconnected}} from the Network Zone and Internet Gateway inventory.

    ``reconnected``: on the Internet and a last success at or after ``since_iso``. A GUID without inventory is
    {on_internet: False, last_success: None, reconnected: False}. GUIDs are bound in chunks under the limit.
    """
    since = parse_time(since_iso, "verify_since")
    if since is None:
        raise InputError("verify_reconnected needs the time of the approvals (since_iso).")
    wanted = []
    for guid in guids:
        text = str(guid).strip().strip("{}").lower() if guid else ""
        if text and text not in wanted:
            wanted.append(text)
    zone, gateway = profile.table("network_zone"), profile.table("gateway")
    zone_guid, on_internet = profile.column("network_zone", "resource_guid"), profile.column("network_zone",
                                                                                             "is_on_internet")
    gw_guid, last = profile.column("gateway", "resource_guid"), profile.column("gateway", "last_success")
    verify(client, [(zone, zone_guid), (zone, on_internet), (gateway, gw_guid), (gateway, last)], profile)
    found = dict((g, dict(on_internet=False, last_success=None, reconnected=False)) for g in wanted)
    for chunk in _chunks(wanted, MAX_PARAMETERS):
        params = dict(("g%d" % i, g) for i, g in enumerate(chunk))
        marks = ", ".join("@" + p for p in params)
        for guid, flag in client.execute("SELECT nz.%s, nz.%s FROM %s nz WHERE nz.%s IN (%s)" % (
                _q(zone_guid), _q(on_internet), _q(zone), _q(zone_guid), marks), params).rows:
            entry = found.get(str(guid).lower())
            if entry is not None and flag in (1, True, "1"):
                entry["on_internet"] = True
        for guid, moment in client.execute("SELECT gw.%s, MAX(gw.%s) FROM %s gw WHERE gw.%s IN (%s) GROUP BY gw.%s" % (
                _q(gw_guid), _q(last), _q(gateway), _q(gw_guid), marks, _q(gw_guid)), params).rows:
            entry = found.get(str(guid).lower())
            if entry is not None and moment is not None:
                entry["last_success"] = str(moment)
    for entry in found.values():
        seen = parse_time(entry["last_success"], "Last Success") if entry["last_success"] else None
        entry["reconnected"] = bool(entry["on_internet"] and seen is not None and seen >= since)
    return found
