"""Kernel errors: every Airlock error says what is wrong and what to do about it."""

from __future__ import annotations


class AirlockError(Exception):
    """Root of every Airlock error; `remedy` tells the operator what to do."""

    exit_code = 2

    def __init__(self, message: str, *, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __str__(self) -> str:
        return f"{self.message}; {self.remedy}" if self.remedy else self.message


class ConfigError(AirlockError):
    """A configuration file, environment variable or argument is malformed or not allowed."""


class StorageError(AirlockError):
    """The relational store is missing, corrupt, unreachable or at an unexpected schema."""


class DataDirError(AirlockError):
    """The data directory cannot be created or written."""
