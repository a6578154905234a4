"""Options that take several values after one flag, as `stac` (argparse's nargs='+') did.

Click has no such option, so every option declared `multiple=True` is spread before
parsing: `-i a b -t x` becomes `-i a -i b -t x`. The repeated form needs no help.
"""

from __future__ import annotations

from typing import Iterable, List, Sequence, Set

import click
from typer.core import TyperCommand


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


class MultiValueCommand(TyperCommand):
    """A command whose multiple-valued options also accept `FLAG v1 v2 ...`."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        params = self.get_params(ctx)
        required = sum(
            1 for p in params if isinstance(p, click.Argument) and p.required and p.nargs == 1
        )
        return super().parse_args(ctx, spread_multi_values(args, params, required))
