# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CEM reports: which queries make a report, how its figures are derived, and how it is rendered.

``build`` does the I/O through the CMDB client; everything else here is pure: shaping rows
into a report document and rendering that document to JSON, CSV or one self-contained HTML
file (inline CSS, inline SVG charts, no CDN). A report holds no timestamp, so its bytes change
only when the data does, which is what makes ``cem_report`` idempotent.

No AnsibleModule here: ``write_if_changed`` takes the function that moves a finished temporary file
into place (the module passes ``AnsibleModule.atomic_move``, which keeps an existing file's mode and owner).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from html import escape as _html_escape

from ansible_collections.itms.cem.plugins.module_utils import _queries
from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, NotFound


def _esc(value):
    return _html_escape("" if value is None else str(value), quote=True)


# name -> (title, table query, charts). A chart is (id, title, query or None, label column, value column);
# query None means "derived from the table rows".
REPORTS = {
    "connection_state": (
        "Cloud-enabled Management: connection state of managed computers",
        "connection_state",
        [
            ("connection_type", "Connection type", "connection_type_distribution", "Connection Type", "Computers"),
            ("authentication_type", "Authentication type", "authentication_type_distribution",
             "Authentication Type", "Computers"),
            ("computers_per_gateway", "Computers per gateway", None, "Assigned Internet Gateway", "ResourceGuid"),
        ],
    ),
}
# Every other catalog query is a report of its own: its table, and a chart when it is a distribution.
for _name, _query in _queries.CATALOG.items():
    if _name in REPORTS or _name == "inventory_hosts":
        continue
    _cols = _query.column_names
    _charts = []
    if len(_cols) == 2 and _cols[1] == "Computers":
        _charts.append((_name, _query.title, _name, _cols[0], "Computers"))
    elif _name == "computers_by_gateway":
        _charts.append((_name, _query.title, _name, "Gateway", "Computers"))
    REPORTS[_name] = (_query.title, _name, _charts)

REPORT_NAMES = sorted(REPORTS)
FORMATS = ("json", "csv", "html")

# The figures of these reports are reconciled with a count of every managed computer (report -> catalog query):
# the KB 440752 Part 2 query INNER JOINs the Network Zone inventory and so leaves out managed computers without it,
# which the inventory plugin lists.
MANAGED_COUNT = {"connection_state": "managed_computers"}

# Charts whose query counts only the computers that have a record of a kind (chart id -> that record), so their
# total can differ from the report's computers.
CHART_RECORDS = {"authentication_type": "authentication record"}


def get_report(name):
    if name not in REPORTS:
        raise NotFound("There is no report named %r." % name, hint="Known reports: %s." % ", ".join(REPORT_NAMES))
    return REPORTS[name]


def _count(number):
    return "{:,}".format(number)


# -- building (I/O through the client) ---------------------------------------------------------
def build(name, client, profile):
    """Run the queries of report ``name`` and shape them into a report document (a dict)."""
    title, table_query, charts = get_report(name)
    table = _queries.run_catalog(client, table_query, profile)
    chart_results = {}
    notes = []
    for chart_id, _title, query, _label, _value in charts:
        if query is None:
            continue
        if query == "authentication_type_distribution" and not profile.has_table("authentication"):
            notes.append("Authentication type: not shown, because the schema profile does not map "
                         "tables.authentication (not publicly documented; see the profiles guide).")
            continue
        chart_results[chart_id] = table if query == table_query else _queries.run_catalog(client, query, profile)
    managed = None
    if name in MANAGED_COUNT:
        managed = _queries.run_catalog(client, MANAGED_COUNT[name], profile).rows[0][0] or 0
    return shape(name, title, table, charts, chart_results, notes,
                 source=dict(cmdb=client.url.display(), profile=profile.name), managed=managed)


def shape(name, title, table, charts, chart_results, notes, source, managed=None):
    """Pure: the report document from query results; ``managed`` is the count of every managed computer, or None."""
    columns = list(table.columns)
    rows = [list(r) for r in table.rows]
    summary = summarize(name, columns, rows)
    notes = list(notes)
    if managed is not None:
        missing = managed - summary.get("computers", 0)
        summary.update(managed_computers=managed, without_network_zone=missing)
        if missing > 0:
            notes.append(
                "The report lists %s of the %s managed computers: %s have no Network Zone inventory, and the "
                "KB 440752 Part 2 query INNER JOINs Inv_AeX_AC_Network_Zone, so it leaves them out. The "
                "itms.cem.cmdb inventory plugin lists all %s managed computers."
                % (_count(summary["computers"]), _count(managed), _count(missing), _count(managed)))
    document = dict(report=name, title=title, source=source, summary=summary,
                    charts=[], columns=columns, rows=rows, notes=notes)
    computers = summary.get("computers")
    for chart_id, chart_title, query, label, value in charts:
        note = None
        if query is None:
            data = _distinct_count_by(columns, rows, label, value)
            # A computer can list several gateways: shares are of all computers, so they need not add up to 100 %.
            total = computers or sum(d["value"] for d in data)
            note = "Share of the %s computers in the report; an agent may list more than one gateway." % _count(total)
        elif chart_id in chart_results:
            result = chart_results[chart_id]
            li, vi = result.columns.index(label), result.columns.index(value)
            data = [dict(label=_label_text(r[li]), value=r[vi]) for r in result.rows]
            total = sum(d["value"] or 0 for d in data)
            if chart_id in CHART_RECORDS and computers is not None and total != computers:
                note = coverage_note(total, computers, CHART_RECORDS[chart_id])
        else:
            continue
        chart = dict(id=chart_id, title=chart_title, data=data, total=total)
        if note:
            chart["note"] = note
        document["charts"].append(chart)
    return document


def coverage_note(total, computers, record):
    """Pure: what a chart over the computers that have a ``record`` covers, against the report's ``computers``."""
    if total < computers:
        return "Covers %s of the %s computers in the report; %s have no %s." % (
            _count(total), _count(computers), _count(computers - total), record)
    # Its query does not join the Network Zone inventory as the report's does, so it can count computers the
    # report leaves out.
    return ("Counts %s computers by their %s, %s more than the %s computers in the report: this chart does not "
            "need Network Zone inventory, so it can count computers that the report leaves out."
            % (_count(total), record, _count(total - computers), _count(computers)))


def _label_text(value):
    return "(none)" if value is None else str(value)


def _distinct_count_by(columns, rows, label, key):
    """Count distinct ``key`` values per ``label`` value, most first."""
    li, ki = columns.index(label), columns.index(key)
    groups = {}
    for row in rows:
        if row[li] is not None:
            groups.setdefault(row[li], set()).add(row[ki])
    data = [dict(label=str(k), value=len(v)) for k, v in groups.items()]
    data.sort(key=lambda d: (-d["value"], d["label"]))
    return data


def summarize(name, columns, rows):
    summary = dict(rows=len(rows))
    if name == "connection_state":
        gi = columns.index("ResourceGuid")
        si = columns.index("Connectivity State")
        wi = columns.index("Assigned Internet Gateway")
        cem, lan = set(), set()
        gateways = set()
        for row in rows:
            (cem if row[si] == _queries.CEM_ACTIVE else lan).add(row[gi])
            if row[wi] is not None:
                gateways.add(row[wi])
        summary.update(computers=len(cem) + len(lan), cem_active=len(cem), lan_active=len(lan),
                       gateways=len(gateways))
    elif "Computers" in columns and len(columns) <= 2:
        ci = columns.index("Computers")
        summary["computers"] = sum(r[ci] or 0 for r in rows)
    elif "ResourceGuid" in columns:
        gi = columns.index("ResourceGuid")
        summary["computers"] = len(set(r[gi] for r in rows))
    return summary


# -- rendering (pure) --------------------------------------------------------------------------
def render_json(document):
    return (json.dumps(document, indent=None, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
            + "\n").encode("utf-8")


# OWASP "CSV Injection": a spreadsheet evaluates a cell that starts with one of these as a formula, also after
# leading spaces, and Excel reads the full-width forms as their ASCII ones. A leading single quote makes it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_LEADING_SPACES = " \u00a0\u3000"


def neutralize_formula(value):
    """A string cell that a spreadsheet would run as a formula, made text with a leading ``'``; anything else as is."""
    if isinstance(value, str) and value.lstrip(_LEADING_SPACES).startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def render_csv(document, neutralize_formulas=True):
    """The table as CSV: NULL as an empty field, formulas neutralised unless ``neutralize_formulas`` is false."""
    cell = neutralize_formula if neutralize_formulas else (lambda value: value)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(c) for c in document["columns"]])
    writer.writerows(["" if v is None else cell(v) for v in row] for row in document["rows"])
    return buffer.getvalue().encode("utf-8")


