# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decision core of ``agent_access`` (``decide: from_evidence``): approve, block or hold. No I/O.

KB 440752: after a CMDB rollback the Internet Gateway blocks agents whose registration it cannot find, and an
administrator has to approve or block each one. This module decides, for every blocked agent, from what the
administrator has as evidence (see ``_evidence.load``), and says why. Rules, first hit wins:

1. a deny-list hit (GUID, name or fnmatch pattern) -> ``block`` (``deny_list``), whatever else matches;
2. the same name in the blocked list with different GUIDs -> ``hold`` (``duplicate_name``) for each of them
   whose GUID the evidence does not hold (the one the evidence holds is decided by rule 3: a rogue that reuses
   a legitimate computer's name does not keep that computer out);
3. the agent's GUID is in the evidence -> ``approve`` (``guid_match``), unless the evidence names that GUID
   otherwise, or names the agent's name with another GUID -> ``hold`` (``conflicting_evidence``);
4. the agent's name is in the evidence: with another GUID -> ``hold`` (``guid_mismatch``: another computer
   may be reusing the name); with two or more GUIDs -> ``hold`` (``ambiguous_evidence``); else ``approve``
   (``name_match``);
5. an allow pattern matches the name -> ``approve`` (``allow_pattern``);
6. otherwise ``hold`` (``no_evidence``).

Names are compared normalised (``normalize_name``), GUIDs lower case without braces (``normalize_guid``).
Every lookup is a dict or set lookup, so 50,000 agents against 100,000 evidence rows take well under a second.
When several sources hold the same entry, the reason cites the first in sort order, so that the plan does not
depend on the order in which the evidence was read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import collections
import fnmatch
import operator
import re

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError

DECISIONS = ("approve", "block", "hold")
RULES = ("deny_list", "duplicate_name", "conflicting_evidence", "guid_match", "guid_mismatch",
         "ambiguous_evidence", "name_match", "allow_pattern", "no_evidence")
NIL_GUID = "00000000-0000-0000-0000-000000000000"
PATTERN_CHARS = frozenset("*?[")

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}\Z")


# -- normalisation ------------------------------------------------------------------------------
def normalize_name(name):
    """A computer name as compared: stripped, lower case, no NetBIOS ``DOMAIN\\`` prefix, no DNS suffix.

    ``"  CORP\\PC01.corp.example.com. "`` -> ``"pc01"``; an IPv4 address stays whole; None -> ``""``.
    """
    if name is None:
        return ""
    if isinstance(name, str) and "\\" not in name and "." not in name and not name[:1].isspace() \
            and not name[-1:].isspace():
        return name.lower()  # most names: nothing to strip (the whole rule below would give the same)
    text = str(name).strip().lower()
    if "\\" in text:
        text = text.rsplit("\\", 1)[1].strip()
    text = text.rstrip(".")
    if "." in text and not _IPV4.match(text):
        text = text.split(".", 1)[0]
    return text.strip()


def normalize_guid(text):
    """A GUID lower case without braces, or None when ``text`` is not an 8-4-4-4-12 hex GUID (or is empty)."""
    if text is None:
        return None
    if isinstance(text, str) and _GUID.match(text):  # most are written so already
        return text
    value = str(text).strip().lower()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1].strip()
    return value if _GUID.match(value) else None


def identity_guid(text):
    """``normalize_guid``, with the nil GUID (all zeros) read as no GUID: it identifies no computer."""
    value = normalize_guid(text)
    return None if value == NIL_GUID else value


def is_pattern(text):
    return any(c in PATTERN_CHARS for c in text)


