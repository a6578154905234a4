"""One command line being run: what every command function receives.

A `Run` holds the environment, the renderer, the line as read, and the options given,
converted (`given`). It resolves the settings once, from those options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from stac_events.cli.argv import Line
from stac_events.cli.output import Output
from stac_events.cli.usage import flag_of
from stac_events.environment import Environment
from stac_events.settings import Overrides, Setting, Settings, resolve, spool_dir

if TYPE_CHECKING:
    from stac_events.spool import Spool


class Given:
    """The options a command was given, by name: `run.given.title`; defaults filled in."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"this command has no option {name!r}") from None

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)


class Run:
    """One command line: its environment, renderer, and the options it was given."""

    def __init__(self, env: Environment, output: Output, line: Line) -> None:
        self.env = env
        self.output = output
        self.line = line
        self.before_command: Dict[str, Optional[str]] = {}  # --config etc. before its name
        self.given = Given({})
        self.status = 0
        self.raised: Optional[BaseException] = None  # what the command raised, for main()
        self._settings: Optional[Settings] = None

    def chosen(self, name: str) -> Optional[str]:
        """`--config`, `--instance` or `--client`: given after the command's name, or before."""
        value = self.given.get(name)
        return value if value is not None else self.before_command.get(name)

    def settings(self) -> Settings:
        """Every setting, resolved once from the given options, the environment and the
        config file; warnings are shown as they are found."""
        if self._settings is None:
            given = {name: self.chosen(name) for name in Overrides._fields}
            overrides = Overrides(**{k: v for k, v in given.items() if v is not None})
            settings = resolve(overrides, self.env, origin_of=flag_of)
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
