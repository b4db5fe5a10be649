"""Meeple's service: the FastAPI app, the REST lobby, the room WebSocket gateway and the stores."""