PALETTE = ("#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#0a7ea4", "#d1242f", "#6e7781")


def _bar_chart_svg(chart):
    data = chart["data"]
    total = chart["total"] or 1
    bar_h, gap, label_w, bar_w = 24, 10, 180, 210
    height = max(1, len(data)) * (bar_h + gap) + gap
    peak = max([d["value"] or 0 for d in data] + [1])
    width_px = label_w + bar_w + 120
    parts = ['<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
             'style="max-width:100%%;height:auto" xmlns="http://www.w3.org/2000/svg">'
             % (_esc(chart["title"]), width_px, height, width_px, height)]
    if not data:
        parts.append('<text x="0" y="24" class="muted">No data</text>')
    for i, item in enumerate(data):
        y = gap + i * (bar_h + gap)
        width = int(round(bar_w * float(item["value"] or 0) / peak))
        share = 100.0 * (item["value"] or 0) / total
        parts.append('<text x="%d" y="%d" text-anchor="end" class="label">%s</text>'
                     % (label_w - 10, y + bar_h - 8, _esc(item["label"][:26])))
        rect = (label_w, y, max(width, 1), bar_h, PALETTE[i % len(PALETTE)], _esc(item["label"]), item["value"], share)
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="3" fill="%s">'
                     '<title>%s: %s (%.1f%%)</title></rect>' % rect)
        parts.append('<text x="%d" y="%d" class="value">%s (%.1f%%)</text>'
                     % (label_w + max(width, 1) + 8, y + bar_h - 8, "{:,}".format(item["value"] or 0), share))
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--accent:#1f6feb}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg)}
header{padding:20px 28px;background:#0d1117;color:#fff}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#9da7b3;font-size:13px}main{padding:20px 28px;max-width:1400px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:150px;background:#fff}
.card .n{font-size:24px;font-weight:600}.card .k{color:var(--muted);font-size:12px;text-transform:uppercase}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:16px;margin-bottom:18px}
.panel{border:1px solid var(--line);border-radius:8px;padding:12px 16px;background:#fff}
.panel h2{font-size:15px;margin:0 0 8px}svg.chart .label{font-size:13px;fill:var(--fg)}
svg.chart .value{font-size:12px;fill:var(--muted)}.muted{color:var(--muted);fill:var(--muted)}
.notes{background:#fff8c5;border:1px solid #d4a72c66;border-radius:8px;padding:8px 14px;margin-bottom:18px}
.toolbar{display:flex;gap:10px;align-items:center;margin:8px 0}
.toolbar input{padding:6px 8px;border:1px solid var(--line);border-radius:6px;min-width:280px}
.toolbar button{padding:5px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg);cursor:pointer}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;white-space:nowrap}
th{background:var(--bg);position:sticky;top:0;cursor:pointer;user-select:none}tbody tr:hover{background:#f0f6ff}
"""

_JS = """
(function(){
var doc=JSON.parse(document.getElementById('report-data').textContent);
var rows=doc.rows, view=rows, page=0, size=100, sortCol=-1, asc=true;
var body=document.getElementById('rows'), info=document.getElementById('pageinfo');
function draw(){
  var pages=Math.max(1,Math.ceil(view.length/size)); if(page>=pages){page=pages-1;}
  var frag=document.createDocumentFragment();
  view.slice(page*size,(page+1)*size).forEach(function(r){
    var tr=document.createElement('tr');
    r.forEach(function(v){var td=document.createElement('td');td.textContent=(v===null?'':v);tr.appendChild(td);});
    frag.appendChild(tr);});
  body.textContent='';body.appendChild(frag);
  info.textContent='Rows '+(view.length?page*size+1:0)+'-'+Math.min(view.length,(page+1)*size)+
    ' of '+view.length.toLocaleString()+' (page '+(page+1)+' of '+pages+')';
}
document.getElementById('filter').addEventListener('input',function(e){
  var q=e.target.value.toLowerCase(); page=0;
  view=q?rows.filter(function(r){return r.some(function(v){return v!==null&&String(v).toLowerCase().indexOf(q)>=0;});}):rows;
  draw();});
document.getElementById('prev').onclick=function(){if(page>0){page--;draw();}};
document.getElementById('next').onclick=function(){if((page+1)*size<view.length){page++;draw();}};
Array.prototype.forEach.call(document.querySelectorAll('th'),function(th,i){th.onclick=function(){
  asc=(sortCol===i)?!asc:true; sortCol=i;
  view=view.slice().sort(function(a,b){var x=a[i],y=b[i];if(x===y)return 0;if(x===null)return 1;if(y===null)return -1;
    return (x<y?-1:1)*(asc?1:-1);}); page=0; draw();};});
draw();
})();
"""


def _script_json(value):
    """JSON for a script element.

    Inside a script element "</script" or "<!--" would change how the page parses; JSON can say the same
    characters as unicode escapes (they only occur inside strings).
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _names(names):
    names = list(names)
    return names[0] if len(names) == 1 else "%s and %s" % (", ".join(names[:-1]), names[-1])


# How the header names where a report's data came from (``document["source"]``, in its order).
SOURCE_LABELS = {"cmdb": "CMDB", "profile": "profile", "sepm": "SEPM", "edr": "EDR"}


def render_html(document, max_rows=20000, full_files=()):
    """One self-contained page: summary cards, SVG charts over all rows, a paged table (capped at max_rows).

    ``full_files`` names the JSON and CSV files of the same report written beside the page (they hold every row);
    a capped page points to them, or says how to get every row when there are none.
    """
    rows = document["rows"]
    shown = rows if max_rows is None or len(rows) <= max_rows else rows[:max_rows]
    notes = list(document.get("notes") or [])
    filter_note = ""
    if len(shown) < len(rows):
        # Name only files that this task writes: a page must not point to a JSON or CSV file that does not exist.
        if full_files:
            every_row = "Every row is in %s, written beside this page." % _names(full_files)
        else:
            every_row = "To have every row, add json or csv to formats, or set html_max_rows: 0."
        notes.append("The table shows the first %s of %s rows; the charts and figures above cover all of them. %s"
                     % (_count(len(shown)), _count(len(rows)), every_row))
        filter_note = ('<span id="filter-scope" class="muted">Filtering searches the %s rows in this page, not all %s '
                       'of the report. %s</span>' % (_count(len(shown)), _count(len(rows)), _esc(every_row)))
    source = document.get("source") or {}
    cards = "".join('<div class="card"><div class="n">%s</div><div class="k">%s</div></div>'
                    % ((_count(v) if isinstance(v, int) else _esc(v)), _esc(k.replace("_", " ")))
                    for k, v in document["summary"].items())
    charts = "".join('<section class="panel"><h2>%s</h2>%s%s</section>'
                     % (_esc(c["title"]), _bar_chart_svg(c),
                        '<p class="muted">%s</p>' % _esc(c["note"]) if c.get("note") else "")
                     for c in document["charts"])
    notes_html = ('<div class="notes">%s</div>' % "".join("<p>%s</p>" % _esc(n) for n in notes)) if notes else ""
    head = "".join("<th>%s</th>" % _esc(c) for c in document["columns"])
    # The summary travels in the page as well, so that the next run can show what changed (cem_report's diff)
    # when the page is the only file written.
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>%(title)s</title><style>%(css)s</style></head><body>'
        '<header><h1>%(title)s</h1><p>Report %(name)s%(source)s</p></header>'
        '<main><div class="cards">%(cards)s</div>%(notes)s<div class="charts">%(charts)s</div>'
        '<section class="panel"><h2>%(table_title)s</h2><div class="toolbar"><input id="filter" type="search" '
        'placeholder="Filter rows (any column)" aria-label="Filter rows"><button id="prev" type="button">&larr; Prev</button>'
        '<button id="next" type="button">Next &rarr;</button><span id="pageinfo" class="muted"></span></div>'
        '%(filter_note)s'
        '<div style="overflow:auto"><table><thead><tr>%(head)s</tr></thead><tbody id="rows"></tbody></table></div>'
        '</section></main><script type="application/json" id="report-summary">%(summary)s</script>'
        '<script type="application/json" id="report-data">%(payload)s</script>'
        '<script>%(js)s</script></body></html>\n'
    ) % dict(title=_esc(document["title"]), css=_CSS, name=_esc(document["report"]), cards=cards,
             source="".join(" &middot; %s %s" % (_esc(SOURCE_LABELS.get(k, k)), _esc(v)) for k, v in source.items()),
             table_title=_esc(document.get("table_title") or "Computers"), notes=notes_html, charts=charts, head=head,
             filter_note=filter_note, summary=_script_json(document["summary"]), payload=_script_json(dict(rows=shown)),
             js=_JS)
    return html.encode("utf-8")


