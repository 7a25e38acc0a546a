# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab SEPMs and the lab EDR hold, per scenario: pure data, no I/O (the servers are ``sepm.py`` and ``edr.py``).

``World(scenario, ports, pems)`` is one moment of the lab: ``sites`` (the primary SEPM ``sepm`` and its peer
``sepm_peer``: the same group tree, their own computers and ids) and ``edr`` (appliances, System Health events,
event rate, endpoint entities). ``SCENARIOS`` says, per scenario, what it changes, which verdicts of
``_edr_rules.evaluate`` fail with the scenario's ``console`` (what an operator would read in the EDR console), and
that console. The shapes are those of the SEPM REST contract (``tests/contracts/sepm-rest-subset.json``) and of
the EDR API v2 answers the reference quotes; values the vendor does not document (the meaning of ``edrStatus``,
``atpServer``, a healthy System Health event's ``status_detail``, appliance roles) are the lab's guesses.
"""

import copy
import datetime
import hashlib

PRIMARY, PEER = "sepm", "sepm_peer"
FQDNS = {PRIMARY: "sepm.cem-lab.internal", PEER: "sepm-peer.cem-lab.internal"}
EDR_FQDN = "edr.cem-lab.internal"
LISTENERS = ("edr_good", "edr_no_san", "edr_proxy", "edr_second")
DEFAULT_SCENARIO = "healthy"
EDR_VERSION = "4.9.0-123"
SEPM_VERSION = {"API_SEQUENCE": "240604011", "API_VERSION": "14.3.9000", "version": "14.3.25029.9000"}  # a live 14.3
AGENT_VERSION = "14.3.9816.7000"
DNS_DOMAIN = "corp.cem-lab.internal"
BASE = datetime.datetime(2026, 11, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)  # the lab's fixed date (as the CMDB's)
HEALTHY_EVENT_RATE = 25  # events per second the SEP clients send to EDR
EVENT_RATE = 500  # scenario event_rate: above the 400/s of an EDR Virtual Edition (KB 236805 cause 8)

MY_COMPANY, DEFAULT_GROUP = "My Company", "My Company\\Default Group"
SERVERS, WORKSTATIONS, KIOSKS = "My Company\\Servers", "My Company\\Workstations", "My Company\\Kiosks"
WIN10 = ("Windows 10 Enterprise Edition", "Win10", "Workstation", "10.0")
WIN11 = ("Windows 11 Enterprise Edition", "Win11", "Workstation", "10.0")
WIN2019 = ("Windows Server 2019 Standard Edition", "Win2K19", "Server", "10.0")
TREE = (  # full path, inherits from its parent, computer name prefix, computers, OS
    (MY_COMPANY, False, None, 0, None),
    (DEFAULT_GROUP, False, "PC", 6, WIN10),
    (SERVERS, False, "SRV", 8, WIN2019),
    (WORKSTATIONS, False, "WS", 12, WIN11),
    (WORKSTATIONS + "\\Laptops", True, "LT", 8, WIN11),
    (KIOSKS, False, "KIOSK", 6, WIN10),
)
NAME_PREFIX = {PRIMARY: "", PEER: "B-"}  # the peer's computers are its own (another SEPM site)
STALE_POLICY = (1, 3, 5, 7, 9)  # policy_not_pushed: these Workstations computers (0-based, all online) lag a policy
NOT_ENROLLED = ("SRV-003", "WS-007", "LT-002", "KIOSK-04")  # edr_inventory: online, never enrolled with EDR
LAB_PROXY = {"http_mode": 2, "http_host": "proxy.cem-lab.internal", "http_port": 3128, "https_port": 3128,
             "http_auth_required": False}  # http_mode 2 = a custom proxy (inferred; 0 = none)
NO_PROXY = {"http_mode": 0, "http_auth_required": False}

HEALTHY_CONSOLE = {"sepm_controller_name": FQDNS[PRIMARY], "group_inclusions": [], "include_inherited_subgroups": True,
                   "apply_to_non_default_groups": True, "virtual_edition": False, "sepm_count": 2}

SCENARIOS = {
    "healthy": {"description": "nothing is wrong: every group with computers uses the EDR at edr_good, whose certificate "
                               "covers the address and is the one SEPM pushes", "expected_fail": [], "console": {}},
    "edr_certificate_name": {"description": "the private-cloud address is 127.0.0.1, the EDR certificate names localhost "
                                            "only (KB 171881)", "expected_fail": ["edr_certificate_name"], "console": {}},
    "sepm_certificate_name": {"description": "the SEPM Controller connection in EDR is named sepm-old.cem-lab.internal, "
                                             "which the SEPM certificate does not name",
                              "expected_fail": ["sepm_certificate_name"],
                              "console": {"sepm_controller_name": "sepm-old.cem-lab.internal"}},
    "policy_not_pushed": {"description": "5 online Workstations computers have an older profileSerialNo than the group's "
                                         "policySerialNumber", "expected_fail": ["policy_not_pushed"], "console": {}},
    "tls_interception": {"description": "the server points at edr_proxy (a certificate of the 'itms.cem lab intercepting "
                                        "proxy' CA) while SEPM pushes the edr_good certificate; the groups name a proxy",
                         "expected_fail": ["tls_interception"], "console": {}},
    "multiple_edr_appliances": {"description": "Servers lists a second EDR server localhost:<edr_second> (its own "
                                               "certificate pushed)", "expected_fail": ["multiple_edr_appliances"],
                                "console": {}},
    "group_across_sepms": {"description": "the peer SEPM's My Company\\Servers has the private cloud disabled",
                           "expected_fail": ["group_across_sepms"], "console": {}},
    "event_rate": {"description": "the SEP clients send %d events per second to an EDR Virtual Edition" % EVENT_RATE,
                   "expected_fail": ["event_rate"], "console": {"virtual_edition": True}},
    "edr_certificate_san": {"description": "the server points at edr_no_san (CN localhost, no SAN; EDR %s), whose "
                                           "certificate SEPM pushes" % EDR_VERSION,
                            "expected_fail": ["edr_certificate_name", "edr_certificate_san"], "console": {}},
    "group_inclusion": {"description": "My Company\\Kiosks (with computers) is not in the EDR Group Inclusion list and "
                                       "has the private cloud disabled", "expected_fail": ["group_inclusion"],
                        "console": {"group_inclusions": [DEFAULT_GROUP, SERVERS, WORKSTATIONS]}},
    "non_default_groups": {"description": "only My Company and Default Group carry the private cloud: 'Apply private "
                                          "cloud policies to all non-default SEPM groups' is off",
                           "expected_fail": ["non_default_groups", "group_inclusion"],
                           "console": {"apply_to_non_default_groups": False, "group_inclusions": []}},
    "default_location_local": {"description": "Workstations' default location has External Communication settings of "
                                              "its own (a proxy, failover on) instead of the group's",
                               "expected_fail": ["default_location_local"], "console": {}},
    "edr_health": {"description": "3 System Health events (certificate_error, connection_error) in the last hour",
                   "expected_fail": ["edr_health"], "console": {}},
    "edr_inventory": {"description": "4 online computers (%s) are missing from the EDR endpoints" % ", ".join(NOT_ENROLLED),
                      "expected_fail": ["edr_inventory"], "console": {}},
    "edr_version": {"description": "the EDR appliance reports 3.1.0 (ATP 3.x)", "expected_fail": ["edr_version"],
                    "console": {}},
}


def names():
    return list(SCENARIOS)


def console(scenario):
    """The full console of a scenario: the healthy one with the scenario's overrides."""
    value = copy.deepcopy(HEALTHY_CONSOLE)
    value.update(copy.deepcopy(SCENARIOS[scenario]["console"]))
    return value


def catalogue():
    """``edr_scenarios`` of lab.json: {name: {description, expected_fail, console}}."""
    return dict((name, {"description": entry["description"], "expected_fail": list(entry["expected_fail"]),
                        "console": console(name)}) for name, entry in SCENARIOS.items())


# --------------------------------------------------------------------------- small deterministic values

def _digest(*parts):
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def sepm_id(*parts):
    """A SEPM object id: 32 upper-case hex digits."""
    return _digest(*parts)[:32].upper()


def uuid_of(*parts):
    h = _digest(*parts)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def ms(moment):
    return int(moment.timestamp() * 1000)


def iso(moment):
    """EDR API time: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _serial(path, moment):
    """A policy serial number as SEPM writes one: ``XXXX-MM/DD/YYYY HH:MM:SS mmm``."""
    return "%s-%s %03d" % (_digest(path, moment.isoformat())[:4].upper(), moment.strftime("%m/%d/%Y %H:%M:%S"),
                           int(_digest(path)[:4], 16) % 1000)


# --------------------------------------------------------------------------- external communication settings

def _server(name, address, listener, ports, pems):
    return {"name": name, "description": "lab EDR (%s)" % listener, "address": address, "port": ports[listener],
            "protocol": "https", "enable": True, "legacyclientsupport": False,
            "certificates": [{"name": "%s.pem" % listener, "content": pems[listener]}]}


def external_communication(servers, proxy=None, failover=False):
    """ExternalCommunicationSettings; ``servers`` None: the private cloud is off and lists no server."""
    privatecloud = {"enableservers": False, "failover": False, "groups": []}
    if servers:
        privatecloud = {"enableservers": True, "servertype": "ATP", "failover": failover,
                        "groups": [{"serverCount": len(servers), "servers": servers}]}
    return {"lowbandwidth": {"enablelowbandwidth": False, "enablelowconnectivity": False,
                             "enablelowconnectivityclient": False},
            "privatecloud": privatecloud, "proxy": dict(proxy or NO_PROXY), "mac_proxy": dict(NO_PROXY), "insight": True,
            "telemetry": {"enabled": True, "reputation": True, "process": True, "network": True, "config": True,
                          "client_data": True}}


def _servers(scenario, role, path, ports, pems):
    """The private-cloud servers of a non-inheriting group, or None when its private cloud is off."""
    if ((scenario == "non_default_groups" and path not in (MY_COMPANY, DEFAULT_GROUP))
            or (scenario == "group_inclusion" and path == KIOSKS)
            or (scenario == "group_across_sepms" and role == PEER and path == SERVERS)):
        return None
    address = "127.0.0.1" if scenario == "edr_certificate_name" else "localhost"
    listener, pushed = {"tls_interception": ("edr_proxy", "edr_good"),
                        "edr_certificate_san": ("edr_no_san", "edr_no_san")}.get(scenario, ("edr_good", "edr_good"))
    first = _server("EDR", address, listener, ports, pems)
    first["certificates"] = [{"name": "%s.pem" % pushed, "content": pems[pushed]}]
    servers = [first]
    if scenario == "multiple_edr_appliances" and path == SERVERS:
        servers.append(_server("EDR 2", "localhost", "edr_second", ports, pems))
    return servers


def uses_edr(settings):
    privatecloud = settings["privatecloud"]
    return bool(privatecloud.get("enableservers") and str(privatecloud.get("servertype", "")).upper() == "ATP"
                and any(s.get("enable") for g in privatecloud.get("groups") or [] for s in g.get("servers") or []))


def _location_settings(fqdn, settings):
    """GroupSettingsConfiguration of a location."""
    return {"communication_settings": {"mode": "PULL", "pull_mode_heartbeat_freq_in_seconds": 300,
                                       "upload_op_state_heartbeat_freq_in_seconds": 300,
                                       "upload_log_heartbeat_freq_in_seconds": 300,
                                       "upload_cmd_state_heartbeat_freq_in_seconds": 300,
                                       "sem_server": {"name": fqdn, "description": "management server list of the lab"},
                                       "download_profile": True, "connect_to_server": True, "app_upload": True,
                                       "randomization_enabled": False},
            "general_settings": {"security_settings": {"stopped_mode": "ALLOW", "secure_communications": True},
                                 "tamper_protection": {"enabled": True, "log_action": 1}},
            "live_update_content_settings": {"description": "lab default"},
            "external_communication_settings": copy.deepcopy(settings)}


# --------------------------------------------------------------------------- one SEPM

class Site:
    """One lab SEPM's data in the contract's shapes: ``groups`` (tree order) and ``computers``."""

    def __init__(self, role, scenario, ports, pems, now):
        self.role, self.scenario, self.fqdn = role, scenario, FQDNS[role]
        self.domain = {"id": sepm_id(role, "domain"), "name": "Default"}
        self.admin_id = sepm_id(role, "admin")
        self.server_id = sepm_id(role, "server")
        self.groups, self.computers, self._by_id, self._by_path = [], [], {}, {}
        self.os_codes = {}
        for index, (path, inherits, prefix, count, os_info) in enumerate(TREE):
            group = self._group(path, inherits, ports, pems)
            self.groups.append(group)
            self._by_id[group["id"]] = group
            self._by_path[path] = group
            for number in range(count):
                self.computers.append(self._computer(group, index, prefix, number, count, os_info, now))
        for group in self.groups:
            group["json"]["numberOfPhysicalComputers"] = sum(1 for c in self.computers if c["group"]["id"] == group["id"])

    def _group(self, path, inherits, ports, pems):
        parent = self._by_path.get(path.rsplit("\\", 1)[0]) if "\\" in path else None
        owner = parent["owner"] if inherits else None
        group = {"id": sepm_id(self.role, "group", path), "path": path, "inherits": inherits, "parent": parent}
        group["owner"] = owner or group  # the non-inheriting group whose policies and locations apply
        if owner is None:
            settings = external_communication(_servers(self.scenario, self.role, path, ports, pems),
                                              proxy=LAB_PROXY if self.scenario == "tls_interception" else None)
            group["settings"] = settings
            group["locations"] = [{"id": sepm_id(self.role, "location", path, name), "name": name}
                                  for name in ("Default", "Remote")]
            group["location_settings"] = dict((loc["id"], copy.deepcopy(settings)) for loc in group["locations"])
            if self.scenario == "default_location_local" and path == WORKSTATIONS:
                local = copy.deepcopy(settings)
                local["proxy"] = dict(LAB_PROXY)
                local["privatecloud"]["failover"] = True
                group["location_settings"][group["locations"][0]["id"]] = local
            group["serial_date"] = BASE - datetime.timedelta(hours=len(path))
            group["serial"] = _serial(path, group["serial_date"])
        owner = group["owner"]
        created = BASE - datetime.timedelta(days=400 - len(path))
        group["json"] = {
            "id": group["id"], "name": path.rsplit("\\", 1)[-1], "description": "lab group %s" % path, "fullPathName": path,
            "numberOfPhysicalComputers": 0, "numberOfRegisteredUsers": 0, "createdBy": self.admin_id,
            "created": ms(created), "lastModified": ms(owner["serial_date"]), "policySerialNumber": owner["serial"],
            "policyDate": ms(owner["serial_date"]), "customIpsNumber": "", "defaultLocationId": owner["locations"][0]["id"],
            "domain": dict(self.domain), "policyInheritanceEnabled": inherits}
        return group

    def _computer(self, group, group_index, prefix, number, count, os_info, now):
        role, name = self.role, "%s%s-%03d" % (NAME_PREFIX[self.role], prefix, number + 1)
        if prefix == "KIOSK":
            name = "%s%s-%02d" % (NAME_PREFIX[self.role], prefix, number + 1)
        online = number != count - 1  # the last computer of each group is off
        owner = group["owner"]
        serial, serial_date = owner["serial"], owner["serial_date"]
        if not online or (self.scenario == "policy_not_pushed" and group["path"] == WORKSTATIONS and number in STALE_POLICY):
            serial_date = serial_date - datetime.timedelta(days=7)
            serial = _serial(owner["path"], serial_date)
        settings = owner["location_settings"][owner["locations"][0]["id"]]
        enrolled = uses_edr(settings) and not (self.scenario == "edr_inventory" and name in NOT_ENROLLED)
        first = settings["privatecloud"]["groups"][0]["servers"][0] if enrolled else None
        last = now - (datetime.timedelta(minutes=2 + number) if online else datetime.timedelta(days=3 + number))
        ip = "10.%d.%d.%d" % (10 if role == PRIMARY else 20, group_index, 10 + number)
        mac = ":".join(_digest(role, name, "mac")[i:i + 2] for i in range(0, 12, 2)).upper()
        unique = sepm_id(role, "computer", name)
        self.os_codes[unique] = os_info[1]
        return {
            "computerName": name, "uniqueId": unique, "hardwareKey": sepm_id(role, "hardware", name),
            "agentId": sepm_id(role, "agent", name), "agentVersion": AGENT_VERSION, "deploymentRunningVersion": AGENT_VERSION,
            "agentType": "105", "operatingSystem": os_info[0], "osName": os_info[0], "osFunction": os_info[2],
            "osVersion": os_info[3], "osMajor": 10, "osMinor": 0, "osBitness": "x64", "domainOrWorkgroup": "CORP",
            "ipAddresses": [ip], "macAddresses": [mac], "lastConnectedIpAddr": ip,
            "group": {"id": group["id"], "name": group["json"]["name"], "fullPathName": group["path"],
                      "domain": dict(self.domain)},
            "onlineStatus": 1 if online else 0, "lastUpdateTime": ms(last), "creationTime": ms(BASE - datetime.timedelta(days=300)),
            "lastServerId": self.server_id, "lastServerName": self.fqdn, "lastSiteId": sepm_id(role, "site"),
            "lastSiteName": "Site CEMLAB%s" % ("" if role == PRIMARY else "-B"),
            "profileSerialNo": serial, "profileVersion": "14.3.%d" % (ms(serial_date) // 1000 % 100000),
            "profileChecksum": _digest(serial)[:32].upper(),
            "atpDeviceId": uuid_of(role, "edr", name) if enrolled else "",
            "atpServer": "%s:%d" % (first["address"], first["port"]) if first else "",
            "edrStatus": 1 if enrolled else 0,  # the lab's guess: the meaning of edrStatus is not documented
            "deleted": 0, "logonUserName": "user%02d" % (number + 1),
            "sonar": 1, "SONAR": 0,  # SEPM 14.3 returns keys that differ only by case, with different values
        }

    # ----- look-ups for the server

    def group(self, group_id):
        return self._by_id.get(group_id)

    def group_settings(self, group):
        return group["owner"]["settings"]

    def locations(self, group):
        """An inheriting group has its non-inheriting parent's locations (inferred from ``defaultLocationId``)."""
        return group["owner"]["locations"]

    def location_settings(self, group, location_id):
        return group["owner"]["location_settings"].get(location_id)

    def settings_configuration(self, group, location_id):
        settings = self.location_settings(group, location_id)
        return None if settings is None else _location_settings(self.fqdn, settings)

    def enrolled(self):
        return [c for c in self.computers if c["atpDeviceId"]]


# --------------------------------------------------------------------------- the EDR

HEALTH = {  # scenario: [(minutes ago, status_id, status_detail, message, remediation)]
    # A healthy System Health event's status values are the lab's guess; the error kinds are those the reference lists.
    "healthy": [(95, 1, "success", "Connection to SEPM %s succeeded" % FQDNS[PRIMARY], ""),
                (26 * 60, 1, "success", "Connection to SEPM %s succeeded" % FQDNS[PEER], ""),
                # An old, resolved failure: 20 days ago, outside any 7-day window.
                (20 * 24 * 60, 2, "certificate_error", "Certificate of SEPM %s is not trusted" % FQDNS[PRIMARY],
                 "Import the SEPM certificate")],
    "edr_health": [(12, 2, "certificate_error", "Certificate of SEPM %s is not trusted" % FQDNS[PRIMARY],
                    "Import the SEPM certificate and verify the SEPM Controller connection name"),
                   (27, 2, "connection_error", "Cannot connect to SEPM %s" % FQDNS[PEER],
                    "Enter valid connection settings for SEPM server [SEPM_DB->127.0.0.1:1433] and make sure the "
                    "server is reachable"),
                   (48, 2, "certificate_error", "Certificate of SEPM %s is not trusted" % FQDNS[PEER],
                    "Import the SEPM certificate and verify the SEPM Controller connection name")],
}


class EdrData:
    """What the lab EDR API answers in a scenario; times are relative to the ``now`` of each query."""

    def __init__(self, scenario, sites):
        self.scenario = scenario
        self.version = "3.1.0" if scenario == "edr_version" else EDR_VERSION
        self.event_rate = EVENT_RATE if scenario == "event_rate" else HEALTHY_EVENT_RATE
        self.sites = sites
        self.devices = [c for site in sites for c in site.computers if c["atpDeviceId"]]

    def appliances(self, now):
        # The v1 shape (appliance_list); the v2 answer is not documented (inferred to be the same).
        return [{"appliance_id": uuid_of("appliance", EDR_FQDN), "appliance_name": EDR_FQDN,
                 "software_version": self.version, "appliance_time": iso(now), "role": "manager"}]

    def health(self, now):
        events = HEALTH["healthy"] + (HEALTH.get(self.scenario, []) if self.scenario != "healthy" else [])
        result = []
        for minutes, status_id, detail, message, remediation in events:
            moment = now - datetime.timedelta(minutes=minutes)
            sepm = FQDNS[PEER] if FQDNS[PEER] in message else FQDNS[PRIMARY]
            result.append({
                "type_id": 1000, "uuid": uuid_of("health", self.scenario, minutes, detail), "time": iso(moment),
                "log_time": iso(moment), "severity_id": 1 if status_id == 1 else 4, "status_id": status_id,
                "status_detail": detail, "status_exception": "", "message": message, "remediation": remediation,
                "product_name": "Symantec Endpoint Detection and Response", "product_ver": self.version,
                "device_name": EDR_FQDN,
                "data": {"sepm_server": {"sepm_name": sepm, "db_ip_address": "127.0.0.1", "db_port": 1433,
                                         "db_name": "sem5", "db_type": "MSSQL", "user_name": "edr_reader",
                                         "status": "healthy" if status_id == 1 else "unhealthy", "enabled": True}}})
        return sorted(result, key=lambda e: e["time"])

    def endpoints(self, now):
        """The endpoint entities: every enrolled computer of both SEPMs (every third by its lower-case FQDN)."""
        del now  # the entities carry the computers' own last contact
        result = []
        for index, computer in enumerate(self.devices):
            name = computer["computerName"]
            if index % 3 == 2:
                name = "%s.%s" % (name.lower(), DNS_DOMAIN)
            last = datetime.datetime.fromtimestamp(computer["lastUpdateTime"] / 1000.0, datetime.timezone.utc)
            result.append({"device_uid": computer["atpDeviceId"], "device_name": name,
                           "device_ip": computer["ipAddresses"][0], "time": iso(last),
                           "device_os": computer["operatingSystem"]})
        return result

    def event(self, number):
        """Event ``number`` of the endless stream: it happened at ``number / event_rate`` seconds after the epoch."""
        computer = self.devices[number % len(self.devices)] if self.devices else None
        moment = datetime.datetime.fromtimestamp(number / float(self.event_rate), datetime.timezone.utc)
        return {"type_id": 8001, "uuid": uuid_of("event", number), "time": iso(moment), "severity_id": 1,
                "product_name": "Symantec Endpoint Protection", "message": "lab process event",
                "device_name": computer["computerName"] if computer else None,
                "device_uid": computer["atpDeviceId"] if computer else None}


EVENT_CONSTANT_FIELDS = ("type_id", "severity_id", "product_name", "message")


class World:
    """One moment of the lab in one scenario: ``sites`` {role: Site} and ``edr`` (EdrData)."""

    def __init__(self, scenario, ports, pems, now=None):
        if scenario not in SCENARIOS:
            raise ValueError("unknown EDR scenario %r; one of %s" % (scenario, ", ".join(SCENARIOS)))
        now = now or datetime.datetime.now(datetime.timezone.utc)
        self.scenario = scenario
        self.sites = dict((role, Site(role, scenario, ports, pems, now)) for role in (PRIMARY, PEER))
        self.edr = EdrData(scenario, [self.sites[PRIMARY], self.sites[PEER]])
