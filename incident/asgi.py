"""The ASGI app, built from the environment; what Hypercorn workers import (`incident.asgi:app`)."""

from incident.app import create_app

app = create_app()
