"""Starts the Stigg stand-in for the standard tests and writes the configs that
packaging/source-stigg-wasm/acceptance-test-config.yml names (under target/platform/secrets/,
where Airbyte keeps its `secrets/`: they hold the stand-in's port, known only now)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ecosystem"))
import standin  # noqa: E402

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

SECRETS = ROOT / "target" / "platform" / "secrets"
API_KEY = "standard-tests-key"
_stand: standin.Standin | None = None


def pytest_configure(config) -> None:
    global _stand
    # The stand-in listens on 127.0.0.1, which source-stigg-wasm refuses unless the operator allows it.
    os.environ["STIGG_ALLOW_PRIVATE_NETWORK"] = "1"
    _stand = standin.Standin(API_KEY, customers=30, subscriptions_per_customer=2)
    SECRETS.mkdir(parents=True, exist_ok=True)
    # Small pages, so every stream pages; no pacing to Stigg's per-minute limits, which would
    # spread the per-customer streams' requests over half a minute.
    good = {"api_key": API_KEY, "base_url": _stand.url, "page_size": 25, "rate_limits": [{"operation": "*", "calls_per_minute": 600000}]}
    (SECRETS / "config.json").write_text(json.dumps(good))
    (SECRETS / "invalid_config.json").write_text(json.dumps({**good, "api_key": "not-the-key"}))


def pytest_unconfigure(config) -> None:
    if _stand is not None:
        _stand.close()
