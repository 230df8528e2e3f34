"""Home routing by role, health check, errors and template helpers."""
