"""Tamper-evident audit log: hash-chained events, signed checkpoints, verify, export, retention."""
