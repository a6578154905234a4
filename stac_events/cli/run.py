"""One command line being run: what every command function receives.

A `Run` holds the environment, the renderer, the line as read, and the options given, as
the command's typed record (`run.options`, see `cli.records`). It resolves the settings
once, from those options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Generic, Optional, TypeVar

from stac_events import setting_specs as specs
from stac_events.cli.argv import Line
from stac_events.cli.output import Output
from stac_events.cli.records import NoOptions, Record
from stac_events.cli.usage import flag_of
from stac_events.environment import Environment
from stac_events.setting_specs import Overrides
from stac_events.settings import Setting, Settings, resolve, spool_dir

if TYPE_CHECKING:
    from stac_events.spool import Spool

# The options' record: a `Run[SendOptions]` is a `Run[EventOptions]` too.
O = TypeVar("O", bound=Record, covariant=True)  # noqa: E741


class Run(Generic[O]):
    """One command line: its environment, renderer, and the options it was given."""

    def __init__(self, env: Environment, output: Output, line: Line, options: O) -> None:
        self.env = env
        self.output = output
        self.line = line
        self.before_command: Dict[str, Optional[str]] = {}  # --config etc. before its name
        self.options = options
        self.status = 0
        self.raised: Optional[BaseException] = None  # what the command raised, for main()
        self._settings: Optional[Settings] = None

    def chosen(self, name: str) -> Optional[str]:
        """`--config`, `--instance` or `--client`: given after the command's name, or before."""
        value = self.options._asdict().get(name)
        return value if value is not None else self.before_command.get(name)

    def settings(self) -> Settings:
        """Every setting, resolved once from the given options, the environment and the
        config file; warnings are shown as they are found."""
        if self._settings is None:
            given: Dict[str, Any] = {
                name: value
                for name, value in self.options._asdict().items()
                if name in specs.BY_NAME
            }
            for name, value in self.before_command.items():
                if given.get(name) is None:
                    given[name] = value
            settings = resolve(Overrides(given), self.env, origin_of=flag_of)
            # a key the command line gave and the settings did not keep (`--api-key`
            # twice: the first) is masked in events too, as in messages
            unkept = tuple(s for s in self.output.secrets if s and s not in settings.secrets)
            if unkept:
                kept = settings.read_secrets
                settings = settings._replace(
                    read_secrets=Setting(kept.value + unkept, kept.origin, secret=True)
                )
            self.output.secrets.extend(settings.secrets)
            for warning in settings.warnings:
                self.output.warn(warning)
            self._settings = settings
        return self._settings

    def limit_delivery(self, max_time: Setting[float]) -> Settings:
        """The settings from now on, with less time for delivery than they allowed."""
        self._settings = self.settings()._replace(max_time=max_time)
        return self._settings

    def spool(self) -> Spool:
        """The spool, for the commands that look after it (a send asks the settings)."""
        from stac_events.spool import Spool

        return Spool.trusted(spool_dir(self.env))


def started(env: Environment, output: Output, line: Line) -> Run[Any]:
    """The run of a line, before Typer has read the command's options."""
    return Run(env, output, line, NoOptions())
