# make_hub_cache_fixtures.py — lets huggingface_hub's own `snapshot_download` fill a cache from a stand-in Hub (a
# local HTTP server answering the endpoints it calls), then dumps the cache layout and the requests it made, for
# HubTests. Pins: reference/requirements-hub.txt (huggingface_hub 2.4.0). Deterministic.
import hashlib
import http.server
import json
import os
import sys
import tempfile
import threading

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

REPO = "tiny-org/tiny-model"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The files of the stand-in repo: small text files are plain git blobs (ETag = git's blob sha1), the weights an
# LFS file (X-Linked-Etag = sha256 of the content), as the Hub answers.
FILES = {
    "config.json": b'{"model_type": "llama", "hidden_size": 8}\n',
    "tokenizer.json": b'{"version": "1.0"}\n',
    "model.safetensors": bytes(range(256)) * 4,
    "nested/notes.txt": b"a file in a folder\n",
}
LFS = {"model.safetensors"}
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "HubTests", "Fixtures")


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def etag(name):
    data = FILES[name]
    return hashlib.sha256(data).hexdigest() if name in LFS else git_blob_sha1(data)


def sibling(name):
    entry = {"rfilename": name, "blobId": git_blob_sha1(FILES[name]), "size": len(FILES[name])}
    if name in LFS:
        entry["lfs"] = {"sha256": etag(name), "size": len(FILES[name]), "pointerSize": 134}
    return entry


REQUESTS = []


class Hub(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body_wanted):
        path = self.path.split("?")[0]
        REQUESTS.append(f"{self.command} {self.path}")
        if path in (f"/api/models/{REPO}/revision/main", f"/api/models/{REPO}/revision/{COMMIT}"):
            body = json.dumps({"id": REPO, "sha": COMMIT, "siblings": [sibling(n) for n in FILES]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body_wanted:
                self.wfile.write(body)
            return
        if path == f"/api/models/{REPO}/tree/{COMMIT}":  # snapshot_download's file list (2.x)
            entries = []
            for folder in sorted({n.rsplit("/", 1)[0] for n in FILES if "/" in n}):
                entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
            for n in FILES:
                entry = {"type": "file", "oid": git_blob_sha1(FILES[n]), "size": len(FILES[n]), "path": n}
                if n in LFS:
                    entry["lfs"] = {"oid": etag(n), "size": len(FILES[n]), "pointerSize": 134}
                entries.append(entry)
            body = json.dumps(entries).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body_wanted:
                self.wfile.write(body)
            return
        for revision in ("main", COMMIT):
            prefix = f"/{REPO}/resolve/{revision}/"
            if path.startswith(prefix) and path[len(prefix):] in FILES:
                name = path[len(prefix):]
                data = FILES[name]
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{git_blob_sha1(data)}"')
                if name in LFS:
                    self.send_header("X-Linked-Etag", f'"{etag(name)}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body_wanted:
                    self.wfile.write(data)
                return
        self.send_response(404)
        self.send_header("X-Error-Code", "EntryNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)


def layout(cache):
    entries = {}
    for folder, dirs, names in os.walk(cache):
        dirs.sort()
        for name in sorted(names) + sorted(d for d in dirs if os.path.islink(os.path.join(folder, d))):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, cache)
            if rel.startswith(".locks") or name == "CACHEDIR.TAG":
                continue
            if os.path.islink(path):
                entries[rel] = {"symlink": os.readlink(path)}
            else:
                with open(path, "rb") as f:
                    data = f.read()
                entries[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                if rel.split(os.sep)[1] == "refs":
                    entries[rel]["text"] = data.decode()
    return dict(sorted(entries.items()))


def main():
    import huggingface_hub
    assert huggingface_hub.__version__ == "2.4.0", huggingface_hub.__version__
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    from huggingface_hub import snapshot_download

    cache = tempfile.mkdtemp()
    path = snapshot_download(REPO, revision="main", cache_dir=cache, endpoint=endpoint)
    server.shutdown()
    fixture = {
        "repo_id": REPO,
        "commit": COMMIT,
        "snapshot": os.path.relpath(path, cache),
        "files": {name: {"text": data.decode("latin-1"), "etag": etag(name), "lfs": name in LFS}
                  for name, data in FILES.items()},
        "siblings": [sibling(n) for n in FILES],
        "layout": layout(cache),
        "requests": sorted(r.replace(endpoint, "<endpoint>") for r in REQUESTS),  # downloads run in parallel
        "versions": {"huggingface_hub": huggingface_hub.__version__, "python": sys.version.split()[0]},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "cache_layout.json"), "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
