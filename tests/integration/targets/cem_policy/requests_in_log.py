# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the lab NS's requests from a line of its request log on, and check limits.

usage: requests_in_log.py LOG FIRST_LINE LABEL [--max-http N] [--max-asdk N] [--no-writes] [--method NAME=COUNT ...]

Prints one line: all HTTP requests, the 401 legs of the Windows-authentication handshake, the ASDK
requests that were not 401 (what the client sent and the NS executed or refused), and the writes.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("first_line", type=int)
    parser.add_argument("label")
    parser.add_argument("--max-http", type=int)
    parser.add_argument("--max-asdk", type=int)
    parser.add_argument("--no-writes", action="store_true")
    parser.add_argument("--method", action="append", default=[], help="NAME=COUNT of non-401 requests")
    args = parser.parse_args()
    with open(args.log) as handle:
        lines = handle.read().splitlines()[args.first_line:]
    entries = [json.loads(line) for line in lines if line.strip()]
    legs = [e for e in entries if e.get("status") == 401]
    asdk = [e for e in entries if e.get("method") and e.get("status") != 401]
    writes = [e for e in asdk if e.get("write")]
    summary = dict(label=args.label, http_requests=len(entries), auth_401_legs=len(legs), asdk_requests=len(asdk),
                   writes=len(writes), sequence=["%s %s %s" % (e.get("binding"), e.get("method"), e.get("status"))
                                                 for e in entries])
    print("REQUEST COUNT %s" % json.dumps(summary))
    problems = []
    if args.max_http is not None and len(entries) > args.max_http:
        problems.append("%d HTTP requests > %d" % (len(entries), args.max_http))
    if args.max_asdk is not None and len(asdk) > args.max_asdk:
        problems.append("%d ASDK requests > %d" % (len(asdk), args.max_asdk))
    if args.no_writes and writes:
        problems.append("writes: %s" % ", ".join(e["method"] for e in writes))
    for spec in args.method:
        name, count = spec.split("=")
        seen = len([e for e in asdk if e.get("method") == name])
        if seen != int(count):
            problems.append("%s: %d requests, expected %s" % (name, seen, count))
    if problems:
        sys.stderr.write("%s: %s\n" % (args.label, "; ".join(problems)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
