# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""itms.cem.cem_policy with a fake client: arguments, check mode, idempotence, order of calls, errors.

(Named *_module so that it does not clash with module_utils/test_cem_policy.py under pytest.)"""
import json

import ns_fake
from ns_fake import ALL_WINDOWS, CONNECTION, PILOT, POLICY, PROFILE, SERVERS_POLICY

from ansible_collections.itms.cem.plugins.modules import cem_policy

fake_ns = ns_fake.fake_ns  # the fixture, under the name the tests take


READS = ["GetItemsByName", "ExportItemXmlString", "GetResourceTargets"]


def args(**extra):
    result = dict(CONNECTION, profile=PROFILE)
    result.update(extra)
    return result


FULL = dict(enabled=True, settings={"allow_cloud_communication": True},
            gateways=[{"host": "ig-emea.cem.example.com", "port": 443}], targets=["CEM Pilot"])


def names(client):
    return [name for name, _args in client.calls]


def test_check_mode_reads_plans_and_writes_nothing(run_module, fake_ns):
    before = fake_ns.policy_state()
    result, failed = run_module(cem_policy.main, args(_ansible_check_mode=True, **FULL))
    assert not failed and result["changed"]
    assert fake_ns.writes() == [] and fake_ns.policy_state() == before
    assert names(fake_ns) == READS + ["GetItemsByNameAndType"]
    assert result["changes"] == ["enable the policy", "set allow_cloud_communication from False to True",
                                 "add target(s) %s" % PILOT]
    assert result["diff"]["before"] == dict(enabled=False, settings={"allow_cloud_communication": False,
                                                                     "prefer_cem_when_on_vpn": False},
                                            gateways=[{"host": "ig-emea.cem.example.com", "port": 443}],
                                            targets=[ALL_WINDOWS])
    assert result["diff"]["after"]["enabled"] is True and result["diff"]["after"]["targets"] == [ALL_WINDOWS, PILOT]
    assert result["targets_resolved"] == {"CEM Pilot": PILOT}
    assert "push_results" not in result and result["pushed"] is False


def test_run_then_repeat_is_unchanged_with_reads_only(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(**FULL))
    assert not failed and result["changed"]
    assert fake_ns.writes() == ["ImportItemXmlString", "EnablePolicyItem", "AssignResourceTargetsToPolicy"]
    state = fake_ns.policy_state()
    assert state["enabled"] is True and state["targets"] == [ALL_WINDOWS, PILOT]
    assert 'allowCloudCommunication="True"' in state["xml"] and 'guid="{%s}"' % POLICY in state["xml"]
    assert result["settings"] == {"allow_cloud_communication": True, "prefer_cem_when_on_vpn": False}

    fake_ns.calls[:] = []
    again, failed = run_module(cem_policy.main, args(**FULL))
    assert not failed and not again["changed"] and again["changes"] == []
    assert fake_ns.writes() == []
    assert names(fake_ns) == READS + ["GetItemsByNameAndType"]
    assert again["diff"]["before"] == again["diff"]["after"]


def test_unchanged_repeat_with_guids_costs_three_reads(run_module, fake_ns):
    run_module(cem_policy.main, args(enabled=True, targets=[ALL_WINDOWS]))
    fake_ns.calls[:] = []
    fake_ns.asdk_calls = 0
    result, _failed = run_module(cem_policy.main, args(enabled=True, targets=[ALL_WINDOWS]))
    assert not result["changed"] and names(fake_ns) == READS
    assert result["ns_requests"]["asdk_calls"] == len(READS)


def test_by_guid_skips_lookups(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(guid="{%s}" % POLICY.upper(), settings={"prefer_cem_when_on_vpn": False}))
    assert not failed and not result["changed"]
    assert names(fake_ns) == ["ExportItemXmlString", "GetResourceTargets"]
    assert result["policy"]["guid"] == POLICY
    fake_ns.calls[:] = []
    result, failed = run_module(cem_policy.main, args(guid=SERVERS_POLICY, enabled=True))
    assert not result["changed"] and names(fake_ns) == ["GetItemByGuid", "ExportItemXmlString", "GetResourceTargets"]


def test_merge_keeps_and_replace_replaces(run_module, fake_ns):
    result, _failed = run_module(cem_policy.main, args(targets=["CEM Pilot"]))
    assert fake_ns.targets[POLICY] == [ALL_WINDOWS, PILOT] and result["changed"]
    result, _failed = run_module(cem_policy.main, args(targets=["CEM Pilot"], targets_mode="replace"))
    assert fake_ns.targets[POLICY] == [PILOT] and result["changes"] == ["remove target(s) %s" % ALL_WINDOWS]
    assert result["diff"]["before"]["targets"] == [ALL_WINDOWS, PILOT] and result["diff"]["after"]["targets"] == [PILOT]
    result, _failed = run_module(cem_policy.main, args(targets=[], targets_mode="replace"))
    assert fake_ns.targets[POLICY] == [] and result["changed"]
    assert ("AssignResourceTargetsToPolicy", {"policyItemGuid": POLICY, "resourceTargetsGuids": ""}) in fake_ns.calls


def test_order_of_writes_import_then_enable_then_assign_then_push(run_module, fake_ns):
    result, _failed = run_module(cem_policy.main, args(push_policy="changed", **FULL))
    assert fake_ns.writes() == ["ImportItemXmlString", "EnablePolicyItem", "AssignResourceTargetsToPolicy", "PushPolicy2"]
    assert result["pushed"] and result["push_results"] == [{"agent": "b2b2b2b2-0000-4000-8000-000000000001",
                                                            "status": "Pushed"}]
    fake_ns.calls[:] = []
    result, _failed = run_module(cem_policy.main, args(push_policy="changed", **FULL))
    assert not result["changed"] and fake_ns.writes() == []
    result, _failed = run_module(cem_policy.main, args(push_policy="always", **FULL))
    assert result["changed"] and fake_ns.writes() == ["PushPolicy2"]
    fake_ns.calls[:] = []
    result, _failed = run_module(cem_policy.main, args(push_policy="always", _ansible_check_mode=True))
    assert result["changed"] and fake_ns.writes() == [] and "push the policy to agents" in result["changes"]


def test_disable(run_module, fake_ns):
    result, _failed = run_module(cem_policy.main, args(guid=SERVERS_POLICY, enabled=False))
    assert result["changed"] and fake_ns.writes() == ["DisablePolicyItem"]


def test_profile_mismatch_fails_before_any_write(run_module, fake_ns):
    profile = json.loads(json.dumps(PROFILE))
    profile["settings"]["allow_cloud_communication"]["attribute"] = "allowCloud"
    profile["gateways"]["path"] = "policyData/gateways"
    result, failed = run_module(cem_policy.main, args(profile=profile, **FULL))
    assert failed and result["error_kind"] == "profile_mismatch"
    assert result["missing"] == ["settings.allow_cloud_communication: attribute allowCloud not found on policyData/cemSettings",
                                 "gateways: container element policyData/gateways not found"]
    assert "export_xml: true" in result["msg"]
    assert fake_ns.writes() == []


def test_unknown_policy_name(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(name="No Such Policy", enabled=True))
    assert failed and result["error_kind"] == "not_found"
    assert "no policy named 'No Such Policy' of type 'CEMSettingsPolicy'" in result["msg"]
    result, failed = run_module(cem_policy.main, args(name="CEM Pilot", enabled=True))
    assert failed and "items of type ResourceTarget have that name" in result["msg"]


def test_wildcard_name_must_match_one(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(name="%Cloud%", enabled=True))
    assert failed and "2 policies" in result["msg"] and POLICY in result["msg"]
    result, failed = run_module(cem_policy.main, args(name="%(Servers)", enabled=True))
    assert not failed and result["policy"]["guid"] == SERVERS_POLICY


def test_unknown_target_and_setting(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(targets=["Nope"]))
    assert failed and "no resource target named 'Nope'" in result["msg"] and fake_ns.writes() == []
    fake_ns.calls[:] = []
    result, failed = run_module(cem_policy.main, args(settings={"allow_cloud": True}))
    assert failed and "no setting(s) allow_cloud" in result["msg"] and fake_ns.calls == []


def test_insufficient_permission_names_the_role_right(run_module, fake_ns):
    fake_ns.readonly = True
    result, failed = run_module(cem_policy.main, args(**FULL))
    assert failed and "lacks the NS role right" in result["msg"] and result["error_kind"] == "auth"


def test_partial_failure_says_what_was_applied(run_module, fake_ns):
    from ansible_collections.itms.cem.plugins.module_utils._errors import TransportError

    fake_ns.fail_on["AssignResourceTargetsToPolicy"] = TransportError("Calling AssignResourceTargetsToPolicy failed.")
    result, failed = run_module(cem_policy.main, args(**FULL))
    assert failed and "Already applied before this failure: ImportItemXmlString, EnablePolicyItem." in result["msg"]
    assert result["applied"] == ["ImportItemXmlString", "EnablePolicyItem"]


def test_arguments(run_module, fake_ns):
    result, failed = run_module(cem_policy.main, args(name="x", guid=POLICY))
    assert failed and "mutually exclusive" in result["msg"]
    result, failed = run_module(cem_policy.main, dict(CONNECTION))
    assert failed and "profile" in result["msg"]
    result, failed = run_module(cem_policy.main, args(gateways=[{"port": 443}]))
    assert failed and "host" in result["msg"]
    result, failed = run_module(cem_policy.main, args(targets_mode="append"))
    assert failed and "targets_mode" in result["msg"]


def test_password_never_in_output(run_module, fake_ns, capsys):
    result, _failed = run_module(cem_policy.main, args(**FULL))
    result2, _failed2 = run_module(cem_policy.main, args(name="No Such Policy", enabled=True))
    assert fake_ns.params["ns_password"] == CONNECTION["ns_password"]  # the client had it ...
    assert CONNECTION["ns_password"] not in json.dumps(result) + json.dumps(result2)  # ... the results do not
    assert fake_ns.closed
