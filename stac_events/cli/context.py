"""What every command receives from the entry point: the environment and the renderer."""

from __future__ import annotations

from dataclasses import dataclass

import click

from stac_events.environment import Environment
from stac_events.output import Output


@dataclass
class Run:
    env: Environment
    output: Output


def current_run(ctx: click.Context) -> Run:
    run = ctx.find_root().obj
    if not isinstance(run, Run):  # only when a command is invoked outside `main`
        raise RuntimeError("stac-events commands must be run through stac_events.cli.main")
    return run
