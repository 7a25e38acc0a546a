"""Check an edr_enrollment report: report.py JSON [HTML] --fail none|ID[,ID...]  or  report.py JSON --count."""
import json
import sys

document = json.load(open(sys.argv[1], encoding="utf-8"))
if sys.argv[2] == "--count":
    print(len(document["causes"]))
    sys.exit(0)
html = open(sys.argv[2], encoding="utf-8").read()
want = [] if sys.argv[4] == "none" else sorted(sys.argv[4].split(","))
failing = sorted(c["id"] for c in document["causes"] if c["verdict"] == "fail")
if failing != want:
    sys.exit("the report's failing causes are %s, not %s" % (failing, want))
if document["summary"]["fail"] != len(want) or document["report"] != "edr_enrollment":
    sys.exit("the report's summary does not match its causes: %s" % document["summary"])
for cause in document["causes"]:
    if cause["id"] not in html:
        sys.exit("the HTML report does not name %s" % cause["id"])
if "<svg" not in html or "KB 236805" not in html:
    sys.exit("the HTML report has no chart or does not name KB 236805")
for group in document["groups"]:
    if want and not group.get("group"):
        sys.exit("a group entry without a name: %s" % group)
