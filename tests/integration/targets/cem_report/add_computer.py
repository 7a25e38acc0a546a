# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Add one managed computer on the Internet, with its Network Zone inventory, to a lab CMDB.

usage: add_computer.py DB GUID NAME
"""
import sqlite3
import sys


def main(db_path, guid, name):
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO vComputer VALUES (?, ?, 'corp.example.com', '10.0.0.1', 'Windows 11 Enterprise', 1)",
               (guid, name))
    db.execute("INSERT INTO Inv_AeX_AC_Network_Zone ([_ResourceGuid], [IsOnInternet], [InternetModeSupported], "
               "[AppliedPolicyCount], [HTTPSMode], [TLS]) VALUES (?, 1, 1, 1, 1, 'TLS 1.3')", (guid,))
    db.commit()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
