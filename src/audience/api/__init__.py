"""The HTTP API: one module per resource, assembled by :func:`audience.api.app.create_app`."""
