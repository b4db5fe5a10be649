"""The stores behind the service: small interfaces, each with an in-memory and a Redis form.

In memory is the default (one process, nothing to set up); with ``REDIS_URL`` every
process shares Redis and they act as one server.
"""
