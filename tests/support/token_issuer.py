#!/usr/bin/env python3
"""A bearer-token issuer for podgate's test registry, written for the tests.

docker-registry (distribution 2.8) only *validates* tokens (`auth: token:` in its config); it has no
issuer of its own, so TestRegistry (tests/support/test_registry.cpp) runs this one beside it. It
implements the part of the Docker token protocol that clients use:

    GET /token?service=<service>&scope=repository:<name>:pull[,push] [Authorization: Basic ...]
    -> 200 {"token": JWT, "access_token": JWT, "expires_in": N, "issued_at": ...}

Rules: Basic credentials, when sent, must be right (else 401). Without them, pull is granted only
when anonymous pull is on; anything else (push, or pull with anonymous pull off) gets 401 with a
Basic challenge. A wrong `service` gets 400.

The JWT is ES256 (ECDSA P-256, SHA-256), signed by `openssl dgst -sha256 -sign` and turned from
DER into JOSE's r||s here, so that only the Python standard library and the openssl binary are
needed (python3-cryptography is not). Its header carries the signing certificate in `x5c`; the
registry verifies that certificate against its `rootcertbundle` (the test CA), then the signature
with the certificate's key.

Every token request is logged to stdout, before the answer is sent (so a client that has its
answer always finds its line), as one tab-separated line:
    token-request <status> <user or -> <user agent> <requested scopes> <granted scopes>

Usage: token_issuer.py CONFIG.json   (keys: see main()). Prints "listening on PORT" when ready.
"""

import base64
import hmac
import http.server
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pem_to_der_b64(pem: str) -> str:
    """The first certificate of a PEM text as standard base64 DER (what x5c holds)."""
    lines = pem.strip().splitlines()
    start = lines.index("-----BEGIN CERTIFICATE-----")
    end = lines.index("-----END CERTIFICATE-----", start)
    return "".join(lines[start + 1:end])


def der_to_jose(der: bytes) -> bytes:
    """An ECDSA P-256 signature from DER (SEQUENCE of INTEGER r, s: what openssl writes) to the
    64-byte r||s that JWS ES256 wants."""
    if len(der) < 8 or der[0] != 0x30:
        raise ValueError("not a DER ECDSA signature")
    pos, out = 2, b""
    for _ in range(2):
        if der[pos] != 0x02:
            raise ValueError("not a DER ECDSA signature")
        n = der[pos + 1]
        out += int.from_bytes(der[pos + 2:pos + 2 + n], "big").to_bytes(32, "big")
        pos += 2 + n
    return out


class Issuer:
    def __init__(self, cfg):
        self.cfg = cfg
        self.openssl = shutil.which("openssl") or "/usr/bin/openssl"
        with open(cfg["sign_cert"]) as f:
            self.x5c = [pem_to_der_b64(f.read())]
        self.lock = threading.Lock()

    def sign(self, claims) -> str:
        header = {"typ": "JWT", "alg": "ES256", "x5c": self.x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = subprocess.run([self.openssl, "dgst", "-sha256", "-sign", self.cfg["sign_key"]],
                             input=signing_input.encode(), capture_output=True, check=True).stdout
        return signing_input + "." + b64url(der_to_jose(der))

    def check_basic(self, header):
        """(user, ok): user is None when no Basic credentials were sent."""
        if not header or not header.lower().startswith("basic "):
            return None, True
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except Exception:
            return "?", False
        ok = (hmac.compare_digest(user.encode(), self.cfg["user"].encode()) and
              hmac.compare_digest(password.encode(), self.cfg["password"].encode()))
        return user, ok


def parse_scopes(values):
    """repository:<name>:<a,b> scopes (several `scope` parameters, or space-separated in one)."""
    out = []
    for value in values:
        for scope in value.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                out.append((kind, name, [a for a in actions.split(",") if a]))
    return out


def make_handler(issuer):
    cfg = issuer.cfg

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the token-request lines are the log
            pass

        def record(self, status, user, requested, granted):
            clean = lambda s: s.replace("\t", " ").replace("\n", " ")
            line = "\t".join(["token-request", str(status), clean(user or "-"),
                              clean(self.headers.get("User-Agent", "")),
                              clean(" ".join(requested)), clean(" ".join(granted))])
            with issuer.lock:
                print(line, flush=True)

        def reply(self, status, body, extra=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            requested = query.get("scope", [])
            if url.path != "/token":
                self.record(404, None, requested, [])
                return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            if query.get("service", [cfg["service"]])[0] != cfg["service"]:
                self.record(400, None, requested, [])
                return self.reply(400, {"errors": [{"code": "INVALID_SERVICE",
                                                    "message": "unknown service"}]})
            user, ok = issuer.check_basic(self.headers.get("Authorization"))
            challenge = [("WWW-Authenticate", 'Basic realm="podgate-test-token-issuer"')]
            if not ok:
                self.record(401, user, requested, [])
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "wrong credentials"}]}, challenge)
            access = []
            for kind, name, actions in parse_scopes(requested):
                wanted = set(actions)
                if user is None and (not cfg["anonymous_pull"] or kind != "repository" or
                                     wanted - {"pull"}):
                    self.record(401, user, requested, [])
                    return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                        "message": "credentials required"}]},
                                      challenge)
                access.append({"type": kind, "name": name, "actions": sorted(wanted)})
            if not requested and user is None and not cfg["anonymous_pull"]:
                self.record(401, user, requested, [])
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "credentials required"}]}, challenge)
            now = int(time.time())
            claims = {"iss": cfg["issuer"], "sub": user or "", "aud": cfg["service"],
                      "exp": now + cfg["expires_in"], "nbf": now - 5, "iat": now,
                      "jti": secrets.token_hex(12), "access": access}
            token = issuer.sign(claims)
            granted = ["%s:%s:%s" % (a["type"], a["name"], ",".join(a["actions"])) for a in access]
            self.record(200, user, requested, granted)
            self.reply(200, {"token": token, "access_token": token, "expires_in": cfg["expires_in"],
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    return Handler


class TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler, context):
        self.context = context
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # The handshake runs on the connection's own thread, so a client that never completes
        # one cannot stall the accept loop.
        request.settimeout(10)
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    # Keys: tls_cert, tls_key (serving), sign_cert, sign_key (RSA, signs the JWTs), issuer,
    # service, user, password, anonymous_pull (bool), expires_in (seconds).
    cfg.setdefault("expires_in", 60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cfg["tls_cert"], cfg["tls_key"])
    server = TlsServer(("127.0.0.1", 0), make_handler(Issuer(cfg)), context)
    # The test binary kills this process when its fixture goes away; if the test binary itself
    # dies (a crash, SIGKILL) nobody will, so leave when the parent is gone.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        os._exit(0)
