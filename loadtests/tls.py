"""Which certificates the load tests trust, for every HTTPS endpoint they call: the system's CAs (a
deployed endpoint), or, when ``LOADTEST_CA_BUNDLE`` names a file (``make demo TLS=1`` sets it to the
run's certificate, ``infra.local.tls``), that file and nothing else. Verification is never turned off.

No Locust import here: the orchestrating process uses it too (see ``loadtests.locust_run``).
"""

from __future__ import annotations

import os
import ssl

CA_BUNDLE_VARIABLE = "LOADTEST_CA_BUNDLE"


def ca_bundle() -> str | None:
    return os.environ.get(CA_BUNDLE_VARIABLE) or None


def client_context(cafile: str | None = None) -> ssl.SSLContext:
    """A verifying client context: hostname checked, certificate required, trusting ``ca_bundle()``
    alone when it is set, else ``cafile`` or the system's CAs."""
    return ssl.create_default_context(cafile=ca_bundle() or cafile)


def is_https(url: str) -> bool:
    return url.lower().startswith("https://")
