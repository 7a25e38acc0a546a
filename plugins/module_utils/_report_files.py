# -*- coding: utf-8 -*-
# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How every report module writes its files: atomically, only when the content changes, with the file attributes.

``cem_report``, ``agent_access_report`` and ``edr_enrollment_report`` render a document in one or more formats;
this writes them the same way, so ``changed``, check mode and the diff of files mean the same in all three.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.itms.cem.plugins.module_utils._errors import InputError
from ansible_collections.itms.cem.plugins.module_utils._report import write_if_changed


REPORT_FORMATS = ("html", "json")  # what the access and enrollment reports write (cem_report also writes CSV)


def outputs(dest, formats):
    """(path, format) pairs: ``dest`` with each format's extension (an .html or .json ending of dest replaced)."""
    stem, extension = os.path.splitext(dest)
    if extension.lower().lstrip(".") not in REPORT_FORMATS:
        stem = dest
    seen = []
    for fmt in formats or REPORT_FORMATS:
        if fmt not in REPORT_FORMATS:
            raise InputError("Unknown report format %r; the formats are %s." % (fmt, ", ".join(REPORT_FORMATS)))
        if fmt not in seen:
            seen.append(fmt)
    return [("%s.%s" % (stem, fmt), fmt) for fmt in seen]


def mover(module):
    """``AnsibleModule.atomic_move`` for _report.write_if_changed, its failure as a typed error."""
    def move(tmp, dest):
        try:
            module.atomic_move(tmp, dest, unsafe_writes=module.params["unsafe_writes"])
        except Exception as exc:  # ansible-core raises a bare Exception when the rename fails
            raise InputError("Cannot put the report %s in place: %s." % (dest, exc),
                             hint="Check that the directory is writable, or set unsafe_writes on a mount that "
                                  "cannot be replaced atomically.")
    return move


def write_all(module, outputs, render):
    """Write ``render(fmt)`` to each (path, fmt) of ``outputs``; (files, before, after) for the result and the diff.

    Mode, owner, group, SELinux context and attributes are set as the file modules set them; in check mode a
    pending change only makes ``changed`` true. ``before``/``after`` say per path whether the file was absent,
    present, created or changed.
    """
    move = mover(module)
    files, before, after = [], {}, {}
    for path, fmt in outputs:
        content = render(fmt)
        existed = os.path.exists(path)
        content_changed, _old, new = write_if_changed(path, content, module.check_mode, move)
        attributes = {}
        file_args = module.load_file_common_arguments(module.params, path=path)
        changed = module.set_fs_attributes_if_different(file_args, content_changed, diff=attributes)
        files.append(dict(path=path, format=fmt, changed=changed, sha256=new, size=len(content)))
        before[path] = dict(attributes.get("before") or {}, state="present" if existed else "absent")
        after[path] = dict(attributes.get("after") or {},
                           state="present" if not content_changed else "changed" if existed else "created")
    return files, before, after
