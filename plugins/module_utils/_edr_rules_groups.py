# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The SEPM group rules of the EDR enrollment diagnosis (KB 236805 causes 3, 5, 6, 10, 11 and 12), and the reading
of a SEPM's evidence. No I/O.

Each rule returns ``(verdict, summary, evidence lines, affected groups, affected computers)`` as in
``_edr_rules_cert``; ``_edr_rules`` documents the evidence, the open corners and what is inferred. A group "uses EDR"
when its effective private cloud (the default location's when read, else the group's) is enabled, of type ATP, with
at least one enabled server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.itms.cem.plugins.module_utils._edr_rules_cert import (
    flag, integer, items, limited, normal_cert, path_key, text, where)

# "Non-default" groups in the EDR UI are read as all but these two (inferred, not documented by Broadcom).
DEFAULT_GROUPS = ("my company", "my company\\default group")


# -- a SEPM's evidence as the rules read it ------------------------------------------------------
def _pc(raw):
    if not isinstance(raw, dict):
        return None
    servers = [dict(address=text(s.get("address")), port=integer(s.get("port")), enabled=flag(s.get("enabled")) is True)
               for s in items(raw.get("servers"))]
    return dict(enabled=flag(raw.get("enabled")) is True, server_type=(text(raw.get("server_type")) or "").upper() or None,
                servers=servers)


def _proxy(raw):
    return dict(mode=integer(raw.get("mode")), host=text(raw.get("host")), port=integer(raw.get("port"))) \
        if isinstance(raw, dict) else None


def read_group(raw):
    """One group of a SEPM's evidence as the rules read it (None without a path or name)."""
    key, shown = path_key(raw.get("full_path"))
    if key is None:
        key, shown = path_key(raw.get("name"))
    if key is None:
        return None
    group_pc, location_pc = _pc(raw.get("private_cloud")), _pc(raw.get("location_private_cloud"))
    group_proxy, location_proxy = _proxy(raw.get("proxy")), _proxy(raw.get("location_proxy"))
    return dict(key=key, path=shown, inherits=flag(raw.get("inherits")), computers=integer(raw.get("computers")),
                policy_serial=text(raw.get("policy_serial")), location=text(raw.get("default_location_name")) or "default",
                group_pc=group_pc, location_pc=location_pc, pc=location_pc if location_pc is not None else group_pc,
                group_proxy=group_proxy, location_proxy=location_proxy,
                proxy=location_proxy if location_proxy is not None else group_proxy)


def _computer(raw):
    return dict(name=text(raw.get("name")) or text(raw.get("id")) or "(unnamed computer)",
                group=path_key(raw.get("group_path"))[0], online=flag(raw.get("online")) is True,
                serial=text(raw.get("profile_serial")), device=text(raw.get("atp_device_id")))


def read_sepm(raw, index):
    """One SEPM of ``evidence["sepms"]``: groups de-duplicated by path (the first wins), counts filled in."""
    groups, seen = [], set()
    for group in (read_group(g) for g in items(raw.get("groups"))):
        if group is not None and group["key"] not in seen:
            seen.add(group["key"])
            groups.append(group)
    computers = [_computer(c) for c in items(raw.get("computers"))]
    for group in groups:
        if group["computers"] is None:
            group["computers"] = len([c for c in computers if c["group"] == group["key"]])
    return dict(name=text(raw.get("name")) or "SEPM #%d" % (index + 1), error=text(raw.get("error")), groups=groups,
                computers=computers, certificate=normal_cert(raw.get("certificate")),
                certificate_error=text(raw.get("certificate_error")))


# -- what a group's settings mean ----------------------------------------------------------------
def _targets(pc):
    """The distinct enabled EDR servers of a private cloud: sorted (address lower-cased, port)."""
    found = {((s["address"] or "").lower().rstrip("."), s["port"]) for s in pc["servers"] if s["enabled"]}
    return sorted(found, key=_target_order)


def _target_order(target):
    return target[0], -1 if target[1] is None else target[1]


def uses_edr(group):
    """Whether clients of the group get an EDR server to enroll with (see the module docstring)."""
    pc = group["pc"]
    return pc is not None and pc["enabled"] and pc["server_type"] == "ATP" and any(s["enabled"] for s in pc["servers"])


def _signature(pc):
    return pc["enabled"], pc["server_type"], tuple(_targets(pc))


