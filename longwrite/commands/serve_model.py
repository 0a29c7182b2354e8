"""`longwrite serve-model`: start an engine, say how to use it, keep it up until Ctrl-C."""

from __future__ import annotations

import shlex
import sys

from longwrite.settings import Settings
from model.engines import ModelServerSpec, check_spec, start


def run_serve_model(spec: ModelServerSpec, settings: Settings, dry_run: bool) -> int:
    if dry_run:
        print(shlex.join(spec.command()))
        return 0
    check_spec(spec)
    print(f"starting {spec.engine}: {shlex.join(spec.command())}", file=sys.stderr)
    server = start(spec, settings)
    print(
        f"ready: {spec.base_url} serves '{spec.name}' (log: {server.log_path})\n"
        f'use it: longwrite write --mode model --base-url {spec.base_url} --model {shlex.quote(spec.name)} "..."',
        file=sys.stderr,
        flush=True,
    )
    try:
        code = server.wait()
    except KeyboardInterrupt:
        print("stopping the server", file=sys.stderr)
        return 130
    finally:
        server.stop()
    print(f"the {spec.engine} server exited with code {code}; see {server.log_path}", file=sys.stderr)
    return code or 1
