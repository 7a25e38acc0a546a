"""What runme.sh needs from the lab's lab.json.

lab_vars.py LAB_JSON console SCENARIO   the playbook's extra vars for SCENARIO: {"itms_edr_console": ...}
lab_vars.py LAB_JSON secrets            every password, client secret and token-like secret of the lab, one per line
"""
import json
import sys

lab = json.load(open(sys.argv[1], encoding="utf-8"))
if sys.argv[2] == "console":
    json.dump({"itms_edr_console": lab["edr_scenarios"][sys.argv[3]]["console"]}, sys.stdout)
else:
    secrets = [lab["sepm"]["password"], lab["sepm_peer"]["password"], lab["edr"]["client_secret"]]
    sys.stdout.write("\n".join(s for s in secrets if s) + "\n")
