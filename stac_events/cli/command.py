"""What every stac-events command shares: multi-value options, and the global options.

Multi-value: Click has no "one flag, many values" option (argparse's nargs='+', which
`stac` used), so every option declared `multiple=True` is spread before parsing:
`-i a b -t x` becomes `-i a -i b -t x`. The repeated form needs no help.

Global options: `--config`, `--instance` and `--client` are accepted before the
subcommand and after it; the value given last wins.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterable, List, Optional, Sequence, Set

import click
from typer.core import TyperCommand, TyperGroup, TyperOption


def _looks_like_option(token: str) -> bool:
    return token.startswith("-") and token != "-"


def spread_multi_values(
    args: Sequence[str], params: Iterable[click.Parameter], positionals: int = 0
) -> List[str]:
    """Rewrite `FLAG v1 v2 ...` as `FLAG v1 FLAG v2 ...` for every multiple-valued option.

    A flag's first value is taken as is (it may start with '-', as Click allows);
    further values run until the next option or `--`. When that leaves fewer than
    `positionals` bare arguments, the last such values are given back to them, so
    `--title t -i a b DeployEvent` still finds its EVENT_TYPE.
    """
    multi: Set[str] = set()
    takes_value: Set[str] = set()
    for param in params:
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            takes_value.update(param.opts)
            if param.multiple:
                multi.update(param.opts)
    spread: List[str] = []
    extras: List[int] = []  # where in `spread` each value after a flag's first stands
    bare = 0
    rest: List[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest = list(args[i:])
            break
        flag, equals, _ = token.partition("=")
        if token in takes_value and i + 1 < len(args):
            spread += [token, args[i + 1]]
            i += 2
        elif equals and flag.startswith("--") and flag in takes_value:
            spread.append(token)
            i += 1
        else:
            spread.append(token)
            bare += not _looks_like_option(token)
            i += 1
            continue
        if flag in multi:
            while i < len(args) and not _looks_like_option(args[i]) and args[i] != "--":
                extras.append(len(spread))
                spread += [flag, args[i]]
                i += 1
    bare += max(0, len(rest) - 1)  # everything after `--` is positional
    given_back = extras[max(0, len(extras) - (positionals - bare)) :] if bare < positionals else []
    for at in reversed(given_back):
        del spread[at]  # the flag; its value stays, now a bare argument
    return spread + rest


GLOBAL_PANEL = "Configuration"
GLOBAL_OPTIONS = {
    "config": (["--config"], "PATH", "Config file to use instead of searching for one."),
    "instance": (["--instance"], "NAME", "Instance of the config file to use. Default: default."),
    "client": (["--client"], "NAME", "Client of the instance to use. Default: default."),
}


def remember_global(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> None:
    """Store a global option on the run, so that it reaches the command whichever side it was."""
    if value is not None and param.name is not None:
        from stac_events.cli.context import current_run

        setattr(current_run(ctx).selection, param.name, value)


def global_options() -> List[click.Option]:
    return [
        TyperOption(
            param_decls=[*flags, name],
            metavar=metavar,
            help=text,
            expose_value=False,
            callback=remember_global,
            rich_help_panel=GLOBAL_PANEL,
        )
        for name, (flags, metavar, text) in GLOBAL_OPTIONS.items()
    ]


class StacCommand(TyperCommand):
    """A command whose multiple-valued options also accept `FLAG v1 v2 ...`, and that
    takes the global options after its name too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_options())

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        params = self.get_params(ctx)
        needed = self.positionals_needed(args)
        return super().parse_args(ctx, spread_multi_values(args, params, needed))

    def positionals_needed(self, args: Sequence[str]) -> int:
        """How many bare arguments this command line needs (see `spread_multi_values`)."""
        return sum(1 for p in self.params if isinstance(p, click.Argument) and p.required)


class LazyGroup(TyperGroup):
    """A group whose subcommands are imported and built only when used.

    `lazy_commands` maps a name to "module:attribute" of a Typer app: building
    a command costs milliseconds that a command line should pay only for its own.
    """

    lazy_commands: ClassVar[Dict[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> List[str]:
        return list(self.lazy_commands)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name not in self.lazy_commands:
            return None
        import importlib

        import typer.main

        module, _, attribute = self.lazy_commands[name].partition(":")
        command = typer.main.get_command(getattr(importlib.import_module(module), attribute))
        command.name = name
        return command
