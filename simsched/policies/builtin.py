"""Imports every policy and governor module of this package so that they register themselves."""

import importlib
import pkgutil

import simsched.policies as _pkg

for _mod in sorted(m.name for m in pkgutil.iter_modules(_pkg.__path__)):
    if _mod not in ("base", "builtin"):
        importlib.import_module(f"simsched.policies.{_mod}")
