"""The release's artifacts installed as a user would, from target/dist/ alone:
the wheel into a fresh venv, the npm package into a fresh prefix; each
`source-stigg-wasm` runs spec, check and a read against the stand-in.

Run after `./dev release` (tests/release/run.sh): `python3 tests/release/test_install.py`.
Standard library only; needs node and npm for the npm package.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ecosystem"))
import standin  # noqa: E402

DIST = ROOT / "target" / "dist"
VERSION = re.search(r'^version = "(.*)"$', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
DOCS_URL = re.search(r"^  documentationUrl: *(\S+)$",
                     (ROOT / "packaging" / "source-stigg-wasm" / "metadata.yaml").read_text(), re.M).group(1)
API_KEY = "release-test-key"
CUSTOMERS = 30
# Nothing of this checkout on the way: no module paths, no venv, no STIGG_* settings but the
# operator's permission to reach the stand-in on 127.0.0.1 (the machine's own registry and
# certificate settings stay: installing needs them).
ENV = {**{k: v for k, v in os.environ.items()
          if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NODE_PATH") and not k.startswith("STIGG_")},
       "STIGG_ALLOW_PRIVATE_NETWORK": "1"}


class Installed(standin.MessageLines):
    """What every installed `source-stigg-wasm` must do; subclasses install it."""

    command: list[str]
    work: Path

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS)
        cls.files = tempfile.TemporaryDirectory(prefix="stigg-release-")
        cls.work = Path(cls.files.name)
        (cls.work / "config.json").write_text(json.dumps({"api_key": API_KEY, "base_url": cls.stand.url}))
        (cls.work / "catalog.json").write_text(json.dumps({"streams": [
            {"stream": {"name": "customers"}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}))

    @classmethod
    def tearDownClass(cls) -> None:
        cls.stand.close()
        cls.files.cleanup()

    def run_command(self, *args: str) -> tuple[int, list[dict]]:
        done = subprocess.run([*self.command, *args], cwd=self.work, env=ENV,
                              capture_output=True, text=True, timeout=120)
        return done.returncode, self.parse(done.stdout)

    def test_spec_names_the_connectors_page(self) -> None:
        code, messages = self.run_command("spec")
        self.assertEqual((code, [m["type"] for m in messages]), (0, ["SPEC"]))
        self.assertEqual(messages[0]["spec"]["documentationUrl"], DOCS_URL)

    def test_check_and_read(self) -> None:
        config, catalog = str(self.work / "config.json"), str(self.work / "catalog.json")
        code, messages = self.run_command("check", "--config", config)
        self.assertEqual((code, messages[-1]["connectionStatus"]["status"]), (0, "SUCCEEDED"))
        code, messages = self.run_command("read", "--config", config, "--catalog", catalog)
        self.assertEqual(code, 0)
        self.assertEqual(sum(m["type"] == "RECORD" for m in messages), CUSTOMERS)

    def test_the_network_policy_holds_without_the_operators_word(self) -> None:
        done = subprocess.run([*self.command, "check", "--config", str(self.work / "config.json")], cwd=self.work,
                              env={**ENV, "STIGG_ALLOW_PRIVATE_NETWORK": "0"}, capture_output=True, text=True, timeout=120)
        status = self.parse(done.stdout)[-1]["connectionStatus"]
        self.assertEqual((done.returncode, status["status"]), (0, "FAILED"))
        self.assertIn("network policy", status["message"])


class WheelInstall(Installed):
    """`pip install source_stigg_wasm-<v>-py3-none-any.whl` into a fresh venv."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        wheel = DIST / f"source_stigg_wasm-{VERSION}-py3-none-any.whl"
        env_dir = cls.work / "venv"
        venv.create(env_dir, with_pip=True)
        subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        str(wheel)], check=True, cwd=cls.work, env=ENV, timeout=300)
        cls.command = [str(env_dir / "bin" / "source-stigg-wasm")]
        cls.python = env_dir / "bin" / "python"

    def test_its_only_dependency_is_wasmtime(self) -> None:
        done = subprocess.run([str(self.python), "-m", "pip", "show", "source-stigg-wasm"], env=ENV,
                              capture_output=True, text=True, check=True)
        self.assertIn("Requires: wasmtime\n", done.stdout)
        self.assertIn(f"Version: {VERSION}\n", done.stdout)


