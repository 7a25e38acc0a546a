# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Evidence for ``agent_access`` (``decide: from_evidence``): what an administrator has after a CMDB rollback.

``load(spec, read_file)`` reads the module's ``evidence`` option into the structure ``_access_decide.decide``
reads. Parsing is pure: the files are read through ``read_file(path) -> bytes`` (``read_path`` by default), so
the tests give it bytes. ``spec`` keys (each optional):

* ``reports``: paths (or ``{path, label}``) of ``cem_report`` files, JSON (``{report, columns, rows}``, rows as
  lists in column order) or CSV (one header line; cells ``cem_report`` neutralised as formulas are read back
  as written in the CMDB). Any report whose columns include a GUID column and a name column is accepted
  (``connection_state``: ``ResourceGuid`` and ``Computer Name``); ``sources`` says which columns were used.
* ``exports``: ``{path, format (csv|json, by the suffix if omitted), name_column, guid_column, label}``; without
  either column, they are found as in a report. JSON: a list of objects, ``{columns, rows}`` with rows as lists,
  or ``{rows: [objects]}``. CSV: UTF-8 (with or without BOM) or UTF-16 with BOM, ``,`` ``;`` or tab delimited
  (sniffed), a PowerShell ``#TYPE`` first line skipped.
* ``names``: computer names (strings), or ``{label, names}`` groups (names from AD, SEPM and the like).
* ``name_files``: paths (or ``{path, label}``) of files with one name per line; ``#`` starts a comment.
* ``allow``: fnmatch patterns on normalised names (``LT-*``). ``deny``: GUIDs, names or fnmatch patterns.

Every entry is recorded with its source (``ad.txt (name file)``, or ``AD names (ad.txt)`` with a label), which
the decisions' reasons cite. A GUID cell that is not a GUID is an InputError naming the file, the row or line and
the column; so are a missing file, a missing column (with the columns found) and a file that is not JSON or CSV.
An empty GUID cell, JSON null and the nil GUID mean "no GUID".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import csv
import io
import json
import os
import re

from ansible_collections.itms.cem.plugins.module_utils._access_decide import (
    NIL_GUID, add_allow, add_deny, add_evidence, empty_evidence, normalize_guid, normalize_name)
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._report import neutralize_formula

SPEC_KEYS = ("reports", "exports", "names", "name_files", "allow", "deny")
# Column names that hold a computer's GUID and name, in order of preference (matched ignoring case): the
# collection's own reports (ResourceGuid / Computer Name, the inventory query's guid / name) first.
GUID_COLUMNS = ("ResourceGuid", "guid", "_ResourceGuid", "Resource Guid", "Computer Guid", "Agent Guid")
NAME_COLUMNS = ("Computer Name", "name", "Agent Name", "Computer", "ComputerName", "Host Name", "HostName")
_COMMENT = re.compile(r"(^|\s)#.*$")
_SAMPLE = 65536


def read_path(path):
    """The default ``read_file``: the bytes of a file on the controller (``~`` expanded)."""
    with open(os.path.expanduser(path), "rb") as handle:
        return handle.read()


# -- text and tables ----------------------------------------------------------------------------
def _read(read_file, path):
    try:
        data = read_file(path)
    except InputError:
        raise
    except (IOError, OSError) as exc:
        raise InputError("Cannot read the evidence file %s: %s." % (path, exc.strerror or exc),
                         hint="Check the path (it is read on the controller).")
    return data


def _decode(data, path):
    if not isinstance(data, bytes):
        return str(data)
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("The evidence file %s is not UTF-8 text (byte %d)." % (path, exc.start),
                         hint="Save it as UTF-8, or UTF-16 with a byte order mark.")


def _delimiter(text):
    """``,`` ``;`` or tab: csv.Sniffer over the first lines, checked against the header line."""
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    header = sample.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        found = None
    if found is not None and found in header:
        return found
    counts = [(header.count(d), d) for d in (",", ";", "\t")]
    best = max(counts)
    return best[1] if best[0] else ","


def _csv_table(text, path):
    """(columns, rows) with rows as (line number, cells)."""
    lines = text.split("\n", 1)
    if lines[0].startswith("#TYPE"):  # Windows PowerShell's Export-Csv type line
        text = lines[1] if len(lines) > 1 else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        columns = None
        rows = []
        for cells in reader:
            if not "".join(cells).strip():
                continue
            if columns is None:
                columns = [c.strip() for c in cells]
            else:
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise InputError("The evidence file %s is not valid CSV (line %d): %s." % (path, reader.line_num, exc))
    if columns is None:
        raise InputError("The evidence file %s has no header line." % path,
                         hint="The first line must name the columns.")
    return columns, rows


