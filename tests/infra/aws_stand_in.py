"""A stand-in for the instance metadata service (IMDSv2) and CloudFormation's query API.

test_user_data.py copies this file into the systemd container and runs it there on 127.0.0.1,
so user_data.sh's metadata and signal requests never leave the container. Each request is
appended to a JSON-lines file for the test to read. Standard library only: it runs on the
container's Debian python3.

    python3 aws_stand_in.py PORT RECORD_FILE [refuse-signals]

With ``refuse-signals`` it answers SignalResource as CloudFormation does when no creation or update
waits for a signal (a scale-out, a relaunch): a ValidationError.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

TOKEN = "stand-in-imdsv2-token"
INSTANCE_ID = "i-0123456789abcdef0"
REGION = "eu-west-1"
METADATA = {"instance-id": INSTANCE_ID, "placement/region": REGION}
SIGNAL_RESPONSE = (
    '<SignalResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
    "<ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></SignalResourceResponse>"
)
# CloudFormation's words for it, as cfn-signal users report them (aws-cloudformation-templates#34).
SIGNAL_REFUSED = (
    '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
    "<Code>ValidationError</Code><Message>Stack arn:aws:cloudformation:eu-west-1:123456789012:stack/"
    "OneModel-Ec2/stand-in is in CREATE_COMPLETE state and cannot be signaled</Message></Error>"
    "<RequestId>stand-in</RequestId></ErrorResponse>"
)


class StandIn(BaseHTTPRequestHandler):
    record_file: Path
    refuse_signals = False

    def do_PUT(self) -> None:  # IMDSv2: a session token first
        self._record({})
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._reply(200, TOKEN, "text/plain")
        else:
            self._reply(400, "token requests need a TTL header", "text/plain")

    def do_GET(self) -> None:  # IMDSv2: every read carries the token, as the stack requires
        self._record({})
        name = self.path.removeprefix("/latest/meta-data/")
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._reply(401, "no IMDSv2 token", "text/plain")
        elif name in METADATA:
            self._reply(200, METADATA[name], "text/plain")
        else:
            self._reply(404, "not found", "text/plain")

    def do_POST(self) -> None:  # CloudFormation's query protocol: a form-encoded body
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        form = {key: values[0] for key, values in parse_qs(body).items()}
        self._record(form)
        if form.get("Action") == "SignalResource" and self.refuse_signals:
            self._reply(400, SIGNAL_REFUSED, "text/xml")
        elif form.get("Action") == "SignalResource":
            self._reply(200, SIGNAL_RESPONSE, "text/xml")
        else:
            self._reply(400, "only SignalResource is stood in for", "text/plain")

    def _record(self, form: dict[str, str]) -> None:
        entry = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization", ""),
            "form": form,
        }
        with self.record_file.open("a") as records:
            records.write(json.dumps(entry) + "\n")

    def _reply(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port, record_file = int(sys.argv[1]), Path(sys.argv[2])
    StandIn.record_file = record_file
    StandIn.refuse_signals = sys.argv[3:] == ["refuse-signals"]
    ThreadingHTTPServer(("127.0.0.1", port), StandIn).serve_forever()


if __name__ == "__main__":
    main()