def _show_pc(pc):
    if pc is None:
        return "no private cloud settings"
    servers = ", ".join(where(a, p) for a, p in _targets(pc)) or "no enabled server"
    state = "enabled" if pc["enabled"] else "disabled"
    return "private cloud %s, type %s, %s" % (state, pc["server_type"] or "unset", servers)


def proxy_set(proxy):
    return proxy is not None and proxy["mode"] not in (0, None)


def show_proxy(proxy):
    if not proxy_set(proxy):
        return "no proxy"
    return "proxy %s (mode %d)" % (where(proxy["host"], proxy["port"]), proxy["mode"])


def _proxy_signature(proxy):
    return (proxy["mode"], (proxy["host"] or "").lower(), proxy["port"]) if proxy_set(proxy) else None


def _in(sepm, group):
    return "%s (SEPM %s)" % (group["path"], sepm["name"])


def unread(sepm):
    if sepm is None:
        return "needs_input", "No SEPM was read.", ["the evidence holds no SEPM"], [], []
    return "needs_input", "SEPM %s could not be read." % sepm["name"], ["SEPM %s: %s" % (sepm["name"], sepm["error"])], [], []


def _populated(sepm):
    return [g for g in sepm["groups"] if g["computers"] > 0]


def _with(group):
    return "%s (%d computer%s)" % (group["path"], group["computers"], "" if group["computers"] == 1 else "s")


# -- the rules -----------------------------------------------------------------------------------
def policy_not_pushed(sepm):
    """Cause 3 (inferred): an online computer whose profile serial is not its group's policy serial lacks the policy."""
    if sepm is None or sepm["error"]:
        return unread(sepm)
    edr_groups = {g["key"]: g for g in sepm["groups"] if uses_edr(g)}
    lagging, lines, offline_lines, online, compared = [], [], [], 0, 0
    for computer in sepm["computers"]:
        group = edr_groups.get(computer["group"])
        if group is None:
            continue
        online += 1 if computer["online"] else 0
        if computer["serial"] is None or group["policy_serial"] is None:
            continue
        compared += 1 if computer["online"] else 0
        if computer["serial"].casefold() != group["policy_serial"].casefold():
            if computer["online"]:
                lagging.append((computer, group))
            (lines if computer["online"] else offline_lines).append("%s (%s, %s) has policy serial %s; its group has %s" % (
                computer["name"], group["path"], "online" if computer["online"] else "offline, listed only",
                computer["serial"], group["policy_serial"]))
    lines += offline_lines
    if lagging:
        return "fail", "%d online computers in groups that use EDR lack their group's current policy." % len(lagging), \
            lines, [g["path"] for c, g in lagging], [c["name"] for c, g in lagging]
    if not compared:
        why = "no online computer in a group that uses EDR" if not online else \
            "%d online computers in groups that use EDR, none with both its and its group's policy serial" % online
        return "needs_input", "No online computer's policy serial could be compared.", [why] + lines, [], []
    return "pass", "%d online computers in groups that use EDR have their group's current policy." % compared, [
        "%d online computers compared with the policy serial of their group, in %s" % (compared, limited(sorted(
            g["path"] for g in edr_groups.values()), 10))] + lines, [], []


def multiple_edr_appliances(sepms):
    """Cause 5: two EDR appliances that include the same group both land in its private-cloud server list."""
    readable = [s for s in sepms if not s["error"]]
    lines = ["SEPM %s could not be read: %s" % (s["name"], s["error"]) for s in sepms if s["error"]]
    groups = [g for s in readable for g in s["groups"]]
    if not groups:
        return "needs_input", "No SEPM group was read.", lines or ["the evidence holds no SEPM group"], [], []
    failed = [(s, g) for s in readable for g in s["groups"] if g["pc"] is not None and len(_targets(g["pc"])) > 1]
    if failed:
        return "fail", "%d groups list more than one EDR server." % len(failed), [
            "%s lists %d EDR servers: %s" % (_in(s, g), len(_targets(g["pc"])), _show_pc(g["pc"])) for s, g in failed] + lines, \
            [g["path"] for s, g in failed], []
    return "pass", "No group lists more than one EDR server (%d groups read)." % len(groups), [
        "%d groups of SEPM %s read, each with at most one enabled EDR server" % (len(s["groups"]), s["name"])
        for s in readable] + lines, [], []


