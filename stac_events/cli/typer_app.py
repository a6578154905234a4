"""Typer commands made from the command table, and the one call that runs them.

This is the only module that imports Typer, and it uses Typer's public API alone:
`typer.Typer`, `typer.Option`, `typer.Argument`, `typer.Context`, `typer.Exit` and
`typer.TyperException`. Every option is declared once (`cli.options`); a command's
function gets the options it takes as its typed record (see `cli.records`), through the
`Run`. Only the commands on the typed path are built, since building one costs a command
line milliseconds.

A group that is a command too (`receiver`) is a Typer group whose callback takes the
command's options and runs it when no subcommand follows, as Typer documents it:
`invoke_without_command=True` and `ctx.invoked_subcommand`.

`invoke` holds what Typer documents least: running an app without letting it exit
the process or print errors itself (`standalone_mode=False`, handed to the vendored
Click's `main`), and catching help that Typer prints on `sys.stdout`.
`tests/test_typer_contract.py` fails loudly if a Typer release changes either.
"""

from __future__ import annotations

import inspect
from contextlib import redirect_stderr, redirect_stdout
from typing import Annotated, Any, Callable, Dict, List, Optional, Sequence

import typer

from stac_events.cli import options as o
from stac_events.cli.commands import (
    COMMANDS_BY_PATH,
    GROUPS_BY_PATH,
    ROOT,
    Arg,
    Command,
    children,
)
from stac_events.cli.direct import execute, version
from stac_events.cli.options import FLAG, MANY, REPEATED, Opt, for_program
from stac_events.cli.run import Run
from stac_events.errors import Terminated

# Typer's own help option shows its type (`<bool>`): every command declares `o.HELP` instead.
CONTEXT_SETTINGS: Dict[str, Any] = {"help_option_names": []}
UsageProblem = typer.TyperException  # what Typer raises for a line it cannot parse


Execute = Callable[[Command, Run[Any], Dict[str, Any]], None]


def build(run: Run[Any], execute: Execute = execute) -> typer.Typer:
    """The root command with the commands on `run.line.path`, ready to run: a command
    is run by `execute`, given the values Typer parsed."""
    app = _typer(run, ROOT.help, ROOT.epilog)
    app.callback()(_root_function(run))
    _add_children(app, "", run.line.path, run, execute)
    return app


def invoke(app: typer.Typer, args: Sequence[str], prog_name: str, run: Run[Any]) -> Optional[int]:
    """Run `app` on `args`; Typer's own output (help) goes to this run's streams.

    Returns the status Typer ends with (`--help`, `--version`: 0), or None when a
    command ran: its status is then on the run. A line Typer cannot parse raises
    `UsageProblem`.
    """
    with redirect_stdout(run.env.stdout), redirect_stderr(run.env.stderr):
        status = app(args=list(args), prog_name=prog_name, standalone_mode=False)
    return status if isinstance(status, int) else None


def _typer(run: Run[Any], help_text: str, epilog: Optional[str] = None) -> typer.Typer:
    return typer.Typer(
        help=_text(run, help_text),
        epilog=_text(run, epilog),
        add_completion=False,  # ours are static scripts: see cli.completion_scripts
        pretty_exceptions_enable=False,
        context_settings=CONTEXT_SETTINGS,
        # Paragraphs reflow to the terminal; a line break inside one is kept, so that
        # example commands and the exit codes stay one to a line (Click's \b, in Rich).
        rich_markup_mode="rich",
    )


def _text(run: Run[Any], text: Optional[str]) -> Optional[str]:
    """A help text as this run shows it: with the program's name the user typed."""
    return None if text is None else for_program(text, run.output.prog)


def _add_children(
    app: typer.Typer, path: str, typed: Sequence[str], run: Run[Any], execute: Execute
) -> None:
    """Under the group at `path`, the child on the typed path; all of them when none is
    typed (help lists them) or the typed one is unknown (Typer suggests the nearest)."""
    depth = len(path.split()) if path else 0
    names = children(path)
    wanted = typed[depth] if len(typed) > depth else None
    for name in [wanted] if wanted in names else names:
        child = f"{path} {name}".strip()
        group = GROUPS_BY_PATH.get(child)
        if group is not None:
            sub = _typer(run, group.help, group.epilog)
            runs = COMMANDS_BY_PATH.get(child)
            if runs is None:
                help_text = _text(run, group.help) or ""
                sub.callback()(_with_signature(_nothing, [_help(run)], help_text))
            else:
                sub.callback(invoke_without_command=True)(_group_function(runs, run, execute))
            _add_children(sub, child, typed, run, execute)
            app.add_typer(sub, name=name, help=_text(run, group.help),
                          short_help=_text(run, group.short_help))  # fmt: skip
        else:
            command = COMMANDS_BY_PATH[child]
            declare = app.command(name, help=_help_text(run, command),
                                  short_help=_text(run, command.short_help),
                                  epilog=_text(run, command.epilog),
                                  options_metavar=_options_metavar(command))  # fmt: skip
            declare(_command_function(command, run, execute))


