# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection to the API of Symantec EDR (formerly ATP), on premises, shared by every EDR module
    # (action group itms.cem.edr).
    DOCUMENTATION = r"""
options:
  edr_url:
    description:
      - URL of the EDR appliance (or its cluster manager), C(https://<EDR host>). The modules call
        C(<edr_url>/atpapi/...); a trailing C(/atpapi/...) in the URL is ignored.
      - This is the on-premises API, not the cloud Symantec Endpoint Security API, which has other routes.
      - Credentials in the URL are refused; use O(edr_client_id) and O(edr_client_secret).
      - If not set, the value of the E(ITMS_EDR_URL) environment variable is used.
    type: str
    required: true
  edr_client_id:
    description:
      - Client ID of an OAuth client created in the EDR console (Settings > Data Sharing).
      - Required; a missing value fails the task before anything is sent.
      - If not set, the value of the E(ITMS_EDR_CLIENT_ID) environment variable is used.
    type: str
  edr_client_secret:
    description:
      - Client secret of O(edr_client_id). Never returned or logged; neither is the access token EDR issues.
      - Required; a missing value fails the task before anything is sent.
      - If not set, the value of the E(ITMS_EDR_CLIENT_SECRET) environment variable is used.
    type: str
  edr_validate_certs:
    description:
      - Check the EDR certificate against O(edr_ca_path) (or the CA bundle, see there).
      - Set O(edr_ca_path) or O(edr_fingerprint) for an internal or self-signed certificate rather than setting this to
        V(false); V(false) without O(edr_fingerprint) warns on every task, because anyone on the path could then
        impersonate EDR and receive the client secret.
    type: bool
    default: true
  edr_ca_path:
    description:
      - PEM file (or C(c_rehash) directory) of the CA that issued the EDR certificate; for a self-signed certificate,
        the certificate itself.
      - Without it the certificate is checked against the file in E(REQUESTS_CA_BUNDLE) (or E(CURL_CA_BUNDLE)) if set,
        else against the CA bundle of the Python requests library (certifi).
      - Not used when O(edr_fingerprint) is set.
    type: path
  edr_fingerprint:
    description:
      - SHA-256 fingerprint of the EDR server certificate, to pin it. The certificate EDR presents must have exactly
        this fingerprint; its issuer and names are then not checked.
      - "Get it from a trusted machine with
        C(openssl s_client -connect edr.example.com:443 </dev/null | openssl x509 -noout -fingerprint -sha256)."
      - Accepted forms are 64 hex digits with or without colons or spaces, in either case, optionally after
        C(sha256:) or the C(SHA256 Fingerprint=) that openssl prints.
      - When EDR gets a new certificate, the task fails with both fingerprints; update this option then.
      - If not set, the value of the E(ITMS_EDR_FINGERPRINT) environment variable is used.
    type: str
  edr_timeout:
    description:
      - Seconds to wait for the connection and for each answer.
    type: int
    default: 30
  edr_retries:
    description:
      - How many more times to try a request after a connection error, a timeout, or HTTP 502, 503 or 504, with
        exponential backoff (0.5 s, 1 s, 2 s, ... at most 8 s). The modules only read from EDR (queries included).
    type: int
    default: 3
requirements:
  - requests
notes:
  - "The modules run on the controller: use C(delegate_to: localhost) or a play on localhost."
  - Set the connection once with C(module_defaults) and C(group/itms.cem.edr).
  - The modules get an OAuth 2.0 token (client credentials) and renew it before it expires (and once when EDR refuses
    it). Queries over more than 7 days are split into 7-day windows, the most the EDR API takes in one query.
  - Proxy environment variables (E(HTTPS_PROXY) ...) are not used; the controller connects to EDR directly.
  - Redirects are followed only to the same scheme, host and port; a redirect to another host fails the task, and
    nothing (credentials included) is sent there.
"""
