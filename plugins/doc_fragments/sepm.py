# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection to the REST API of Symantec Endpoint Protection Manager, shared by every SEPM module
    # (action group itms.cem.sepm).
    DOCUMENTATION = r"""
options:
  sepm_url:
    description:
      - URL of the SEPM REST API, C(https://<SEPM host>:8446). The modules call C(<sepm_url>/sepm/api/v1/...); a trailing
        C(/sepm) or C(/sepm/api/v1/...) in the URL is ignored.
      - Credentials in the URL are refused; use O(sepm_username) and O(sepm_password).
      - If not set, the value of the E(ITMS_SEPM_URL) environment variable is used.
    type: str
    required: true
  sepm_username:
    description:
      - SEPM administrator account. The SEPM REST API needs a system administrator.
      - Required; a missing value fails the task before anything is sent.
      - If not set, the value of the E(ITMS_SEPM_USERNAME) environment variable is used.
    type: str
  sepm_password:
    description:
      - Password of O(sepm_username). Never returned or logged; neither is the session token SEPM issues.
      - Required; a missing value fails the task before anything is sent.
      - If not set, the value of the E(ITMS_SEPM_PASSWORD) environment variable is used.
    type: str
  sepm_domain:
    description:
      - SEPM domain of O(sepm_username). The logon always sends it; the empty string is the default domain.
      - If not set, the value of the E(ITMS_SEPM_DOMAIN) environment variable is used.
    type: str
    default: ""
  sepm_validate_certs:
    description:
      - Check the SEPM certificate against O(sepm_ca_path) (or the CA bundle, see there).
      - SEPM certificates are usually self-signed. Set O(sepm_ca_path) to that certificate or pin it with
        O(sepm_fingerprint) rather than setting this to V(false); V(false) without O(sepm_fingerprint) warns on every
        task, because anyone on the path could then impersonate SEPM and receive the credentials.
    type: bool
    default: true
  sepm_ca_path:
    description:
      - PEM file (or C(c_rehash) directory) of the CA that issued the SEPM certificate; for a self-signed certificate,
        the certificate itself.
      - Without it the certificate is checked against the file in E(REQUESTS_CA_BUNDLE) (or E(CURL_CA_BUNDLE)) if set,
        else against the CA bundle of the Python requests library (certifi).
      - Not used when O(sepm_fingerprint) is set.
    type: path
  sepm_fingerprint:
    description:
      - SHA-256 fingerprint of the SEPM server certificate, to pin it. The certificate SEPM presents must have exactly
        this fingerprint; its issuer and names are then not checked, so this works with the self-signed certificate
        SEPM makes at installation and with any name or address in O(sepm_url).
      - "Get it from a trusted machine with
        C(openssl s_client -connect sepm.example.com:8446 </dev/null | openssl x509 -noout -fingerprint -sha256)."
      - Accepted forms are 64 hex digits with or without colons or spaces, in either case, optionally after
        C(sha256:) or the C(SHA256 Fingerprint=) that openssl prints.
      - When SEPM gets a new certificate, the task fails with both fingerprints; update this option then.
      - If not set, the value of the E(ITMS_SEPM_FINGERPRINT) environment variable is used.
    type: str
  sepm_timeout:
    description:
      - Seconds to wait for the connection and for each answer.
    type: int
    default: 30
  sepm_retries:
    description:
      - How many more times to try a request that only reads after a connection error, a timeout, or HTTP 502, 503 or
        504, with exponential backoff (0.5 s, 1 s, 2 s, ... at most 8 s).
      - The logout is never retried.
    type: int
    default: 3
requirements:
  - requests
notes:
  - "The modules run on the controller: use C(delegate_to: localhost) or a play on localhost."
  - Set the connection once with C(module_defaults) and C(group/itms.cem.sepm).
  - The modules log on with O(sepm_username), renew the session token before it expires (and once when SEPM refuses it),
    and log out at the end of the task.
  - Proxy environment variables (E(HTTPS_PROXY) ...) are not used; the controller connects to SEPM directly.
  - Redirects are followed only to the same scheme, host and port; a redirect to another host fails the task, and
    nothing (credentials included) is sent there.
"""
