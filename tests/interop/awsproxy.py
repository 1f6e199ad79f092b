#!/usr/bin/env python3
"""Counting, expiry-rewriting HTTP proxy in front of moto_server (interop suite).

usage: awsproxy.py --listen 127.0.0.1:4598 --upstream 127.0.0.1:4599 --log FILE
                   [--expires-in SECONDS] [--no-rewrite]

Every request is forwarded to the upstream unchanged (method, path, headers, body;
only hop-by-hop headers are dropped, as any proxy must). Each one is counted by
operation, taken from `X-Amz-Target` (ECR, JSON protocol) or the `Action` form field
(STS, query protocol), and logged as one line: no bodies, no secrets, only the access
key id from the SigV4 scope. In ECR GetAuthorizationToken answers the `expiresAt`
values (moto always answers 1420070400, i.e. 2015) are replaced by now + expires-in,
so that a helper which caches by expiry can hit its cache.

Control endpoints (answered here, never forwarded):
  GET /__interop__/stats   {"counts": {"ecr.GetAuthorizationToken": n, ...},
                            "total": n, "events": [last 200 requests]}
  GET /__interop__/health  "ok"
"""
import argparse
import http.client
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection",
}
CONTROL = "/__interop__/"
EXPIRES_RE = re.compile(rb'("expiresAt"\s*:\s*)(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)')
SCOPE_RE = re.compile(r"Credential=([A-Za-z0-9]+)/[0-9]{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


class State:
    def __init__(self, log_path, expires_in, rewrite):
        self.lock = threading.Lock()
        self.counts = {}
        self.total = 0
        self.events = []
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.expires_in = expires_in
        self.rewrite = rewrite

    def record(self, event):
        with self.lock:
            self.total += 1
            event["n"] = self.total
            key = event["op"]
            self.counts[key] = self.counts.get(key, 0) + 1
            self.events.append(event)
            del self.events[:-200]
            if self.log:
                self.log.write(
                    "%s n=%d op=%s status=%s key=%s region=%s registryIds=%s ms=%d%s\n" % (
                        time.strftime("%Y-%m-%dT%H:%M:%S"), event["n"], event["op"],
                        event["status"], event["key_id"] or "-", event["region"] or "-",
                        ",".join(event["registry_ids"]) or "-", event["ms"],
                        " rewrote-expiresAt" if event.get("rewrote") else ""))

    def snapshot(self):
        with self.lock:
            return {"counts": dict(self.counts), "total": self.total,
                    "events": list(self.events)}


def operation(headers, body):
    """(op, key_id, region, registry_ids) of one AWS request, from headers and body."""
    auth = headers.get("Authorization", "")
    m = SCOPE_RE.search(auth)
    key_id, region, service = (m.group(1), m.group(2), m.group(3)) if m else (None, None, None)
    target = headers.get("X-Amz-Target", "")
    registry_ids = []
    if target:
        op = target.rsplit(".", 1)[-1]
        try:
            registry_ids = [str(r) for r in json.loads(body or b"{}").get("registryIds", [])]
        except (ValueError, AttributeError):
            pass
    else:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
        op = (form.get("Action") or ["?"])[0]
    svc = service or ("ecr" if "ContainerRegistry" in target else "?")
    return "%s.%s" % (svc, op), key_id, region, registry_ids


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "interop-awsproxy"

    def log_message(self, fmt, *args):  # the access log is ours, not stderr's
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self):
        st = self.server.state
        if self.path.startswith(CONTROL + "stats"):
            self.reply(200, json.dumps(st.snapshot()).encode())
        elif self.path.startswith(CONTROL + "health"):
            self.reply(200, b"ok\n", "text/plain")
        else:
            self.reply(404, b"unknown control endpoint\n", "text/plain")

    def forward(self):
        if self.path.startswith(CONTROL):
            self.read_body()
            return self.control()
        st = self.server.state
        started = time.monotonic()
        body = self.read_body()
        op, key_id, region, registry_ids = operation(self.headers, body)
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower() or body:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        host, port = self.server.upstream
        status, rheaders, rbody, rewrote = 502, [], b"", False
        try:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            status = resp.status
            rbody = resp.read()
            rheaders = [(k, v) for k, v in resp.getheaders()
                        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            conn.close()
        except OSError as e:
            rbody = ("awsproxy: upstream %s:%d: %s\n" % (host, port, e)).encode()
            rheaders = [("Content-Type", "text/plain")]
        if st.rewrite and op.endswith(".GetAuthorizationToken") and status == 200:
            new = str(int(time.time()) + st.expires_in).encode()
            rbody, n = EXPIRES_RE.subn(lambda m: m.group(1) + new, rbody)
            rewrote = n > 0
        st.record({"op": op, "status": status, "key_id": key_id, "region": region,
                   "registry_ids": registry_ids, "rewrote": rewrote,
                   "ms": int((time.monotonic() - started) * 1000)})
        self.send_response(status)
        for k, v in rheaders:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(rbody)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = forward


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=hostport, required=True)
    p.add_argument("--upstream", type=hostport, required=True)
    p.add_argument("--log")
    p.add_argument("--expires-in", type=int, default=12 * 3600)
    p.add_argument("--no-rewrite", action="store_true")
    a = p.parse_args()
    server = Server(a.listen, Handler)
    server.upstream = a.upstream
    server.state = State(a.log, a.expires_in, not a.no_rewrite)
    print("awsproxy: %s:%d -> %s:%d" % (a.listen + a.upstream), file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