def group_across_sepms(sepms, console):
    """Cause 6: a group path that several SEPMs hold must carry the same effective private cloud on each."""
    count = console["sepm_count"]
    if len(sepms) < 2:
        if sepms and count == 1:
            return "pass", "EDR connects to one SEPM: no other SEPM treats its groups.", [
                "console.sepm_count is 1 and SEPM %s was read" % sepms[0]["name"]], [], []
        return "needs_input", "Only %d SEPM was read." % len(sepms), [
            "EDR has %s SEPM Controller connections: give the other SEPMs as sepm_peers, or sepm_count: 1" % (
                "an unknown number of" if count is None else count)], [], []
    lines = ["SEPM %s could not be read: %s" % (s["name"], s["error"]) for s in sepms if s["error"]]
    paths = {}
    for sepm in (s for s in sepms if not s["error"]):
        for group in sepm["groups"]:
            if group["pc"] is not None:
                paths.setdefault(group["key"], []).append((sepm, group))
    shared = [paths[key] for key in sorted(paths) if len(paths[key]) > 1]
    failed = [seen for seen in shared if len({_signature(g["pc"]) for s, g in seen}) > 1]
    if failed:
        return "fail", "%d groups have different private cloud settings on different SEPMs." % len(failed), [
            "%s differs: %s" % (seen[0][1]["path"], "; ".join("SEPM %s: %s" % (s["name"], _show_pc(g["pc"])) for s, g in seen))
            for seen in failed] + lines, [seen[0][1]["path"] for seen in failed], []
    if lines:
        return "needs_input", "Not every SEPM could be read.", lines, [], []
    if count is not None and count > len(sepms):
        return "needs_input", "EDR has %d SEPM connections but %d SEPMs were read." % (count, len(sepms)), [
            "give the other SEPMs as sepm_peers"], [], []
    names, paths = limited([s["name"] for s in sepms], 10), limited([seen[0][1]["path"] for seen in shared], 10)
    return "pass", "%d groups are treated the same by %d SEPMs." % (len(shared), len(sepms)), [
        "compared in SEPMs %s: %s" % (names, paths)], [], []


def _inclusion(group, listed, by_key):
    """"listed", "inherited" (through a chain of inheriting groups to a listed one) or None."""
    if group["key"] in listed:
        return "listed"
    parts, current = group["key"].split("\\"), group
    for depth in range(len(parts) - 1, 0, -1):
        if current is not None and current["inherits"] is not True:
            return None
        if "\\".join(parts[:depth]) in listed:
            return "inherited"
        current = by_key.get("\\".join(parts[:depth]))
    return None


def group_inclusion(sepm, console):
    """Cause 10: every group with computers must use EDR and, when Group Inclusion is used, be included."""
    if sepm is None or sepm["error"]:
        return unread(sepm)
    populated, inclusions = _populated(sepm), console["inclusions"]
    if not populated:
        return "needs_input", "No group with computers was read.", ["SEPM %s: %d groups, none with computers" % (
            sepm["name"], len(sepm["groups"]))], [], []
    failed, fails, unknown = [], [], []
    for group in populated:
        if group["pc"] is None:
            unknown.append("the External Communication settings of %s were not read" % _with(group))
        elif not uses_edr(group):
            failed.append(group["path"])
            fails.append("%s does not use EDR: %s" % (_with(group), _show_pc(group["pc"])))
    if inclusions:
        listed, by_key = {path_key(p)[0] for p in inclusions}, {g["key"]: g for g in sepm["groups"]}
        for group in (g for g in populated if g["path"] not in failed):
            how = _inclusion(group, listed, by_key)
            if how is None or (how == "inherited" and console["inherited"] is False):
                failed.append(group["path"])
                fails.append("%s is not in Group Inclusion (%s); %s" % (
                    _with(group), limited(inclusions, 5), "it inherits from a listed group but \"Include inherited "
                    "sub-groups automatically\" is off" if how else "it does not inherit from a listed group"))
            elif how == "inherited" and console["inherited"] is None:
                unknown.append("%s is included only through inheritance: give console.include_inherited_subgroups"
                               % _with(group))
    if failed:
        return "fail", "%d groups with computers are not enrolled in EDR." % len(failed), fails + unknown, failed, []
    if unknown:
        return "needs_input", "Not every group with computers could be checked.", unknown, [], []
    if inclusions is None:
        return "needs_input", "All %d groups with computers use EDR on the SEPM side." % len(populated), [
            "confirm in EDR that Group Inclusion covers them: give console.group_inclusions ([] when not used)"], [], []
    checked = ["groups with computers: %s" % limited([_with(g) for g in populated], 10)]
    if not inclusions:
        return "pass", "All %d groups with computers use EDR; Group Inclusion is not used (see non_default_groups)." % \
            len(populated), checked, [], []
    return "pass", "All %d groups with computers use EDR and are in Group Inclusion." % len(populated), checked, [], []


