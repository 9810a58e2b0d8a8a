"""Plain ASGI middleware, one job each.

Plain ASGI rather than ``BaseHTTPMiddleware``: the latter adds a task and a memory stream per
request, which costs more than this model's whole inference.
"""
