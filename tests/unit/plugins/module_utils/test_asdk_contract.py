# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every ASDK method and parameter the client sends exists, spelled the same, in the SMP 8.5.5713
web-service contract (see tests/contracts/README.md for where it is read from)."""
import os

import pytest

from ansible_collections.itms.cem.plugins.module_utils import _asdk_wire


# The contract's result type for each parser of the client.
RESULT_TYPES = {
    "item_details": "tns:ItemDetails",
    "item_details_list": "tns:ArrayOfItemDetails",
    "guids": "tns:ArrayOfGuid",
    "guid": "s1:guid",
    "boolean": "s:boolean",
    "string": "s:string",
    "push_results": "tns:ArrayOfPushPolicyResult",
    "dataset": None,  # a DataSet has no named type in the WSDL dump
}


@pytest.fixture(scope="module")
def contract(asdk_contract):
    return asdk_contract


def test_the_copy_in_tests_contracts_is_the_shared_contract(contract_copies):
    shared, copy = contract_copies
    if not os.path.exists(shared):
        pytest.skip("no shared reference beside the repository; the tests use the copy in tests/contracts")
    with open(shared, "rb") as one, open(copy, "rb") as two:
        assert one.read() == two.read(), "%s differs from the shared contract %s: copy it again" % (copy, shared)


def test_client_methods_and_parameters_exist_in_contract(contract):
    problems = []
    for name, method in sorted(_asdk_wire.METHODS.items()):
        assert name == method.name
        methods = contract.get(method.service)
        if methods is None:
            problems.append("service %s is not in the contract" % method.service)
            continue
        if method.name not in methods:
            problems.append("%s.%s is not in the contract" % (method.service, method.name))
            continue
        expected = [p for p, _type in methods[method.name]]
        if list(method.params) != expected:
            problems.append("%s.%s sends %s; the contract has %s (order matters for SOAP)"
                            % (method.service, method.name, list(method.params), expected))
    assert problems == []


def test_result_shapes_follow_the_contract(contract):
    problems = []
    for name, method in sorted(_asdk_wire.METHODS.items()):
        response = contract[method.service].get(name + "Response")
        if method.result == "void":
            if response:
                problems.append("%s returns %s but the client expects nothing" % (name, response))
            continue
        if not response or response[0][0] != name + "Result":
            problems.append("%s has no %sResult in the contract" % (name, name))
            continue
        if response[0][1] != RESULT_TYPES[method.result]:
            problems.append("%s returns %s; the client parses it as %s" % (name, response[0][1], method.result))
    assert problems == []


def test_every_service_is_under_asdk_ns(contract):
    for method in _asdk_wire.METHODS.values():
        assert method.service.endswith("Service")
    assert _asdk_wire.LIBRARY == "ASDK.NS"
