"""Bundle errors: one root, a few named leaves (exit 2, bad input or a failed build)."""

from __future__ import annotations

from airlock.errors import AirlockError


class BundleError(AirlockError):
    """Root of every offline-bundle error."""


class BundleKeyError(BundleError):
    """A signing or public key is missing, unreadable, too exposed or not Ed25519."""


class BundleToolError(BundleError):
    """pip, Helm or the SBOM library failed while building the bundle."""