def normalize_pattern(pattern, what="pattern"):
    """An fnmatch pattern on normalised names: stripped, without a NetBIOS prefix; case is ignored when matching.

    A pattern with a dot could never match (names are compared without their DNS suffix): InputError.
    """
    text = str(pattern).strip()
    if "\\" in text:
        text = text.rsplit("\\", 1)[1].strip()
    if not text:
        raise InputError("The %s %r is empty." % (what, pattern))
    if "." in text:
        raise InputError("The %s %r contains a dot, so it can never match: names are compared without their DNS "
                         "suffix (pc01.corp.example.com is compared as pc01)." % (what, pattern),
                         hint="Write the pattern for the host part only, for example 'LT-*'.")
    return text


# -- evidence -----------------------------------------------------------------------------------
def empty_evidence():
    """The evidence structure ``decide`` reads (``_evidence.load`` fills it; ``sources`` describes what was read)."""
    return dict(guids={}, names={}, deny_names=set(), deny_patterns=[], deny_guids=set(), allow_patterns=[],
                sources=[])


def add_evidence(evidence, name, guid, source):
    """Record one evidence entry: a (normalised) name and/or a (normalised) GUID seen in ``source``.

    When an entry is already known from another source, the source first in sort order is kept.
    """
    if guid:
        known = evidence["guids"].get(guid)
        if known is None or source < known:
            evidence["guids"][guid] = source
    if name:
        by_guid = evidence["names"].setdefault(name, {})
        known = by_guid.get(guid)
        if known is None or source < known:
            by_guid[guid] = source


def add_deny(evidence, entry):
    """A deny-list entry: a GUID, an fnmatch pattern or a name."""
    text = str(entry).strip()
    guid = normalize_guid(text)
    if guid:
        evidence["deny_guids"].add(guid)
    elif is_pattern(text):
        evidence["deny_patterns"].append(normalize_pattern(text, "deny-list pattern"))
    else:
        name = normalize_name(text)
        if not name:
            raise InputError("The deny-list entry %r is empty." % (entry,))
        evidence["deny_names"].add(name)


def add_allow(evidence, pattern):
    evidence["allow_patterns"].append(normalize_pattern(pattern, "allow pattern"))


def _compile(patterns):
    """(pattern, compiled) in a fixed order (case-insensitive sort), duplicates dropped."""
    unique = sorted(set(patterns), key=lambda p: (p.lower(), p))
    return [(p, re.compile(fnmatch.translate(p.lower()))) for p in unique]


def _first_match(compiled, name):
    for pattern, regex in compiled:
        if regex.match(name):
            return pattern
    return None


# -- the decision -------------------------------------------------------------------------------
def _shown(agent_name, name):
    """The agent's name as reported, and how it was compared when that differs beyond case."""
    text = "" if agent_name is None else str(agent_name).strip()
    if text.lower() == name:
        return text
    return "%s (compared as %s)" % (text, name)


def _guid_text(guid):
    return guid if guid else "no GUID"


def _index_guid_names(names):
    """GUID -> {normalised name: source} over the evidence names: which names the evidence gives a GUID."""
    index = {}
    for name, by_guid in names.items():
        for guid, source in by_guid.items():
            if guid:
                index.setdefault(guid, {})[name] = source
    return index


def _sole_names(names):
    """GUID -> name, for each GUID the evidence gives one name only, and that name no other GUID.

    An agent presenting such a (name, GUID) pair meets no conflicting evidence, so ``_Rules.rule`` need not look
    further; most agents do.
    """
    sole, named = {}, set()
    for name, by_guid in names.items():
        guids = [guid for guid in by_guid if guid]
        for guid in guids:
            if guid in named:  # a second name for this GUID
                sole.pop(guid, None)
            else:
                named.add(guid)
                if len(guids) == 1:
                    sole[guid] = name
    return sole


def _others(entries, own):
    """The (key, source) pairs of ``entries`` (a dict or None) whose key is set and is not ``own``, sorted."""
    return sorted((k, s) for k, s in entries.items() if k and k != own) if entries else []


