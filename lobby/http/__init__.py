"""The REST API under /api: one module of routes per resource, and what they share.

``routes.install(app)`` adds them all; ``problems`` is the error shape, ``auth`` who
is calling, ``limits`` the per-client limits on creating things, ``models`` the
request and response bodies.
"""
