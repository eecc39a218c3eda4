"""The ``crossings`` command: a thin layer over the library.

Commands only parse options, call library functions and print.  Library code
raises :class:`~sim.scenario.errors.ScenarioError` or
:class:`~sim.scenario.errors.UsageError`; this module alone turns them into one
line per problem on stderr and exit status 2 (click's own usage errors exit 2 too).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

import sim
from sim.scenario import Scenario, ScenarioError, UsageError, load_scenario

__all__ = ["main"]

EXIT_USER_ERROR = 2


class _Group(click.Group):
    """A click group that reports the library's user errors without a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ScenarioError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
        except UsageError as error:
            click.echo(f"crossings: {error}", err=True)
        ctx.exit(EXIT_USER_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Simulate emigrants moving through border crossings under policy scenarios."""


_SET_OPTION = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one value, e.g. crossings.upper-lars.modes.car.lanes=12 (repeatable).",
)


@main.command()
@click.argument("file")
@_SET_OPTION
def validate(file: str, overrides: tuple[str, ...]) -> None:
    """Check a scenario FILE and report every problem in it."""

    scenario = load_scenario(file, overrides).scenario
    click.echo(
        f"OK {file}: {scenario.name} — {len(scenario.crossings)} crossings, "
        f"{len(scenario.countries)} countries, {len(scenario.policies)} policies"
    )


@main.command()
def schema() -> None:
    """Print the JSON schema of scenario files."""

    click.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@main.command(name="list")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of scenario files [default: the project's scenarios/].",
)
def list_scenarios(folder: Path | None) -> None:
    """List the scenarios in a folder, one line each: name and description."""

    folder = folder if folder is not None else _default_scenarios_folder()
    if not folder.is_dir():
        raise UsageError(f"expected a folder of scenario files, found nothing at {folder}")
    files = sorted(folder.glob("*.yaml"))
    width = max((len(path.stem) for path in files), default=0)
    for path in files:
        click.echo(f"{path.stem:<{width}}  {_summary(path)}")


def _default_scenarios_folder() -> Path:
    beside_package = Path(sim.__file__).parent.parent / "scenarios"
    return beside_package if beside_package.is_dir() else Path("scenarios")


def _summary(path: Path) -> str:
    """The scenario's description, or its first problem: one broken file must not hide the rest."""

    try:
        return load_scenario(path).scenario.description
    except ScenarioError as error:
        return str(error.problems[0])


# The `run` command goes here.
