"""Airlock: self-hosted LLM appliance for customer-support automation."""

from airlock.offline import enforce_offline

# The air-gap switches must be in place before any ML or cluster library is imported anywhere
# in the process; importing any part of Airlock imports this package first.
enforce_offline()

__version__ = "0.1.0"
