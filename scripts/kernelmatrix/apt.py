"""The private apt configuration, and Debian's kernel package names and versions."""

import functools
import os
import re
import subprocess
import time

from .common import KEYRING, SUITES, progress, run


class PrivateApt:
    """apt-get and apt-cache with their own sources, state and cache: the
    host's /etc/apt, /var/lib/apt and /var/cache/apt are read for nothing and
    written never."""

    def __init__(self, root):
        self.root = root
        self.sources = os.path.join(root, "sources.list")
        for sub in ["parts", "preferences.d", "log", "state/lists/partial", "cache/archives/partial"]:
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        status = os.path.join(root, "state/status")
        if not os.path.exists(status):
            open(status, "w").close()
        text = "".join(f"deb [signed-by={KEYRING}] {uri} {suite} main\n" for uri, suite in SUITES)
        if not os.path.exists(self.sources) or open(self.sources).read() != text:
            with open(self.sources, "w") as file:
                file.write(text)
        # Read through APT_CONFIG, which apt reads before anything else: with
        # Dir::Etc::Parts and Dir::Etc::Main pointing here, not even the host's
        # /etc/apt/apt.conf.d is read (-o options would come too late for that).
        config = "".join(f'{key} "{value}";\n' for key, value in [
            ("Dir::Etc::SourceList", self.sources),
            ("Dir::Etc::SourceParts", f"{root}/parts"),
            ("Dir::Etc::Parts", f"{root}/parts"),
            ("Dir::Etc::Main", "/dev/null"),
            ("Dir::Etc::Preferences", "/dev/null"),
            ("Dir::Etc::PreferencesParts", f"{root}/preferences.d"),
            ("Dir::State", f"{root}/state"),
            ("Dir::State::status", f"{root}/state/status"),
            ("Dir::Cache", f"{root}/cache"),
            ("Dir::Cache::pkgcache", "pkgcache.bin"),
            ("Dir::Cache::srcpkgcache", "srcpkgcache.bin"),
            ("Dir::Log", f"{root}/log"),
            ("APT::Architecture", "amd64"),
            ("Acquire::Languages", "none"),
            ("APT::Sandbox::User", "root"),
            # The registry these machines reach serves a fixed snapshot whose
            # Release files are past their Valid-Until date; the signatures are
            # still checked.
            ("Acquire::Check-Valid-Until", "false"),
            ("Acquire::Check-Date", "false"),
        ])
        self.config = os.path.join(root, "apt.conf")
        with open(self.config, "w") as file:
            file.write(config)
        self.env = {**os.environ, "APT_CONFIG": self.config}
        # The same settings again on the command line, so that they win even
        # if something in the environment changes APT_CONFIG's reading order.
        self.options = [f"-o{line.split(' ', 1)[0]}={line.split(' ', 1)[1][1:-2]}" for line in config.splitlines()]

    def lists_age(self):
        stamp = os.path.join(self.root, "state/updated")
        return time.time() - os.path.getmtime(stamp) if os.path.exists(stamp) else None

    def update(self):
        run(["apt-get", *self.options, "-q", "update"], env=self.env)
        open(os.path.join(self.root, "state/updated"), "w").close()

    def package_names(self, prefix):
        return run(["apt-cache", *self.options, "pkgnames", prefix], env=self.env).split()

    def show(self, names):
        """The candidate (newest) version's record of each package, by name."""
        if not names:
            return {}
        text = subprocess.run(
            ["apt-cache", *self.options, "show", "--no-all-versions", *names],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env).stdout
        records = {}
        for block in text.split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", block, re.M))
            if "Package" in fields:
                records[fields["Package"]] = fields
        return records

    def download(self, specs, directory):
        run(["apt-get", *self.options, "-q", "download", *specs], cwd=directory, env=self.env)


def debian_version_key():
    def compare(a, b):
        if a == b:
            return 0
        greater = subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
        return 1 if greater else -1
    return functools.cmp_to_key(compare)


PACKAGE_NAME = re.compile(r"^linux-(?:image|binary)-(\d+)\.(\d+)\.\d+[^-]*(?:-\d+)?-(.+)$")


def parse_package_name(name):
    """linux-image-5.10.0-32-cloud-amd64 → ("5.10", "cloud-amd64");
    linux-binary-7.3.4+deb13-amd64 → ("7.3", "amd64"); None for anything else
    (meta-packages like linux-image-6.12-amd64 have no patch level)."""
    match = PACKAGE_NAME.match(name)
    return (f"{match.group(1)}.{match.group(2)}", match.group(3)) if match else None


def line_candidates(names, line, flavour):
    """Package names of one upstream line (5.10, 7.3) in exactly that flavour:
    neither unsigned nor debug builds, nor another flavour's."""
    return [name for name in names if parse_package_name(name) == (line, flavour)]


def image_package(record):
    """The package that holds /boot/vmlinuz-*: the record's own, or (6.16 and
    later, where linux-image-* only depends on it) its linux-binary-*."""
    for alternative in record.get("Depends", "").split(","):
        name = alternative.strip().split(" ")[0]
        if name.startswith("linux-binary-"):
            return name
    return record["Package"]


def label_for(version, flavour):
    """A column name: 5.10.223-cloud, 7.3.4 (flavour amd64), 6.1.192-rt."""
    short = flavour[: -len("-amd64")] if flavour.endswith("-amd64") else ("" if flavour == "amd64" else flavour)
    return upstream_version(version) + ("-" + short if short else "")


def upstream_version(version):
    """5.10.223-1 → 5.10.223; 6.19.14-1~bpo13+1 → 6.19.14."""
    return re.split(r"[-~+]", version)[0]



def list_lines(apt, options):
    age = apt.lists_age()
    if options.refresh or age is None or age > 86400:
        progress("apt: updating the private package lists")
        apt.update()
    names = apt.package_names("linux-")
    lines = sorted({parsed[0] for parsed in map(parse_package_name, names) if parsed},
                   key=lambda line: tuple(map(int, line.split("."))))
    key = debian_version_key()
    for line in lines:
        records = apt.show(line_candidates(names, line, options.flavour))
        images = {n: r for n, r in records.items() if n.startswith("linux-image-")}
        if images:
            newest = max(images, key=lambda n: key(images[n]["Version"]))
            print(f"{line:<6} {len(images):>3} {options.flavour} images; newest {newest} {images[newest]['Version']}")
    return 0