class NpmInstall(Installed):
    """`npm install source-stigg-wasm-<v>.tgz` into a fresh prefix, run with npx."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.prefix = cls.work / "npm"
        cls.prefix.mkdir()
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(cls.prefix),
                        str(DIST / f"source-stigg-wasm-{VERSION}.tgz")], check=True, env=ENV, timeout=120)
        cls.command = ["npx", "--prefix", str(cls.prefix), "--no-install", "source-stigg-wasm"]

    def test_running_needs_no_transpiler(self) -> None:
        modules = self.prefix / "node_modules"
        self.assertTrue((modules / "source-stigg-wasm" / "stigg.wasm.transpiled" / "component.js").is_file())
        self.assertFalse((modules / "@bytecodealliance" / "jco").exists(), "jco was installed")


class Artifacts(unittest.TestCase):
    def test_every_artifact_is_named_with_the_version_and_summed(self) -> None:
        names = sorted(p.name for p in DIST.iterdir() if p.is_file())
        self.assertEqual(names, sorted(["SHA256SUMS", f"stigg-{VERSION}.wasm", f"source-stigg-wasm-{VERSION}.tgz",
                                        f"source-stigg-wasm-{VERSION}.oci.tar", f"source-stigg-wasm-{VERSION}.cdx.json",
                                        f"source_stigg_wasm-{VERSION}-py3-none-any.whl", f"stigg-{VERSION}.cdx.json"]))
        sums = dict(reversed(line.split("  ", 1)) for line in (DIST / "SHA256SUMS").read_text().splitlines())
        self.assertEqual(sorted(sums), [n for n in names if n != "SHA256SUMS"])
        for name, digest in sums.items():
            self.assertEqual(hashlib.sha256((DIST / name).read_bytes()).hexdigest(), digest, name)


class Sbom(unittest.TestCase):
    """The SBOMs: valid CycloneDX 1.5, naming what `cargo tree` says each artifact is built from."""

    # file name prefix -> (package, its targets)
    SBOMS = {"stigg": ("stigg-connector", ["wasm32-wasip2"]),
             "source-stigg-wasm": ("source-stigg-wasm", ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-musl"])}

    def sbom(self, name: str) -> str:
        return (DIST / f"{name}-{VERSION}.cdx.json").read_text()

    def test_they_are_valid_cyclonedx(self) -> None:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
        for name in self.SBOMS:
            self.assertIsNone(JsonStrictValidator(SchemaVersion.V1_5).validate_str(self.sbom(name)), name)

    def test_each_lists_every_crate_of_its_artifact_and_no_other(self) -> None:
        for name, (package, targets) in self.SBOMS.items():
            tree = subprocess.run(["cargo", "tree", "--locked", "-p", package, *(f"--target={t}" for t in targets),
                                   "-e", "normal", "--prefix", "none", "--format", "{p}"], cwd=ROOT,
                                  capture_output=True, text=True, check=True).stdout
            crates = {tuple(line.split()[:2]) for line in tree.splitlines() if line.strip()}
            crates = {(crate, version.lstrip("v")) for crate, version in crates} - {(package, VERSION)}
            bom = json.loads(self.sbom(name))
            self.assertEqual({(c["name"], c["version"]) for c in bom["components"]}, crates, name)
            self.assertEqual(bom["metadata"]["component"]["version"], VERSION)
        # The image's binary runs wasmtime, which the component does not contain.
        self.assertIn("wasmtime", {c["name"] for c in json.loads(self.sbom("source-stigg-wasm"))["components"]})

    def test_crates_io_crates_carry_the_locks_checksum(self) -> None:
        lock = (ROOT / "Cargo.lock").read_text()
        serde = next(c for c in json.loads(self.sbom("stigg"))["components"] if c["name"] == "serde_json")
        [checksum] = [h["content"] for h in serde["hashes"] if h["alg"] == "SHA-256"]
        self.assertIn(f'name = "serde_json"\nversion = "{serde["version"]}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{checksum}"', lock)


if __name__ == "__main__":
    sys.exit(standin.run_tests("release", Artifacts, Sbom, WheelInstall, NpmInstall))
