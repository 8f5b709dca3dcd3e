#!/usr/bin/env python3
"""Build a container image tar reproducibly, without Docker.

Each --layer DIR becomes one layer (lowest first). Every entry gets uid/gid 0
(unless --keep-owner), a fixed mtime and a sorted position, and gzip is written with mtime=0, so the same inputs give the
same digests every time. The mtime, and the image's "created" time, is
SOURCE_DATE_EPOCH if set, else the time of the last commit that changed
images/ (`git log -1 --format=%ct -- images/`: `minictr images` shows when the
recipes last changed, not "56 years ago"; a commit elsewhere changes no image
digest), else 0 outside a git checkout.

  mkimage.py --layer rootfs/ --config config.json --tag busybox:latest --out busybox.tar
  mkimage.py ... --format docker          # legacy `docker save`: <id>/layer.tar + manifest.json
  mkimage.py ... --format docker-oci      # newer `docker save` (moby >= 25): OCI layout + manifest.json
  mkimage.py ... --format oci-dir         # an OCI image layout directory (for umoci / skopeo)
  mkimage.py ... --compress zstd|none     # layer compression (oci formats; default gzip)

config.json holds the image config fields (Docker's spelling):
  {"Entrypoint": [...], "Cmd": [...], "Env": ["PATH=..."], "WorkingDir": "/",
   "User": "0:0", "ExposedPorts": ["8080/tcp"], "Volumes": ["/data"], "Labels": {}}
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

CHUNK = 1 << 20
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def die(msg):
    print(f"mkimage: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------- layers ----


def layer_entries(root):
    """All entries of a layer dir in depth-first sorted order (parents first)."""
    out = []

    def visit(abs_dir, rel_dir):
        for name in sorted(os.listdir(abs_dir)):
            abs_path = os.path.join(abs_dir, name)
            rel = name if not rel_dir else f"{rel_dir}/{name}"
            out.append((rel, abs_path))
            st = os.lstat(abs_path)
            if stat.S_ISDIR(st.st_mode):
                visit(abs_path, rel)

    visit(root, "")
    return out


def write_layer_tar(root, out_path, args):
    """Write the uncompressed layer tar of directory `root` to out_path."""
    mtime = args.mtime
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel, abs_path in layer_entries(root):
            info = tar.gettarinfo(abs_path, arcname=rel)
            if info is None:  # sockets cannot be archived
                continue
            info.mtime = mtime
            if not args.keep_owner:
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
            else:
                info.uname = info.gname = ""
            if args.xattrs:
                try:
                    names = sorted(os.listxattr(abs_path, follow_symlinks=False))
                except OSError:
                    names = []
                for n in names:
                    info.pax_headers["SCHILY.xattr." + n] = os.getxattr(
                        abs_path, n, follow_symlinks=False
                    ).decode("utf-8", "surrogateescape")
            if info.isreg():
                with open(abs_path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


def compress(src, dst, method):
    if method == "none":
        shutil.copyfile(src, dst)
    elif method == "gzip":
        with open(src, "rb") as fin, open(dst, "wb") as raw:
            # filename="" and mtime=0 keep the gzip header identical every run.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                shutil.copyfileobj(fin, gz, CHUNK)
    elif method == "zstd":
        subprocess.run(["zstd", "-q", "-f", "-3", "--no-check", src, "-o", dst], check=True)
    else:
        die(f"unknown compression {method}")


class Layer:
    def __init__(self, tar_path, diff_id, blob_path, blob_digest, blob_size):
        self.tar_path = tar_path  # uncompressed
        self.diff_id = diff_id
        self.blob_path = blob_path  # compressed (may equal tar_path)
        self.blob_digest = blob_digest
        self.blob_size = blob_size


def build_layers(args, work):
    layers = []
    for i, d in enumerate(args.layer):
        if not os.path.isdir(d):
            die(f"layer {d} is not a directory")
        tar_path = os.path.join(work, f"layer{i}.tar")
        write_layer_tar(d, tar_path, args)
        diff_id = "sha256:" + sha256_file(tar_path)
        if args.format == "docker" or args.compress == "none":
            blob = tar_path
        else:
            blob = os.path.join(work, f"layer{i}.blob")
            compress(tar_path, blob, args.compress)
        layers.append(Layer(tar_path, diff_id, blob, "sha256:" + sha256_file(blob), os.path.getsize(blob)))
    return layers


# ---------------------------------------------------------------- config ----


def image_config(args, layers):
    with open(args.config) as f:
        user = json.load(f)
    cfg = {}
    for key in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "Labels", "StopSignal"):
        if key in user:
            cfg[key] = user[key]
    for key in ("ExposedPorts", "Volumes"):
        if key in user:
            v = user[key]
            cfg[key] = {k: {} for k in v} if isinstance(v, list) else v
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.mtime))
    return {
        "architecture": args.arch,
        "os": "linux",
        "created": created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": created, "created_by": "mkimage.py"} for _ in layers],
    }


def split_tag(tag):
    """'busybox' -> ('busybox', 'latest'); 'reg:5000/a/b:v1' -> ('reg:5000/a/b', 'v1')."""
    slash = tag.rfind("/")
    colon = tag.rfind(":")
    if colon > slash:
        return tag[:colon], tag[colon + 1 :]
    return tag, "latest"


# ---------------------------------------------------------------- output ----


class OutTar:
    """Entries of the output tar, written sorted with fixed metadata."""

    def __init__(self):
        self.files = {}  # name -> (bytes | path)

    def add_bytes(self, name, data):
        self.files[name] = data

    def add_file(self, name, path):
        self.files[name] = path

    def write_tar(self, out, mtime):
        dirs = set()
        for name in self.files:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        tmp = out + ".tmp"
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(set(self.files) | dirs):
                info = tarfile.TarInfo(name)
                info.mtime = mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if name in dirs:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                    continue
                info.mode = 0o644
                src = self.files[name]
                if isinstance(src, bytes):
                    info.size = len(src)
                    tar.addfile(info, io.BytesIO(src))
                else:
                    info.size = os.path.getsize(src)
                    with open(src, "rb") as f:
                        tar.addfile(info, f)
        os.replace(tmp, out)

    def write_dir(self, out):
        if os.path.exists(out):
            shutil.rmtree(out)
        for name, src in sorted(self.files.items()):
            dst = os.path.join(out, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if isinstance(src, bytes):
                with open(dst, "wb") as f:
                    f.write(src)
            else:
                shutil.copyfile(src, dst)


def add_oci_layout(out, args, layers, config_bytes):
    config_digest = "sha256:" + sha256_bytes(config_bytes)
    out.add_bytes("blobs/sha256/" + config_digest[7:], config_bytes)
    for l in layers:
        out.add_file("blobs/sha256/" + l.blob_digest[7:], l.blob_path)
    layer_media = MEDIA_LAYER["none" if args.format == "docker-oci" else args.compress]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": layer_media, "digest": l.blob_digest, "size": l.blob_size} for l in layers],
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    manifest_digest = "sha256:" + sha256_bytes(manifest_bytes)
    out.add_bytes("blobs/sha256/" + manifest_digest[7:], manifest_bytes)
    descs = []
    for tag in args.tag or [None]:
        desc = {"mediaType": MEDIA_MANIFEST, "digest": manifest_digest, "size": len(manifest_bytes)}
        if tag:
            name, ref = split_tag(tag)
            desc["annotations"] = {
                "io.containerd.image.name": f"{name}:{ref}",
                "org.opencontainers.image.ref.name": ref,
            }
        descs.append(desc)
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": descs}
    out.add_bytes("index.json", json.dumps(index, indent=2, sort_keys=True).encode())
    out.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    return config_digest


def add_docker_manifest(out, args, config_name, layer_names):
    manifest = [{"Config": config_name, "RepoTags": list(args.tag), "Layers": layer_names}]
    out.add_bytes("manifest.json", json.dumps(manifest, sort_keys=True).encode())
    repos = {}
    for tag in args.tag:
        name, ref = split_tag(tag)
        repos.setdefault(name, {})[ref] = layer_names[-1].split("/")[-2] if layer_names else ""
    if args.format == "docker" and repos:
        out.add_bytes("repositories", json.dumps(repos, sort_keys=True).encode())


def add_docker_legacy(out, args, layers, config_bytes):
    config_hex = sha256_bytes(config_bytes)
    out.add_bytes(config_hex + ".json", config_bytes)
    parent = ""
    names = []
    for l in layers:
        # The v1 layer id: a chain of the parent id and this layer's diffID.
        layer_id = sha256_bytes(f"{parent} {l.diff_id}".encode())
        v1 = {"id": layer_id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.mtime))}
        if parent:
            v1["parent"] = parent
        out.add_bytes(f"{layer_id}/VERSION", b"1.0")
        out.add_bytes(f"{layer_id}/json", json.dumps(v1, sort_keys=True).encode())
        out.add_file(f"{layer_id}/layer.tar", l.tar_path)
        names.append(f"{layer_id}/layer.tar")
        parent = layer_id
    add_docker_manifest(out, args, config_hex + ".json", names)


def source_date_epoch():
    """SOURCE_DATE_EPOCH (reproducible-builds.org), else the time of the last commit to images/."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        r = subprocess.run(["git", "-C", here, "log", "-1", "--format=%ct", "--", "."],
                           capture_output=True, text=True, check=False)
    except OSError:  # no git installed
        return 0
    out = r.stdout.strip()
    return int(out) if r.returncode == 0 and out.isdigit() else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layer", "--rootfs", action="append", required=True, help="layer directory (repeat, lowest first)")
    p.add_argument("--config", required=True, help="image config JSON (Entrypoint, Cmd, Env, ...)")
    p.add_argument("--tag", action="append", default=[], help="name:tag (repeat for several tags)")
    p.add_argument("--out", required=True, help="output tar (or directory for --format oci-dir)")
    p.add_argument("--format", choices=["oci", "oci-dir", "docker", "docker-oci"], default="oci")
    p.add_argument("--compress", choices=["gzip", "zstd", "none"], default="gzip")
    p.add_argument("--arch", default="amd64")
    p.add_argument("--keep-owner", action="store_true", help="keep uid/gid from the layer dirs")
    p.add_argument("--xattrs", action="store_true", help="record extended attributes")
    args = p.parse_args()
    args.mtime = source_date_epoch()
    if args.format == "docker-oci":
        args.compress = "none"  # docker save writes uncompressed layers

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".mkimage.") as work:
        layers = build_layers(args, work)
        config_bytes = canonical_json(image_config(args, layers))
        out = OutTar()
        if args.format == "docker":
            add_docker_legacy(out, args, layers, config_bytes)
        else:
            config_digest = add_oci_layout(out, args, layers, config_bytes)
            if args.format == "docker-oci":
                add_docker_manifest(
                    out, args, "blobs/sha256/" + config_digest[7:],
                    ["blobs/sha256/" + l.blob_digest[7:] for l in layers],
                )
        if args.format == "oci-dir":
            out.write_dir(args.out)
        else:
            out.write_tar(args.out, args.mtime)
        print(f"mkimage: {args.out}: sha256:{sha256_bytes(config_bytes)} ({len(layers)} layers)")


if __name__ == "__main__":
    main()
