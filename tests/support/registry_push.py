"""Pushes a tiny, unique OCI image to a real registry over its HTTP API (plain HTTP, loopback).

Shared by the Python test harnesses (tests/e2e/, tests/prometheus/) that need an image whose
digest they know, without skopeo or a container engine: one gzip layer holding one file whose text
is `seed`, so every seed gives a distinct digest.
"""

import gzip
import hashlib
import io
import json
import tarfile
import urllib.parse
import urllib.request


def _request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, dict(resp.headers), resp.read()


def push_image(registry, repo, tag, seed):
    """Pushes REPO:TAG to the registry at host:port REGISTRY; returns the manifest digest."""
    base = f"http://{registry}/v2/{repo}"

    def put_blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        _, headers, _ = _request("POST", base + "/blobs/uploads/", b"")
        location = urllib.parse.urljoin(f"http://{registry}", headers["Location"])
        sep = "&" if "?" in location else "?"
        status, _, _ = _request("PUT", f"{location}{sep}digest={digest}", data,
                                {"Content-Type": "application/octet-stream"})
        assert status == 201, f"blob upload answered {status}"
        return digest, len(data)

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = f"podgate test image {seed}\n".encode()
        info = tarfile.TarInfo("etc/podgate-test")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    diff_id = "sha256:" + hashlib.sha256(tar_bytes.getvalue()).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "config": {"Cmd": ["/bin/true"]}}).encode()
    layer_digest, layer_size = put_blob(layer)
    config_digest, config_size = put_blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }).encode()
    status, _, _ = _request("PUT", f"{base}/manifests/{tag}", manifest,
                            {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, f"manifest upload answered {status}"
    return "sha256:" + hashlib.sha256(manifest).hexdigest()
