#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cem_policy
short_description: Enable, configure and target the Cloud-enabled Management settings policy
version_added: 0.1.0
description:
  - Step 5 of KB 216202 as an idempotent task - edit the B(Default Cloud-Enabled Management Settings Policy), turn on
    B(Allow cloud communication), and assign the policy to a target. A disabled or mistargeted CEM policy is one of the
    five most common CEM failures.
  - Finds the policy by name or GUID, exports its item XML (C(ExportItemXmlString)), reads the settings and the gateway
    list through the policy profile, reads its resource targets (C(GetResourceTargets)), and compares all of it with
    the task.
  - The profile is checked against the exported XML before anything is written; a profile that does not match fails
    with the list of paths that were not found.
  - Writes only what differs, in this order - the edited XML (C(ImportItemXmlString)), then C(EnablePolicyItem) or
    C(DisablePolicyItem), then C(AssignResourceTargetsToPolicy), then, if asked, C(PushPolicy2) (the string form of
    C(PushPolicy)).
  - An unchanged run makes read calls only - with the policy given by name and targets given as GUIDs (or not managed),
    three ASDK calls; each target given by name adds one lookup.
author: ITMS CEM Developers (@itms-cem)
extends_documentation_fragment:
  - itms.cem.ns
  - itms.cem.attributes
  - itms.cem.attributes.CHANGES
  - itms.cem.attributes.NS
