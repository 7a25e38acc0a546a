"""Exit 1 unless every host in an ansible-playbook log's PLAY RECAP has changed=0."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
recap = text.split("PLAY RECAP", 1)[-1]
counts = re.findall(r"^(\S+)\s+:.*\bchanged=(\d+)", recap, re.M)
if not counts:
    sys.exit("no PLAY RECAP in %s" % sys.argv[1])
changed = [(host, int(n)) for host, n in counts if int(n)]
if changed:
    sys.exit("the play changed something: %s" % changed)
