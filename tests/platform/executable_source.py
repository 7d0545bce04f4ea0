"""A CDK `Source` that runs an Airbyte executable (`source-stigg-wasm`) and parses its stdout.

airbyte-cdk's standard tests drive a connector in-process through a `Source`; this adapter
turns each call into a run of the real executable, so the suite judges what Airbyte would
get from the image: the same arguments, files and messages. Messages are passed on as the
executable printed them; a non-zero exit becomes an exception, as in the CDK.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    ConnectorSpecification,
    FailureType,
    Type,
)
from airbyte_cdk.sources import Source
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

ROOT = Path(__file__).resolve().parents[2]
# The command to run, split like a shell would: the release build (the image's) by default.
COMMAND = shlex.split(os.environ.get("SOURCE_STIGG", str(ROOT / "target" / "release" / "source-stigg-wasm")))


class ExecutableSource(Source):
    """`spec`, `check`, `discover` and `read` answered by running `COMMAND`."""

    def _run(self, verb: str, files: Mapping[str, Any]) -> Iterator[AirbyteMessage]:
        """Runs `COMMAND verb --name file...` and yields its messages in order."""
        with tempfile.TemporaryDirectory(prefix="stigg-standard-") as tmp:
            args = [*COMMAND, verb]
            for name, content in files.items():
                path = Path(tmp) / f"{name}.json"
                path.write_text(json.dumps(content))
                args += [f"--{name}", str(path)]
            process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
            assert process.stdout is not None
            error: AirbyteMessage | None = None
            for line in process.stdout:
                if line.strip():
                    message = AirbyteMessageSerializer.load(json.loads(line))
                    if message.type == Type.TRACE and message.trace.error is not None:
                        error = message
                    yield message
            code = process.wait()
        if code != 0:
            # The executable's own TRACE ERROR says why; the exception carries its failure type.
            detail = error.trace.error if error else None
            raise AirbyteTracedException(
                message=detail.message if detail else f"{verb} exited with status {code}",
                internal_message=f"{' '.join(COMMAND)} {verb} exited with status {code}",
                failure_type=detail.failure_type if detail and detail.failure_type else FailureType.system_error,
            )

    def _single(self, verb: str, kind: Type, logger: logging.Logger, **files: Any) -> AirbyteMessage:
        """The one message of `kind` a run prints; LOG messages go to `logger`."""
        found = []
        for message in self._run(verb, files):
            if message.type == kind:
                found.append(message)
            elif message.type == Type.LOG and message.log is not None:
                logger.log(logging.getLevelName(message.log.level.value), message.log.message)
        if len(found) != 1:
            raise AssertionError(f"`{verb}` printed {len(found)} {kind.value} messages, not one")
        return found[0]

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return self._single("spec", Type.SPEC, logger).spec

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        return self._single("check", Type.CONNECTION_STATUS, logger, config=config).connectionStatus

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        return self._single("discover", Type.CATALOG, logger, config=config).catalog

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterable[AirbyteMessage]:
        files: dict[str, Any] = {
            "config": config,
            "catalog": ConfiguredAirbyteCatalogSerializer.dump(catalog),
        }
        if state:
            files["state"] = [AirbyteStateMessageSerializer.dump(s) for s in state]
        yield from self._run("read", files)
