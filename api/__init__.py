"""The HTTP facade: OIDC-protected FastAPI app over the help desk, knowledge base and audit."""