def _json_table(text, path):
    """(columns, rows): rows an iterator of (row number, cells), made as they are read (a report's rows are many)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError("The evidence file %s is not valid JSON: %s." % (path, exc))
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InputError("The evidence file %s holds no table: expected a list of objects, or an object with "
                         "'rows' (and 'columns' when the rows are lists)." % path,
                         hint="Keys found: %s." % ", ".join(sorted(data)) if isinstance(data, dict) else None)
    columns = data.get("columns") if isinstance(data, dict) else None
    if columns is None:
        columns, seen = [], set()
        for row in rows:
            for key in (row if isinstance(row, dict) else ()):
                if key not in seen:
                    seen.add(key)
                    columns.append(key)
    if not isinstance(columns, list):
        raise InputError("The evidence file %s: 'columns' is not a list." % path)
    if not columns and any(isinstance(row, list) for row in rows):
        raise InputError("The evidence file %s has rows as lists but no 'columns' naming them." % path)
    columns = [str(c) for c in columns]
    for number, row in enumerate(rows, 1):
        if not isinstance(row, (dict, list)):
            raise InputError("The evidence file %s, row %d: a row must be an object or a list, not %s."
                             % (path, number, type(row).__name__))
    return columns, ((number, [row.get(c) for c in columns] if isinstance(row, dict) else row)
                     for number, row in enumerate(rows, 1))


def _format(path, given, data=None):
    fmt = (given or "").lower() or None
    if fmt is None:
        suffix = os.path.splitext(path)[1].lower()
        fmt = {".json": "json", ".csv": "csv", ".txt": "csv", ".tsv": "csv"}.get(suffix)
    if fmt is None and data is not None:
        fmt = "json" if data.lstrip()[:1] in (b"{", b"[", "{", "[") else "csv"
    if fmt not in ("csv", "json"):
        raise InputError("Cannot tell the format of the evidence file %s." % path,
                         hint="Set format: csv or format: json.")
    return fmt


# -- columns ------------------------------------------------------------------------------------
def _find(columns, wanted):
    if wanted in columns:
        return columns.index(wanted)
    lowered = [c.lower() for c in columns]
    if lowered.count(wanted.lower()) == 1:
        return lowered.index(wanted.lower())
    return None


def _column(columns, wanted, path, what):
    index = _find(columns, wanted)
    if index is None:
        raise InputError("The evidence file %s has no %s column %r; columns found: %s."
                         % (path, what, wanted, ", ".join(columns) or "none"))
    return index


def _detect(columns, candidates):
    for candidate in candidates:
        index = _find(columns, candidate)
        if index is not None:
            return index
    return None


# -- the sources --------------------------------------------------------------------------------
def _cell(cells, index):
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _guid(value, path, where, column):
    """The GUID of a cell (None for none); ``where`` is (unit, number): ("row", 3) or ("line", 4)."""
    guid = normalize_guid(value)
    if guid is None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        raise InputError("The evidence file %s, %s %d: %r in column %r is not a GUID."
                         % (path, where[0], where[1], value, column),
                         hint="A GUID is 8-4-4-4-12 hex digits, braces optional; leave the cell empty for none.")
    return None if guid == NIL_GUID else guid


def _add_table(evidence, path, source, columns, rows, name_index, guid_index, fmt, unquote=False):
    """Record each row of a table, rows as (number, cells): line numbers in a CSV file, row numbers in JSON."""
    unit = "line" if fmt == "csv" else "row"
    guid_column = None if guid_index is None else columns[guid_index]
    count = names = guids = 0
    for number, cells in rows:
        count += 1
        raw = _cell(cells, name_index)
        if unquote and isinstance(raw, str) and raw.startswith("'") and neutralize_formula(raw[1:]) == raw:
            raw = raw[1:]  # cem_report wrote it with a leading quote so that a spreadsheet would not run it
        name = normalize_name(raw)
        guid = _guid(_cell(cells, guid_index), path, (unit, number), guid_column)
        if name or guid:
            add_evidence(evidence, name, guid, source)
            names += 1 if name else 0
            guids += 1 if guid else 0
    return dict(rows=count, names=names, guids=guids)


def _record(evidence, kind, path, source, fmt, columns, name_index, guid_index, counts):
    evidence["sources"].append(dict(
        kind=kind, path=path, source=source, format=fmt,
        name_column=None if name_index is None else columns[name_index],
        guid_column=None if guid_index is None else columns[guid_index], **counts))


def _load_report(evidence, path, source, read_file):
    data = _read(read_file, path)
    fmt = _format(path, None, data)
    text = _decode(data, path)
    if fmt == "json":
        columns, rows = _json_table(text, path)
    else:
        columns, rows = _csv_table(text, path)
    guid_index, name_index = _detect(columns, GUID_COLUMNS), _detect(columns, NAME_COLUMNS)
    if guid_index is None or name_index is None:
        raise InputError("The report %s has no %s column; columns found: %s."
                         % (path, "GUID" if guid_index is None else "computer name", ", ".join(columns) or "none"),
                         hint="Use a cem_report with a GUID and a computer name column (connection_state: "
                              "ResourceGuid and Computer Name), or give the file under exports with its columns.")
    counts = _add_table(evidence, path, source, columns, rows, name_index, guid_index, fmt, unquote=fmt == "csv")
    _record(evidence, "report", path, source, fmt, columns, name_index, guid_index, counts)


def _load_export(evidence, entry, source, read_file):
    path = entry["path"]
    data = _read(read_file, path)
    fmt = _format(path, entry.get("format"))
    text = _decode(data, path)
    columns, rows = (_json_table if fmt == "json" else _csv_table)(text, path)
    name_col, guid_col = entry.get("name_column"), entry.get("guid_column")
    if name_col is None and guid_col is None:
        name_index, guid_index = _detect(columns, NAME_COLUMNS), _detect(columns, GUID_COLUMNS)
        if name_index is None and guid_index is None:
            raise InputError("The export %s has no column that looks like a computer name or a GUID; columns "
                             "found: %s." % (path, ", ".join(columns) or "none"),
                             hint="Set name_column and/or guid_column.")
    else:
        name_index = None if name_col is None else _column(columns, name_col, path, "name")
        guid_index = None if guid_col is None else _column(columns, guid_col, path, "GUID")
    counts = _add_table(evidence, path, source, columns, rows, name_index, guid_index, fmt)
    _record(evidence, "export", path, source, fmt, columns, name_index, guid_index, counts)


def _load_name_file(evidence, path, source, read_file):
    text = _decode(_read(read_file, path), path)
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        value = _COMMENT.sub("", line).strip()
        if not value:
            continue
        if any(c in value for c in ",;\t"):
            raise InputError("The name file %s, line %d: %r looks like a table row, not one name." % (path, number, value),
                             hint="Give a CSV file under exports with its name_column.")
        name = normalize_name(value)
        if name:
            add_evidence(evidence, name, None, source)
            count += 1
    evidence["sources"].append(dict(kind="name_file", path=path, source=source, format="text", name_column=None,
                                    guid_column=None, rows=count, names=count, guids=0))


# -- the spec -----------------------------------------------------------------------------------
def _list(spec, key):
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise InputError("evidence.%s must be a list, not %s." % (key, type(value).__name__))
    return list(value)


def _file_entry(entry, key, required=("path",)):
    if isinstance(entry, str):
        entry = dict(path=entry)
    if not isinstance(entry, dict) or not all(entry.get(k) for k in required):
        raise InputError("Each entry of evidence.%s needs a path, got %r." % (key, entry))
    return entry


def _labels(paths):
    """The name each file is cited by: its base name, or its path when two files share that base name."""
    bases = [os.path.basename(p) or p for p in paths]
    return dict((p, b if bases.count(b) == 1 else p) for p, b in zip(paths, bases))


def _source(entry, base, default_kind):
    label = entry.get("label")
    return "%s (%s)" % (label, base) if label else "%s (%s)" % (base, default_kind)


def load(spec, read_file=None):
    """The evidence named by ``spec`` (the module's ``evidence`` option), read through ``read_file``."""
    read_file = read_file or read_path
    spec = spec or {}
    if not isinstance(spec, dict):
        raise InputError("evidence must be a dictionary with the keys %s." % ", ".join(SPEC_KEYS))
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise InputError("Unknown evidence key(s): %s." % ", ".join(unknown), hint="Known: %s." % ", ".join(SPEC_KEYS))
    reports = [_file_entry(e, "reports") for e in _list(spec, "reports")]
    exports = [_file_entry(e, "exports") for e in _list(spec, "exports")]
    name_files = [_file_entry(e, "name_files") for e in _list(spec, "name_files")]
    labels = _labels([e["path"] for e in reports + exports + name_files])
    evidence = empty_evidence()
    for entry in reports:
        _load_report(evidence, entry["path"], _source(entry, labels[entry["path"]], "pre-rollback report"), read_file)
    for entry in exports:
        _load_export(evidence, entry, _source(entry, labels[entry["path"]], "export"), read_file)
    for entry in name_files:
        _load_name_file(evidence, entry["path"], _source(entry, labels[entry["path"]], "name file"), read_file)
    _load_names(evidence, _list(spec, "names"))
    for pattern in _list(spec, "allow"):
        add_allow(evidence, _text(pattern, "allow"))
    for entry in _list(spec, "deny"):
        add_deny(evidence, _text(entry, "deny"))
    return evidence


def _text(value, key):
    if not isinstance(value, str) or not value.strip():
        raise InputError("evidence.%s: %r is not a non-empty string." % (key, value))
    return value


def _load_names(evidence, entries):
    groups = {}
    for entry in entries:
        if isinstance(entry, dict):
            if not entry.get("label") or not isinstance(entry.get("names"), list):
                raise InputError("A group in evidence.names needs a label and a list of names, got %r." % (entry,))
            groups.setdefault(str(entry["label"]), []).extend(entry["names"])
        else:
            groups.setdefault("the names list", []).append(entry)
    for label in sorted(groups):
        count = 0
        for value in groups[label]:
            name = normalize_name(_text(value, "names"))
            if name:
                add_evidence(evidence, name, None, label)
                count += 1
        evidence["sources"].append(dict(kind="names", path=None, source=label, format=None, name_column=None,
                                        guid_column=None, rows=count, names=count, guids=0))