def _command_function(command: Command, run: Run[Any], execute: Execute) -> Callable[..., None]:
    """A function with the command's parameters for Typer; calling it runs the command
    (`execute`, as for a line read without Typer).

        Typer does work for every parameter of a command on every run, given or not; when
        the line asks for no help and types only options of the command, only those are
        declared (the others take their defaults all the same, in `direct.record_of`).
    """
    declared = command.options
    path = tuple(command.path.split())
    typed = [opt for opt in command.options if not run.line.flags.isdisjoint(opt.flags)]
    known = frozenset(flag for opt in command.options for flag in opt.flags)
    if run.line.path == path and not run.line.bare and run.line.typed_only(known):
        declared = tuple(typed)
    elif run.line.path[: len(path)] == path and len(run.line.path) > len(path):
        declared = ()  # a group's own, on a line that names a subcommand: `cli.argv` refused them

    def call(**values: Any) -> None:
        execute(command, run, values)

    parameters = [_argument(argument) for argument in command.arguments if not argument.rest]
    parameters += [_option(run, opt) for opt in declared]
    parameters.append(_help(run))
    return _with_signature(call, parameters, _help_text(run, command) or "")


def _group_function(command: Command, run: Run[Any], execute: Execute) -> Callable[..., None]:
    """The callback of a group that is `command` too: it runs it when no subcommand follows."""
    call = _command_function(command, run, execute)

    def group(ctx: typer.Context, **values: Any) -> None:
        if ctx.invoked_subcommand is None:
            call(**values)

    context = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    parameters = [context, *inspect.signature(call).parameters.values()]
    return _with_signature(group, parameters, _text(run, command.help) or "")


def _root_function(run: Run[Any]) -> Callable[..., None]:
    """The root's options: the configuration to use, and the eager ones that act alone."""
    actions = {
        o.VERSION.name: version,
        o.SHOW_COMPLETION.name: _completion("show"),
        o.INSTALL_COMPLETION.name: _completion("install"),
    }

    def root(**values: Any) -> None:
        for opt in o.SELECTION_OPTIONS:
            run.before_command[opt.name] = values.get(opt.name)

    parameters = [
        _option(run, opt, callback=_eager(run, actions[opt.name]) if opt.name in actions else None)
        for opt in o.ROOT_OPTIONS
    ]
    parameters.append(_help(run))
    return _with_signature(root, parameters, _text(run, ROOT.help) or "")


def _eager(run: Run[Any], action: Callable[[Run[Any], Any], None]) -> Callable[[Any], None]:
    def callback(value: Any) -> None:
        if not value:
            return
        try:
            action(run, value)
        except (Exception, KeyboardInterrupt, Terminated) as error:
            run.raised = error
        raise typer.Exit()

    return callback


def _completion(verb: str) -> Callable[[Run[Any], Any], None]:
    def action(run: Run[Any], shell: Any) -> None:
        from stac_events.cli import completion_install

        getattr(completion_install, verb)(run, str(shell))

    return action


def _help(run: Run[Any]) -> inspect.Parameter:
    """`-h/--help`, as Typer's own but for the type it would show."""

    def show(ctx: typer.Context, value: bool) -> None:
        if value:
            help_text = ctx.get_help()  # Typer prints it when Rich formats it, else returns it
            run.env.stdout.write(help_text + "\n" if help_text else "")
            raise typer.Exit()

    return _option(run, o.HELP, callback=show)


def _help_text(run: Run[Any], command: Command) -> Optional[str]:
    """The command's help, then what each of its arguments is: one to a line."""
    lines = [f"{argument.metavar}: {argument.help}" for argument in command.arguments]
    return _text(run, "\n\n".join([command.help, "\n".join(lines)]) if lines else command.help)


def _options_metavar(command: Command) -> str:
    """What the usage line shows after the command: `[OPTIONS] -- CMD [ARG]...` for wrap.

    The command that `event wrap` runs is never Typer's to parse (`cli.argv` takes it
    off the line), so it is named here rather than declared as an argument.
    """
    rest = [f"-- {argument.metavar}" for argument in command.arguments if argument.rest]
    return " ".join(["[OPTIONS]", *rest])


def _option(
    run: Run[Any],
    opt: Opt,
    *,
    callback: Optional[Callable[..., None]] = None,
) -> inspect.Parameter:
    declared = typer.Option(
        *opt.flags,
        help=_text(run, opt.help),
        metavar="" if opt.kind == FLAG else opt.metavar,  # a flag takes no value to name
        rich_help_panel=opt.panel,
        show_default=False,
        callback=callback,
        is_eager=callback is not None,
    )
    if opt.kind == FLAG:
        kind: Any = bool
        default: Any = False
    elif opt.kind in (MANY, REPEATED):
        kind, default = Optional[List[str]], None
    else:
        kind, default = Optional[str], None
    return _parameter(opt.name, Annotated[kind, declared], default)


def _argument(argument: Arg) -> inspect.Parameter:
    """An argument, described in the command's help (`_help_text`): Typer's table of
    arguments would show the type of its value (`<str>`) beside it."""
    declared = typer.Argument(metavar=argument.metavar, hidden=True, show_default=False)
    return _parameter(argument.name, Annotated[Optional[str], declared], None)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _with_signature(
    function: Callable[..., None], parameters: List[inspect.Parameter], help_text: str
) -> Callable[..., None]:
    """Give `function` the signature Typer reads its parameters from."""
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in parameters}
    return _described(function, help_text)


def _nothing(**values: Any) -> None:
    """A group's callback: the group only names its commands."""


def _described(function: Callable[..., None], help_text: str) -> Callable[..., None]:
    function.__doc__ = help_text
    return function
