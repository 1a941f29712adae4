#!/usr/bin/env python3
"""A hub-like HTTP server on loopback, for the download tests.

Serves the files of FOLDER for any repository as /ORG/NAME/resolve/REVISION/FILE with the headers the
Hugging Face hub sends: X-Repo-Commit, an ETag (git blob sha1) for small files, and for the weights (an
"LFS" file) a redirect to /lfs/SHA256 with X-Linked-Etag / X-Linked-Size. Supports Range requests.
REVISION "main" is commit COMMIT, a 40-hex revision is that commit, any other branch or tag the sha1 of
its name (so that tests can tell them apart).

usage: hub_server.py FOLDER PORT_FILE [options]
  --cut-after BYTES     the first GET of model.safetensors sends BYTES bytes, then drops the connection
  --corrupt FILE        FILE is served with one byte changed (its announced digest stays the true one)
  --etag FILE=VALUE     announce VALUE (sent as is) as FILE's ETag (and X-Linked-Etag for the LFS file)
  --commit VALUE        announce VALUE (sent as is) as X-Repo-Commit
  --linked-size VALUE   announce VALUE (sent as is) as the LFS file's X-Linked-Size
  --redirect-to PREFIX  the LFS redirect goes to PREFIX + /lfs/SHA256 instead of a relative /lfs/SHA256;
                        "{public}" in PREFIX becomes http://ADDRESS:PORT with a non-loopback address of this
                        machine (the server then listens on all interfaces), or http://example.invalid;
                        "{port}" becomes the server's port
  --lfs-refuses-token   /lfs/ (reached by a redirect) answers 403 to a request that carries Authorization
  --endless             a GET of the LFS file answers with a body without Content-Length that goes on past
                        any announced size (256 MB, then the connection is closed, so that a client that
                        does not stop still ends)
"""
import argparse
import hashlib
import http.server
import os
import re
import socket
import urllib.parse

COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
LFS = {"model.safetensors"}

ap = argparse.ArgumentParser()
ap.add_argument("folder")
ap.add_argument("port_file")
ap.add_argument("--cut-after", type=int)
ap.add_argument("--corrupt")
ap.add_argument("--etag", action="append", default=[])
ap.add_argument("--commit")
ap.add_argument("--linked-size")
ap.add_argument("--redirect-to")
ap.add_argument("--lfs-refuses-token", action="store_true")
ap.add_argument("--endless", action="store_true")
ap.add_argument("--log", help="append 'METHOD PATH RANGE' for every request to this file")
args = ap.parse_args()
folder = args.folder
etags = dict(e.split("=", 1) for e in args.etag)
state = {"cut_done": False}


def public_address():
    """A non-loopback IPv4 address of this machine (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
        return None if addr.startswith("127.") else addr
    except OSError:
        return None


def content(name):
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    return data


def served(name):
    data = content(name)
    if name == args.corrupt:
        data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
    return data


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_of(revision):
    if args.commit is not None:
        return args.commit
    if revision == "main":
        return COMMIT
    if re.fullmatch("[0-9a-f]{40}", revision):
        return revision
    return hashlib.sha1(revision.encode()).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def route(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "lfs":
            for name in LFS:
                if os.path.exists(os.path.join(folder, name)) and hashlib.sha256(content(name)).hexdigest() == parts[1]:
                    return ("lfs", name, None)
            return None
        if len(parts) == 5 and parts[2] == "resolve":
            name = parts[4]
            if os.path.isfile(os.path.join(folder, name)):
                return ("resolve", name, urllib.parse.unquote(parts[3]))
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
        if args.cut_after is not None and name in LFS and not state["cut_done"]:
            state["cut_done"] = True
            self.wfile.write(body[: args.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def handle_any(self, head_only):
        if args.log:
            with open(args.log, "a") as f:
                f.write("%s %s %s\n" % ("HEAD" if head_only else "GET", self.path, self.headers.get("Range", "-")))
        r = self.route()
        if r is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        kind, name, revision = r
        if kind == "lfs" and args.lfs_refuses_token and self.headers.get("Authorization"):
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        true_data = content(name)
        if kind == "resolve" and name in LFS:
            sha = hashlib.sha256(true_data).hexdigest()
            etag = etags.get(name, '"%s"' % sha)
            self.send_response(302)
            self.send_header("Location", (redirect_prefix or "") + "/lfs/" + sha)
            self.send_header("X-Repo-Commit", commit_of(revision))
            self.send_header("X-Linked-Etag", etag)
            self.send_header("X-Linked-Size", args.linked_size if args.linked_size is not None else str(len(true_data)))
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if kind == "lfs" and args.endless and not head_only:
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            block = b"\0" * 65536
            try:
                for _ in range(4096):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        data = served(name)
        # Headers common to both kinds, then the body.
        if kind == "resolve":
            self._extra = [("X-Repo-Commit", commit_of(revision)), ("ETag", etags.get(name, '"%s"' % git_sha1(true_data)))]
        else:
            self._extra = []
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


redirect_prefix = args.redirect_to
public = redirect_prefix is not None and "{public}" in redirect_prefix
address = public_address() if public else None
server = http.server.ThreadingHTTPServer(("0.0.0.0" if address else "127.0.0.1", 0), Handler)
if public:
    where = "http://%s:%d" % (address, server.server_address[1]) if address else "http://example.invalid"
    redirect_prefix = redirect_prefix.replace("{public}", where)
if redirect_prefix is not None:
    redirect_prefix = redirect_prefix.replace("{port}", str(server.server_address[1]))
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
