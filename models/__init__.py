"""Model registry: manifests, checksums, air-gapped import and verification."""
