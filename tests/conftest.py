"""Test-wide settings.

Under CI (the CI environment variable is set) hypothesis draws the same examples on
every run, so a green main stays green; locally each run explores new examples, and
SIMSCHED_PROPERTY_EXAMPLES / SIMSCHED_FUZZ_EXAMPLES widen the search.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
