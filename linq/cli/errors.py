"""The exit codes of every `linq` command: the one table (linq/exitcodes.py) applied by the top-level group.

The top-level group (`LinqGroup`) turns an error raised anywhere below it into a one-line message and its exit
code, so commands raise the library's own errors and never pick codes themselves.
"""

from __future__ import annotations

from typing import Any

import click

from linq.exitcodes import (  # noqa: F401 — the table's names, re-exported for the commands
    EXIT_CLUSTER,
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_NO_KEY,
    EXIT_OK,
    EXIT_SOURCE,
    EXIT_UNREACHABLE,
    exit_code_for,
    message,
)


class CliError(click.ClickException):
    """A user-facing error with its exit code from the table."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it on the class; per-instance is intended


def _message(error: BaseException) -> str:
    return message(error, _flags(error))


def _flags(error: BaseException) -> set[str]:
    """The options of the command that raised `error` (a fix names only a flag that exists): the innermost
    click context on the error's way up (its own context is already closed when the group sees it)."""
    ctx, tb = None, error.__traceback__
    while tb is not None:
        found = tb.tb_frame.f_locals.get("ctx")
        ctx = found if isinstance(found, click.Context) else ctx
        tb = tb.tb_next
    return {o for p in (ctx.command.params if ctx else ()) for o in p.opts}


class LinqGroup(click.Group):
    """A group whose commands' errors leave through the one exit-code table."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:
            code = exit_code_for(error)
            if code is None:
                raise
            raise CliError(_message(error), code) from None
