"""The connector image, run the way the Airbyte platform runs it, without a Docker daemon.

packaging/build-image.sh must have built it (`just test-platform` does). Checks its config
(entrypoint, AIRBYTE_ENTRYPOINT, labels against metadata.yaml, user) and then runs
`sh -c 'eval "$AIRBYTE_ENTRYPOINT <command> ..."'` in a container of it as uid 1000
(`buildah run`, chroot isolation: the host's network, so the stand-in on 127.0.0.1 is
reachable), with the config and catalog mounted read-only as the platform mounts them.
"""

from __future__ import annotations

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

OUT = ROOT / "target" / "platform"
BUILDAH = ["buildah", "--root", str(OUT / "storage"), "--runroot", str(OUT / "run"), "--storage-driver", "vfs"]
METADATA = yaml.safe_load((ROOT / "packaging" / "source-stigg-wasm" / "metadata.yaml").read_text())["data"]
IMAGE = f"{METADATA['dockerRepository']}:{METADATA['dockerImageTag']}"
CACHE = "/airbyte/cache/component-host"
API_KEY = "image-test-key"
CUSTOMERS = 40


def buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*BUILDAH, *args], capture_output=True, text=True, check=check)


class ImageConfig(unittest.TestCase):
    """What the platform and Airbyte's checks read from the image."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.config = json.loads(buildah("inspect", "--type", "image", IMAGE).stdout)["OCIv1"]["config"]

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


class PlatformRun(unittest.TestCase):
    """spec, check, discover and read in a container, as the platform starts them."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.stand = standin.Standin(API_KEY, CUSTOMERS, subscriptions_per_customer=2)
        cls.files = Path(tempfile.mkdtemp(prefix="stigg-image-"))
        cls.files.chmod(0o755)  # uid 1000 reads the mounted files
        good = {"api_key": API_KEY, "base_url": cls.stand.url, "page_size": 15, "rate_limits": [{"operation": "*", "calls_per_minute": 600000}]}
        cls.write("config.json", good)
        cls.write("bad_config.json", {**good, "api_key": "not-the-key"})
        cls.container = buildah("from", "--quiet", IMAGE).stdout.strip()
        image = json.loads(buildah("inspect", "--type", "image", IMAGE).stdout)["OCIv1"]["config"]
        cls.env = [*image["Env"], "STIGG_ALLOW_PRIVATE_NETWORK=1"]
        cls.cache_before = cls.sh(f"ls -ln {CACHE}")

    @classmethod
    def tearDownClass(cls) -> None:
        buildah("rm", cls.container, check=False)
        cls.stand.close()
        shutil.rmtree(cls.files, ignore_errors=True)

    @classmethod
    def write(cls, name: str, content) -> None:
        path = cls.files / name
        path.write_text(json.dumps(content))
        path.chmod(0o644)

    @classmethod
    def sh(cls, script: str) -> str:
        """`sh -c SCRIPT` in the container as uid 1000, /config mounted read-only."""
        run = buildah("run", "--isolation", "chroot", "--user", "1000:1000",
                      "--env", "STIGG_ALLOW_PRIVATE_NETWORK=1",
                      "--volume", f"{cls.files}:/config:ro",
                      cls.container, "--", "sh", "-c", script, check=False)
        if run.returncode != 0:
            raise AssertionError(f"{script!r} exited {run.returncode}: {run.stderr[-2000:]}")
        return run.stdout

    def airbyte(self, command: str) -> list[dict]:
        """The platform's way: eval "$AIRBYTE_ENTRYPOINT <command>"; stdout parsed as messages."""
        out = self.sh(f'eval "$AIRBYTE_ENTRYPOINT {command}"')
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def of_type(self, messages: list[dict], kind: str) -> list[dict]:
        return [m for m in messages if m["type"] == kind]

    def test_1_spec(self) -> None:
        start = time.monotonic()
        (spec,) = self.of_type(self.airbyte("spec"), "SPEC")
        print(f"\n  spec in a fresh container: {time.monotonic() - start:.2f} s (buildah run included)")
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
        self.assertRegex(self.cache_before, r"\.cwasm")
        self.assertEqual(self.sh(f"ls -ln {CACHE}"), self.cache_before)

    def test_5_nothing_is_written_at_run_time(self) -> None:
        # check on a read-only root filesystem (Kubernetes' readOnlyRootFilesystem): the
        # container's root mounted read-only in a mount namespace of its own, entered with
        # chroot as uid 1000 and the image's environment only.
        root = buildah("mount", self.container).stdout.strip()
        try:
            # sh -c SCRIPT ROOT FILES ENV...
            script = ('mount --bind "$0" "$0" && mkdir -p "$0/config" && mount --bind "$1" "$0/config"'
                      ' && mount -o remount,bind,ro "$0" && ! touch "$0/airbyte/probe" 2>/dev/null'
                      ' && shift && env -i "$@" "$(command -v chroot)" --userspec=1000:1000 "$0"'
                      ' sh -c \'eval "$AIRBYTE_ENTRYPOINT check --config /config/config.json"\'')
            run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                                  root, str(self.files), *self.env], capture_output=True, text=True)
        finally:
            buildah("umount", self.container, check=False)
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        (status,) = self.of_type([json.loads(line) for line in run.stdout.splitlines()], "CONNECTION_STATUS")
        self.assertEqual(status["connectionStatus"]["status"], "SUCCEEDED")


if __name__ == "__main__":
    sys.exit(standin.run_tests("platform image", ImageConfig, PlatformRun))