def _duplicates(names, guids):
    """Normalised name -> the sorted GUIDs (None as "") of agents sharing it with different GUIDs."""
    first, shared = {}, {}
    for name, guid in zip(names, guids):
        if name:
            guid = guid or ""
            seen = first.setdefault(name, guid)
            if seen != guid:
                shared.setdefault(name, {seen}).add(guid)
    return dict((n, sorted(g)) for n, g in shared.items())


class _Rules:
    """The evidence as the rules read it, prepared once for a blocked list; ``rule`` decides one agent."""

    def __init__(self, evidence, names, guids):
        self.guids = evidence["guids"]
        self.names = evidence["names"]
        self.deny_guids = evidence["deny_guids"]
        self.deny_names = evidence["deny_names"]
        self.deny = _compile(evidence.get("deny_patterns") or [])
        self.allow = _compile(evidence.get("allow_patterns") or [])
        self.sole = _sole_names(self.names)
        self.duplicates = _duplicates(names, guids)
        self._index = None

    def names_of(self, guid):
        """{name: source} the evidence gives ``guid`` (the index is made when an agent first needs it)."""
        if self._index is None:
            self._index = _index_guid_names(self.names)
        return self._index.get(guid)

    def rule(self, name, guid, agent_name):
        """(decision, rule, reason) for one agent: its normalised name and GUID, and its name as reported."""
        if guid and guid in self.deny_guids:
            return "block", "deny_list", "GUID %s is on the deny list" % guid
        if name and name in self.deny_names:
            return "block", "deny_list", "name %s is on the deny list" % _shown(agent_name, name)
        pattern = _first_match(self.deny, name) if self.deny and name else None
        if pattern is not None:
            return "block", "deny_list", "deny-list pattern %s matches name %s" % (pattern, _shown(agent_name, name))
        verified = bool(guid) and guid in self.guids
        duplicates = self.duplicates
        if name in duplicates and not verified:
            guids = duplicates[name]
            return "hold", "duplicate_name", (
                "name %s is in the blocked list %d times with different GUIDs (%s): cannot tell which computer is "
                "legitimate" % (name, len(guids), ", ".join(_guid_text(g) for g in guids)))
        if verified:
            source = self.guids[guid]
            if name and self.sole.get(guid) != name:
                renamed = _others(self.names_of(guid), name)
                if renamed:
                    return "hold", "conflicting_evidence", (
                        "GUID %s is in %s, but %s names it %s, not %s: conflicting evidence"
                        % (guid, source, renamed[0][1], renamed[0][0], name))
                other = _others(self.names.get(name), guid)
                if other:
                    return "hold", "conflicting_evidence", (
                        "GUID %s is in %s, but name %s is also evidenced with GUID %s in %s: conflicting evidence"
                        % (guid, source, _shown(agent_name, name), other[0][0], other[0][1]))
            if not name:
                return "approve", "guid_match", "GUID %s is in %s (the agent reports no name)" % (guid, source)
            if name in duplicates:
                return "approve", "guid_match", (
                    "GUID %s is in %s; the other blocked agent(s) presenting name %s with another GUID are held"
                    % (guid, source, _shown(agent_name, name)))
            return "approve", "guid_match", "GUID %s is in %s" % (guid, source)
        shown = _shown(agent_name, name)
        by_guid = self.names.get(name) if name else None
        if by_guid:
            other = _others(by_guid, guid)
            if other and guid:
                return "hold", "guid_mismatch", (
                    "name %s is in %s with GUID %s, but the agent has GUID %s: another computer may be reusing the "
                    "name" % (shown, other[0][1], other[0][0], guid))
            if len(other) > 1:
                return "hold", "ambiguous_evidence", (
                    "name %s is evidenced with %d different GUIDs (%s): ambiguous evidence"
                    % (shown, len(other), ", ".join("%s in %s" % o for o in other)))
            if other:
                return "approve", "name_match", (
                    "name %s matches %s (GUID %s there; the agent has no GUID to compare) and no other evidence "
                    "contradicts it" % (shown, other[0][1], other[0][0]))
            return "approve", "name_match", (
                "name %s matches %s and no other evidence contradicts it"
                % (shown, by_guid[None] if None in by_guid else min(by_guid.values())))
        pattern = _first_match(self.allow, name) if self.allow and name else None
        if pattern is not None:
            return "approve", "allow_pattern", (
                "allow pattern %s matches name %s and no evidence contradicts it" % (pattern, shown))
        if not name:
            if guid:
                return "hold", "no_evidence", "the agent reports no name and no evidence knows its GUID %s" % guid
            return "hold", "no_evidence", "the agent reports neither a name nor a GUID"
        if guid:
            return "hold", "no_evidence", "no evidence knows %s or its GUID %s" % (shown, guid)
        return "hold", "no_evidence", "no evidence knows %s (the agent has no GUID)" % shown


