"""Kernel requests (a line, a package, a file) resolved to Debian packages, and
their images fetched into the cache."""

import os
import re
import shutil
import subprocess
import tempfile

from .apt import debian_version_key, image_package, label_for, line_candidates, parse_package_name
from .common import HarnessBroken, progress

class Kernel:
    def __init__(self, request):
        self.request = request
        self.package = None      # the package asked for or resolved
        self.version = None      # its Debian version
        self.image_package = None
        self.image = None        # path of the vmlinuz
        self.label = None        # column name: upstream version and flavour
        self.result = None       # filled by boot_with_retry

    def describe(self):
        return self.label or self.request


def resolve(requests, apt, flavour, refresh):
    kernels = [Kernel(request) for request in requests]
    registry = [k for k in kernels if not os.path.sep in k.request]
    for kernel in kernels:
        if kernel not in registry:
            if not os.path.isfile(kernel.request):
                raise HarnessBroken(f"{kernel.request}: no such file")
            kernel.image = os.path.abspath(kernel.request)
            kernel.label = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(kernel.request))
    if not registry:
        return kernels
    age = apt.lists_age()
    if refresh or age is None or age > 86400:
        progress("apt: updating the private package lists (7 suites, about 40 MB)")
        apt.update()
    names = apt.package_names("linux-")
    key = debian_version_key()
    for kernel in registry:
        if re.fullmatch(r"\d+\.\d+", kernel.request):
            candidates = line_candidates(names, kernel.request, flavour)
            records = apt.show(candidates)
            if not records:
                raise HarnessBroken(f"no {flavour} kernel of the {kernel.request} line in the registry (try --list)")
            # linux-image-* for the line; linux-binary-* is reached through it.
            images = {n: r for n, r in records.items() if n.startswith("linux-image-")} or records
            kernel.package = max(images, key=lambda n: key(images[n]["Version"]))
        else:
            kernel.package = kernel.request
        record = apt.show([kernel.package]).get(kernel.package)
        if record is None:
            raise HarnessBroken(f"{kernel.package}: not in the registry")
        kernel.version = record["Version"]
        kernel.image_package = image_package(record)
        kernel.label = label_for(kernel.version, (parse_package_name(kernel.package) or ("", ""))[1])
    return kernels


def fetch_images(kernels, apt, cache):
    """Downloads and unpacks the images not in the cache yet, in one apt-get call."""
    wanted = []
    for kernel in kernels:
        if kernel.image:
            continue
        directory = os.path.join(cache, "images", f"{kernel.image_package}_{kernel.version}")
        found = [f for f in os.listdir(directory) if f.startswith("vmlinuz")] if os.path.isdir(directory) else []
        if found:
            kernel.image = os.path.join(directory, found[0])
        else:
            wanted.append((kernel, directory))
    if not wanted:
        progress("images: all cached")
        return
    download = tempfile.mkdtemp(prefix="download-", dir=cache)
    try:
        specs = sorted({f"{k.image_package}={k.version}" for k, _ in wanted})
        progress(f"images: downloading {', '.join(specs)}")
        apt.download(specs, download)
        for kernel, directory in wanted:
            debs = [f for f in os.listdir(download) if f.startswith(kernel.image_package + "_")]
            if not debs:
                raise HarnessBroken(f"apt-get download produced no .deb for {kernel.image_package}")
            unpack = tempfile.mkdtemp(prefix="unpack-", dir=cache)
            # Only the image and its config from dpkg-deb's data archive: in
            # /boot up to 6.16's linux-image-*, in /usr/lib/modules/RELEASE/ in
            # the linux-binary-* packages.
            tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", os.path.join(download, debs[0])], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-x", "-C", unpack, "--wildcards", "./boot/vmlinuz-*", "./boot/config-*",
                            "./usr/lib/modules/*/vmlinuz", "./usr/lib/modules/*/config"],
                           stdin=tar.stdout, stderr=subprocess.DEVNULL, check=False)
            tar.stdout.close()
            tar.wait()
            found = {}
            for parent, _, files in os.walk(unpack):
                for name in files:
                    if name.startswith("vmlinuz"):
                        found["vmlinuz"] = os.path.join(parent, name)
                    elif name.startswith("config"):
                        found["config"] = os.path.join(parent, name)
            if "vmlinuz" not in found:
                raise HarnessBroken(f"{debs[0]} holds no vmlinuz in /boot or /usr/lib/modules")
            staging = os.path.join(unpack, "image")
            os.makedirs(staging)
            for name, path in found.items():
                os.rename(path, os.path.join(staging, name))
            shutil.rmtree(directory, ignore_errors=True)
            os.makedirs(os.path.dirname(directory), exist_ok=True)
            os.rename(staging, directory)
            shutil.rmtree(unpack, ignore_errors=True)
            kernel.image = os.path.join(directory, "vmlinuz")
            progress(f"images: {kernel.label} unpacked ({os.path.getsize(kernel.image) // 1048576} MB)")
    finally:
        shutil.rmtree(download, ignore_errors=True)
