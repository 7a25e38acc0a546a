# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every SEPM operation the client sends exists, spelled the same, in the SEPM REST contract (Swagger 2.0 subset,
basePath /sepm; see tests/contracts/README.md for where it is read from): path, method, query and path parameters,
and the logon body."""
import os
import re

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _sepm

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def parameters(operation, where):
    return sorted(p["name"] for p in operation.get("parameters") or [] if p.get("in") == where)


def test_the_copy_in_tests_contracts_is_the_shared_contract(sepm_contract_copies):
    shared, copy = sepm_contract_copies
    if not os.path.exists(shared):
        pytest.skip("no shared reference beside the repository; the tests use the copy in tests/contracts")
    with open(shared, "rb") as one, open(copy, "rb") as two:
        assert one.read() == two.read(), "%s differs from the shared contract %s: copy it again" % (copy, shared)


def test_the_client_builds_urls_under_the_contract_base_path(sepm_contract):
    assert sepm_contract["basePath"] == _sepm.API == "/sepm"


def test_every_operation_exists_in_the_contract(sepm_contract):
    problems = []
    paths = sepm_contract["paths"]
    for name, (method, path, allowed) in sorted(_sepm.OPERATIONS.items()):
        if path not in paths:
            problems.append("%s: path %s is not in the contract" % (name, path))
            continue
        operation = paths[path].get(method.lower())
        if operation is None:
            problems.append("%s: %s %s is not in the contract (it has %s)"
                            % (name, method, path, ", ".join(m.upper() for m in paths[path] if m in METHODS)))
            continue
        query = parameters(operation, "query")
        for parameter in allowed:
            if parameter not in query:
                problems.append("%s: query parameter %s is not one of %s" % (name, parameter, query))
        template = sorted(re.findall(r"\{(\w+)\}", path))
        if template != parameters(operation, "path"):
            problems.append("%s: path parameters %s, the contract has %s" % (name, template, parameters(operation, "path")))
    assert problems == []


def test_the_paged_operations_are_paged_in_the_contract(sepm_contract):
    for name, (method, path, allowed) in _sepm.OPERATIONS.items():
        if "pageIndex" in allowed:
            assert "pageSize" in allowed, name
            assert {"pageIndex", "pageSize"} <= set(parameters(sepm_contract["paths"][path][method.lower()], "query"))


def test_the_logon_body_is_the_user_credential(sepm_contract):
    method, path, _allowed = _sepm.OPERATIONS["authenticate"]
    bodies = [p for p in sepm_contract["paths"][path][method.lower()]["parameters"] if p.get("in") == "body" and p.get("required")]
    assert [b["schema"]["$ref"] for b in bodies] == ["#/definitions/UserCredential"]
    credential = sepm_contract["definitions"]["UserCredential"]
    sent = {}

    def record(method, path, **kwargs):
        """Stands in for HttpJson.request: catches the body the client sends, sends nothing."""
        sent.update(kwargs["json_body"], method=method, path=path)
        raise RuntimeError("recorded")

    client = _sepm.SepmClient("https://sepm.example.com:8446", "admin", "pw", fingerprint="AB" * 32)
    client.http.request = record
    with pytest.raises(RuntimeError):
        client.login()
    assert (sent.pop("method"), sent.pop("path")) == ("POST", "/sepm" + path)
    assert sorted(sent) == sorted(credential["required"]) == ["domain", "password", "username"]
    assert sorted(sent) == sorted(credential["properties"])


def test_the_token_fields_the_client_reads_are_in_the_contract(sepm_contract):
    token = sepm_contract["definitions"]["identity_UserToken"]
    assert "token" in token["required"]
    assert token["properties"]["tokenExpiration"]["type"] == "integer"
    assert {"token", "tokenExpiration", "refreshToken", "clientSecret"} <= set(token["properties"])