def _tie_key(decision):
    """The order of decisions that share a decision and a normalised name: GUID, id, then the other fields."""
    ident = decision["id"]
    ident_key = (0, ident, "") if isinstance(ident, int) and not isinstance(ident, bool) else (1, 0, str(ident))
    return (decision["agent_guid"] or "", ident_key, str(decision["reported_by"]), str(decision["created"]),
            str(decision["agent_name"]), str(decision["status"]))


def _in_order(names, decisions, shared):
    """``decisions`` (of one decision; ``names`` their normalised names) sorted by name, and those of a name in
    ``shared`` (several agents present it) by ``_tie_key``: sorting by the name alone is most of the work."""
    order = sorted(range(len(names)), key=names.__getitem__)
    names = [names[i] for i in order]
    decisions = [decisions[i] for i in order]
    for name in shared:
        start, end = bisect.bisect_left(names, name), bisect.bisect_right(names, name)
        if end - start > 1:
            decisions[start:end] = sorted(decisions[start:end], key=_tie_key)
    return decisions


def decide(agents, evidence):
    """One decision per agent: the agent's fields plus ``decision``, ``rule`` and ``reason``, in a fixed order.

    ``agents`` as ``_access.read_agents`` returns them (``id``, ``agent_name``, ``agent_guid``, ``reported_by``,
    ``created``, ``status``); ``evidence`` as ``_evidence.load`` or ``empty_evidence`` + ``add_*`` builds it.
    The result is sorted by (decision, normalised name, GUID, id, the other fields), so input order never changes it.
    """
    agents = list(agents)
    agent_names = [normalize_name(a.get("agent_name")) for a in agents]
    agent_guids = [identity_guid(a.get("agent_guid")) for a in agents]
    rules = _Rules(evidence, agent_names, agent_guids)
    decided_names, decided = dict((d, []) for d in DECISIONS), dict((d, []) for d in DECISIONS)
    for agent, name, guid in zip(agents, agent_names, agent_guids):
        agent_name = agent.get("agent_name")
        decision, rule, reason = rules.rule(name, guid, agent_name)
        decided_names[decision].append(name)
        decided[decision].append(dict(
            id=agent.get("id"), agent_name=agent_name, agent_guid=guid, reported_by=agent.get("reported_by"),
            created=agent.get("created"), status=agent.get("status"), decision=decision, reason=reason, rule=rule))
    counts = collections.Counter(agent_names)
    shared = [name for name, count in counts.items() if count > 1]
    return [d for decision in sorted(decided) for d in _in_order(decided_names[decision], decided[decision], shared)]


def plan_counts(decisions):
    """{approve: n, block: n, hold: n}."""
    counts = dict((d, 0) for d in DECISIONS)
    for decision, count in collections.Counter(map(operator.itemgetter("decision"), decisions)).items():
        counts[decision] += count
    return counts


def rule_counts(decisions):
    """{rule: n} for the rules that decided at least one agent (in the order they first appear)."""
    return dict(collections.Counter(map(operator.itemgetter("rule"), decisions)))
