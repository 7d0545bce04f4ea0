"""`source-stigg-wasm`: the Stigg connector as an Airbyte source executable.

Runs the `stigg.wasm` of this package with the Python host of this package
(`host.py`, the project's examples/python-host/stigg_host.py): the Airbyte
command line (`spec`, `check --config F`, `discover --config F`, `read --config
F --catalog F [--state F]`), and every flag of the host, anywhere. Runners
that cannot add flags (PyAirbyte) lift the network policy through the
environment, as the Rust `source-stigg-wasm` does: STIGG_ALLOW_PRIVATE_NETWORK=1
and STIGG_ALLOW_PLAIN_HTTP=1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import host

COMPONENT = Path(__file__).with_name("stigg.wasm")
# Environment variable -> the host flag it stands for.
POLICY_FROM_ENV = {
    "STIGG_ALLOW_PRIVATE_NETWORK": "--allow-private-network",
    "STIGG_ALLOW_PLAIN_HTTP": "--allow-plain-http",
}


def policy_flags(environ) -> list[str]:
    """The flags the environment asks for: "1" sets one, "0" or unset does not."""
    flags = []
    for name, flag in POLICY_FROM_ENV.items():
        value = environ.get(name, "").strip()
        if value == "1":
            flags.append(flag)
        elif value not in ("", "0"):
            raise ValueError(f"{name} must be 1 or 0, not {value!r}")
    return flags


def main(argv: list[str] | None = None) -> int:
    try:
        flags = policy_flags(os.environ)
    except ValueError as error:
        print(f"source-stigg-wasm: {error}", file=sys.stderr)
        return 2
    args = sys.argv[1:] if argv is None else argv
    return host.run([*flags, str(COMPONENT), *args])


if __name__ == "__main__":
    sys.exit(main())
