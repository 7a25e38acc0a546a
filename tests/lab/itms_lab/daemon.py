# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab service process: ``python -m itms_lab.daemon --dir DIR --service gateway|tls|dns|edr`` (run by ``itms-lab up``).

Reads ``DIR/<service>-config.json``, starts the service, then writes ``DIR/<service>-ready.json`` (its pid
and what the service reports: its ports) so that ``itms-lab up`` knows it is up. SIGTERM or SIGINT stops
it cleanly; the ready file goes with it.
"""

import argparse
import json
import os
import signal
import sys
import threading

if __package__ in (None, ""):  # run as a file: make ``itms_lab`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SERVICES = ("gateway", "tls", "dns", "edr")


class _Dns:
    """The lab DNS server (``itms_lab.dns.LabDns``) with the zone and port of its config."""

    def __init__(self, config):
        self.config = config
        self.server = None

    def start(self):
        from itms_lab.dns import LabDns

        port = int(self.config.get("port") or 0)
        try:
            self.server = LabDns(self.config["zone"], self.config.get("host", "127.0.0.1"), port).start()
        except OSError:
            if not port:
                raise
            self.server = LabDns(self.config["zone"], self.config.get("host", "127.0.0.1"), 0).start()
        return self

    def ready(self):
        return {"port": self.server.port}

    def stop(self):
        if self.server is not None:
            self.server.stop()


def _service(name, config):
    if name == "gateway":
        from itms_lab.gateway import Gateway
        return Gateway(config)
    if name == "tls":
        from itms_lab.endpoints import Endpoints
        return Endpoints(config)
    if name == "edr":
        from itms_lab.sepm_edr import SepmEdr
        return SepmEdr(config)
    return _Dns(config)


def _write_atomic(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m itms_lab.daemon", description="Run one service of a lab directory.")
    parser.add_argument("--dir", required=True, help="lab directory prepared by itms-lab up")
    parser.add_argument("--service", required=True, choices=SERVICES)
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir)
    with open(os.path.join(directory, "%s-config.json" % args.service), encoding="utf-8") as handle:
        config = json.load(handle)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the shell that ran itms-lab up may go away

    label = "itms-lab %s" % args.service
    try:
        service = _service(args.service, config).start()
    except Exception as exc:  # itms-lab up shows this from the server log
        sys.stderr.write("%s: cannot start: %s\n" % (label, exc))
        return 2
    ready_path = os.path.join(directory, "%s-ready.json" % args.service)
    ready = dict(service.ready(), pid=os.getpid())
    _write_atomic(ready_path, ready)
    sys.stderr.write("%s: pid %d ready: %s\n" % (label, os.getpid(), json.dumps(ready, sort_keys=True)))
    sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
        try:
            with open(ready_path, encoding="utf-8") as handle:
                mine = json.load(handle).get("pid") == os.getpid()
        except (OSError, ValueError):
            mine = False
        if mine:
            os.remove(ready_path)
        sys.stderr.write("%s: pid %d stopped\n" % (label, os.getpid()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
