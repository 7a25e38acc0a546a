# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Windows authentication to the Notification Server: NTLM, Negotiate or Kerberos over HTTP, with channel binding.

Built on pyspnego (the library requests-ntlm is built on). The first request of a session carries the
NTLM negotiate token, which IIS accepts, so authenticating costs one extra round trip instead of two;
NTLM then holds for the kept-alive connection. Over HTTPS the client binds the authentication to the
NS certificate (RFC 5929 tls-server-end-point), which IIS's Extended Protection requires.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.itms.cem.plugins.module_utils._errors import AuthError, InputError, MissingDependency

try:
    import spnego
    from spnego.channel_bindings import GssChannelBindings

    HAS_SPNEGO = True
except ImportError:
    spnego = None
    GssChannelBindings = None
    HAS_SPNEGO = False

AUTH_SCHEMES = {"ntlm": "NTLM", "negotiate": "Negotiate", "kerberos": "Negotiate"}
MAX_LEGS = 5


def peer_certificate(response):
    """The DER certificate of the TLS peer of a streamed requests response, or None.

    requests does not expose the peer certificate, so this reaches for the socket under the response:
    urllib3's connection when the response still holds it, else http.client's socket behind the raw
    stream. This is the only place the collection depends on those internals; a unit test against a
    real TLS server fails if they change.
    """
    raw = getattr(response, "raw", None)
    sockets = []
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    if connection is not None:
        sockets.append(getattr(connection, "sock", None))
    try:
        sockets.append(raw._fp.fp.raw._sock)  # pylint: disable=protected-access
    except AttributeError:
        pass
    for sock in sockets:
        getpeercert = getattr(sock, "getpeercert", None)
        if getpeercert is None:
            continue
        try:
            der = getpeercert(True)
        except (ValueError, OSError):
            der = None
        if der:
            return der
    return None


def certificate_hash(der):
    """RFC 5929 tls-server-end-point hash: the certificate's signature hash, SHA-256 for MD5/SHA-1."""
    algorithm = "sha256"
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else "sha256"
        if name not in ("md5", "sha1"):
            algorithm = name
    except Exception:  # pylint: disable=broad-except  # any unreadable certificate still gets the RFC's default
        pass
    return hashlib.new(algorithm, der).digest()


