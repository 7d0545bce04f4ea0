"""The release's connector image and component, through a real registry, run the way the
Airbyte platform runs them, without a Docker daemon.

`./dev release` must have built target/dist/ (`./dev test` does). A registry started on
127.0.0.1 (Debian's docker-registry) receives the image's OCI archive (`skopeo copy --all`);
skopeo pulls each platform back into buildah's storage. Then: the index lists linux/amd64 and
linux/arm64, each with a binary for its CPU; the config (entrypoint, AIRBYTE_ENTRYPOINT, labels
against metadata.yaml, user); the amd64 image runs `sh -c 'eval "$AIRBYTE_ENTRYPOINT <command>
..."'` as uid 1000 (`buildah run`, chroot isolation: the host's network, so the stand-in on
127.0.0.1 is reachable) with the config mounted read-only, as the platform does; the arm64
image's entrypoint runs under qemu-aarch64-static (no binfmt_misc on these machines, so not
through its sh); and the component goes to the same registry and back with `wkg oci push/pull`.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
import uuid
from pathlib import Path

import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ecosystem"))
import standin  # noqa: E402
from registry import Registry, skopeo  # noqa: E402

OUT = ROOT / "target" / "platform"
BUILDAH = ["buildah", "--root", str(OUT / "storage"), "--runroot", str(OUT / "run"), "--storage-driver", "vfs"]
METADATA = yaml.safe_load((ROOT / "packaging" / "source-stigg-wasm" / "metadata.yaml").read_text())["data"]
TAG = METADATA["dockerImageTag"]
ARCHIVE = standin.DIST / f"source-stigg-wasm-{TAG}.oci.tar"
WASM = standin.DIST / f"stigg-{TAG}.wasm"
WKG = ROOT / "target" / "tools" / "wkg" / "bin" / "wkg"
STORAGE = f"containers-storage:[vfs@{OUT / 'storage'}+{OUT / 'run'}]"
CACHE = "airbyte/cache/component-host"
ELF_MACHINE = {"amd64": 62, "arm64": 183}  # e_machine: x86-64, AArch64
registry: Registry
IMAGE: dict[str, str] = {}  # platform -> the local name of the image pulled for it


def setUpModule() -> None:
    """The archive pushed to a fresh registry, and each platform pulled back."""
    global registry
    registry = Registry()
    remote = f"{registry.host}/source-stigg-wasm:{TAG}"
    skopeo("copy", "--quiet", "--all", "--dest-tls-verify=false", f"oci-archive:{ARCHIVE}", f"docker://{remote}")
    for arch in ELF_MACHINE:
        IMAGE[arch] = f"{remote}-{arch}"
        skopeo("copy", "--quiet", "--src-tls-verify=false", "--override-os", "linux", "--override-arch", arch,
               f"docker://{remote}", STORAGE + IMAGE[arch])


def tearDownModule() -> None:
    registry.close()
    for image in IMAGE.values():
        buildah("rmi", image, check=False)
API_KEY = "image-test-key"
CUSTOMERS = 40


def buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*BUILDAH, *args], capture_output=True, text=True, check=check)


def image_config(arch: str) -> dict:
    return json.loads(buildah("inspect", "--type", "image", IMAGE[arch]).stdout)["OCIv1"]["config"]


class ImageIndex(unittest.TestCase):
    """What a registry holds after the push: one index, one image per platform."""

    def test_the_index_lists_linux_amd64_and_arm64(self) -> None:
        index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                                  f"docker://{registry.host}/source-stigg-wasm:{TAG}"))
        self.assertEqual(index["mediaType"], "application/vnd.oci.image.index.v1+json")
        platforms = sorted((m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"])
        self.assertEqual(platforms, [("linux", "amd64"), ("linux", "arm64")])

    def test_each_platform_holds_a_binary_for_its_cpu(self) -> None:
        for arch, machine in ELF_MACHINE.items():
            with mounted(IMAGE[arch]) as root:
                header = (root / "airbyte" / "source-stigg-wasm").read_bytes()[:20]
            self.assertEqual(header[:4], b"\x7fELF", arch)
            self.assertEqual(int.from_bytes(header[18:20], "little"), machine, arch)

    def test_both_platforms_have_the_same_config(self) -> None:
        amd64, arm64 = image_config("amd64"), image_config("arm64")
        for key in ("Entrypoint", "Env", "User", "Labels"):
            self.assertEqual(amd64[key], arm64[key], key)


class ImageConfig(unittest.TestCase):
    """What the platform and Airbyte's checks read from the image."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.config = image_config("amd64")

    def test_metadata_has_airbyte_required_fields(self) -> None:
        # The required fields of Airbyte's ConnectorMetadataDefinitionV0.
        for field in ("name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag",
                      "license", "documentationUrl", "githubIssueLabel", "connectorSubtype",
                      "releaseStage"):
            self.assertIn(field, METADATA)
        uuid.UUID(METADATA["definitionId"])
        self.assertEqual((METADATA["connectorType"], METADATA["connectorSubtype"]), ("source", "api"))
        self.assertIn("language:rust", METADATA["tags"])
        MetadataFile.from_file(ROOT / "packaging" / "source-stigg-wasm" / "metadata.yaml")  # the CDK's model

    def test_tag_is_the_workspace_version(self) -> None:
        cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
        self.assertEqual(METADATA["dockerImageTag"], cargo["workspace"]["package"]["version"])

    def test_labels_match_metadata(self) -> None:
        labels = self.config["Labels"]
        self.assertEqual(labels["io.airbyte.name"], METADATA["dockerRepository"])
        self.assertEqual(labels["io.airbyte.version"], METADATA["dockerImageTag"])

    def test_airbyte_entrypoint_is_the_entrypoint(self) -> None:
        env = dict(item.split("=", 1) for item in self.config["Env"])
        self.assertEqual(env["AIRBYTE_ENTRYPOINT"], " ".join(self.config["Entrypoint"]))

    def test_runs_as_uid_1000(self) -> None:
        self.assertEqual(self.config["User"].split(":")[0], "1000")


