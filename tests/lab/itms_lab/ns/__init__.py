# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab Notification Server: the ASDK.NS web services the collection uses, on 127.0.0.1 over HTTPS.

Layers, outermost first:

* ``server``  HTTPS (ThreadingHTTPServer + ssl, HTTP/1.1 keep-alive), IIS-like routing and error pages,
  Windows authentication, fault injection, the request log.
* ``auth``    NTLM and Negotiate through a pyspnego acceptor, one context per TCP connection as IIS keeps it.
* ``wire``    the two ASP.NET bindings: HttpPost form (XmlSerializer output) and SOAP 1.1 (envelopes, faults).
* ``asdk``    the ASDK methods: names and parameters exactly as the SMP 8.5.5713 WSDL, the ASDK exceptions.
* ``store``   the persistent item store (one JSON file, replaced atomically) and the items of a new lab.
* ``faults``  the fault-injection file, re-read on every request.

``python -m itms_lab.ns --dir DIR`` runs the server of a lab directory prepared by ``itms-lab up``.
"""
