"""Model-registry errors: one root, a few named leaves."""

from __future__ import annotations

from airlock.errors import AirlockError


class ModelError(AirlockError):
    """Root of every model-registry error."""


class ModelNotFoundError(ModelError):
    """No model with that id in the store."""


class ManifestError(ModelError):
    """A manifest is malformed, unsigned where a signature is required, or does not match."""


class ModelIntegrityError(ModelError):
    """A model file is missing or differs from its manifest."""
