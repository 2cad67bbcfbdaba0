#!/usr/bin/env python3
"""A minimal, read-only Kubernetes API stand-in on loopback, for `helm template --dry-run=server`.

It answers just what Helm asks while rendering: the server version, legacy discovery of the core
group (so the RESTMapper can map Secret -> secrets), empty API group lists, and GETs of Secrets
loaded from a JSON file. That is enough to exercise the chart's `lookup` of its TLS Secret, which
`helm template` alone never does. Everything else is 404.

Usage: fake_apiserver.py SECRETS_JSON PORT_FILE
  SECRETS_JSON: a JSON list of v1 Secret objects (metadata.namespace and metadata.name set)
  PORT_FILE:    the chosen port is written here once the server listens
The server exits by itself after 120 s, so a test that dies cannot leave it behind.
"""

import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME_SECONDS = 120

VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "platform": "linux/amd64"}
CORE_VERSIONS = {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
CORE_RESOURCES = {
    "kind": "APIResourceList", "groupVersion": "v1",
    "resources": [
        {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
         "verbs": ["get", "list"]},
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": ["get", "list"]},
    ],
}
GROUPS = {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
SECRET_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/?]+)$")


def main():
    secrets_file, port_file = sys.argv[1], sys.argv[2]
    with open(secrets_file, encoding="utf-8") as f:
        secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in json.load(f)}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/version":
                return self.reply(200, VERSION)
            if path == "/api":
                return self.reply(200, CORE_VERSIONS)
            if path == "/api/v1":
                return self.reply(200, CORE_RESOURCES)
            if path == "/apis":
                return self.reply(200, GROUPS)
            m = SECRET_PATH.match(path)
            if m and (m.group(1), m.group(2)) in secrets:
                return self.reply(200, secrets[(m.group(1), m.group(2))])
            return self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404, "message": f"{path} not found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Timer(LIFETIME_SECONDS, server.shutdown).start()
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    # Rename so a reader never sees a half-written port.
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