options:
  name:
    description:
      - Name of the policy item. C(%) wildcards are allowed if they match exactly one policy.
      - Defaults to the profile's C(policy.default_name) (for the stock NS, C(Default Cloud-Enabled Management Settings
        Policy)).
      - Mutually exclusive with O(guid).
    type: str
  guid:
    description:
      - GUID of the policy item, instead of O(name). Saves the name lookup.
    type: str
  enabled:
    description:
      - Whether the policy is enabled (C(EnablePolicyItem) / C(DisablePolicyItem)). Not changed when omitted.
    type: bool
  settings:
    description:
      - "Settings of the policy by the names the profile gives them, for example C(allow_cloud_communication: true) and
        C(prefer_cem_when_on_vpn: false) (the lab's profile)."
      - Settings that are not listed are left as they are. A name the profile does not define fails the task.
    type: dict
  gateways:
    description:
      - The complete, ordered list of Internet Gateways the policy gives agents. Not changed when omitted; V([]) removes
        every gateway.
      - The port must be the same in the gateway's listener, this policy and the perimeter firewall; a mismatch makes
        agents fail to connect without an error in the console (KB 440283).
    type: list
    elements: dict
    suboptions:
      host:
        description: Host name agents use to reach the gateway.
        type: str
        required: true
      port:
        description: Port of the gateway's listener.
        type: int
        default: 443
  targets:
    description:
      - Resource targets of the policy, each a GUID or a name (looked up with C(GetItemsByNameAndType); a name must
        match exactly one item, narrowed with O(target_type)).
      - Not changed when omitted.
    type: list
    elements: str
  targets_mode:
    description:
      - V(merge) adds O(targets) to those the policy already has and never removes one - the safe default, because
        C(AssignResourceTargetsToPolicy) replaces the whole list.
      - V(replace) makes the list exactly O(targets); V(replace) with O(targets=[]) removes every target.
    type: str
    default: merge
    choices: [merge, replace]
  target_type:
    description:
      - Item type that target names are looked up with (C(%) wildcards allowed). Empty matches any type.
    type: str
    default: ""
  push_policy:
    description:
      - Push the policy to agents on the Time Critical Management persistent connection (C(PushPolicy2), ITMS 8.5 and
        later; CEM agents included) and return each agent's status.
      - V(never) does not push, V(changed) pushes when the task changed the policy, V(always) pushes on every run (and
        then reports C(changed)).
      - Never pushes in check mode.
    type: str
    default: never
    choices: [never, changed, always]
  profile:
    description:
      - The policy profile - where each setting and the gateway list sit in the policy's item XML - as a path to a YAML
        file on the controller or as a dictionary. Required; set it once with C(module_defaults).
      - The XML is not publicly documented, so the collection has no built-in profile. Export the real XML with
        M(itms.cem.ns_item_info) (O(itms.cem.ns_item_info#module:export_xml=true)) and write one as described in the
        collection's C(docs/ns-and-cem-policy.md). The lab's is C(tests/lab/profiles/cem_policy.yml).
    type: raw
    required: true
notes:
  - The module never changes the XML outside the profile's paths; everything else in the item is written back as
    exported.
  - If a write fails half way, the error says which calls had already been applied; running the task again completes
    it, because it reads the current state first.
  - In check mode the module reads everything and returns the plan and the diff; it writes nothing and does not push the policy.
  - The diff shows C(enabled), the settings, the gateways and the targets before and after.
requirements:
  - requests >= 2.28
  - pyspnego >= 0.9.0 (NTLM and Negotiate authentication)
  - cryptography >= 41.0 (the channel-binding hash of NS certificates signed with SHA-384 or SHA-512)
  - PyYAML, for a profile file (installed with ansible-core)
seealso:
  - module: itms.cem.ns_item_info
  - module: itms.cem.ns_resource_target
  - name: KB 216202 - Configuring Cloud-enabled Management
    description: Step 5, the CEM settings policy.
    link: https://knowledge.broadcom.com/external/article/216202/configuring-cloudenabled-management-cem.html
"""

EXAMPLES = r"""
- name: Enable the CEM settings policy, allow cloud communication, and target the pilot
  itms.cem.cem_policy:
    ns_url: https://ns.example.com
    ns_username: EXAMPLE\svc_cem
    ns_password: "{{ vault_ns_password }}"
    ca_path: /etc/pki/ca-trust/source/anchors/example-ca.pem
    profile: "{{ playbook_dir }}/files/cem_policy_profile.yml"
    enabled: true
    settings:
      allow_cloud_communication: true
    gateways:
      - host: ig-emea.cem.example.com
        port: 443
    targets:
      - CEM Pilot
  delegate_to: localhost

- name: Set the connection and profile once for every NS task
  module_defaults:
    group/itms.cem.ns:
      ns_url: https://ns.example.com
      ns_username: EXAMPLE\svc_cem
      ns_password: "{{ vault_ns_password }}"
    itms.cem.cem_policy:
      profile: "{{ playbook_dir }}/files/cem_policy_profile.yml"
  block:
    - name: Exactly these targets, then push the policy to connected agents if anything changed
      itms.cem.cem_policy:
        targets:
          - 3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11
        targets_mode: replace
        push_policy: changed
      delegate_to: localhost
      register: cem

    - name: Show what was pushed
      ansible.builtin.debug:
        var: cem.push_results
"""

RETURN = r"""
policy:
  description: The policy item.
  returned: success
  type: dict
  contains:
    guid:
      description: GUID of the item.
      type: str
      sample: 5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10
    name:
      description: Name of the item (when it was looked up by name or when O(enabled) was given).
      type: str
      sample: Default Cloud-Enabled Management Settings Policy
    type_name:
      description: Item type as the NS reports it.
      type: str
      sample: CEMSettingsPolicy
  sample: {"guid": "5c1e6a44-1b51-4d77-9e0f-4f0a5d2b7c10", "name": "Default Cloud-Enabled Management Settings Policy"}
enabled:
  description: Whether the policy is enabled after the task (null when not read).
  returned: success
  type: bool
  sample: true
settings:
  description: Every setting of the profile after the task.
  returned: success
  type: dict
  sample: {"allow_cloud_communication": true, "prefer_cem_when_on_vpn": false}
gateways:
  description: The gateway list after the task (when the profile describes it).
  returned: success
  type: list
  elements: dict
  sample: [{"host": "ig-emea.cem.example.com", "port": 443}]
targets:
  description: GUIDs of the policy's resource targets after the task.
  returned: success
  type: list
  elements: str
  sample: ["3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11"]
targets_resolved:
  description: Each target name of the task and the GUID it was resolved to.
  returned: success
  type: dict
  sample: {"CEM Pilot": "3d0e5f2a-7b61-4d0b-9a53-0c2b9e5f1a11"}
changes:
  description: What the task changed, or would change in check mode, in words.
  returned: success
  type: list
  elements: str
  sample: ["enable the policy", "set allow_cloud_communication from False to True"]
pushed:
  description: Whether C(PushPolicy2) was called.
  returned: success
  type: bool
  sample: false
push_results:
  description: Each agent's push status (C(Pushed), C(NotConnected), C(EmptyPolicy), C(ActionFailed)).
  returned: when the policy was pushed
  type: list
  elements: dict
  sample: [{"agent": "0e9c3b57-0f73-4c5e-8d5f-2f0f3a9c7d21", "status": "Pushed"}]
profile_name:
  description: Name of the policy profile used.
  returned: success
  type: str
  sample: itms-lab
ns_requests:
  description: The calls the task made - ASDK calls, HTTP requests (authentication legs included), the binding in
    use, whether the POST binding was refused, and the ASDK methods called in order.
  returned: always
  type: dict
  sample: {"asdk_calls": 3, "http_requests": 4, "binding": "post", "post_binding_refused": false, "post_refusal": null,
           "methods": ["GetItemsByName", "ExportItemXmlString", "GetResourceTargets"]}
diff:
  description: Before and after of C(enabled), C(settings), C(gateways) and C(targets).
  returned: success
  type: dict
  sample: {"before": {"enabled": false}, "after": {"enabled": true}}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.itms.cem.plugins.module_utils import _cem_policy as core  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils import _ns_policy as policy  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._ns_args import ns_argument_spec, run_ns_module  # noqa: E402
from ansible_collections.itms.cem.plugins.module_utils._ns_items import resolve_all  # noqa: E402


def run(module, client):
    params = module.params
    profile = core.load_policy_profile(params["profile"])
    desired = dict(enabled=params["enabled"], settings=core.desired_settings(profile, params["settings"]),
                   gateways=core.desired_gateways(profile, params["gateways"]), targets=None)
    if params["targets"] is None and params["targets_mode"] == "replace":
        module.warn("targets_mode: replace has no effect without targets; targets are left as they are.")

    found = policy.read(client, profile, params["name"], params["guid"], params["enabled"] is not None)
    resolved = {}
    if params["targets"] is not None:
        desired["targets"], resolved = resolve_all(client, params["targets"], params["target_type"], "resource target")
    plan = core.plan(found.current, desired, params["targets_mode"])
    if plan.changed and not module.check_mode:
        policy.apply(client, found, profile, plan)

    result = dict(
        policy=dict(guid=found.guid, name=found.item.get("name"), type_name=found.item.get("type_name")),
        enabled=plan.after["enabled"], settings=plan.after["settings"], targets=plan.after["targets"],
        targets_resolved=resolved, changes=list(plan.changes), pushed=False, profile_name=profile.name,
    )
    if profile.gateways is not None:
        result["gateways"] = plan.after["gateways"]
    push = params["push_policy"] == "always" or (params["push_policy"] == "changed" and plan.changed)
    if push and module.check_mode:
        result["changes"].append("push the policy to agents")
    elif push:
        result.update(push_results=policy.push(client, found.guid), pushed=True)
    diff = dict(before=core.policy_view(plan.before, profile), after=core.policy_view(plan.after, profile))
    return plan.changed or push, result, diff


def main():
    module = AnsibleModule(
        argument_spec=ns_argument_spec(
            name=dict(type="str"),
            guid=dict(type="str"),
            enabled=dict(type="bool"),
            settings=dict(type="dict"),
            gateways=dict(type="list", elements="dict", options=dict(
                host=dict(type="str", required=True),
                port=dict(type="int", default=443),
            )),
            targets=dict(type="list", elements="str"),
            targets_mode=dict(type="str", default="merge", choices=["merge", "replace"]),
            target_type=dict(type="str", default=""),
            push_policy=dict(type="str", default="never", choices=["never", "changed", "always"]),
            profile=dict(type="raw", required=True),
        ),
        mutually_exclusive=[("name", "guid")],
        supports_check_mode=True,
    )
    run_ns_module(module, run)


if __name__ == "__main__":
    main()
