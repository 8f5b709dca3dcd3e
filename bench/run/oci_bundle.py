#!/usr/bin/env python3
"""Unpack an OCI image archive (the tar `minictr load` takes) into a runc bundle.

    oci_bundle.py IMAGE.tar BUNDLE_DIR [CMD ...]

BUNDLE_DIR/rootfs gets the image's layers applied in order (whiteouts honoured),
BUNDLE_DIR/config.json is `runc spec` with process.args = CMD (default: true),
terminal false and a writable root, so runc runs the very same files minictr does.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile


def blob(tar, digest):
    algo, hexd = digest.split(":", 1)
    return tar.extractfile(f"blobs/{algo}/{hexd}").read()


def apply_layer(data, rootfs):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as layer:
        members = []
        for m in layer.getmembers():
            d, base = os.path.split(m.name)
            if base == ".wh..wh..opq":  # opaque dir: drop what lower layers put there
                target = os.path.join(rootfs, d)
                for e in os.listdir(target) if os.path.isdir(target) else []:
                    p = os.path.join(target, e)
                    shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
            elif base.startswith(".wh."):
                p = os.path.join(rootfs, d, base[4:])
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p)
                elif os.path.lexists(p):
                    os.unlink(p)
            else:
                members.append(m)
        layer.extractall(rootfs, members=members, numeric_owner=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    image, bundle, cmd = sys.argv[1], sys.argv[2], sys.argv[3:] or ["true"]
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs, exist_ok=True)
    with tarfile.open(image) as tar:
        index = json.loads(tar.extractfile("index.json").read())
        manifest = json.loads(blob(tar, index["manifests"][0]["digest"]))
        for layer in manifest["layers"]:
            apply_layer(blob(tar, layer["digest"]), rootfs)
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        spec = json.load(f)
    spec["process"]["args"] = cmd
    spec["process"]["terminal"] = False
    spec["root"]["readonly"] = False
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)


if __name__ == "__main__":
    main()
