# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module glue for the enrollment diagnosis: the SEPM and EDR options together, and one client per system.

``edr_enrollment_check`` reads a SEPM (the ``sepm_*`` options, action group ``itms.cem.sepm``), optionally
other SEPMs connected to the same EDR (``sepm_peers``), and the EDR appliance (the ``edr_*`` options, action
group ``itms.cem.edr``). ``EnrollmentClients`` holds one client per system and is the ``client`` the shared
runner opens, reports and closes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.itms.cem.plugins.module_utils import _edr_args, _sepm_args
from ansible_collections.itms.cem.plugins.module_utils._runner import run_module

PEER_OPTIONS = dict(
    url=dict(type="str", required=True),
    username=dict(type="str", required=True),
    password=dict(type="str", required=True, no_log=True),
    domain=dict(type="str", default=""),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    fingerprint=dict(type="str"),
)


def enrollment_argument_spec(**extra):
    """The ``sepm_*`` and ``edr_*`` options; ``edr_url`` is optional here (without it the EDR-side causes need input)."""
    spec = copy.deepcopy(_sepm_args.SEPM_SPEC)
    spec.update(copy.deepcopy(_edr_args.EDR_SPEC))
    spec["edr_url"]["required"] = False
    spec["sepm_peers"] = dict(type="list", elements="dict", default=[], options=copy.deepcopy(PEER_OPTIONS))
    spec.update(extra)
    return spec


def _peer_params(params, peer):
    return dict(sepm_url=peer["url"], sepm_username=peer["username"], sepm_password=peer["password"],
                sepm_domain=peer.get("domain") or "", sepm_validate_certs=peer.get("validate_certs", True),
                sepm_ca_path=peer.get("ca_path"), sepm_fingerprint=peer.get("fingerprint"),
                sepm_timeout=params.get("sepm_timeout"), sepm_retries=params.get("sepm_retries"))


class EnrollmentClients:
    """The SEPM client, the peers' and the EDR client (None without ``edr_url``), as one runner client."""

    def __init__(self, sepm, peers, edr):
        self.sepm = sepm
        self.peers = list(peers)
        self.edr = edr
        self.own_warnings = []

    def _all(self):
        return [c for c in [self.sepm] + self.peers + [self.edr] if c is not None]

    @property
    def warnings(self):
        found = list(self.own_warnings)
        for client in self._all():
            found.extend(w for w in client.warnings if w not in found)
        return found

    def stats(self):
        return dict(sepm=self.sepm.stats(), sepm_peers=[p.stats() for p in self.peers],
                    edr=self.edr.stats() if self.edr is not None else None)

    def close(self):
        for client in self._all():
            client.close()


def connect(params):
    clients = EnrollmentClients(None, [], None)
    try:
        clients.sepm = _sepm_args.connect(params)
        for peer in params.get("sepm_peers") or []:
            clients.peers.append(_sepm_args.connect(_peer_params(params, peer)))
        if params.get("edr_url"):
            clients.edr = _edr_args.connect(params)
    except Exception:
        clients.close()
        raise
    return clients


def run_enrollment_module(module, run):
    """Run an enrollment module through the shared runner; the request statistics go to ``api_requests``."""
    run_module(module, run, connect, "api_requests")
