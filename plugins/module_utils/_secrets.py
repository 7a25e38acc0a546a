# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one secret scrubber: every client, module and plugin masks secrets through here.

A secret can reach a message in more than one spelling: as given, URL-encoded in a URL, or
percent-decoded from one. ``variants`` lists them, ``scrub`` replaces all of them, and
``url_password`` finds a password written into a URL's user-info, so that even a URL the
collection refuses can be masked wherever it is shown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "********"


def url_password(url):
    """The password written into ``url``'s user-info (``scheme://user:password@host``), or None."""
    if not isinstance(url, str):
        return None
    try:
        password = urlsplit(url).password
    except ValueError:  # an unbalanced [ in the host; the user-info before it may still hold a password
        userinfo = url.partition("//")[2].partition("/")[0].rpartition("@")[0]
        password = userinfo.partition(":")[2]
    return password or None


# What URL and form encoders leave unencoded (each also with spaces as '+'): nothing (urlencode, quote(s, safe='')),
# a path's '/' (quote's default), the ':' and '@' some tools keep, a user-info's sub-delims and ':' (RFC 3986), and a
# path segment's (pchar: the same and '@').
ENCODER_SAFE_SETS = ("", "/", ":@", "!$&'()*+,;=:", "!$&'()*+,;=:@")


def variants(secret):
    """The spellings of ``secret`` that a message may hold, longest first.

    The secret as given and decoded (a password copied from a URL is percent-encoded), and each of those encoded
    the ways URL and form encoders do (everything, or all but the characters a user-info or a path may hold,
    spaces as %20 or +).
    """
    if not secret:
        return []
    found = set()
    for base in (str(secret), unquote(str(secret))):
        found.add(base)
        for safe in ENCODER_SAFE_SETS:
            found.add(quote(base, safe=safe))
            found.add(quote_plus(base, safe=safe))
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub(text, secrets):
    """``text`` with every spelling of every secret in ``secrets`` replaced by ********."""
    text = str(text)
    for secret in secrets:
        for spelling in variants(secret):
            text = text.replace(spelling, MASK)
    return text


def secrets_in_params(params, secret_keys=()):
    """The secrets of a module's or plugin's options: the named ones, and any password written into a URL."""
    found = []
    for key, value in (params or {}).items():
        if key in secret_keys and value:
            found.append(str(value))
        elif isinstance(value, str):
            password = url_password(value)
            if password:
                found.append(password)
    return found


def mask_in_module(module):
    """Make AnsibleModule mask every password written into a URL option, in the result and the invocation.

    ``no_log`` options are masked by Ansible already; a password inside ``cmdb_url`` or ``ns_url`` is not
    an option of its own, so it is added to ``module.no_log_values``, which Ansible removes from everything
    it returns (``invocation.module_args`` included, which ``-vvv`` shows).
    """
    for password in secrets_in_params(module.params):
        module.no_log_values.update(variants(password))
