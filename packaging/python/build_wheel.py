#!/usr/bin/env python3
"""Builds the `source-stigg-wasm` wheel: one pure-Python wheel (py3-none-any)
holding the Python host, the Airbyte command line and stigg.wasm.

    build_wheel.py --version V --wasm STIGG_WASM --docs-url URL --out DIR

A wheel is a zip with a dist-info folder (PEP 427); writing it here needs no
build backend, and the same inputs give the same bytes (fixed times and order).
Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NAME = "source-stigg-wasm"
PACKAGE = "source_stigg_wasm"
# wasmtime-py publishes wheels for Linux, macOS and Windows on x86-64 and ARM.
REQUIRES = ["wasmtime==50.0.1"]
EPOCH = (2020, 1, 1, 0, 0, 0)  # zip times: reproducible bytes


def files(version: str, wasm: Path) -> dict[str, bytes]:
    """The package's files, by path in the wheel."""
    package = {
        f"{PACKAGE}/__init__.py": f'"""The Stigg Airbyte source as a WebAssembly component, with its Python host."""\n\n'
                                  f'__version__ = "{version}"\n'.encode(),
        f"{PACKAGE}/cli.py": (HERE / PACKAGE / "cli.py").read_bytes(),
        f"{PACKAGE}/__main__.py": (HERE / PACKAGE / "__main__.py").read_bytes(),
        f"{PACKAGE}/host.py": (ROOT / "examples" / "python-host" / "stigg_host.py").read_bytes(),
        f"{PACKAGE}/stigg.wasm": wasm.read_bytes(),
    }
    return package


def metadata(version: str, docs_url: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        "Summary: Stigg source for Airbyte, as a sandboxed WebAssembly component (the Airbyte command line: source-stigg-wasm)",
        "License: MIT",
        f"Project-URL: Documentation, {docs_url}",
        "Requires-Python: >=3.9",
        *[f"Requires-Dist: {r}" for r in REQUIRES],
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Operating System :: OS Independent",
        "Description-Content-Type: text/markdown",
        "",
        f"`{NAME} spec | check --config F | discover --config F | read --config F --catalog F [--state F]`:",
        "the Stigg connector (customers, subscriptions with their money, the price book, usage,",
        f"credits, the activity log) as an Airbyte source executable. See {docs_url}.",
        "",
    ]
    return "\n".join(lines)


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build(version: str, wasm: Path, docs_url: str, out: Path) -> Path:
    dist_info = f"{PACKAGE}-{version}.dist-info"
    contents = files(version, wasm)
    contents[f"{dist_info}/METADATA"] = metadata(version, docs_url).encode()
    contents[f"{dist_info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: source-stigg-wasm build_wheel.py\n"
                                      "Root-Is-Purelib: true\nTag: py3-none-any\n").encode()
    contents[f"{dist_info}/entry_points.txt"] = (f"[console_scripts]\n{NAME} = {PACKAGE}.cli:main\n").encode()
    record = [record_line(path, data) for path, data in contents.items()]
    contents[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{PACKAGE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in contents.items():
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", required=True)
    parser.add_argument("--wasm", required=True, type=Path)
    parser.add_argument("--docs-url", required=True)
    parser.add_argument("--out", required=True, type=Path)
    options = parser.parse_args()
    print(build(options.version, options.wasm, options.docs_url, options.out))


if __name__ == "__main__":
    main()
