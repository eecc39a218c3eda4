"""The ``crossings`` command: a thin layer over the library.

Commands only parse options, call library functions and print.  Library code
raises :class:`~sim.scenario.errors.ScenarioError` or
:class:`~sim.scenario.errors.UsageError`; this module alone turns them into one
line per problem on stderr and exit status 2, as it does click's own usage errors
(an unknown option, a value out of range), which click would print over four lines.
What the machine cannot do (write to a full disk or a folder without permission,
hold a run in memory) is one line too, with exit status 1: it is not the scenario's
fault.  Neither ever prints a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

import sim
from sim.run.store import OutputError, inside_outputs, refuse_to_replace
from sim.scenario import LoadedScenario, Scenario, ScenarioError, UsageError, load_scenario
from sim.scenario.schema import MIN_SCALE

__all__ = ["main"]

EXIT_USER_ERROR = 2
EXIT_SYSTEM_ERROR = 1


def _usage_line(error: click.UsageError, command: str | None = None) -> str:
    """click's usage error (an unknown option, a value out of range) as one line, like the library's.

    ``command`` names the subcommand being started, for the errors click raises
    without its context (an option given no value).
    """
    # the program's name, whatever it was started as (`python -m sim`, a test's runner)
    names = []
    ctx = error.ctx
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    if not names and command:
        names = [command]
    where = " ".join(["crossings", *reversed(names)])
    message = " ".join(error.format_message().split())
    return f"{where}: {message} (see '{where} --help')"


class _Group(click.Group):
    """A click group that reports the library's user errors, and the machine's, without a traceback."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: object
    ) -> click.Context:
        # The group's own options are parsed here, before invoke: `crossings --bogus`.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # plain `crossings` shows the help, as click does
        except click.UsageError as error:
            click.echo(_usage_line(error), err=True)
            sys.exit(EXIT_USER_ERROR)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:  # a command's options, or no such command
            click.echo(_usage_line(error, ctx.invoked_subcommand), err=True)
        except ScenarioError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
        except UsageError as error:
            click.echo(f"crossings: {error}", err=True)
        except BrokenPipeError:
            # The reader went away (`crossings list | head`): nothing is wrong, and nothing more
            # can be written; stdout is pointed at /dev/null so that closing it stays quiet.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as error:
            click.echo(f"crossings: {_system_error(error)}", err=True)
            ctx.exit(EXIT_SYSTEM_ERROR)
        except MemoryError:
            click.echo("crossings: out of memory (a smaller --scale simulates fewer people)", err=True)
            ctx.exit(EXIT_SYSTEM_ERROR)
        ctx.exit(EXIT_USER_ERROR)


def _system_error(error: OSError) -> str:
    """One line for an error of the operating system: what failed, and where."""
    if isinstance(error, OutputError):
        return str(error)
    if error.filename is None:
        return error.strerror or str(error)
    return f"{error.strerror or error}: {error.filename}"


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


DEFAULT_SCENARIO = "mobilization-2022.yaml"