def non_default_groups(sepm, console):
    """Cause 11: without Group Inclusion, non-default groups get the private cloud only when the option is on."""
    if console["inclusions"]:
        return "pass", "Group Inclusion is used (%d groups listed): the option does not apply." % len(
            console["inclusions"]), [], [], []
    readable = sepm is not None and not sepm["error"]
    others = [g for g in _populated(sepm) if g["key"] not in DEFAULT_GROUPS] if readable else []
    note = [] if console["inclusions"] is not None else ["if Group Inclusion is used, give console.group_inclusions"]
    if console["apply"] is False:
        return "fail", "\"Apply private cloud policies to all non-default SEPM groups.\" is off and Group Inclusion " \
                       "is not used.", ["%s gets no private cloud policy from EDR" % _with(g) for g in others] + note + (
                           [] if readable else unread(sepm)[2]), [g["path"] for g in others], []
    if not readable:
        return unread(sepm)
    lacking = [g for g in others if g["pc"] is not None and not uses_edr(g)]
    lines = ["%s does not use EDR: %s" % (_with(g), _show_pc(g["pc"])) for g in lacking]
    if console["apply"] is True:
        unknown = ["the External Communication settings of %s were not read" % _with(g) for g in others if g["pc"] is None]
        if lacking:
            return "fail", "%d non-default groups with computers do not use EDR although the option is on." % len(
                lacking), lines + unknown, [g["path"] for g in lacking], []
        if unknown:
            return "needs_input", "Not every non-default group could be checked.", unknown, [], []
        return "pass", "The option is on and all %d non-default groups with computers use EDR." % len(others), [
            "non-default groups with computers: %s" % limited([_with(g) for g in others], 10)], [], []
    own = [g for g in others if g["inherits"] is not True and g["pc"] is not None]
    if own and any(uses_edr(g) for g in sepm["groups"] if g["key"] in DEFAULT_GROUPS) and \
            not any(uses_edr(g) for g in own):
        return "fail", "Only the default groups use EDR: the pattern of the option being off.", lines + [
            "give console.apply_to_non_default_groups to confirm"] + note, [g["path"] for g in own], []
    return "needs_input", "Is \"Apply private cloud policies to all non-default SEPM groups.\" enabled?", lines + [
        "give console.apply_to_non_default_groups"] + note, [], []


def location_differs(group):
    """Whether a group's default location has other private-cloud (or proxy) settings than the group: set locally.

    None when either side's private-cloud settings were not read; proxies count only when both were read.
    """
    if group["group_pc"] is None or group["location_pc"] is None:
        return None
    proxies = group["group_proxy"] is not None and group["location_proxy"] is not None
    return _signature(group["group_pc"]) != _signature(group["location_pc"]) or (
        proxies and _proxy_signature(group["group_proxy"]) != _proxy_signature(group["location_proxy"]))


def default_location_local(sepm):
    """Cause 12 (inferred): a default location whose settings differ from its group's was set locally."""
    if sepm is None or sepm["error"]:
        return unread(sepm)
    both = [g for g in sepm["groups"] if g["inherits"] is not True and g["group_pc"] is not None and
            g["location_pc"] is not None]
    failed, lines = [], []
    for group in both:
        proxies = group["group_proxy"] is not None and group["location_proxy"] is not None
        if location_differs(group):
            failed.append(group["path"])
            lines.append("%s: its default location %s has %s%s; the group has %s%s: set locally" % (
                group["path"], group["location"], _show_pc(group["location_pc"]),
                " and %s" % show_proxy(group["location_proxy"]) if proxies else "", _show_pc(group["group_pc"]),
                " and %s" % show_proxy(group["group_proxy"]) if proxies else ""))
    if failed:
        return "fail", "%d default locations have their own External Communication settings." % len(failed), lines, \
            failed, []
    if not both:
        return "needs_input", "No default location's External Communication settings were read.", [
            "no non-inheriting group of SEPM %s has both group and default-location settings" % sepm["name"]], [], []
    return "pass", "%d default locations take the group's External Communication settings." % len(both), [
        "compared: %s" % limited([g["path"] for g in both], 10)], [], []
