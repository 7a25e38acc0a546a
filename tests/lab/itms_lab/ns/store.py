# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab NS item store: one JSON file that outlives the server, and the items of a new lab.

Writes go to a temporary file in the same directory that then replaces the store with
``os.replace``, under one lock: a crash or a concurrent request never leaves a half-written store.

Type names, long type names and class GUIDs of the lab's items are the lab's own (prefix
``ItmsLab.``): the NS's internal class names are not publicly documented, and nothing in the
collection may depend on them. The CEM settings policy XML is the lab's stand-in (see the
shared interface spec); the real one is not publicly documented either.
"""

import json
import os
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ET

from itms_lab import cmdb

FORMAT = "itms-lab ns-items 1"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_LAB_NAMESPACE = uuid.UUID("2f6f1d0a-6c1e-4f55-9d1e-1a7b3c5d9e01")


def lab_guid(text):
    """A stable GUID for a lab-defined name (classes, folders)."""
    return str(uuid.uuid5(_LAB_NAMESPACE, text))


# TypeName -> (LongTypeName, kind). ``kind`` drives what the ASDK methods accept.
TYPES = {
    "Folder": ("ItmsLab.Items.Folder", "folder"),
    "CEMSettingsPolicy": ("ItmsLab.Policies.CEMSettingsPolicy", "policy"),
    "ResourceTarget": ("ItmsLab.Scoping.ResourceTarget", "target"),
    "OrganizationalGroup": ("ItmsLab.Scoping.OrganizationalGroup", "group"),
    "ResourceCollection": ("ItmsLab.Collections.ResourceCollection", "collection"),
    "Computer": ("ItmsLab.Resources.ComputerResource", "resource"),
}
CLASS_GUIDS = dict((name, lab_guid("class:" + name)) for name in TYPES)
TYPE_BY_CLASS = dict((guid, name) for name, guid in CLASS_GUIDS.items())

# The items of a new lab. The module unit tests' fake client (tests/unit/plugins/modules/ns_fake.py) imports
# these GUIDs and the policy XML, so a GUID means the same thing in both.
POLICY = "5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10"
SERVERS_POLICY = "6d2f7b55-2c62-4e88-8f10-5a1b6e3c8d21"
ALL_WINDOWS = "3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11"
PILOT = "4e1f6a3b-8c72-4e1c-8b64-1d3c0f6a2b22"
DEFAULT_GROUP = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PILOT_GROUP = "8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"
ALL_COMPUTERS = "9c3d4e5f-6a7b-4c8d-0e9f-1a2b3c4d5e6f"
LAPTOPS = "0d4e5f6a-7b8c-4d9e-1f0a-2b3c4d5e6f70"
FOLDER_CEM = lab_guid("folder:Cloud-enabled Management")
FOLDER_TARGETS = lab_guid("folder:Resource Targets")
FOLDER_VIEWS = lab_guid("folder:Organizational Views")
FOLDER_COLLECTIONS = lab_guid("folder:Collections")

DEFAULT_FOLDER = {"policy": FOLDER_CEM, "target": FOLDER_TARGETS, "group": FOLDER_VIEWS, "collection": FOLDER_COLLECTIONS}

SEED_COMPUTERS = 8  # "a handful": the first computers of the lab CMDB with the same seed

POLICY_XML = """<item guid="{{{guid}}}" classGuid="{{{class_guid}}}" version="1">
  <name>{name}</name>
  <typeName>CEMSettingsPolicy</typeName>
  <enabled>{enabled}</enabled>
  <policyData>
    <cemSettings allowCloudCommunication="{allow}" preferCemWhenOnVpn="False">
      <gateways>
        <gateway host="{host}" port="{port}" />
      </gateways>
    </cemSettings>
  </policyData>