@contextlib.contextmanager
def mounted(image: str):
    """The root filesystem of a fresh container of `image` (removed afterwards)."""
    container = buildah("from", "--quiet", image).stdout.strip()
    try:
        yield Path(buildah("mount", container).stdout.strip())
    finally:
        buildah("umount", container, check=False)
        buildah("rm", container, check=False)


class ImageRun:
    """spec, check, discover and read in a container of one platform's image, as uid 1000, the
    config in /config; subclasses say how a command is started (`airbyte`)."""

    ARCH = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS, subscriptions_per_customer=2)
        cls.files = Path(tempfile.mkdtemp(prefix="stigg-image-"))
        cls.files.chmod(0o755)  # uid 1000 reads the mounted files
        good = {"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 15, "rate_limits": [{"operation": "*", "calls_per_minute": 600000}]}
        cls.write("config.json", good)
        cls.write("bad_config.json", {**good, "api_key": "not-the-key"})
        cls.container = buildah("from", "--quiet", IMAGE[cls.ARCH]).stdout.strip()
        cls.root = Path(buildah("mount", cls.container).stdout.strip())
        cls.env = [*image_config(cls.ARCH)["Env"], "STIGG_ALLOW_PRIVATE_NETWORK=1"]
        cls.cache_before = cls.cache_listing()

    @classmethod
    def tearDownClass(cls) -> None:
        buildah("umount", cls.container, check=False)
        buildah("rm", cls.container, check=False)
        cls.stand.close()
        shutil.rmtree(cls.files, ignore_errors=True)

    @classmethod
    def write(cls, name: str, content) -> None:
        path = cls.files / name
        path.write_text(json.dumps(content))
        path.chmod(0o644)

    @classmethod
    def cache_listing(cls) -> list[tuple]:
        """Each compiled component in the container's cache: name, owner, size, mtime."""
        entries = (cls.root / CACHE).iterdir()
        return sorted((e.name, e.stat().st_uid, e.stat().st_size, e.stat().st_mtime_ns) for e in entries)

    def airbyte(self, command: str) -> list[dict]:
        raise NotImplementedError

    def of_type(self, messages: list[dict], kind: str) -> list[dict]:
        return [m for m in messages if m["type"] == kind]

    def test_1_spec(self) -> None:
        start = time.monotonic()
        (spec,) = self.of_type(self.airbyte("spec"), "SPEC")
        print(f"\n  {self.ARCH} spec in a fresh container: {time.monotonic() - start:.2f} s", flush=True)
        properties = spec["spec"]["connectionSpecification"]["properties"]
        self.assertTrue(properties["api_key"]["airbyte_secret"])
        # metadata.yaml's allowedHosts templates (`${base_url}`) name config properties.
        templates = re.findall(r"\$\{([^}]+)\}", " ".join(METADATA["allowedHosts"]["hosts"]))
        self.assertTrue(templates)
        for name in templates:
            self.assertIn(name, properties)

    def test_2_check_good_and_bad_key(self) -> None:
        (good,) = self.of_type(self.airbyte("check --config /config/config.json"), "CONNECTION_STATUS")
        self.assertEqual(good["connectionStatus"]["status"], "SUCCEEDED")
        (bad,) = self.of_type(self.airbyte("check --config /config/bad_config.json"), "CONNECTION_STATUS")
        self.assertEqual(bad["connectionStatus"]["status"], "FAILED")

    def test_3_discover_then_read_everything_the_standin_serves(self) -> None:
        (catalog,) = self.of_type(self.airbyte("discover --config /config/config.json"), "CATALOG")
        streams = {s["name"]: s for s in catalog["catalog"]["streams"]}
        self.assertTrue({"customers", "subscriptions"} <= set(streams))
        self.write("catalog.json", {"streams": [
            {"stream": streams[name], "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
            for name in ("customers", "subscriptions")]})
        messages = self.airbyte("read --config /config/config.json --catalog /config/catalog.json")
        for name in ("customers", "subscriptions"):
            ids = [m["record"]["data"]["id"] for m in self.of_type(messages, "RECORD")
                   if m["record"]["stream"] == name]
            self.assertEqual(sorted(ids), sorted(self.stand.admin(f"ids/{name}")), name)
        self.assertFalse([m for m in self.of_type(messages, "TRACE") if m["trace"]["type"] == "ERROR"])

    def test_4_the_precompiled_component_was_used(self) -> None:
        # A miss would compile and add an entry (the directory is uid 1000's): the same
        # listing after every run means each one loaded the entry built into the image.
        self.assertTrue(self.cache_before)
        self.assertEqual({uid for _, uid, _, _ in self.cache_before}, {1000})
        self.assertEqual(self.cache_listing(), self.cache_before)


class Amd64Run(ImageRun, unittest.TestCase):
    """The platform's way: `sh -c 'eval "$AIRBYTE_ENTRYPOINT <command>"'` in a container."""

    ARCH = "amd64"

    def airbyte(self, command: str) -> list[dict]:
        run = buildah("run", "--isolation", "chroot", "--user", "1000:1000",
                      "--env", "STIGG_ALLOW_PRIVATE_NETWORK=1",
                      "--volume", f"{self.files}:/config:ro",
                      self.container, "--", "sh", "-c", f'eval "$AIRBYTE_ENTRYPOINT {command}"', check=False)
        self.assertEqual(run.returncode, 0, f"{command!r}: {run.stderr[-2000:]}")
        return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]

    def test_5_nothing_is_written_at_run_time(self) -> None:
        # check on a read-only root filesystem (Kubernetes' readOnlyRootFilesystem): the
        # container's root mounted read-only in a mount namespace of its own, entered with
        # chroot as uid 1000 and the image's environment only.
        # sh -c SCRIPT ROOT FILES ENV...
        script = ('mount --bind "$0" "$0" && mkdir -p "$0/config" && mount --bind "$1" "$0/config"'
                  ' && mount -o remount,bind,ro "$0" && ! touch "$0/airbyte/probe" 2>/dev/null'
                  ' && shift && env -i "$@" "$(command -v chroot)" --userspec=1000:1000 "$0"'
                  ' sh -c \'eval "$AIRBYTE_ENTRYPOINT check --config /config/config.json"\'')
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                              str(self.root), str(self.files), *self.env], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        (status,) = self.of_type([json.loads(line) for line in run.stdout.splitlines()], "CONNECTION_STATUS")
        self.assertEqual(status["connectionStatus"]["status"], "SUCCEEDED")


