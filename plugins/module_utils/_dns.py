# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""DNS checks: does a name resolve, through the resolvers given, to the addresses expected?

KB 216202 step 1: "Public DNS name resolves externally". KB 440283 (split DNS): the public gateway name is
resolved through a public resolver and the internal NS name through an internal one, so each query names its
own resolvers.

Pure: ``parse_resolver``, ``queries`` (the option, normalized) and ``judge`` (the answers -> the verdict).
I/O: ``DnsClient.lookup`` with dnspython, one query per record type, no search domains, no cache.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError, MissingDependency

try:
    import dns.exception
    import dns.name
    import dns.nameserver
    import dns.resolver
    HAS_DNSPYTHON = True
except ImportError:
    HAS_DNSPYTHON = False

RECORD_TYPES = ("A", "AAAA")
VERDICTS = ("ok", "mismatch", "nxdomain", "no_answer", "timeout", "error")
_FAMILY = {"A": 4, "AAAA": 6}


# --------------------------------------------------------------------------- pure

def parse_resolver(text):
    """(ip, port) from "ip", "ip:port", "[v6]" or "[v6]:port"; a bare IPv6 address has no port."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("A resolver must be an IP address, optionally with :port, not %r." % (text,))
    value, port = text.strip(), 53
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise InputError("Resolver %r: write an IPv6 address with a port as [address]:port." % text)
        value, port = host, rest[1:] if rest else 53
    elif value.count(":") == 1:
        value, port = value.split(":")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise InputError("Resolver %r is not an IP address (names cannot be used: give the resolver's address)." % text)
    try:
        port = int(port)
    except ValueError:
        raise InputError("Resolver %r has port %r, not a number." % (text, port))
    if not 1 <= port <= 65535:
        raise InputError("Resolver %r has port %d, outside 1-65535." % (text, port))
    return str(address), port


def resolver_text(address, port):
    if port == 53:
        return address
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def _address_key(text):
    address = ipaddress.ip_address(text)
    return address.version, int(address)


def sort_addresses(addresses):
    return sorted(set(addresses), key=_address_key)


def queries(raw):
    """[{label, name, expected, resolvers: [(ip, port)] or None, record_types}] from the ``queries`` option."""
    if not raw:
        raise InputError("queries is empty: give at least one {name: ...}.")
    found = []
    for index, query in enumerate(raw):
        if not isinstance(query, dict):
            raise InputError("queries[%d] must be a dict with name (and expected, resolvers, record_types, label)."
                             % index)
        name = query.get("name")
        if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name.strip()):
            raise InputError("queries[%d] needs a name to resolve, not %r." % (index, name))
        name = name.strip()
        types = query.get("record_types") or list(RECORD_TYPES)
        types = [str(t).upper() for t in types]
        bad = [t for t in types if t not in RECORD_TYPES]
        if bad:
            raise InputError("queries[%d] (%s): record_types %s; only A and AAAA are looked up." % (index, name, bad))
        types = [t for t in RECORD_TYPES if t in types]
        expected = []
        for value in query.get("expected") or []:
            try:
                address = ipaddress.ip_address(str(value).strip())
            except ValueError:
                raise InputError("queries[%d] (%s): expected %r is not an IP address." % (index, name, value))
            if ("A" if address.version == 4 else "AAAA") not in types:
                raise InputError("queries[%d] (%s): expected %s is an IPv%d address, but record_types has no %s."
                                 % (index, name, address, address.version, "A" if address.version == 4 else "AAAA"))
            expected.append(str(address))
        resolvers = query.get("resolvers")
        if resolvers is not None and not isinstance(resolvers, (list, tuple)):
            resolvers = [resolvers]
        found.append(dict(label=str(query.get("label") or name), name=name, expected=sort_addresses(expected),
                          resolvers=[parse_resolver(r) for r in resolvers] if resolvers else None,
                          record_types=types))
    return found


def judge(query, resolvers, outcomes, timeout):
    """The result entry for one query.

    ``resolvers``: the texts of the resolvers used; ``outcomes``: {record type: {status, addresses, reason}}, status
    one of answer, nxdomain, no_answer, timeout, error.
    """
    name, expected = query["name"], query["expected"]
    through = ", ".join(resolvers) or "no resolver"
    addresses = sort_addresses(a for o in outcomes.values() for a in o.get("addresses") or [])
    failed = [t for t in query["record_types"] if outcomes[t]["status"] in ("timeout", "error")]
    settled = [t for t in query["record_types"] if t not in failed]
    types = " or ".join(query["record_types"])
    entry = dict(label=query["label"], name=name, resolvers=list(resolvers), addresses=addresses,
                 expected=list(expected), verdict=None, message=None)
    if any(o["status"] == "nxdomain" for o in outcomes.values()):
        entry.update(verdict="nxdomain", message="%s does not exist (NXDOMAIN) according to %s" % (name, through))
    elif not addresses and not failed:
        entry.update(verdict="no_answer",
                     message="%s exists but has no %s record according to %s" % (name, types, through))
    elif expected and addresses != sort_addresses(e for e in expected
                                                  if ("A" if ":" not in e else "AAAA") in settled):
        missing = [e for e in expected if e not in addresses]
        unexpected = [a for a in addresses if a not in expected]
        entry.update(verdict="mismatch", message=(
            "%s resolves to %s through %s, expected %s (%s). With split DNS, resolve the public gateway name "
            "through a public resolver and the internal NS name through an internal one (KB 440283)" % (
                name, ", ".join(addresses) or "nothing", through, ", ".join(expected),
                "; ".join(part for part in ("missing: " + ", ".join(missing) if missing else "",
                                            "unexpected: " + ", ".join(unexpected) if unexpected else "") if part))))
    elif failed and (expected or not addresses):
        status = "timeout" if any(outcomes[t]["status"] == "timeout" for t in failed) else "error"
        reasons = "; ".join("%s: %s" % (t, outcomes[t]["reason"]) for t in failed)
        entry.update(verdict=status, message="%s: no usable answer from %s (%s)%s" % (
            name, through, reasons, " within %s s" % timeout if status == "timeout" else ""))
    else:
        entry.update(verdict="ok", message="%s resolves to %s through %s%s%s" % (
            name, ", ".join(addresses), through, " as expected" if expected else "",
            " (%s not answered: %s)" % ("/".join(failed), "; ".join(outcomes[t]["reason"] for t in failed))
            if failed else ""))
    return entry


# --------------------------------------------------------------------------- I/O

def require_dnspython():
    if not HAS_DNSPYTHON:
        raise MissingDependency("The Python library dnspython is required on the controller for itms.cem.dns_info.",
                                hint="Install it with 'pip install \"dnspython>=2.4\"' (see the collection's "
                                     "requirements.txt).")


class DnsClient:
    """Queries with dnspython; a client for ``_runner.run_module`` (warnings, stats(), close())."""

    def __init__(self, timeout=5.0):
        require_dnspython()
        if timeout is None or timeout <= 0:
            raise InputError("timeout must be a positive number of seconds, not %r." % (timeout,))
        self.timeout = float(timeout)
        self.warnings = []
        self.queries = 0
        self._resolvers = {}

    def _resolver(self, resolvers):
        """The dnspython resolver for [(ip, port)], or the system's for None; and the texts of its servers."""
        key = tuple(resolvers) if resolvers else None
        if key not in self._resolvers:
            if key is None:
                resolver = dns.resolver.Resolver(configure=True)
                servers = [resolver_text(getattr(n, "address", str(n)), getattr(n, "port", 53))
                           for n in resolver.nameservers]
            else:
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in key]
                servers = [resolver_text(ip, port) for ip, port in key]
            resolver.cache = None
            resolver.timeout = self.timeout
            resolver.lifetime = self.timeout
            self._resolvers[key] = (resolver, servers)
        return self._resolvers[key]

    def lookup(self, query):
        """(the texts of the resolvers used, {record type: outcome}) for one normalized query."""
        try:
            resolver, servers = self._resolver(query["resolvers"])
        except dns.resolver.NoResolverConfiguration as exc:
            outcome = dict(status="error", addresses=[], reason="no system resolver is configured (%s); give "
                                                                "resolvers" % exc)
            return [], dict((t, outcome) for t in query["record_types"])
        outcomes = {}
        for rdtype in query["record_types"]:
            outcomes[rdtype] = self._query(resolver, query["name"], rdtype)
        return servers, outcomes

    def _query(self, resolver, name, rdtype):
        self.queries += 1
        try:
            qname = dns.name.from_text(name)  # absolute: no search domains
            answer = resolver.resolve(qname, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return dict(status="nxdomain", addresses=[], reason="NXDOMAIN")
        except dns.resolver.NoAnswer:
            return dict(status="no_answer", addresses=[], reason="no %s record" % rdtype)
        except dns.exception.Timeout:
            return dict(status="timeout", addresses=[], reason="timed out")
        except dns.exception.DNSException as exc:  # NoNameservers (SERVFAIL, REFUSED), a bad name ...
            return dict(status="error", addresses=[], reason=str(exc) or type(exc).__name__)
        return dict(status="answer", addresses=[r.address for r in answer], reason=None)

    def stats(self):
        return dict(queries=self.queries)

    def close(self):
        """Nothing stays open between queries."""


def connect(params):
    return DnsClient(timeout=params.get("timeout"))