class Authenticator:
    """The token exchange with one NS for one client: a pyspnego context per handshake, over HTTP headers.

    ``send(prepared)`` is the client's one-request sender; it raises the client's own transport errors.
    """

    def __init__(self, auth, username, password, hostname, scrub):
        if not HAS_SPNEGO:
            raise MissingDependency("The Python library pyspnego is required for Windows authentication to the NS.",
                                    hint="Install it on the controller with 'pip install pyspnego'.")
        if auth == "kerberos":
            try:
                import gssapi  # noqa: F401  pylint: disable=unused-import
            except ImportError:
                raise MissingDependency("ns_auth: kerberos needs the Python library gssapi and the MIT Kerberos "
                                        "libraries on the controller.",
                                        hint="Install them with 'pip install pyspnego[kerberos]' (and the krb5 "
                                             "packages of your OS), or use ns_auth: ntlm.")
        elif not (username and password):
            raise InputError("ns_auth: %s needs ns_username and ns_password (or ITMS_NS_USERNAME and "
                             "ITMS_NS_PASSWORD)." % auth,
                             hint="Write the user as DOMAIN\\user or user@domain.")
        self.auth = auth
        self.scheme = AUTH_SCHEMES[auth]
        self.username = username
        self._password = password
        self.hostname = hostname
        self._scrub = scrub
        self.authenticated = False
        self.channel_bindings = None

    # ----- the connection

    def learn_peer(self, response):
        """Take the NS certificate for channel binding from the first HTTPS response that shows it."""
        if self.channel_bindings is None:
            der = peer_certificate(response)
            if der:
                self.channel_bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + certificate_hash(der))

    def forget(self):
        """The connection is gone: the next one must authenticate again."""
        self.authenticated = False

    # ----- requests

    def send(self, send, prepared):
        """Send ``prepared`` on an authenticated connection, authenticating first when needed."""
        if self.authenticated:
            response = send(prepared)
            if response.status_code != 401:
                return response
            # The kept-alive connection was closed and the new one is not authenticated yet.
            self.authenticated = False
        return self._handshake(send, prepared)

    def _handshake(self, send, prepared):
        context, token = self._first_token()
        prepared.headers["Authorization"] = self._header(token)
        response = send(prepared)
        legs = 1
        restarted = False
        while response.status_code == 401 and legs < MAX_LEGS:
            server_token = self._challenge(response)
            if server_token is None:
                if legs == 1 and not restarted and self.scheme.lower() in [o.lower() for o in offered(response)]:
                    # The server answered our first token as if the request were anonymous (a server that
                    # does not take a token on a connection's first request): start over once.
                    restarted = True
                    context, token = self._first_token()
                    prepared.headers["Authorization"] = self._header(token)
                    response = send(prepared)
                    legs += 1
                    continue
                break
            if context.complete:
                break
            try:
                token = context.step(server_token, channel_bindings=self.channel_bindings)
            except TypeError:  # pyspnego < 0.10 takes channel bindings only at construction
                token = context.step(server_token)
            except Exception as exc:  # pylint: disable=broad-except  # pyspnego raises many types; all mean failure
                raise AuthError("%s authentication as %s failed on the controller: %s."
                                % (self.auth, self.username, self._scrub(exc)), hint=AUTH_HINT)
            prepared.headers["Authorization"] = self._header(token)
            response = send(prepared)
            legs += 1
        prepared.headers.pop("Authorization", None)
        if response.status_code == 401:
            schemes = offered(response)
            if schemes and self.scheme.lower() not in [o.lower() for o in schemes]:
                raise AuthError("The NS does not offer %s authentication (it offers %s)." % (self.scheme, ", ".join(schemes)),
                                hint="Set ns_auth to match: negotiate or kerberos for Negotiate, ntlm for NTLM.")
            raise AuthError("The NS refused the credentials of %s (HTTP 401 from %s)." % (self.username, self.hostname),
                            hint=AUTH_HINT)
        self.authenticated = True
        return response

    def _first_token(self):
        try:
            options = spnego.NegotiateOptions.use_ntlm if self.auth == "ntlm" else spnego.NegotiateOptions.none
            context = spnego.client(self.username, self._password, hostname=self.hostname, service="http",
                                    protocol=self.auth, options=options)
            return context, context.step()
        except Exception as exc:  # pylint: disable=broad-except  # pyspnego raises many types; all mean failure
            raise AuthError("Cannot start %s authentication as %s: %s." % (self.auth, self.username, self._scrub(exc)),
                            hint=AUTH_HINT)

    def _header(self, token):
        return "%s %s" % (self.scheme, base64.b64encode(token or b"").decode("ascii"))

    def _challenge(self, response):
        """The server's token for our scheme in a 401, or None if it offers none."""
        for part in response.headers.get("WWW-Authenticate", "").split(","):
            part = part.strip()
            if part.lower().startswith(self.scheme.lower() + " "):
                try:
                    return base64.b64decode(part.split(" ", 1)[1].strip())
                except (TypeError, ValueError):
                    return None
        return None


def offered(response):
    """The authentication schemes a 401 answer offers, in its order."""
    schemes = []
    for part in response.headers.get("WWW-Authenticate", "").split(","):
        name = part.strip().split(" ", 1)[0]
        if name and name not in schemes:
            schemes.append(name)
    return schemes


AUTH_HINT = ("Check ns_username (DOMAIN\\user or user@domain) and ns_password (or ITMS_NS_USERNAME / "
             "ITMS_NS_PASSWORD), that the account is not locked or expired, and that IIS on the NS has Windows "
             "authentication enabled for /Altiris/ASDK.NS.")
