#!/usr/bin/env python3
"""A CycloneDX 1.5 SBOM (JSON) of the Rust crates a package is built from.

    sbom.py --package stigg-connector --target wasm32-wasip2 --name stigg --version V --out FILE

Every crate in the package's normal dependencies for those targets (`--target` may repeat: the
image's binary is built for two) (proc-macros
and what they use included, as they shape the code), with its version, its
purl, its licence expression and, for crates from crates.io, the SHA-256 that
Cargo.lock pins; and who depends on whom. From `cargo tree` and Cargo.lock: no
tool to install. The same lock gives the same bytes. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def crates(package: str, targets: list[str]) -> tuple[dict, dict[str, list[str]]]:
    """The package's crates by purl ({name, version, license}), and each one's
    normal dependencies. From `cargo tree`, which resolves features for this
    package alone, as its build does (`cargo metadata` unifies the workspace's)."""
    tree = subprocess.run(
        ["cargo", "tree", "--locked", "-p", package, *(f"--target={t}" for t in targets), "-e", "normal",
         "--prefix", "depth", "--format", "|{p}|{l}"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    packages: dict[str, dict] = {}
    graph: dict[str, set[str]] = {}
    path: list[str] = []  # the crates from the root down to the line's parent
    for line in filter(None, tree.splitlines()):  # one tree per target, a blank line between
        depth, described, license_ = line.split("|", 2)
        name, version = described.split()[:2]
        crate = {"name": name, "version": version.lstrip("v"), "license": license_.strip()}
        ref = purl(crate)
        packages.setdefault(ref, crate)
        graph.setdefault(ref, set())
        del path[int(depth):]
        if path:
            graph[path[-1]].add(ref)
        path.append(ref)
    return packages, {ref: sorted(deps) for ref, deps in graph.items()}


def lock_checksums() -> dict[tuple[str, str], str]:
    """Cargo.lock's checksum of each (name, version) from a registry."""
    sums, entry = {}, {}
    for line in (ROOT / "Cargo.lock").read_text().splitlines() + ["[[package]]"]:
        if line == "[[package]]":
            if "checksum" in entry:
                sums[(entry["name"], entry["version"])] = entry["checksum"]
            entry = {}
        elif " = " in line:
            key, value = line.split(" = ", 1)
            entry[key] = value.strip('"')
    return sums


def purl(package: dict) -> str:
    return f"pkg:cargo/{package['name']}@{package['version']}"


def component(package: dict, checksums: dict) -> dict:
    entry = {"type": "library", "bom-ref": purl(package), "name": package["name"],
             "version": package["version"], "purl": purl(package)}
    if package.get("license"):
        entry["licenses"] = [{"expression": package["license"]}]
    checksum = checksums.get((package["name"], package["version"]))
    if checksum:
        entry["hashes"] = [{"alg": "SHA-256", "content": checksum}]
    return entry


def bom(package: str, targets: list[str], name: str, version: str) -> dict:
    packages, graph = crates(package, targets)
    checksums = lock_checksums()
    root = next(iter(packages))  # cargo tree's first line
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": purl(packages[root]), "name": name,
                          "version": version, "purl": purl(packages[root]),
                          "description": f"{package} built for {', '.join(targets)}"},
        },
        "components": sorted((component(p, checksums) for i, p in packages.items() if i != root),
                             key=lambda c: c["bom-ref"]),
        "dependencies": sorted(({"ref": ref, "dependsOn": deps} for ref, deps in graph.items()),
                               key=lambda d: d["ref"]),
    }
    # A serial number derived from the content: the same lock gives the same SBOM.
    digest = uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(document, sort_keys=True))
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": f"urn:uuid:{digest}",
            **{k: v for k, v in document.items() if k not in ("bomFormat", "specVersion")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("package", "name", "version", "out"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--target", required=True, action="append")
    options = parser.parse_args()
    document = bom(options.package, options.target, options.name, options.version)
    Path(options.out).write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
