# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab NS process: ``python -m itms_lab.ns --dir DIR`` (started by ``itms-lab up``).

Reads ``DIR/ns-config.json``, puts its ``policy_gateways`` into the default CEM settings policy, listens,
then writes ``DIR/ns-ready.json`` (pid and ports) so that ``itms-lab up`` knows it is up. SIGTERM or SIGINT
stops it cleanly.
"""

import argparse
import json
import os
import signal
import sys
import threading

if __package__ in (None, ""):  # run as a file: make ``itms_lab`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from itms_lab.ns.server import LabNS  # noqa: E402  pylint: disable=wrong-import-position
from itms_lab.ns.store import POLICY  # noqa: E402  pylint: disable=wrong-import-position

CONFIG = "ns-config.json"
READY = "ns-ready.json"


def _write_atomic(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m itms_lab.ns", description="Run the lab NS of a lab directory.")
    parser.add_argument("--dir", required=True, help="lab directory prepared by itms-lab up")
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir)
    with open(os.path.join(directory, CONFIG), encoding="utf-8") as handle:
        config = json.load(handle)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the shell that ran itms-lab up may go away

    try:
        lab = LabNS(config)
        if config.get("policy_gateways") is not None:
            # itms-lab up names the lab Internet Gateway (and --policy-port) in the default CEM settings policy.
            lab.store.set_gateways(POLICY, config["policy_gateways"])
        lab.start()
    except Exception as exc:  # itms-lab up shows this from the server log
        sys.stderr.write("itms-lab ns: cannot start: %s\n" % exc)
        return 2
    ready = os.path.join(directory, READY)
    _write_atomic(ready, {"pid": os.getpid(), "port": lab.port, "selfsigned_port": lab.selfsigned_port})
    sys.stderr.write("itms-lab ns: pid %d listening on https://127.0.0.1:%d (self-signed: %s)\n"
                     % (os.getpid(), lab.port, lab.selfsigned_port))
    sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        lab.stop()
        try:
            with open(ready, encoding="utf-8") as handle:
                mine = json.load(handle).get("pid") == os.getpid()
        except (OSError, ValueError):
            mine = False
        if mine:
            os.remove(ready)
        sys.stderr.write("itms-lab ns: pid %d stopped\n" % os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
