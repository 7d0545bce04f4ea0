"""A real OCI registry on 127.0.0.1 for the image tests: Debian's docker-registry (the CNCF
distribution server), storing under a temporary directory, no TLS, no auth."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CONFIG = """version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
"""


class Registry:
    """`docker-registry serve` as a child process; `host` is its `127.0.0.1:PORT`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="stigg-registry-"))
        for _ in range(3):  # a port taken between choosing and binding: choose again
            self.host = f"127.0.0.1:{free_port()}"
            config = self.dir / "config.yml"
            config.write_text(CONFIG.format(root=self.dir / "data", port=self.host.split(":")[1]))
            self.process = subprocess.Popen(["docker-registry", "serve", str(config)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self.wait_ready():
                return
            self.process.kill()
        raise RuntimeError(f"docker-registry did not start: {self.process.stderr.read().decode()[-2000:]}")

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def skopeo(*args: str) -> str:
    """skopeo's stdout; a failure raises with its stderr."""
    run = subprocess.run(["skopeo", *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(args)} exited {run.returncode}: {run.stderr[-2000:]}")
    return run.stdout
