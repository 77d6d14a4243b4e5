"""The ASGI gateway: settings, app factory, context, errors, CLI."""