@main.command()
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed [default: the scenario's].")
@click.option(
    "--scale",
    type=click.FloatRange(min=MIN_SCALE, max=1),
    default=None,
    help="Fraction of people simulated [default: the scenario's].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder [default: outputs/<scenario>-<seed>/].",
)
@_SET_OPTION
@click.option("--no-figures", is_flag=True, help="Skip the figures (faster).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary.")
def run(
    scenario: str | None,
    seed: int | None,
    scale: float | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_figures: bool,
    quiet: bool,
) -> None:
    """Run SCENARIO (default: scenarios/mobilization-2022.yaml) and write its outputs.

    Writes daily.csv, flows.csv, manifest.json and figures/ to the output folder, atomically:
    the folder appears only when complete.
    """
    path = scenario if scenario is not None else str(_default_scenarios_folder() / DEFAULT_SCENARIO)
    loaded = load_scenario(path, overrides)
    seed = loaded.scenario.seed if seed is None else seed
    folder = out if out is not None else inside_outputs(Path("outputs"), f"{loaded.scenario.name}-{seed}")
    with _progress_bar(enabled=not quiet, label=loaded.scenario.name) as progress:
        result = sim.run(loaded, seed=seed, scale=scale, progress=progress)
    written = result.write(folder, figures=not no_figures)
    if not quiet:
        people = result.people
        states = ", ".join(f"{name} {count:,}" for name, count in people["by_state"].items() if count)
        click.echo(
            f"{loaded.scenario.name} seed {result.seed} scale {result.scale}: "
            f"{people['departed']:,} simulated persons departed ({states}) "
            f"in {result.wall_seconds:.2f} s; wrote {written}"
        )


@contextmanager
def _progress_bar(*, enabled: bool, label: str, unit: str = "day") -> Iterator[Callable[[int, int], None] | None]:
    """A tqdm bar on stderr (simulated days, or runs), shown only on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc=label, unit=unit, file=sys.stderr, leave=False) as bar:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        yield update


def _compare_side(scenario: str, other: str, overrides: tuple[str, ...]) -> LoadedScenario:
    """One side of a comparison with every --set; a key only the other side has is named as such."""
    try:
        return load_scenario(scenario, overrides)
    except ScenarioError:
        from sim.run.posterior import has_value

        mine, theirs = load_scenario(scenario).resolved, load_scenario(other).resolved
        for text in overrides:
            key = text.partition("=")[0].strip()
            if has_value(mine, key) or not has_value(theirs, key):
                continue
            try:
                load_scenario(scenario, [text])
            except ScenarioError:
                raise UsageError(
                    f"--set {key}: expected a key both scenarios have, since compare --set changes both alike,"
                    f" found one only {other} has (to change it on one side, write a scenario that extends it)"
                ) from None
        raise


def _refuse_varied_sets(
    base: str, resolved: dict, overrides: tuple[str, ...], varied: tuple[str, ...], posterior: str
) -> None:
    """Refuse a --set of a value the posterior's draws overwrite, however its key names it.

    By its key (the value itself, or a mapping that holds it), or, for a key that names
    it otherwise (a list index), by the value it changes: the settings are applied in
    turn, together, as the run applies them, and the first that moves a varied value is named.
    """
    from sim.run.posterior import value_at

    def refuse(key: str, name: str) -> None:
        raise UsageError(
            f"--set {key}: expected a parameter the posterior of {posterior} does not vary, since its draws"
            f" would overwrite it, found one that sets {name}"
        )

    keys = [text.partition("=")[0].strip() for text in overrides]
    for key in keys:
        hit = [name for name in varied if name == key or name.startswith(key + ".")]
        if hit:
            refuse(key, hit[0])
    previous = load_scenario(base).resolved
    changed = [name for name in varied if value_at(resolved, name) != value_at(previous, name)]
    if not changed:
        return
    for count, key in enumerate(keys, start=1):
        try:
            now = load_scenario(base, overrides[:count]).resolved
        except ScenarioError:  # valid only with the settings after it
            continue
        moved = [name for name in changed if value_at(now, name) != value_at(previous, name)]
        if moved:
            refuse(key, moved[0])
        previous = now
    refuse(keys[-1], changed[0])


@main.command()
@click.argument("base")
@click.argument("policy")
@click.option("--replicates", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Pairs of runs.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root of the replicates' seeds [default: BASE's].")
@click.option(
    "--scale", type=click.FloatRange(min=MIN_SCALE, max=1), default=None, help="Fraction of people simulated."
)
@click.option(
    "--measure",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Show measures matching this glob, e.g. 'entries.*' (repeatable) [default: all that are not zero].",
)
@click.option("--independent", is_flag=True, help="Independent seeds for POLICY (no common random numbers).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one value in both scenarios, e.g. period.end=2023-03-31 (repeatable).",
)
@click.option(
    "--posterior", "posterior", default=None, metavar="CALIBRATION",
    help="Run each replicate with a draw of this calibration folder's posterior (e.g. calibration/fitted/"
    "mobilization-2022), the same for both sides, so the answer carries the parameters' uncertainty.",
)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Write compare.csv, compare.json and replicates.parquet (for crossings plot) here.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no table.")
def compare(
    base: str,
    policy: str,
    replicates: int,
    seed: int | None,
    scale: float | None,
    patterns: tuple[str, ...],
    independent: bool,
    overrides: tuple[str, ...],
    posterior: str | None,
    out: Path | None,
    quiet: bool,
) -> None:
    """Compare POLICY with BASE: paired differences with 95% intervals over replicates.

    Each replicate runs both scenarios with the same seed (common random numbers), so
    a difference is the policy's, not noise.  --set changes both alike (a longer
    period, say).  With --posterior each replicate also runs both in one world drawn
    from a calibration's posterior, and the table adds the 5–95% range of the
    replicates' differences: the effect across the worlds that fit.
    """
    from fnmatch import fnmatch

    from sim.run.compare import COMPARISON_FILES, COMPARISON_MARKER
    from sim.run.compare import compare as run_comparison
    from sim.run.measures import possible_measures, unmatched_pattern
    from sim.run.posterior import load_posterior

    sides = [_compare_side(base, policy, overrides), _compare_side(policy, base, overrides)]
    drawn = None if posterior is None else load_posterior(posterior)
    if drawn is not None and overrides:
        _refuse_varied_sets(base, sides[0].resolved, overrides, drawn.names, posterior)
    if out is not None:
        refuse_to_replace(out, COMPARISON_FILES, markers=[COMPARISON_MARKER])
    # A pattern is checked against the names runs can have, before any run is spent on it.
    names = sorted(set().union(*(possible_measures(side.scenario) for side in sides)))
    for pattern in patterns:
        if (problem := unmatched_pattern(pattern, names)) is not None:
            raise UsageError(f"--measure: {problem}")
    with _progress_bar(enabled=not quiet, label="compare", unit="run") as progress:
        comparison = run_comparison(
            *sides, replicates=replicates, seed=seed, scale=scale, independent=independent, progress=progress,
            posterior=drawn,
        )
    if out is not None:
        comparison.write(out)
    if quiet:
        return
    rows = [
        row
        for row in comparison.rows
        if (any(fnmatch(row.measure, p) for p in patterns) if patterns else (row.base_mean or row.policy_mean))
    ]
    width = max((len(r.measure) for r in rows), default=7)
    spread = drawn is not None
    header = f"{'measure':<{width}}  {'base':>12}  {'policy':>12}  {'difference':>12}  {'95% interval':<28}"
    click.echo((header + "  5–95% of replicates") if spread else header.rstrip())
    for row in rows:
        interval = "n/a (1 replicate)" if row.replicates < 2 else f"[{row.ci_low:,.1f}, {row.ci_high:,.1f}]"
        line = f"{row.measure:<{width}}  {row.base_mean:>12,.1f}  {row.policy_mean:>12,.1f}  {row.difference:>12,.1f}  "
        if spread:
            effects = "n/a" if row.replicates < 2 else f"[{row.effect_p05:,.1f}, {row.effect_p95:,.1f}]"
            click.echo(f"{line}{interval:<28}  {effects}")
        else:
            click.echo(line + interval)
    design = "common random numbers" if comparison.common_random_numbers else "independent seeds"
    if drawn is not None:
        distinct = drawn.distinct_sets(comparison.posterior_rows + comparison.policy_posterior_rows)
        design += f"; parameters drawn from {posterior}'s posterior ({distinct} distinct sets)"
    click.echo(f"{replicates} replicate(s), {design}" + (f"; wrote {out}" if out is not None else ""))


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Folder for the figures [default: FOLDER/figures].",
)
@click.option(
    "--format", "formats", multiple=True, type=click.Choice(["png", "svg", "pdf"]),
    help="File format, repeatable [default: png and svg].",
)
@click.option(
    "--targets", "targets_file", default=None, metavar="TARGETS.yaml",
    help="Reported figures drawn over a run's entries [default: the project's calibration/targets.yaml].",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
def plot(folder: Path, out: Path | None, formats: tuple[str, ...], targets_file: str | None, quiet: bool) -> None:
    """Draw every figure of FOLDER: a run, a comparison (compare --out) or a sweep store.

    A run gets its entries (with the reported figures), waits, queues, stocks, asylum,
    flow diagram and map; a comparison its fan charts and paired differences; a sweep
    its response curves, tornado and Sobol charts.
    """
    from sim.report.plot import plot as draw

    plotted = draw(folder, out=out, formats=formats or ("png", "svg"), targets=targets_file)
    if quiet:
        return
    for note in plotted.notes:
        click.echo(f"note: {note}")
    click.echo(f"{plotted.kind} {folder}: wrote {len(plotted.files)} files to {plotted.files[0].parent if plotted.files else out}")
    for path in plotted.files:
        click.echo(f"  {path}")


@main.command()
@click.argument("base", metavar="BASE.yaml")
@click.argument("policies", nargs=-1, metavar="[POLICY.yaml ...]")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="The memo's folder.")
@click.option(
    "--replicates", "-n", type=click.IntRange(min=1), default=4, show_default=True,
    help="Runs of each scenario (the same seeds for all).",
)
@click.option(
    "--scale", type=click.FloatRange(min=MIN_SCALE, max=1), default=0.02, show_default=True,
    help="Fraction of people simulated.",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root of the replicates' seeds [default: BASE's].")
@click.option("--targets", "targets_file", default=None, metavar="TARGETS.yaml",
              help="Reported figures [default: the project's calibration/targets.yaml, for runs of its scenario].")
@click.option("--fitted", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of fit reports [default: the project's calibration/fitted].")
@click.option(
    "--posterior", default=None, metavar="CALIBRATION",
    help="Run replicate r of every scenario with the same draw of this calibration folder's posterior "
    "(e.g. calibration/fitted/mobilization-2022), so the intervals carry the parameters' uncertainty.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing.")
def memo(
    base: str,
    policies: tuple[str, ...],
    out: Path,
    replicates: int,
    scale: float,
    seed: int | None,
    targets_file: str | None,
    fitted: Path | None,
    posterior: str | None,
    quiet: bool,
) -> None:
    """Write a memo on BASE and each POLICY against it: memo.html (self-contained) and memo.pdf.

    Runs each scenario --replicates times with the same seeds (reusing runs already in
    OUT when scenario, seed and scale match), then writes the key findings with 95%
    intervals (findings.csv), the figures, the assumptions and sources, the
    calibration fit and a reproducibility block.
    """
    from sim.report.memo import make_memo

    def progress(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    made = make_memo(base, policies, out, replicates=replicates, scale=scale, seed=seed, targets=targets_file,
                     fitted=fitted, progress=progress, posterior=posterior)
    if not quiet:
        content = made.content
        click.echo(
            f"{content.title}: {content.runs_made} runs made, {content.runs_reused} reused, "
            f"{len(content.figures)} figures; wrote {made.html}, {made.pdf}, {made.findings}"
        )


@main.command()
@click.argument("sweep_file", metavar="SWEEP.yaml")
@click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="Where the runs go."
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [default: every core].")
@click.option("--scheduler", metavar="ADDR", default=None, help="A running dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Store folder [default: outputs/sweeps/<name>/].",
)
@click.option(
    "--scale", type=click.FloatRange(min=MIN_SCALE, max=1), default=None, help="Replaces the sweep's scale."
)
@click.option("--resume", is_flag=True, help="Keep the runs an interrupted sweep completed; run the rest.")
@click.option("--force", is_flag=True, help="Delete an existing store and start over.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary.")
def sweep(
    sweep_file: str,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    out: Path | None,
    scale: float | None,
    resume: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Run every point × replicate of SWEEP.yaml and write its store.

    Each run's row.json appears when the run is complete; summary.parquet is rebuilt
    from them at the end.  See `crossings summarise`.
    """
    from sim.run.sweep import load_sweep, run_sweep

    if resume and force:
        raise UsageError("--resume and --force: expected one of them, found both")
    loaded = load_sweep(sweep_file, scale=scale)
    folder = out if out is not None else inside_outputs(Path("outputs") / "sweeps", loaded.spec.name)
    with _sweep_bar(enabled=not quiet, label=loaded.spec.name) as progress:
        outcome = run_sweep(
            loaded,
            folder,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            force=force,
            progress=progress,
        )
    for line in outcome.warnings:
        click.echo(f"crossings: warning: {line}", err=True)
    if quiet:
        return
    resumed = f", {outcome.skipped} kept from before" if outcome.skipped else ""
    click.echo(
        f"{loaded.spec.name}: {outcome.runs} runs ({outcome.ran} run now{resumed}), {outcome.failed} failed, "
        f"in {outcome.wall_seconds:.1f} s; wrote {outcome.summary}"
    )
    for line in outcome.errors[:10]:
        click.echo(f"  failed: {line}")
    if len(outcome.errors) > 10:
        click.echo(f"  … and {len(outcome.errors) - 10} more failures (see the error column)")


