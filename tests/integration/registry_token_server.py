"""A token server for docker-registry's `auth: token`, for test_registry_auth.sh.

The registry (Debian's docker-registry, distribution 2.8) is configured with
`auth: token: {realm, service, issuer, rootcertbundle}`: it answers 401 with
`WWW-Authenticate: Bearer realm=...,service=...,scope=...` and checks every
bearer token itself (RS256 signature by a key whose certificate is in its
root bundle, issuer, audience, expiry, and the repository actions granted).
This server is the realm: with the right Basic credentials it signs a JWT
granting the scopes asked for; with wrong ones it answers 401; anonymous
callers get a token that grants nothing. No token-server package exists in
Debian (docker_auth, Portus are not packaged), so this is the one piece
written here; the signing uses python3-cryptography. Each request is logged
(path and whether it carried credentials, never the password).

With REFRESH_TOKEN it also answers Docker's OAuth2 POST
(grant_type=refresh_token, what a client sends for an identity token from a
credential helper): that refresh token gets an access_token for USER, any
other one a 401 (test_registry_cred_helper.sh).

usage: registry_token_server.py PORT KEY_PEM CERT_PEM USER PASSWORD SERVICE ISSUER LOG [REFRESH_TOKEN]
"""
import base64
import http.server
import json
import sys
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, key_pem, cert_pem, user, password, service, issuer, log = sys.argv[1:9]
refresh_token = sys.argv[9] if len(sys.argv) > 9 else None
key = serialization.load_pem_private_key(open(key_pem, "rb").read(), password=None)
cert_der = x509.load_pem_x509_certificate(open(cert_pem, "rb").read()).public_bytes(serialization.Encoding.DER)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(cert_der).decode()]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def access(scopes):
    # "repository:test/busybox:pull,push" -> {"type", "name", "actions"}
    out = []
    for s in scopes:
        kind, rest = s.split(":", 1)
        name, actions = rest.rsplit(":", 1)
        out.append({"type": kind, "name": name, "actions": actions.split(",")})
    return out


class Token(http.server.BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        who = None
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if (u, p) != (user, password):
                with open(log, "a") as f:
                    f.write("refused %s\n" % self.path)
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]})
            who = u
        if url.path != "/token" or q.get("service") != [service]:
            return self.reply(400, {"errors": [{"code": "DENIED", "message": "bad token request"}]})
        now = int(time.time())
        claims = {"iss": issuer, "sub": who or "", "aud": service, "iat": now, "nbf": now - 10,
                  "exp": now + 300, "jti": str(uuid.uuid4()),
                  "access": access(q.get("scope", [])) if who else []}
        with open(log, "a") as f:
            f.write("%s %s\n" % ("granted" if who else "anonymous", self.path))
        self.reply(200, {"token": jwt(claims), "expires_in": 300})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        ok = (refresh_token is not None and urllib.parse.urlsplit(self.path).path == "/token"
              and form.get("grant_type") == ["refresh_token"] and form.get("refresh_token") == [refresh_token]
              and form.get("service") == [service])
        with open(log, "a") as f:
            f.write("%s POST %s scope=%s\n" % ("granted" if ok else "refused", self.path, form.get("scope", [""])[0]))
        if not ok:
            return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid refresh token"}]})
        now = int(time.time())
        claims = {"iss": issuer, "sub": user, "aud": service, "iat": now, "nbf": now - 10,
                  "exp": now + 300, "jti": str(uuid.uuid4()),
                  "access": access(form.get("scope", [""])[0].split())}
        self.reply(200, {"access_token": jwt(claims), "expires_in": 300})

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Token).serve_forever()
