# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection to the Notification Server's ASDK web services, shared by every NS module
    # (action group itms.cem.ns).
    DOCUMENTATION = r"""
options:
  ns_url:
    description:
      - Base URL of the Notification Server, for example C(https://ns.example.com) or C(https://ns.example.com:8443).
      - The modules append C(/Altiris/ASDK.NS/<Service>.asmx/<Method>) (HTTP form POST) and fall back to SOAP 1.1 on
        C(/Altiris/ASDK.NS/<Service>.asmx) when the NS has the POST binding removed; anything from C(/Altiris) on in the
        URL is ignored.
      - If not set, the value of the E(ITMS_NS_URL) environment variable is used.
    type: str
    required: true
  ns_username:
    description:
      - Windows account for the ASDK, C(DOMAIN\\user) or C(user@domain). It needs an NS security role that allows what the
        task does (reading items; changing and targeting policies for M(itms.cem.cem_policy)).
      - Not needed with O(ns_auth=kerberos) when the controller has a Kerberos ticket (C(kinit)).
      - If not set, the value of the E(ITMS_NS_USERNAME) environment variable is used.
    type: str
  ns_password:
    description:
      - Password of O(ns_username). Never returned or logged.
      - If not set, the value of the E(ITMS_NS_PASSWORD) environment variable is used.
    type: str
  ns_auth:
    description:
      - Windows authentication to IIS on the NS, through the pyspnego library.
      - V(ntlm) sends NTLM, which IIS offers with Windows authentication on.
      - V(negotiate) sends SPNEGO; without the gssapi library it carries NTLM.
      - V(kerberos) needs the gssapi library and Kerberos libraries on the controller (C(pip install pyspnego[kerberos])).
    type: str
    default: ntlm
    choices: [ntlm, negotiate, kerberos]
  validate_certs:
    description:
      - Check the NS certificate. Setting it to V(false) warns on every task; set O(ca_path) instead when the NS
        certificate comes from an internal or self-signed CA.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file (or C(c_rehash) directory) of the CA that issued the NS certificate.
      - Without it the certificate is checked against the file in E(REQUESTS_CA_BUNDLE) (or E(CURL_CA_BUNDLE)) if set,
        else against the CA bundle of the Python requests library (certifi), which does not hold an internal CA. Point
        E(REQUESTS_CA_BUNDLE) at the system bundle (for example C(/etc/pki/tls/certs/ca-bundle.crt)) to use the
        controller's trust store.
    type: path
  ns_timeout:
    description:
      - Seconds to wait for the connection and for each answer.
    type: int
    default: 60
  ns_retries:
    description:
      - How many more times to try a call that only reads after a connection error, a timeout, a reset or HTTP 502,
        503 or 504, with exponential backoff (0.5 s, 1 s, 2 s, ... at most 8 s).
      - Calls that change the NS are never retried; a failed one is reported and the task can be run again.
    type: int
    default: 3
  ns_binding:
    description:
      - How ASDK methods are sent.
      - V(auto) sends the HTTP form POST and, when the NS answers that it does not accept it (the HttpPost protocol
        removed from the ASDK C(web.config)), switches to SOAP 1.1 for the rest of the task; that costs one refused
        request per task. The refusal is ASP.NET's C(Request format is unrecognized) or, on the first read of a task,
        the generic ASP.NET error page that C(customErrors) shows remote clients instead (then with a warning).
      - V(post) sends the form POST only and fails if the NS refuses it; V(soap) sends SOAP 1.1 only, which saves the
        refused request on an NS known to have no POST binding.
      - If not set, the value of the E(ITMS_NS_BINDING) environment variable is used.
    type: str
    default: auto
    choices: [auto, post, soap]
requirements:
  - requests
  - pyspnego (also installed by requests-ntlm)
notes:
  - "The modules run on the controller: use C(delegate_to: localhost) or a play on localhost."
  - Set the connection once with C(module_defaults) and C(group/itms.cem.ns).
"""
