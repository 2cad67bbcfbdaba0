#!/usr/bin/python3
"""A misbehaving registry for the registry client's defensive paths, written for the tests.

docker-registry (tests/support/test_registry.h) always answers by the book, so the client's
handling of missing or wrong digests, oversized and stalled answers, redirects, odd challenges and
server errors is exercised against this instead: a plain-HTTP HTTP/1.1 server (keep-alive) whose
behaviour is chosen by the repository name in /v2/<name>/manifests/<ref>. See
tests/integration/registry_client_edge_test.cpp for what the client must make of each one.

    ok/app           HEAD and GET: the OCI manifest, with Docker-Content-Digest
    nodigest/app     HEAD 200 and GET without Docker-Content-Digest
    head405/app      HEAD 405; GET as ok/app
    wrongdigest/app  HEAD without digest; GET whose Docker-Content-Digest is not its bytes' digest
    bigbody/app      HEAD: 200, no digest, Content-Length 10 MiB; GET: a 10 MiB body (Content-Length),
                     its header written alone and 200 ms before the body
    bigburst/app     as bigbody/app, but the header and the body's first 64 KiB in one write (as
                     most servers send an answer)
    hugelength/app   as bigburst/app with Content-Length 2^50 (1 PiB); 64 MiB are sent
    bigchunked/app   HEAD without digest; GET with a chunked body, no Content-Length, up to 64 MiB
    bigheader/app    HEAD with a 200 KiB header value
    ratelimit/app    429, Retry-After: 120
    redirect/app     with PEER_PORT: Basic auth required (401 Basic realm="x" without it), then
                     307 to the same path on 127.0.0.1:PEER_PORT; without: as ok/app
    relredirect/app  with PEER_PORT: 307 to the peer (404 if the target has ?hop=2: misrouted);
                     without: a relative 307 to <same path>?hop=2, which is then answered as ok/app
    redirect401/app  with PEER_PORT: 307 to the peer; without: 401 Bearer with this server's /token
    loop/app         302 to its own path (a relative Location), forever
    servererror/app  503
    index/app        HEAD: index media type and digest; GET: an OCI index of 3 children
    token/app        401 Bearer realm="http://127.0.0.1:PORT/token" unless a token from /token comes
    badrealm/app     401 Bearer realm="ftp://x"
    slowbody/app     HEAD without digest; GET sends its headers, then one body byte every 100 ms
    hang/app         reads the request and never answers (until the client goes away, or 120 s)
    status500/app    500 with an HTML body, as a broken proxy in front of a registry answers
    huge/app         HEAD: 200, no digest, Content-Length 100 MiB; GET: a 100 MiB body, its header
                     and first 64 KiB in one write; when the stream ends, a line {"port", "stream":
                     "huge/app", "sent": bytes the socket took, "complete": all of it} is logged
    garbage/app      a status line, then header lines that are not HTTP (binary, no colon), then
                     the connection is closed
    slowheader/app   a status line, then one byte of a header every 100 ms for 60 s: the header
                     never ends
    anything else    404 NAME_UNKNOWN
    GET /token       {"access_token": "tok-<n>", "expires_in": 60}

A connection that starts with a TLS handshake record (0x16) gets a plain-text 400 and is closed,
the way real plain-HTTP servers answer, so a client that wrongly speaks TLS fails at once.

Every request is appended to LOG, one JSON object a line, before it is answered (so a client that
has its answer always finds its line): port, method, path (target, query included), auth (an
Authorization header was sent), scheme ("Basic", "Bearer" or ""), user (a Basic user), token (a
Bearer token), host, accept. A TLS handshake is logged as {"port": P, "tls_handshake": true}.

Usage: scripted_registry.py PORT LOG [PEER_PORT]. Prints "digest <name> sha256:..." for what it
serves (manifest, index, child0..child2, wrongclaim), then "ready" once it listens.
"""

import base64
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": OCI_MANIFEST,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": sha256(b"config"), "size": 6},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha256(b"layer"), "size": 5}],
}, separators=(",", ":")).encode()

CHILDREN = [sha256(b"child amd64"), sha256(b"child arm64 v8"), sha256(b"attestation")]
INDEX = json.dumps({
    "schemaVersion": 2,
    "mediaType": OCI_INDEX,
    "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": CHILDREN[0], "size": 100,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": OCI_MANIFEST, "digest": CHILDREN[1], "size": 100,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        # An attestation manifest (as BuildKit writes them): no platform.
        {"mediaType": OCI_MANIFEST, "digest": CHILDREN[2], "size": 100,
         "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                         "vnd.docker.reference.digest": CHILDREN[0]}},
    ],
}, separators=(",", ":")).encode()

# What wrongdigest/app claims: the digest of other bytes.
WRONG_CLAIM = sha256(MANIFEST + b"\n")

MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")


