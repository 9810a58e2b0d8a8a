"""What the app is measured against: a bare ASGI floor and a naive peer (in this venv), and the
model servers users would pick instead (``catalog``: MLServer, KServe, BentoML, the FastAPI
tutorial's service; each folder here holds one's pinned requirements and, where it needs one,
its service file, run from its own venv)."""
