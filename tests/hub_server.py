#!/usr/bin/env python3
"""A hub-like HTTP server on loopback, for the download tests.

Serves the files of FOLDER for any repository as /ORG/NAME/resolve/REVISION/FILE with the headers the
Hugging Face hub sends: X-Repo-Commit, an ETag (git blob sha1) for small files, and for the weights (an
"LFS" file) a redirect to /lfs/SHA256 with X-Linked-Etag / X-Linked-Size. Supports Range requests.

usage: hub_server.py FOLDER PORT_FILE [--cut-after BYTES] [--corrupt FILE]
  --cut-after: the first GET of model.safetensors sends BYTES bytes, then drops the connection
  --corrupt:   FILE is served with one byte changed (its announced digest stays the true one)
"""
import hashlib
import http.server
import os
import sys

COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
LFS = {"model.safetensors"}

folder, port_file = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
cut_after = int(args[args.index("--cut-after") + 1]) if "--cut-after" in args else None
corrupt = args[args.index("--corrupt") + 1] if "--corrupt" in args else None
state = {"cut_done": False}


def content(name):
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    return data


def served(name):
    data = content(name)
    if name == corrupt:
        data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
    return data


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def route(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "lfs":
            for name in LFS:
                if os.path.exists(os.path.join(folder, name)) and hashlib.sha256(content(name)).hexdigest() == parts[1]:
                    return ("lfs", name)
            return None
        if len(parts) == 5 and parts[2] == "resolve":
            name = parts[4]
            if os.path.isfile(os.path.join(folder, name)):
                return ("resolve", name)
        return None

    def send_body(self, data, head_only, name):
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if head_only:
            return
        body = data[start:]
        if cut_after is not None and name in LFS and not state["cut_done"]:
            state["cut_done"] = True
            self.wfile.write(body[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def handle_any(self, head_only):
        r = self.route()
        if r is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        kind, name = r
        true_data = content(name)
        if kind == "resolve" and name in LFS:
            sha = hashlib.sha256(true_data).hexdigest()
            self.send_response(302)
            self.send_header("Location", "/lfs/" + sha)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("X-Linked-Etag", '"%s"' % sha)
            self.send_header("X-Linked-Size", str(len(true_data)))
            self.send_header("ETag", '"%s"' % sha)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = served(name)
        # Headers common to both kinds, then the body.
        self._extra = [("X-Repo-Commit", COMMIT), ("ETag", '"%s"' % git_sha1(true_data))] if kind == "resolve" else []
        self.send_body(data, head_only, name)

    def end_headers(self):
        for k, v in getattr(self, "_extra", []):
            self.send_header(k, v)
        self._extra = []
        super().end_headers()

    def do_HEAD(self):
        self.handle_any(True)

    def do_GET(self):
        self.handle_any(False)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
