"""A TLS certificate for one local run (``make demo TLS=1``): self-signed for 127.0.0.1, made with
Debian's ``openssl`` under ``.cache/tls/<run>/`` (git ignores ``.cache/``), valid for two days.

HAProxy (the local ALB) and the local Function URL serve it; the clients trust it and nothing else
(``cert`` is their CA file), so verification stays on and a wrong certificate fails the run.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.common.paths import REPO_ROOT
from infra.local.process import LOOPBACK

TLS_CACHE = REPO_ROOT / ".cache" / "tls"


@dataclass(frozen=True)
class LocalCertificate:
    cert: Path  # the certificate (PEM): what servers present and clients trust
    key: Path  # its private key (PEM, mode 0600)
    bundle: Path  # both in one file, as HAProxy's `crt` takes them


def generate_certificate(run_id: str, root: Path = TLS_CACHE) -> LocalCertificate:
    """A fresh P-256 key and certificate for 127.0.0.1 (an IP subject alternative name, which
    hostname checking matches against the URL's host)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is missing: run `sudo apt-get install openssl`, then retry.")
    folder = root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, bundle = folder / "cert.pem", folder / "key.pem", folder / "haproxy.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={LOOPBACK}",
            "-addext", f"subjectAltName=IP:{LOOPBACK}", "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    key.chmod(0o600)
    bundle.write_bytes(cert.read_bytes() + key.read_bytes())
    bundle.chmod(0o600)
    return LocalCertificate(cert, key, bundle)
