# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes of itms.cem modules: every module takes DOCUMENTATION, one of CHANGES or INFO, and its action group."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change, in check mode) when run with C(--diff).
"""

    # Modules that change something.
    CHANGES = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Reads the current state, plans, and returns the plan and the diff without writing anything.
  diff_mode:
    support: full
    details: The diff shows the state the task manages before and after.
"""

    # Modules that only read (*_info and cmdb_query).
    INFO = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads, and runs the same way in check mode.
  diff_mode:
    support: N/A
    details: The module only reads, so there is nothing to compare.
"""

    CMDB = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/itms.cem.cmdb) in C(module_defaults) to set the CMDB connection options once for every CMDB module.
    support: full
    membership: [itms.cem.cmdb]
"""

    NS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/itms.cem.ns) in C(module_defaults) to set the connection options once for every NS module.
    support: full
    membership: [itms.cem.ns]
"""

    SEPM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/itms.cem.sepm) in C(module_defaults) to set the SEPM connection options once for every SEPM module.
    support: full
    membership: [itms.cem.sepm]
"""

    EDR = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/itms.cem.edr) in C(module_defaults) to set the EDR connection options once for every EDR module.
    support: full
    membership: [itms.cem.edr]
"""

    SEPM_EDR = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/itms.cem.sepm) and C(group/itms.cem.edr) in C(module_defaults) to set the SEPM and the EDR connection
        options once; the module takes both.
    support: full
    membership: [itms.cem.sepm, itms.cem.edr]
"""