class Arm64Run(ImageRun, unittest.TestCase):
    """The entrypoint under qemu-aarch64-static, chrooted into the container's root as uid 1000
    with the image's environment only. There is no binfmt_misc on these machines, so qemu starts
    the entrypoint itself (the image's arm64 sh could not start it); qemu runs the CPU the
    image's compiled component was built for (packaging/build-image.sh)."""

    ARCH = "arm64"

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        shutil.copy(shutil.which("qemu-aarch64-static"), cls.root / "qemu")  # the container's layer only

    def airbyte(self, command: str) -> list[dict]:
        # The config directory, as the platform mounts it, read-only in a mount namespace of its own.
        script = ('mkdir -p "$0/config" && mount --bind -o ro "$1" "$0/config" && shift'
                  ' && exec env -i "$@"')
        args = [shutil.which("chroot"), "--userspec=1000:1000", str(self.root), "/qemu", "-cpu", "neoverse-n1",
                *image_config(self.ARCH)["Entrypoint"], *command.split()]
        run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                              str(self.root), str(self.files), *self.env, *args], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, f"{command!r}: {run.stderr[-2000:]}")
        return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


class ComponentArtifact(unittest.TestCase):
    """stigg.wasm as an OCI artifact, pushed and pulled with wasm-pkg-tools."""

    def test_wkg_pushes_and_pulls_the_component_byte_for_byte(self) -> None:
        reference = f"{registry.host}/stigg:{TAG}"
        insecure = ["--insecure", registry.host]
        subprocess.run([str(WKG), "oci", "push", *insecure, reference, str(WASM)], check=True, capture_output=True)
        pulled = Path(tempfile.mkdtemp(prefix="stigg-wkg-")) / "stigg.wasm"
        try:
            subprocess.run([str(WKG), "oci", "pull", *insecure, reference, "-o", str(pulled)],
                           check=True, capture_output=True)
            self.assertEqual(pulled.read_bytes(), WASM.read_bytes())
        finally:
            shutil.rmtree(pulled.parent)
        manifest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}"))
        self.assertEqual([layer["mediaType"] for layer in manifest["layers"]], ["application/wasm"])


if __name__ == "__main__":
    sys.exit(standin.run_tests("platform image", ImageIndex, ImageConfig, Amd64Run, Arm64Run, ComponentArtifact))
