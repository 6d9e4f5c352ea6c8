"""Debian kernel package names, versions and column labels."""

from kernelmatrix.apt import image_package, label_for, line_candidates, parse_package_name, upstream_version


def test_line_candidates_and_labels():
    names = ["linux-image-5.10.0-32-cloud-amd64", "linux-image-5.10.0-32-cloud-amd64-unsigned",
             "linux-image-5.10.0-32-amd64", "linux-image-5.10.0-32-rt-amd64", "linux-image-5.10.0-30-cloud-amd64",
             "linux-image-6.12.117+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-amd64",
             "linux-image-7.3.4+deb13-cloud-amd64", "linux-image-6.1.0-56-cloud-amd64-dbg"]
    assert line_candidates(names, "5.10", "cloud-amd64") == \
        ["linux-image-5.10.0-32-cloud-amd64", "linux-image-5.10.0-30-cloud-amd64"]
    assert line_candidates(names, "5.10", "amd64") == ["linux-image-5.10.0-32-amd64"]
    assert line_candidates(names, "6.1", "cloud-amd64") == []
    assert line_candidates(["linux-image-6.12-cloud-amd64"], "6.12", "cloud-amd64") == [], "a meta-package"
    assert label_for("5.10.223-1", "cloud-amd64") == "5.10.223-cloud"
    assert label_for("7.3.4-1~bpo13+1", "amd64") == "7.3.4"
    assert image_package({"Package": "linux-image-7.3.4+deb13-cloud-amd64",
                          "Depends": "kmod, linux-binary-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1)"}) == \
        "linux-binary-7.3.4+deb13-cloud-amd64"
    assert image_package({"Package": "linux-image-6.1.0-56-cloud-amd64", "Depends": "kmod"}) == \
        "linux-image-6.1.0-56-cloud-amd64"
    assert upstream_version("6.19.14-1~bpo13+1") == "6.19.14"


def test_parse_package_name():
    assert parse_package_name("linux-image-5.10.0-32-cloud-amd64") == ("5.10", "cloud-amd64")
    assert parse_package_name("linux-binary-7.3.4+deb13-amd64") == ("7.3", "amd64")
    assert parse_package_name("linux-image-6.12-amd64") is None
    assert parse_package_name("linux-headers-6.1.0-56-amd64") is None
