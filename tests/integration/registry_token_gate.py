"""A bearer-token gate in front of a registry, for test_registry.sh.

It answers 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`
(what Docker Hub does) until a request carries the token its realm hands
out, and then passes GET/HEAD requests on to the real registry. Each token
handed out is logged to a file, so the test can count them.

usage: registry_token_gate.py UPSTREAM_URL PORT TOKEN_LOG
"""
import http.server
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

upstream, port, issued = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TOKEN = "t0ken-for-test"
SCOPE = "repository:test/busybox:pull"


class Gate(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.serve(True)

    def do_HEAD(self):
        self.serve(False)

    def reply(self, status, headers, body, with_body=True):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def serve(self, with_body):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            q = urllib.parse.parse_qs(url.query)
            if q.get("service") != ["gate"] or q.get("scope") != [SCOPE]:
                return self.reply(400, {}, b"bad token request")
            with open(issued, "a") as f:
                f.write(self.path + "\n")
            return self.reply(200, {"Content-Type": "application/json"}, json.dumps({"token": TOKEN}).encode())
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="gate",scope="%s"' % (port, SCOPE)
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            return self.reply(401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, body, with_body)
        req = urllib.request.Request(upstream + self.path, method=self.command,
                                     headers={"Accept": self.headers.get("Accept", "*/*")})
        try:
            r = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            r = e
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "docker-content-digest")}
        self.reply(r.status, keep, r.read(), with_body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Gate).serve_forever()
