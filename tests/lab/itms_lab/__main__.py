# Copyright (c) 2026 itms.cem contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the lab's command line: ``python tests/lab/itms_lab`` or ``tests/lab/itms-lab``."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from itms_lab.cli import main  # noqa: E402  pylint: disable=wrong-import-position

sys.exit(main())
