"""airbyte-cdk's standard source tests (`SourceTestSuiteBase`) against `source-stigg-wasm`.

The scenarios are packaging/source-stigg-wasm/acceptance-test-config.yml: spec, connection with a
good and a bad key, discovery and a basic read, against the stand-in that conftest.py starts.
The suite's image tests need a Docker daemon: run.sh deselects them (`-m "not image_tests"`);
tests/platform/test_image.py runs the image itself.
"""

from __future__ import annotations

from pathlib import Path

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from executable_source import ExecutableSource

CONNECTOR_ROOT = Path(__file__).resolve().parents[2] / "packaging" / "source-stigg-wasm"


class TestSourceStigg(SourceTestSuiteBase):
    connector = ExecutableSource

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return CONNECTOR_ROOT
