"""What every command receives from the entry point: the environment and the renderer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import click

from stac_events.environment import Environment
from stac_events.errors import UsageError
from stac_events.output import Output
from stac_events.settings import DeliveryOptions, Overrides, Settings, resolve

if TYPE_CHECKING:
    from stac_events.spool import Spool


class Selection:
    """The global options: which config file, instance and client to use."""

    __slots__ = ("client", "config", "instance")

    def __init__(self) -> None:
        self.config: Optional[str] = None
        self.instance: Optional[str] = None
        self.client: Optional[str] = None


class Run:
    """One command line's environment, renderer and global options."""

    def __init__(self, env: Environment, output: Output) -> None:
        self.env = env
        self.output = output
        self.selection = Selection()

    def configure(self, *, output: str, quiet: bool, debug: bool, secret: Optional[str]) -> None:
        """Apply the output flags; they matter before anything else can go wrong."""
        self.output.mode, self.output.quiet, self.output.debug = output, quiet, debug
        if secret:
            self.output.secrets.append(secret)
        if debug:
            self.output.enable_debug_log()

    def delivery_options(
        self,
        *,
        timeout: Optional[float] = None,
        retries: int = 3,
        insecure: bool = False,
        ca_cert: Optional[str] = None,
    ) -> DeliveryOptions:
        """Timeouts, retries and trust from the flags (and REQUESTS_CA_BUNDLE)."""
        timeouts = {}
        if timeout is not None:
            if not timeout > 0:
                raise UsageError(
                    f"{timeout:g} is not a timeout; give seconds above 0", option="--timeout"
                )
            timeouts = {"connect_timeout": timeout, "read_timeout": timeout}
        ca_certs = []
        bundle = self.env.environ.get("REQUESTS_CA_BUNDLE")
        for origin, path in (("--ca-cert", ca_cert), ("$REQUESTS_CA_BUNDLE", bundle)):
            if path:
                if not Path(path).expanduser().is_file():
                    raise UsageError(f"no such file: {path}", option=origin)
                ca_certs.append(str(Path(path).expanduser()))
        if insecure:
            self.output.warn(
                "TLS certificate checks are off (--insecure): anyone between here and the "
                "receiver can read the API key"
            )
        return DeliveryOptions(
            retries=retries,
            backoff=self.env.retry_backoff,
            insecure=insecure,
            ca_certs=tuple(ca_certs),
            **timeouts,
        )

    def spool(self) -> Spool:
        from stac_events.spool import Spool

        return Spool(self.env.user_state_dir() / "spool")

    def settings(self, **flags: Any) -> Settings:
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