</item>"""


class StoreError(Exception):
    """The store file cannot be used; the server must not start over it."""


def _filter(kind, operation, guids):
    return {"type": kind, "operation": operation, "guids": list(guids)}


def seed_items(seed=1):
    """The items of a new lab, as the store keeps them."""
    items = {}

    def add(guid, name, type_name, **fields):
        item = {"guid": guid, "name": name, "type": type_name, "parent": None, "enabled": False, "description": ""}
        item.update(fields)
        items[guid] = item
        return item

    add(FOLDER_CEM, "Cloud-enabled Management", "Folder")
    add(FOLDER_TARGETS, "Resource Targets", "Folder")
    add(FOLDER_VIEWS, "Organizational Views", "Folder")
    add(FOLDER_COLLECTIONS, "Collections", "Folder")

    # The CMDB generator is deterministic per seed and per index, so these are the first
    # computers of any lab CMDB written with the same seed (same GUIDs, names and OS).
    rows = cmdb.generate(cmdb.MIN_COMPUTERS, seed)["vComputer"][:SEED_COMPUTERS]
    computers = []
    for index, (guid, name, domain, ip, os_name, _managed) in enumerate(rows):
        add(guid, name, "Computer", resource={
            "domain": domain, "ip": ip, "os": os_name,
            # Agents with a TCM persistent connection answer PushPolicy; one in four has none.
            "tcm_connected": index % 4 != 3, "push_fails": index == 5,
        })
        computers.append((guid, name, os_name))
    all_guids = [c[0] for c in computers]
    laptops = [c[0] for c in computers if c[1].startswith("LT-")]
    not_windows = [c[0] for c in computers if not c[2].startswith("Windows")]

    add(DEFAULT_GROUP, "Default", "OrganizationalGroup", parent=FOLDER_VIEWS, members=list(all_guids))
    add(PILOT_GROUP, "CEM Pilot Group", "OrganizationalGroup", parent=FOLDER_VIEWS, members=all_guids[:3])
    add(ALL_COMPUTERS, "All Computers", "ResourceCollection", parent=FOLDER_COLLECTIONS, members=list(all_guids))
    add(LAPTOPS, "CEM Laptops", "ResourceCollection", parent=FOLDER_COLLECTIONS, members=laptops)

    windows_filters = [_filter("Resource Collection", "Union", [ALL_COMPUTERS])]
    if not_windows:
        windows_filters.append(_filter("Individual Resources", "Except", sorted(not_windows)))
    add(ALL_WINDOWS, "All Windows Computers", "ResourceTarget", parent=FOLDER_TARGETS,
        description="Every Windows computer", config={"mode": "Computers", "base": None, "filters": windows_filters})
    add(PILOT, "CEM Pilot", "ResourceTarget", parent=FOLDER_TARGETS, description="Computers of the CEM pilot",
        config={"mode": "Computers", "base": None,
                "filters": [_filter("Organizational Group", "Union", [PILOT_GROUP])]})

    name = "Default Cloud-Enabled Management Settings Policy"
    add(POLICY, name, "CEMSettingsPolicy", parent=FOLDER_CEM, enabled=False, targets=[ALL_WINDOWS],
        xml=POLICY_XML.format(guid=POLICY, class_guid=CLASS_GUIDS["CEMSettingsPolicy"], name=name, enabled="False",
                              allow="False", host="ig-emea.cem.example.com", port=443))
    name = "Cloud-enabled Management Settings (Servers)"
    add(SERVERS_POLICY, name, "CEMSettingsPolicy", parent=FOLDER_CEM, enabled=True, targets=[],
        xml=POLICY_XML.format(guid=SERVERS_POLICY, class_guid=CLASS_GUIDS["CEMSettingsPolicy"], name=name,
                              enabled="True", allow="True", host="ig-amer.cem.example.com", port=443))
    return items


class Store:
    """The items of the lab NS. Hold ``lock`` while reading several items or changing any."""

    def __init__(self, path, seed=1):
        self.path = os.path.abspath(path)
        self.lock = threading.RLock()
        self.items = {}
        if os.path.exists(self.path):
            self.items = self._load()
        else:
            self.items = seed_items(seed)
            self.commit()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise StoreError("cannot read the NS item store %s: %s (move it away to start from a new lab)" % (self.path, exc))
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("items"), dict):
            raise StoreError("%s is not an itms-lab NS item store (format %r); move it away to start from a new lab"
                             % (self.path, FORMAT))
        for guid, item in data["items"].items():
            if item.get("type") not in TYPES or item.get("guid") != guid:
                raise StoreError("%s: item %s has an unknown type %r" % (self.path, guid, item.get("type")))
        return data["items"]

    def commit(self):
        """Write the store atomically; call with ``lock`` held after a change."""
        with self.lock:
            directory = os.path.dirname(self.path)
            os.makedirs(directory, exist_ok=True)
            handle, tmp = tempfile.mkstemp(prefix=".ns-items.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump({"format": FORMAT, "items": self.items}, out, indent=1, sort_keys=True)
                    out.write("\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise

    def get(self, guid):
        return self.items.get(guid)

    def set_gateways(self, guid, gateways):
        """Make ``gateways`` ([{host, port}]) the gateway list of a CEM settings policy; True if it changed.

        ``itms-lab up`` names the lab Internet Gateway in the default policy this way, so the policy
        matches the gateway's listener (or, with ``--policy-port``, deliberately does not).
        """
        with self.lock:
            item = self.items.get(guid)
            if item is None or item.get("type") != "CEMSettingsPolicy" or not item.get("xml"):
                raise StoreError("%s: no CEM settings policy %s to give the lab gateway to" % (self.path, guid))
            root = ET.fromstring(item["xml"], parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
            cem = root.find("policyData/cemSettings")
            if cem is None:
                raise StoreError("%s: the policy %s has no policyData/cemSettings element" % (self.path, guid))
            holder = cem.find("gateways")
            if holder is None:
                holder = ET.SubElement(cem, "gateways")
            current = [(g.get("host"), g.get("port")) for g in holder.findall("gateway")]
            wanted = [(g["host"], str(g["port"])) for g in gateways]
            if current == wanted and len(holder) == len(wanted):
                return False
            tail = holder.tail
            holder.clear()
            holder.tail = tail
            for host, port in wanted:
                ET.SubElement(holder, "gateway", {"host": host, "port": port})
            ET.indent(holder, "  ", level=3)  # item/policyData/cemSettings/gateways
            item["xml"] = ET.tostring(root, encoding="unicode")
            self.commit()
            return True

    def kind(self, item):
        return TYPES[item["type"]][1]
