#!/usr/bin/env python3
"""Write a tiny OCI image layout (one layer, one file) without any registry or network.

usage: mkimage.py DIR TAG LABEL

DIR becomes an OCI image layout holding image TAG: one gzip layer with /interop.txt
and a linux/amd64 config whose label `org.interop.image` is LABEL. The same arguments
always give the same bytes (mtimes are 0), so digests are reproducible. Prints the
manifest digest. `skopeo copy oci:DIR:TAG docker://...` then pushes it anywhere.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def put_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def layer(label):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        body = ("docker-credential-ecr-xacct interop image %s\n" % label).encode()
        info = tarfile.TarInfo("interop.txt")
        info.size, info.mode, info.mtime = len(body), 0o644, 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(body))
    raw = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(raw)
    return raw, gz.getvalue()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    root, tag, label = sys.argv[1:]
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    raw, gz = layer(label)
    layer_desc = put_blob(root, gz)
    layer_desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Cmd": ["/interop.txt"], "Labels": {"org.interop.image": label}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py"}],
    }
    config_desc = put_blob(root, json.dumps(config, sort_keys=True).encode())
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = put_blob(root, json.dumps(manifest, sort_keys=True).encode())
    manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest_desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    index_path = os.path.join(root, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(manifest_desc)
    with open(index_path, "w") as f:
        json.dump(index, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(manifest_desc["digest"])


if __name__ == "__main__":
    main()
