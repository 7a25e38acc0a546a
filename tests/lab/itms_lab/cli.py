# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the lab: one entry point, one sub-command per lab service."""

import argparse
import sys

from itms_lab import cmdb, rollback, sepm_edr, services


def build_parser():
    parser = argparse.ArgumentParser(prog="itms-lab", description="The itms.cem lab: a simulated ITMS 8.8.1 site.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_cmdb = sub.add_parser("cmdb", help="write a deterministic SQLite CMDB")
    p_cmdb.add_argument("--computers", type=cmdb.computers_option("--computers"), default=1000,
                        help="number of computer resources (%d to %d)" % (cmdb.MIN_COMPUTERS, cmdb.MAX_COMPUTERS))
    p_cmdb.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same CMDB")
    p_cmdb.add_argument("--db", required=True, help="path of the SQLite file to write (replaced if present)")
    p_cmdb.set_defaults(func=lambda a: cmdb.command(a.db, a.computers, a.seed))

    p_add = sub.add_parser("add-computer", help="add one managed computer on the Internet to a lab CMDB")
    p_add.add_argument("--db", required=True, help="the lab CMDB (SQLite) to change")
    p_add.add_argument("--guid", required=True, help="its resource GUID")
    p_add.add_argument("--name", required=True, help="its computer name")
    p_add.add_argument("--gateway", help="its current Internet Gateway (none if not given)")
    p_add.set_defaults(func=lambda a: cmdb.add_computer(a.db, a.guid, a.name, gateway=a.gateway))

    services.add_subcommands(sub)
    rollback.add_subcommands(sub)
    sepm_edr.add_subcommands(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (OSError, ValueError) as exc:
        sys.stderr.write("itms-lab: %s\n" % exc)
        return 2
