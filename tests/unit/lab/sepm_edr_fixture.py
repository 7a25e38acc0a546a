# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab SEPM and EDR tests share: an in-process lab on free ports, and a client's calls to it.

``start(directory)`` makes a lab CA in ``directory``, starts ``sepm_edr.SepmEdr`` there (no daemon) and returns
(its lab.json description, the service); the other helpers speak HTTPS to it with ``requests`` and the lab CA.
"""
import hashlib
import os
import socket
import ssl
import subprocess
import sys

import jsonschema
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from itms_lab import edr_scenarios, sepm_edr

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ITMS_LAB = os.path.join(REPO, "tests", "lab", "itms-lab")
WORKSTATIONS = "My Company\\Workstations"


def itms_lab(*args):
    env = dict(os.environ, ITMS_LAB_PYTHON=sys.executable)
    return subprocess.run([ITMS_LAB] + list(args), env=env, capture_output=True, text=True, timeout=90, check=False)


def start(directory):
    """(lab.json description with ``_dir``, the running service) of a new in-process lab in ``directory``."""
    return sepm_edr.start_in_process(directory)


def reset(directory):
    sepm_edr.write_scenario(directory, "healthy")
    sepm_edr.clear_faults(directory)


def session(entry):
    s = requests.Session()
    s.trust_env = False
    s.verify = entry["ca_path"]
    return s


def login(lab, role="sepm", **overrides):
    entry = lab[role]
    body = {"username": entry["username"], "password": entry["password"], "domain": entry["domain"]}
    body.update(overrides)
    return session(entry).post(entry["url"] + "/sepm/api/v1/identity/authenticate", json=body, allow_redirects=False)


def token_of(lab, role="sepm"):
    answer = login(lab, role)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def sepm_get(lab, path, token, role="sepm", **params):
    entry = lab[role]
    return session(entry).get(entry["url"] + "/sepm/api/v1" + path, params=params, allow_redirects=False,
                              headers={"Authorization": "Bearer %s" % token, "Accept": "application/json"})


def response_schema(contract, method, template, status="200"):
    """The contract's response schema of an operation, with the contract's definitions to resolve $ref."""
    schema = dict(contract["paths"][template][method]["responses"][status]["schema"])
    schema["definitions"] = contract["definitions"]
    return schema


def definition(contract, name):
    return {"$ref": "#/definitions/%s" % name, "definitions": contract["definitions"]}


def check(schema, data):
    jsonschema.Draft4Validator(schema).validate(data)


def set_scenario(lab, name):
    sepm_edr.write_scenario(lab["_dir"], name)


def groups_by_path(lab, token, role="sepm"):
    return dict((g["fullPathName"], g) for g in sepm_get(lab, "/groups", token, role, pageSize=100).json()["content"])


def settings_of(lab, token, group, role="sepm", location=True):
    path = "/groups/%s/external-communication" % group["id"]
    if location:
        path = "/groups/%s/locations/%s/external-communication" % (group["id"], group["defaultLocationId"])
    return sepm_get(lab, path, token, role).json()["configuration"]


def servers(settings):
    return [s for g in settings["privatecloud"]["groups"] for s in g["servers"]]


def presented(port, server_name="localhost"):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(True))


def sha256(cert):
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def pem_sha256(text):
    return sha256(x509.load_pem_x509_certificate(text.encode("ascii")))


def san(cert):
    try:
        value = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    return value.get_values_for_type(x509.DNSName), [str(ip) for ip in value.get_values_for_type(x509.IPAddress)]


def edr_token(lab):
    entry = lab["edr"]
    answer = session(entry).post(entry["url"] + "/atpapi/oauth2/tokens", data={"grant_type": "client_credentials"},
                                 auth=(entry["client_id"], entry["client_secret"]), allow_redirects=False)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def edr_call(lab, token, path, body=None):
    entry = lab["edr"]
    headers = {"Authorization": "Bearer %s" % token}
    if body is None:
        return session(entry).get(entry["url"] + "/atpapi/v2" + path, headers=headers, allow_redirects=False)
    return session(entry).post(entry["url"] + "/atpapi/v2" + path, json=body, headers=headers, allow_redirects=False)


def iso(moment):
    return edr_scenarios.iso(moment)


def query_all(lab, token, path, limit, **extra):
    body = dict({"verb": "query", "limit": limit}, **extra)
    first = edr_call(lab, token, path, body)
    assert first.status_code == 200, first.text
    page = first.json()
    items, pages = list(page["result"]), 1
    while page.get("next"):
        answer = edr_call(lab, token, path, {"verb": "query", "next": page["next"], "limit": limit})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["result"]
        pages += 1
    return items, first.json()["total"], pages


# The lab of a test module (started in-process) and, after each test that uses it, the healthy scenario again.
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    description, service = start(str(tmp_path_factory.mktemp("sepm-edr-lab")))
    yield description
    service.stop()


@pytest.fixture(autouse=True)
def healthy_again(request):
    yield
    if "lab" in request.fixturenames:
        reset(request.getfixturevalue("lab")["_dir"])
