# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows authentication of the lab NS as IIS does it: NTLM, and Negotiate offering NTLM.

A pyspnego acceptor checks the NTLM responses against the lab's credential file, named by the
environment variable ``NTLM_USER_FILE`` (lines ``DOMAIN:USER:PASSWORD``). IIS authenticates a
TCP connection, not a request: once the handshake is complete, later requests on the same
kept-alive connection need no ``Authorization`` header, and a new NEGOTIATE token starts over.

An unauthenticated request gets 401 with ``WWW-Authenticate: Negotiate`` and
``WWW-Authenticate: NTLM``; a request that carries an NTLM NEGOTIATE message (bare, or wrapped
in SPNEGO under ``Negotiate``) gets 401 with the CHALLENGE; the AUTHENTICATE message is checked
and, when it fails, 401 with the two schemes again.
"""

import base64
import binascii

try:
    import spnego
    from spnego.exceptions import SpnegoError
except ImportError:  # reported by the server at start, with what to install
    spnego = None
    SpnegoError = Exception

SCHEMES = {"ntlm": "NTLM", "negotiate": "Negotiate"}
OFFER = (("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM"))
_NTLM_SIGNATURE = b"NTLMSSP\x00"


def _starts_handshake(token):
    """A bare NTLM NEGOTIATE message, or a SPNEGO NegTokenInit (ASN.1 application tag 0x60)."""
    if token.startswith(_NTLM_SIGNATURE):
        return token[8:12] == b"\x01\x00\x00\x00"
    return token[:1] == b"\x60"


class Accounts:
    """The lab's Windows accounts: canonical ``DOMAIN\\user`` names, matched case-insensitively."""

    def __init__(self, domain, users):
        self.domain = domain
        self.users = list(users)

    def canonical(self, principal):
        if not principal:
            return None
        if "\\" in principal:
            domain, user = principal.split("\\", 1)
        elif "@" in principal:
            user, domain = principal.rsplit("@", 1)
        else:
            domain, user = self.domain, principal
        for name in self.users:
            known_domain, known_user = name.split("\\", 1)
            if known_domain.lower() == domain.lower() and known_user.lower() == user.lower():
                return name
        return None


class AuthOutcome:
    """``user`` when the request may proceed; otherwise a 401 with ``headers``."""

    def __init__(self, user=None, headers=(), failed=False):
        self.user = user
        self.headers = list(headers)
        self.failed = failed


class ConnectionAuth:
    """The Windows-authentication state of one TCP connection."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.user = None
        self._context = None
        self._scheme = None

    def authenticate(self, header):
        if header:
            scheme, _space, data = header.strip().partition(" ")
            scheme = SCHEMES.get(scheme.lower())
            try:
                token = base64.b64decode(data.strip(), validate=True) if data.strip() else b""
            except (binascii.Error, ValueError):
                token = b""
            if scheme is None or not token:
                return self._refuse()
            return self._step(scheme, token)
        if self.user:
            return AuthOutcome(user=self.user)
        return AuthOutcome(headers=OFFER)

    def _step(self, scheme, token):
        if _starts_handshake(token):
            self.user = None
            self._scheme = scheme
            # A bare NTLM token under "Negotiate" is accepted as Windows does, by the NTLM acceptor.
            protocol = "negotiate" if scheme == "Negotiate" and not token.startswith(_NTLM_SIGNATURE) else "ntlm"
            self._context = spnego.server(protocol=protocol)
        elif self._context is None or scheme != self._scheme:
            return self._refuse()
        try:
            out = self._context.step(token)
        except (SpnegoError, ValueError, KeyError, IndexError, TypeError):
            return self._refuse()  # a wrong password, or a token the acceptor cannot even decode
        if not self._context.complete:
            return AuthOutcome(headers=[("WWW-Authenticate", "%s %s" % (scheme, base64.b64encode(out).decode("ascii")))])
        user = self.accounts.canonical(self._context.client_principal)
        self._context = None
        if user is None:
            return self._refuse()
        self.user = user
        final = []
        if out:  # SPNEGO's mechListMIC travels with the response to the authenticated request
            final.append(("WWW-Authenticate", "%s %s" % (scheme, base64.b64encode(out).decode("ascii"))))
        return AuthOutcome(user=user, headers=final)

    def _refuse(self):
        self.user = None
        self._context = None
        self._scheme = None
        return AuthOutcome(headers=OFFER, failed=True)
