"""`python -m source_stigg_wasm`: the same as the `source-stigg-wasm` command."""

import sys

from .cli import main

sys.exit(main())
