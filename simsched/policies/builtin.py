"""Imports the built-in policies and governors so that they register themselves."""

from simsched.policies import affinity, fifo, governors  # noqa: F401
