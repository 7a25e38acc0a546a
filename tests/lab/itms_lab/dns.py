# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab DNS server: a small authoritative responder over UDP and TCP (dnspython message parsing).

``LabDns({"ig.cem-lab.example": ["127.0.0.1"], "ns.cem-lab.internal": ["127.0.0.1"]}).start()`` answers:

* A and AAAA queries for a name of the zone with its IPv4 and IPv6 addresses (authoritative, TTL 60);
* NOERROR with no answer (and the SOA) for a name that exists without a record of the type asked -
  an AAAA-only name asked for A, an apex, a name between the apex and a name of the zone;
* NXDOMAIN (and the SOA) for any other name inside the zone's domains (a name's domain is the name
  without its first label: ``cem-lab.example`` for ``ig.cem-lab.example``);
* REFUSED for names outside those domains, NOTIMP for other opcodes; unparsable packets are dropped.

As a process: ``python -m itms_lab.dns --zone-json FILE --port N [--host H] [--ready-file FILE]``; the zone file
is a JSON object {name: [addresses]}; it prints where it listens and, with ``--ready-file``, writes
{pid, host, port} there. SIGTERM or SIGINT stops it.
"""

import argparse
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import threading

if __package__ in (None, ""):  # run as a file: its folder first on sys.path would shadow dnspython's "dns"
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdata  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

TTL = 60
BIND_ATTEMPTS = 20


class LabDns:
    """An authoritative DNS responder for a zone {name: [addresses]}, on UDP and TCP of ``host``:``port``."""

    def __init__(self, zone, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.records = {}
        for name, addresses in (zone or {}).items():
            owner = dns.name.from_text(name)
            entry = self.records.setdefault(owner, {dns.rdatatype.A: [], dns.rdatatype.AAAA: []})
            for text in addresses:
                address = ipaddress.ip_address(text)
                entry[dns.rdatatype.A if address.version == 4 else dns.rdatatype.AAAA].append(str(address))
        self.domains = set(owner.parent() for owner in self.records if len(owner) > 2)
        self.domains |= set(owner for owner in self.records if len(owner) <= 2)  # "example." is its own domain
        self.queries = 0
        self._stop = threading.Event()
        self._udp = self._tcp = None
        self._threads = []

    # ------------------------------------------------------------------ answers

    def _domain_of(self, qname):
        """The zone domain that holds qname (the longest), or None."""
        found = [d for d in self.domains if qname.is_subdomain(d)]
        return max(found, key=len) if found else None

    def _exists(self, qname, domain):
        return qname in self.records or qname == domain or any(o.is_subdomain(qname) for o in self.records)

    def _soa(self, domain):
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA,
                                    "ns.%s hostmaster.%s 1 3600 600 86400 %d" % (domain, domain, TTL))
        return dns.rrset.from_rdata(domain, TTL, rdata)

    def answer(self, wire, udp=False):
        """The response (wire format) to a query (wire format), or None for a packet that is not a query.

        Over UDP an answer larger than the client's buffer (512 bytes without EDNS) is sent empty with TC set, so
        the client asks again over TCP.
        """
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - any malformed packet is dropped, as a server does
            return None
        if query.flags & dns.flags.QR:
            return None
        self.queries += 1
        response = self._response(query)
        reply = response.to_wire()
        limit = max(512, query.payload) if query.edns >= 0 else 512
        if udp and len(reply) > limit:
            response.answer, response.authority, response.additional = [], [], []
            response.flags |= dns.flags.TC
            reply = response.to_wire()
        return reply

    def _response(self, query):
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            response.set_rcode(dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY else dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        domain = self._domain_of(qname)
        if domain is None or question.rdclass != dns.rdataclass.IN:
            response.flags &= ~dns.flags.AA
            response.set_rcode(dns.rcode.REFUSED)
        elif not self._exists(qname, domain):
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa(domain))
        elif qtype == dns.rdatatype.SOA and qname == domain:
            response.answer.append(self._soa(domain))
        elif self.records.get(qname, {}).get(qtype):
            response.answer.append(dns.rrset.from_text_list(qname, TTL, dns.rdataclass.IN, qtype,
                                                            self.records[qname][qtype]))
        else:  # the name exists, without a record of this type
            response.authority.append(self._soa(domain))
        return response

    # ------------------------------------------------------------------ sockets

    def _bind(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _attempt in range(BIND_ATTEMPTS if self.port == 0 else 1):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                udp.bind((self.host, self.port))
                port = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self.host, port))  # the same port for TCP: may be taken when UDP chose it
                tcp.listen(16)
                return udp, tcp, port
            except OSError:
                udp.close()
                tcp.close()
                if self.port != 0:
                    raise
        raise OSError("no port free for both UDP and TCP on %s after %d attempts" % (self.host, BIND_ATTEMPTS))

    def start(self):
        self._udp, self._tcp, self.port = self._bind()
        self._udp.settimeout(0.2)
        self._tcp.settimeout(0.2)
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, name="lab-dns-%s" % target.__name__, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(wire, udp=True)
            if reply is not None:
                try:
                    self._udp.sendto(reply, peer)
                except OSError:
                    pass

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()

    def _serve_connection(self, conn):
        conn.settimeout(5)
        try:
            while not self._stop.is_set():
                head = _read(conn, 2)
                if head is None:
                    return
                wire = _read(conn, struct.unpack("!H", head)[0])
                if wire is None:
                    return
                reply = self.answer(wire)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return
        finally:
            conn.close()


def _read(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m itms_lab.dns", description="Run the lab DNS server.")
    parser.add_argument("--zone-json", required=True, help="JSON file: {name: [addresses]}")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="UDP and TCP port (default: any free port)")
    parser.add_argument("--ready-file", help="write {pid, host, port} here once listening; removed on stop")
    args = parser.parse_args(argv)
    with open(args.zone_json, encoding="utf-8") as handle:
        zone = json.load(handle)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the shell that started it may go away
    try:
        server = LabDns(zone, host=args.host, port=args.port).start()
    except (OSError, ValueError) as exc:
        sys.stderr.write("itms-lab dns: cannot start: %s\n" % exc)
        return 2
    if args.ready_file:
        tmp = "%s.%d.tmp" % (args.ready_file, os.getpid())
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "host": server.host, "port": server.port}, handle)
        os.replace(tmp, args.ready_file)
    sys.stdout.write("itms-lab dns: pid %d listening on %s port %d (UDP and TCP)\n"
                     % (os.getpid(), server.host, server.port))
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        if args.ready_file and os.path.exists(args.ready_file):
            os.remove(args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
