"""Commands over SSH: `ssh -p 2222 you@host incidents --status open --json`.

An exec request runs one `upmetr` command as the key's member, through the API with the
session's tokens, so it has exactly their rights. Only the commands that are API clients
may run: none that acts on the server machine itself (`serve`, `users`, `mail`), signs in
or out, or opens the console; and no option that reads or writes a file, which would be a
file on the server. `ack 42` and `resolve 42` are short for `incidents ack|resolve 42`, and
a group given options alone lists: `incidents --status open` is `incidents list --status open`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys

import asyncssh
import click

ALLOWED = frozenset(
    {
        "whoami",
        "orgs",
        "api-keys",
        "monitors",
        "incidents",
        "events",
        "cloud-accounts",
        "resources",
        "costs",
        "budgets",
        "channels",
        "rules",
        "alert-rules",
        "agents",
        "metrics",
        "status-pages",
        "announce",
        "notifications",
        "deliveries",
        "overview",
        "billing",
        "jobs",
        "admin",
    }
)
SHORTHANDS = {"ack": ["incidents", "ack"], "resolve": ["incidents", "resolve"]}


class Refused(Exception):
    """A command that may not run over SSH; the message says why."""


def parse(command: str) -> list[str]:
    """The `upmetr` arguments of an exec request, or Refused."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise Refused(f"cannot read the command: {exc}") from exc
    if args and args[0] == "upmetr":
        args = args[1:]
    if not args:
        raise Refused("no command given")
    args = SHORTHANDS.get(args[0], args[:1]) + args[1:]
    if args[0] not in ALLOWED:
        raise Refused(
            f"{args[0]!r} cannot run over SSH; commands: {', '.join(sorted(ALLOWED))}, "
            f"{', '.join(SHORTHANDS)}"
        )
    args = _list_by_default(args)
    _refuse_file_options(args)
    return args


def _list_by_default(args: list[str]) -> list[str]:
    group = _main().get_command(click.Context(_main()), args[0])
    takes_list = isinstance(group, click.Group) and "list" in group.commands
    if takes_list and (len(args) == 1 or (args[1].startswith("-") and args[1] != "--help")):
        return [args[0], "list", *args[1:]]
    return args


def _main() -> click.Group:
    from console.cli import main

    return main


def _refuse_file_options(args: list[str]) -> None:
    """Refuse an option or argument of a path type anywhere in the command's chain."""
    main = _main()
    command: click.Command = main
    context = click.Context(main, resilient_parsing=True)
    rest = list(args)
    while rest:
        if not isinstance(command, click.Group):
            break
        name, rest = rest[0], rest[1:]
        found = command.get_command(context, name)
        if found is None:
            return  # click itself says it is unknown
        command = found
        context = click.Context(command, parent=context, resilient_parsing=True)
        paths = [p for p in command.params if isinstance(p.type, click.Path | click.File)]
        given = {opt for p in paths for opt in p.opts if p.param_type_name == "option"}
        if any(arg.split("=", 1)[0] in given for arg in rest) or any(
            p.param_type_name == "argument" for p in paths
        ):
            raise Refused(
                f"`{name}` reads or writes files, which over SSH would be the server's: "
                "run it with the upmetr command on your machine"
            )


async def run_command(
    process: asyncssh.SSHServerProcess[bytes], args: list[str], env: dict[str, str]
) -> int:
    """Run `upmetr <args>` with the client's stdin, stdout and stderr; its exit status."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=env["HOME"],
    )
    assert child.stdin and child.stdout and child.stderr
    feed = asyncio.create_task(_copy_in(process, child.stdin))
    try:
        await asyncio.gather(
            _copy_out(child.stdout, process.stdout), _copy_out(child.stderr, process.stderr)
        )
        return await child.wait()
    finally:
        feed.cancel()
        if child.returncode is None:
            child.kill()
            await child.wait()


async def _copy_in(process: asyncssh.SSHServerProcess[bytes], to: asyncio.StreamWriter) -> None:
    with contextlib.suppress(asyncssh.Error, BrokenPipeError, ConnectionError):
        while data := await process.stdin.read(1 << 16):
            to.write(data)
            await to.drain()
    to.close()


async def _copy_out(source: asyncio.StreamReader, to: asyncssh.SSHWriter[bytes]) -> None:
    while data := await source.read(1 << 16):
        to.write(data)
        with contextlib.suppress(asyncssh.Error, BrokenPipeError, ConnectionError):
            await to.drain()
