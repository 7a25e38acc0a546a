# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the itms.cem.report playbook through ansible-runner as AWX runs a job, and check what the job leaves.

AWX (and Automation Platform) hand ansible-runner a private data directory: credentials as environment variables
in env/envvars, prompts' answers in env/passwords, the job template's variables in env/extravars, the inventory in
inventory/, and the project in project/. This script builds one against a lab CMDB and checks:

* the job is successful with rc 0 and writes the three report files where itms_report_dir says;
* the report summary can be read from the job events (what AWX stores and shows), and matches the JSON file;
* the password given in env/passwords appears nowhere under artifacts/; the one given in env/envvars
  (ITMS_CMDB_PASSWORD) appears only in artifacts/<ident>/command, ansible-runner's own record of the process
  environment (mode 0600), and never in the job events, stdout or anything else the job leaves.

Usage: runner_job.py COLLECTION_ROOT WORK_DIR  (COLLECTION_ROOT on ANSIBLE_COLLECTIONS_PATH, WORK_DIR empty)
"""
import json
import os
import secrets
import stat
import subprocess
import sys

import ansible_runner

IDENT = "job-1"
FORMATS = ("json", "csv", "html")


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def private_data_dir(work, db, profile, env_password, prompt_password):
    pdd = os.path.join(work, "private")
    os.makedirs(os.path.join(pdd, "project"))  # AWX's project checkout; the playbook comes from the collection
    os.makedirs(os.path.join(pdd, "inventory"))
    with open(os.path.join(pdd, "inventory", "hosts"), "w", encoding="utf-8") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    # a custom credential type's injector: the CMDB URL and the SQL Server password as environment variables
    write_json(os.path.join(pdd, "env", "envvars"), {
        "ITMS_CMDB_URL": "sqlite:///%s" % db,
        "ITMS_CMDB_PASSWORD": env_password,
    })
    # the job template's extra variables: the report directory inside the private data directory
    write_json(os.path.join(pdd, "env", "extravars"), {
        "itms_report_dir": os.path.join(pdd, "reports"),
        "itms_cmdb_profile": profile,
    })
    # answers to prompts, as AWX writes them for credentials that prompt
    write_json(os.path.join(pdd, "env", "passwords"), {r"^Vault password:\s*?$": prompt_password})
    write_json(os.path.join(pdd, "env", "settings"), {"job_timeout": 600, "idle_timeout": 300})
    return pdd


def summary_from_events(events):
    """The report's summary as AWX has it: from the job events of the cem_report task and the role's debug task."""
    summary = message = None
    for event in events:
        if event.get("event") != "runner_on_ok":
            continue
        data = event.get("event_data", {})
        result = data.get("res", {})
        if data.get("task_action") in ("itms.cem.cem_report", "cem_report"):
            summary = result.get("summary")
        elif data.get("task_action") in ("ansible.builtin.debug", "debug") and "computers=" in str(result.get("msg")):
            message = result["msg"]
    return summary, message


def files_holding(root, needle):
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                if needle.encode() in handle.read():
                    found.append(os.path.relpath(path, root))
    return sorted(found)


def main(collection_root, work):
    failures = []
    db = os.path.join(work, "cmdb.sqlite")
    profile = os.path.join(collection_root, "tests", "lab", "profiles", "cmdb.yml")
    lab_env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    subprocess.run([os.path.join(collection_root, "tests", "lab", "itms-lab"), "cmdb", "--computers", "800",
                    "--seed", "11", "--db", db], check=True, env=lab_env)

    env_password = "env-" + secrets.token_hex(12)
    prompt_password = "prompt-" + secrets.token_hex(12)
    pdd = private_data_dir(work, db, profile, env_password, prompt_password)

    # verbosity 3: a job template may ask for -vvv, and the password must stay out of that output too
    runner = ansible_runner.run(private_data_dir=pdd, playbook="itms.cem.report", ident=IDENT, verbosity=3,
                                quiet=True)
    events = list(runner.events)
    print("ansible-runner: status %s, rc %s, %d job events" % (runner.status, runner.rc, len(events)))
    if runner.status != "successful" or runner.rc != 0:
        failures.append("job status %r, rc %r; stdout:\n%s" % (runner.status, runner.rc, runner.stdout.read()[-4000:]))

    report_dir = os.path.join(pdd, "reports")
    missing = [f for f in FORMATS if not os.path.isfile(os.path.join(report_dir, "cem-report." + f))]
    if missing:
        failures.append("report files missing in itms_report_dir: %s" % ", ".join(missing))

    summary, message = summary_from_events(events)
    if not summary or not message:
        failures.append("no report summary in the job events (cem_report: %r, debug: %r)" % (summary, message))
    elif "cem-report.json" not in missing:
        with open(os.path.join(report_dir, "cem-report.json"), encoding="utf-8") as handle:
            file_summary = json.load(handle)["summary"]
        if summary != file_summary:
            failures.append("summary in the job events %r differs from the JSON file's %r" % (summary, file_summary))
        else:
            print("summary from the job events: %s" % json.dumps(summary, sort_keys=True))

    artifacts = os.path.join(pdd, "artifacts")
    prompt_hits = files_holding(artifacts, prompt_password)
    if prompt_hits:
        failures.append("the env/passwords password is in artifacts/%s" % ", artifacts/".join(prompt_hits))
    command = os.path.join(IDENT, "command")
    env_hits = files_holding(artifacts, env_password)
    if [hit for hit in env_hits if hit != command]:
        failures.append("the ITMS_CMDB_PASSWORD password is in artifacts/%s" % ", artifacts/".join(env_hits))
    if command in env_hits and stat.S_IMODE(os.stat(os.path.join(artifacts, command)).st_mode) != 0o600:
        failures.append("artifacts/%s holds the job's environment and is not mode 0600" % command)
    checked = sum(len(names) for _folder, _dirs, names in os.walk(artifacts))
    print("secrets: %d artifact files read; the env/passwords password in none; ITMS_CMDB_PASSWORD only in %s"
          % (checked, ", ".join("artifacts/" + hit for hit in env_hits) or "none"))

    if failures:
        sys.stderr.write("\n".join(failures) + "\n")
        return 1
    print("runner_report: job successful, %s written, summary from the job events, no password leaked"
          % ", ".join("cem-report." + f for f in FORMATS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
