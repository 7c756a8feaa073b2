"""API models shared by the server (validation, OpenAPI) and the client (parsing)."""