@contextmanager
def _sweep_bar(*, enabled: bool, label: str) -> Iterator[Callable[[int, int, int], None] | None]:
    """A tqdm bar of runs done, with the failures so far and tqdm's ETA; on a terminal only."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc=label, unit="run", file=sys.stderr, leave=False) as bar:

        def update(done: int, failed: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(f"failed {failed}", refresh=False)
            bar.refresh()

        yield update


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=False))
@click.option("--no-figures", is_flag=True, help="Skip the figures.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing (the files are written all the same).")
def summarise(folder: Path, no_figures: bool, quiet: bool) -> None:
    """Summarise the sweep store FOLDER: per-point means with 95% intervals, Sobol indices.

    Writes points.csv and tornado.png (and for sobol designs sobol.csv and sobol.png; for
    grid and lhs designs response.png) into FOLDER.
    """
    from sim.run.sweep_summary import summarise as summarise_store

    summary = summarise_store(folder, figures=not no_figures)
    if quiet:
        return
    click.echo(f"{summary.name}: {summary.design} design, {summary.runs} runs, {summary.failed} failed")
    for line in summary.errors[:10]:
        click.echo(f"  failed: {line}")
    rows = summary.points
    if rows and len(rows) <= 200:
        params = [key for key in rows[0] if key.startswith("param.")]
        width = max(len(r["measure"]) for r in rows)
        click.echo("  ".join(["point", *params, f"{'measure':<{width}}", f"{'mean':>14}", "95% interval"]))
        for r in rows:
            interval = "n/a" if r["replicates"] < 2 else f"[{r['ci_low']:,.4g}, {r['ci_high']:,.4g}]"
            cells = [f"{r['point']:>5}", *(f"{r[p]!s:>{len(p)}}" for p in params)]
            click.echo("  ".join([*cells, f"{r['measure']:<{width}}", f"{r['mean']:>14,.4g}", interval]))
    elif rows:
        click.echo(f"{len(rows)} point × measure rows: see points.csv")
    for r in summary.sobol:
        click.echo(
            f"sobol {r['measure']} {r['parameter']}: S1 {r['S1']:.3f} ± {r['S1_conf']:.3f}, "
            f"ST {r['ST']:.3f} ± {r['ST_conf']:.3f}"
        )
    for note in summary.notes:
        click.echo(f"note: {note}")
    click.echo("wrote " + ", ".join(str(p) for p in summary.files))


@main.command()
@click.argument("scenario")
@click.option("--targets", "targets_file", required=True, metavar="TARGETS.yaml", help="The targets file (use: fit targets are fitted).")
@click.option("--params", "params_file", required=True, metavar="PARAMS.yaml", help="Priors and sampler settings.")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Most simulations in all [default: no cap].")
@click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="Where the runs go."
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [default: every core].")
@click.option("--scheduler", metavar="ADDR", default=None, help="A running dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--resume", is_flag=True, help="Continue from the last finished generation's checkpoint.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder [default: calibration/fitted/<params file stem>/].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress, no summary.")
def calibrate(
    scenario: str,
    targets_file: str,
    params_file: str,
    budget: int | None,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    """Calibrate SCENARIO's parameters named in PARAMS.yaml against the fit targets (ABC-SMC).

    Writes posterior.csv, point.json, intervals.csv, generations.txt and the fit report
    of the point estimate (fit_report.csv, .json, .png) into the output folder, and a
    checkpoint after every generation (see --resume).
    """
    from sim.calibrate.abc import GenerationInfo
    from sim.calibrate.fit import calibrate as run_calibration
    from sim.calibrate.fit import load_params

    params = load_params(params_file)
    folder = out if out is not None else inside_outputs(Path("calibration") / "fitted", params.name)

    def progress(info: GenerationInfo, spent: int) -> None:
        if not quiet:
            click.echo(
                f"generation {info.generation}: epsilon {info.epsilon:.4g}, acceptance {info.acceptance_rate:.3f}, "
                f"ESS {info.ess:.0f}, median distance {info.median_distance:.4g}; {spent} simulations",
                err=True,
            )

    def notify(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    outcome = run_calibration(
        scenario, targets_file, params, budget=budget, executor=executor, workers=workers,
        scheduler=scheduler, out=folder, resume=resume, progress=progress, notify=notify,
    )
    if quiet:
        return
    click.echo(outcome.result.table())
    click.echo(f"stopped: {outcome.stopped}; {outcome.simulations} simulations in {outcome.wall_seconds:.1f} s")
    kind = f"the best finalist by {params.spec.choose_by}, rerun" if params.spec.point == "best" else "weighted median"
    click.echo(f"point estimate ({kind}): " + " ".join(f"--set {o}" for o in outcome.report.overrides))
    for use in ("fit", "all"):
        row = outcome.report.summary[use]
        click.echo(
            f"fit report, {use} targets ({row['targets']}): mean relative difference "
            f"{row['mean_relative_difference']:.3f}, coverage {row['coverage']:.0%}, medians in the reported range"
            f" {row['medians_inside']:.0%}"
        )
    click.echo(f"wrote {folder}")


@main.command(name="fit-report")
@click.argument("scenario")
@click.option("--targets", "targets_file", required=True, metavar="TARGETS.yaml", help="The targets file.")
@click.option("--replicates", "-n", type=click.IntRange(min=1), default=8, show_default=True, help="Runs, each its own seed.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root of the replicates' seeds [default: the scenario's].")
@click.option(
    "--scale", type=click.FloatRange(min=MIN_SCALE, max=1), default=None, help="Fraction of people simulated."
)
@_SET_OPTION
@click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True, help="Where the runs go."
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [default: every core].")
@click.option("--scheduler", metavar="ADDR", default=None, help="A running dask scheduler.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Write the report here.")
@click.option("--quiet", "-q", is_flag=True, help="No table.")
def fit_report(
    scenario: str,
    targets_file: str,
    replicates: int,
    seed: int | None,
    scale: float | None,
    overrides: tuple[str, ...],
    executor: str,
    workers: int | None,
    scheduler: str | None,
    out: Path,
    quiet: bool,
) -> None:
    """Score SCENARIO as it is (with any --set) against every target: the fit report alone.

    Writes fit_report.csv, fit_report.json and fit_report.png into --out.
    """
    from sim.calibrate.fit import fit_report as run_report
    from sim.calibrate.targets import format_report

    from sim.calibrate.fit import FIT_REPORT_FILES
    from sim.run.api import check_scale

    # sim.run's check, once before any run: NaN passes click's FloatRange and would fail every run.
    if scale is not None:
        check_scale(scale)
    refuse_to_replace(out, FIT_REPORT_FILES, markers=["fit_report.json"])
    report = run_report(
        scenario, targets_file, overrides=overrides, replicates=replicates, scale=scale, seed=seed, out=out,
        executor=executor, workers=workers, scheduler=scheduler, label="with --set" if overrides else None,
    )
    for line in report.errors[:10]:
        click.echo(f"crossings: warning: failed {line}", err=True)
    if quiet:
        return
    click.echo(format_report(report.scores))
    click.echo("wrote " + ", ".join(str(p) for p in report.files))
