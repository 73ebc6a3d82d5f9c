"""The REST API (/api/v1): token authentication, OpenAPI document, reads and writes through the services."""
