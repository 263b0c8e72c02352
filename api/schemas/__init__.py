"""Request and response models of the API (typed, with examples for the OpenAPI document)."""