def render(document, fmt, html_max_rows=20000, csv_neutralize_formulas=True, full_files=()):
    if fmt == "json":
        return render_json(document)
    if fmt == "csv":
        return render_csv(document, csv_neutralize_formulas)
    if fmt == "html":
        return render_html(document, html_max_rows, full_files)
    raise InputError("Unknown report format %r." % fmt, hint="Use one of: %s." % ", ".join(FORMATS))


# -- the report as last written (for the diff) ---------------------------------------------------
_SUMMARY_SCRIPT = re.compile(r'<script type="application/json" id="report-summary">(.*?)</script>', re.S)


def summary_from_json(content):
    """The summary of a JSON report file's bytes, or None."""
    try:
        document = json.loads(content.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one too
        return None
    summary = document.get("summary") if isinstance(document, dict) else None
    return summary if isinstance(summary, dict) else None


def summary_from_html(content):
    """The summary embedded in an HTML report file's bytes, or None (a page written before it was embedded)."""
    match = _SUMMARY_SCRIPT.search(content.decode("utf-8", "replace"))
    if not match:
        return None
    try:
        summary = json.loads(match.group(1))
    except ValueError:
        return None
    return summary if isinstance(summary, dict) else None


def summary_from_csv(name, columns, content):
    """The summary of report ``name`` recomputed from a CSV file's bytes, or None when it holds another table.

    What summarize reads survives the CSV: an empty field was NULL, and only the Computers column is summed.
    A neutralising quote does not matter here: summarize counts distinct values and never reads such a cell.
    """
    try:
        records = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    except (ValueError, csv.Error):
        return None
    if not records or records[0] != list(columns) or any(len(r) != len(columns) for r in records[1:]):
        return None
    rows = [[None if v == "" else v for v in record] for record in records[1:]]
    if "Computers" in columns:
        ci = columns.index("Computers")
        for row in rows:
            try:
                row[ci] = int(row[ci])
            except (TypeError, ValueError):
                return None
    return summarize(name, list(columns), rows)


def read_file(path):
    """The bytes of ``path``, or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def previous_summary(name, columns, outputs):
    """The summary of report ``name`` as last written to ``outputs`` ((path, format) pairs), or None.

    From the JSON file, else from the summary embedded in the HTML file, else recomputed from the CSV rows.
    """
    paths = dict((fmt, path) for path, fmt in outputs)
    readers = (("json", summary_from_json), ("html", summary_from_html),
               ("csv", lambda content: summary_from_csv(name, columns, content)))
    for fmt, reader in readers:
        content = read_file(paths[fmt]) if fmt in paths else None
        summary = reader(content) if content is not None else None
        if summary is not None:
            return summary
    return None


# -- files ---------------------------------------------------------------------------------------
def sha256(content):
    return hashlib.sha256(content).hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (IOError, OSError):
        return None
    return digest.hexdigest()


def write_if_changed(path, content, check_mode, move):
    """Write ``content`` unless the file already holds it; return (changed, before_sha, after_sha).

    The content goes to a temporary file in the destination directory, and ``move(tmp, path)`` puts it in place
    atomically (a reader never sees a half-written report); the module passes ``AnsibleModule.atomic_move``, which
    keeps an existing file's mode and owner and gives a new file the umask's default.
    """
    before = file_sha256(path)
    after = sha256(content)
    if before == after:
        return False, before, after
    if not check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            try:
                os.makedirs(directory)
            except OSError as exc:
                raise InputError("Cannot create the directory %s: %s." % (directory, exc.strerror),
                                 hint="Check that its parent is writable, or choose another dest.")
        tmp = None
        try:
            handle, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            move(tmp, path)
        except (IOError, OSError) as exc:
            raise InputError("Cannot write the report %s: %s." % (path, exc.strerror or exc),
                             hint="Check the directory exists and is writable.")
        finally:
            if tmp and os.path.exists(tmp):
                os.remove(tmp)
    return True, before, after
