# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's background processes: start detached, find again, stop.

Every lab service runs as ``python -m MODULE --dir DIR [--service NAME]`` in a session of its own (so
it outlives the shell that started it). ``up`` writes ``DIR/<prefix>.pid``; the process writes
``DIR/<prefix>-ready.json`` (``pid`` and its ports) once it listens; stdout and stderr go to
``DIR/<prefix>-server.log``. A pid counts as the service's only while that process's command line
names the module and the directory, so a recycled pid is never taken for it, nor killed.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STOP_TIMEOUT_S = 5


class LabError(Exception):
    """A failure of a lab command, with what to do about it."""


def write_text(path, text, mode=0o644):
    """Write ``path`` atomically (a temporary file in the same directory, then ``os.replace``)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_json(path, data, mode=0o644):
    write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n", mode)


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def log_tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:]).strip()
    except OSError:
        return "(no server log)"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        return True


def _pid_file(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return None


class Service:
    """One background process of a lab directory."""

    def __init__(self, directory, title, prefix, argv):
        self.directory = directory
        self.title = title  # for messages: "the lab NS", "the lab Internet Gateway", ...
        self.argv = list(argv)  # after the interpreter: ["-m", "itms_lab.ns", "--dir", DIR]
        self.pid_path = os.path.join(directory, prefix + ".pid")
        self.ready_path = os.path.join(directory, prefix + "-ready.json")
        self.log_path = os.path.join(directory, prefix + "-server.log")

    def _is_mine(self, pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                args = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            return (read_json(self.ready_path) or {}).get("pid") == pid  # no /proc: trust the process's own file
        return all(arg in args for arg in self.argv[1:])

    def running_pid(self):
        """The pid from the pid file (written by up), else from the ready file (written by the process)."""
        for pid in (_pid_file(self.pid_path), (read_json(self.ready_path) or {}).get("pid")):
            if pid and alive(pid) and self._is_mine(pid):
                return pid
        return None

    def ready(self):
        return read_json(self.ready_path)

    def spawn(self, env=None):
        """Start the process detached; return the Popen (wait for it with ``wait_ready``)."""
        env = dict(os.environ if env is None else env)
        env["PYTHONPATH"] = LAB + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("PYTHONSTARTUP", None)
        if os.path.exists(self.ready_path):
            os.remove(self.ready_path)
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen([sys.executable] + self.argv, cwd=self.directory, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                       start_new_session=True)
        write_text(self.pid_path, "%d\n" % process.pid)
        return process

    def wait_ready(self, process, timeout, probe=None):
        """The ready file once the process wrote it (and ``probe(ready)`` holds); LabError if it exits or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._forget()
                raise LabError("%s exited at start (code %s); %s says:\n%s"
                               % (self.title, process.returncode, self.log_path, log_tail(self.log_path)))
            ready = read_json(self.ready_path)
            if ready and ready.get("pid") == process.pid and (probe is None or probe(ready)):
                process.returncode = 0  # detached on purpose: no warning that it still runs when up exits
                return ready
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)
        self._forget()
        raise LabError("%s did not answer within %d s; %s says:\n%s"
                       % (self.title, timeout, self.log_path, log_tail(self.log_path)))

    def start(self, timeout, probe=None, env=None):
        return self.wait_ready(self.spawn(env), timeout, probe)

    def _forget(self):
        for path in (self.pid_path, self.ready_path):
            if os.path.exists(path):
                os.remove(path)

    def stop(self):
        """Stop the process (SIGTERM, then SIGKILL); its pid, or None when nothing ran."""
        pid = self.running_pid()
        if pid is None:
            self._forget()
            return None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not alive(pid):
                break
        if alive(pid):
            raise LabError("%s (pid %d) of %s did not stop" % (self.title, pid, self.directory))
        self._forget()
        return pid


class RequestLog:
    """One JSON line per HTTP request of a lab server; the file is opened per line, so it may be truncated or moved.

    A server writes the line before it sends the answer, so a client that has the answer finds its line.
    """

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