def make_handler(port, peer_port, log_file):
    lock = threading.Lock()
    tokens = set()

    def record(entry):
        with lock:
            log_file.write(json.dumps(entry) + "\n")
            log_file.flush()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the JSON log is the log
            pass

        def handle_one_request(self):
            try:
                first = self.rfile.peek(1)[:1]
            except OSError:
                self.close_connection = True
                return
            if first == b"\x16":
                record({"port": port, "tls_handshake": True})
                try:
                    self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                except OSError:
                    pass
                self.close_connection = True
                return
            super().handle_one_request()

        def do_HEAD(self):
            self.dispatch("HEAD")

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

        # --- answers -------------------------------------------------------------------------

        def reply(self, status, body=b"", content_type="application/json", headers=(),
                  length=None):
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def error(self, status, code, message, headers=()):
            body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            self.reply(status, body, headers=headers)

        def manifest(self, body, media_type, digest_header=True):
            headers = [("Docker-Content-Digest", sha256(body))] if digest_header else []
            self.reply(200, body, media_type, headers)

        def raw_head(self, status, headers):
            """A response header as bytes, for writing together with body bytes."""
            lines = ["HTTP/1.1 %d %s" % (status, self.responses[status][0])]
            lines += ["%s: %s" % kv for kv in headers]
            return ("\r\n".join(lines) + "\r\n\r\n").encode()

        def stream(self, chunks):
            """Writes body pieces until they end or the client goes away."""
            try:
                for piece in chunks:
                    self.wfile.write(piece)
                    self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True

        # --- requests ------------------------------------------------------------------------

        def dispatch(self, method):
            authorization = self.headers.get("Authorization", "")
            scheme, _, credentials = authorization.partition(" ")
            entry = {"port": port, "method": method, "path": self.path, "auth": bool(authorization),
                     "scheme": scheme, "host": self.headers.get("Host", ""),
                     "accept": self.headers.get("Accept", "")}
            if scheme == "Basic":
                try:
                    entry["user"] = base64.b64decode(credentials).decode().partition(":")[0]
                except ValueError:
                    entry["user"] = "?"
            if scheme == "Bearer":
                entry["token"] = credentials
            record(entry)
            if "Content-Length" in self.headers:  # a POST body: read it, keep the connection usable
                self.rfile.read(int(self.headers["Content-Length"]))

            url = urllib.parse.urlsplit(self.path)
            if url.path == "/token":
                token = "tok-%d-%d" % (port, len(tokens) + 1)
                with lock:
                    tokens.add(token)
                body = json.dumps({"access_token": token, "expires_in": 60}).encode()
                return self.reply(200, body)
            if url.path == "/v2/":
                return self.reply(200, b"{}")
            match = MANIFEST_PATH.match(url.path)
            if not match:
                return self.error(404, "NOT_FOUND", url.path)
            name, ref = match.group("name"), match.group("ref")
            self.manifest_request(method, name, ref, url, scheme, credentials)

        def manifest_request(self, method, name, ref, url, scheme, credentials):
            here = "/v2/%s/manifests/%s" % (name, ref)
            no_digest = method == "HEAD"  # the HEAD of several cases omits the digest header
            if name == "ok/app":
                return self.manifest(MANIFEST, OCI_MANIFEST)
            if name == "nodigest/app":
                return self.manifest(MANIFEST, OCI_MANIFEST, digest_header=False)
            if name == "head405/app":
                if method == "HEAD":
                    return self.reply(405, b"", content_type=None)
                return self.manifest(MANIFEST, OCI_MANIFEST)
            if name == "wrongdigest/app":
                if no_digest:
                    return self.manifest(MANIFEST, OCI_MANIFEST, digest_header=False)
                return self.reply(200, MANIFEST, OCI_MANIFEST, [("Docker-Content-Digest", WRONG_CLAIM)])
            if name in ("bigbody/app", "bigburst/app", "hugelength/app"):
                size = (1 << 50) if name == "hugelength/app" else 10 * 1024 * 1024
                if method == "HEAD":
                    return self.reply(200, b"", OCI_MANIFEST, length=size)
                piece = b" " * 65536
                head = self.raw_head(200, [("Content-Type", OCI_MANIFEST),
                                           ("Content-Length", str(size))])
                if name == "bigbody/app":
                    # The header on its own: the client has read it before any body arrives.
                    self.wfile.write(head)
                    time.sleep(0.2)
                    first = b""
                else:
                    first = head + piece  # the header and the body's start in one write
                total = 64 * 1024 * 1024 if name == "hugelength/app" else size
                return self.stream(
                    [first] + [piece] * ((total - (len(piece) if first else 0)) // len(piece)))
            if name == "bigchunked/app":
                if method == "HEAD":
                    return self.manifest(MANIFEST, OCI_MANIFEST, digest_header=False)
                self.send_response(200)
                self.send_header("Content-Type", OCI_MANIFEST)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunks():  # 64 MiB in 64 KiB chunks, a little slowly: it does not end soon
                    piece = b" " * 65536
                    for _ in range(1024):
                        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
                        time.sleep(0.002)
                    yield b"0\r\n\r\n"
                return self.stream(chunks())
            if name == "bigheader/app":
                return self.reply(200, b"", OCI_MANIFEST, [("X-Padding", "p" * (200 * 1024))],
                                  length=len(MANIFEST))
            if name == "ratelimit/app":
                return self.error(429, "TOOMANYREQUESTS", "slow down", [("Retry-After", "120")])
            if name == "redirect/app":
                if not peer_port:
                    return self.manifest(MANIFEST, OCI_MANIFEST)
                if scheme != "Basic":
                    return self.error(401, "UNAUTHORIZED", "authentication required",
                                      [("WWW-Authenticate", 'Basic realm="x"')])
                return self.reply(307, b"", None,
                                  [("Location", "http://127.0.0.1:%d%s" % (peer_port, here))])
            if name == "relredirect/app":
                hopped = "hop=2" in url.query
                if peer_port:
                    if hopped:
                        return self.error(404, "MANIFEST_UNKNOWN", "misrouted: ?hop=2 belongs to the peer")
                    return self.reply(307, b"", None,
                                      [("Location", "http://127.0.0.1:%d%s" % (peer_port, here))])
                if hopped:
                    return self.manifest(MANIFEST, OCI_MANIFEST)
                return self.reply(307, b"", None, [("Location", here + "?hop=2")])
            if name == "redirect401/app":
                if peer_port:
                    return self.reply(307, b"", None,
                                      [("Location", "http://127.0.0.1:%d%s" % (peer_port, here))])
                challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="elsewhere"' % port
                return self.error(401, "UNAUTHORIZED", "token required",
                                  [("WWW-Authenticate", challenge)])
            if name == "loop/app":
                return self.reply(302, b"", None, [("Location", here)])
            if name == "servererror/app":
                return self.error(503, "UNAVAILABLE", "down for maintenance")
            if name == "index/app":
                return self.manifest(INDEX, OCI_INDEX)
            if name == "token/app":
                with lock:
                    known = scheme == "Bearer" and credentials in tokens
                if known:
                    return self.manifest(MANIFEST, OCI_MANIFEST)
                challenge = ('Bearer realm="http://127.0.0.1:%d/token",service="scripted",'
                             'scope="repository:token/app:pull"' % port)
                return self.error(401, "UNAUTHORIZED", "token required",
                                  [("WWW-Authenticate", challenge)])
            if name == "badrealm/app":
                return self.error(401, "UNAUTHORIZED", "token required",
                                  [("WWW-Authenticate", 'Bearer realm="ftp://x",service="scripted"')])
            if name == "slowbody/app":
                if method == "HEAD":
                    return self.manifest(MANIFEST, OCI_MANIFEST, digest_header=False)
                self.send_response(200)
                self.send_header("Content-Type", OCI_MANIFEST)
                self.send_header("Content-Length", str(len(MANIFEST)))
                self.end_headers()

                def trickle():
                    for i in range(len(MANIFEST)):
                        yield MANIFEST[i:i + 1]
                        time.sleep(0.1)
                return self.stream(trickle())
            if name == "hang/app":
                return self.hang()
            if name == "status500/app":
                return self.reply(500, b"<html><body>500 Internal Server Error</body></html>",
                                  "text/html")
            if name == "huge/app":
                size = 100 * 1024 * 1024
                if method == "HEAD":
                    return self.reply(200, b"", OCI_MANIFEST, length=size)
                piece = b" " * 65536
                head = self.raw_head(200, [("Content-Type", OCI_MANIFEST),
                                           ("Content-Length", str(size))])
                return self.stream_counted(name, [head + piece] + [piece] * (size // len(piece) - 1),
                                           len(head) + size)
            if name == "garbage/app":
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + OCI_MANIFEST.encode() +
                                     b"\r\n\x01\x02 not a header \xff\xfe\r\n\x00\x00: \x7f\r\n\r\n")
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
                return None
            if name == "slowheader/app":
                def drip():
                    yield b"HTTP/1.1 200 OK\r\nX-Slow: "
                    for _ in range(600):
                        time.sleep(0.1)
                        yield b"s"
                return self.stream(drip())
            return self.error(404, "NAME_UNKNOWN", "repository %s is not known" % name)

        def hang(self):
            """Holds the connection without a byte of answer until the client closes it."""
            self.connection.settimeout(120)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True

        def stream_counted(self, name, pieces, total):
            """As stream(), then logs how many bytes the socket took before the client left."""
            sent = 0
            try:
                for piece in pieces:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    sent += len(piece)
            except OSError:
                pass
            self.close_connection = True
            record({"port": port, "stream": name, "sent": sent, "complete": sent == total})

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(sys.argv[1])
    log_path = sys.argv[2]
    peer_port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    log_file = open(log_path, "a")
    server = Server(("127.0.0.1", port), make_handler(port, peer_port, log_file))
    # The test kills this process when it is done; if the test binary dies first nobody will, so
    # leave when the parent is gone.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    for name, digest in [("manifest", sha256(MANIFEST)), ("index", sha256(INDEX)),
                         ("child0", CHILDREN[0]), ("child1", CHILDREN[1]),
                         ("child2", CHILDREN[2]), ("wrongclaim", WRONG_CLAIM)]:
        print("digest %s %s" % (name, digest))
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        os._exit(0)
