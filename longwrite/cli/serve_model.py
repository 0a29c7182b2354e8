"""`longwrite serve-model`: start an engine, say how to use it, keep it up until Ctrl-C."""

from __future__ import annotations

import logging
import shlex

from longwrite.core.settings import Settings
from longwrite.model.engines import ModelServerSpec, check_spec, start

log = logging.getLogger(__name__)


def run_serve_model(spec: ModelServerSpec, settings: Settings, dry_run: bool) -> int:
    if dry_run:
        print(shlex.join(spec.command()))
        return 0
    check_spec(spec)
    log.info("starting %s: %s", spec.engine, shlex.join(spec.command()))
    server = start(spec, settings)
    log.info(
        "ready: %s serves '%s' (log: %s)\nuse it: longwrite write --mode model --base-url %s --model %s \"...\"",
        spec.base_url,
        spec.name,
        server.log_path,
        spec.base_url,
        shlex.quote(spec.name),
    )
    try:
        code = server.wait()
    except KeyboardInterrupt:
        log.info("stopping the server")
        return 130
    finally:
        server.stop()
    log.error("the %s server exited with code %s; see %s", spec.engine, code, server.log_path)
    return code or 1
