"""One locustfile per scenario: the same user class, a different ``LoadTestShape``.

Locust uses the first shape class it finds in a locustfile, so each scenario gets its own
file: ``locust -f loadtests/scenarios/steady.py`` or ``.../cold.py``.
"""
