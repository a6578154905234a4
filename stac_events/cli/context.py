"""What every command receives from the entry point: the environment and the renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import click

from stac_events.environment import Environment
from stac_events.errors import UsageError
from stac_events.output import Output
from stac_events.settings import Overrides, Settings, Timeouts, resolve


@dataclass
class Selection:
    """The global options: which config file, instance and client to use."""

    config: Optional[str] = None
    instance: Optional[str] = None
    client: Optional[str] = None


@dataclass
class Run:
    env: Environment
    output: Output
    selection: Selection = field(default_factory=Selection)

    def configure(self, *, output: str, quiet: bool, debug: bool, secret: Optional[str]) -> None:
        """Apply the output flags; they matter before anything else can go wrong."""
        self.output.mode, self.output.quiet, self.output.debug = output, quiet, debug
        if secret:
            self.output.secrets.append(secret)
        if debug:
            self.output.enable_debug_log()

    def timeouts(self, seconds: Optional[float]) -> Timeouts:
        """`--timeout` sets both the connect and the read timeout."""
        if seconds is None:
            return Timeouts()
        if not seconds > 0:
            raise UsageError(
                f"{seconds:g} is not a timeout; give seconds above 0", option="--timeout"
            )
        return Timeouts(connect=seconds, read=seconds)

    def settings(self, **flags: Optional[str]) -> Settings:
        """Resolve the settings from the command's flags, the global ones and the rest."""
        overrides = Overrides(
            config=self.selection.config,
            instance=self.selection.instance,
            client=self.selection.client,
            **flags,
        )
        settings = resolve(overrides, self.env)
        self.output.secrets.extend(settings.secrets)
        for warning in settings.warnings:
            self.output.warn(warning)
        return settings


def current_run(ctx: click.Context) -> Run:
    run = ctx.find_root().obj
    if not isinstance(run, Run):  # only when a command is invoked outside `main`
        raise RuntimeError("stac-events commands must be run through stac_events.cli.main")
    return run
