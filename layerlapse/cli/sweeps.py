"""The sweep commands: ``batch`` (a sweep of jobs on Dask) and ``reproduce`` (the essay's
claims as a sweep, with a table and key frames)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from layerlapse.cli.group import app
from layerlapse.cli.options import EpochsOpt, ProgressOpt


@app.command("batch")
def batch_command(
    sweep: Annotated[Path, typer.Argument(help="a .toml sweep file: scenes, a [grid] of settings, what each job makes (see examples/small-sweep.toml)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for JOBID/..., manifest.jsonl and index.html")] = Path("outputs/batch"),
    scheduler: Annotated[str | None, typer.Option(help="tcp://HOST:PORT of a running `dask scheduler` (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes of the local cluster (default: min(cores, jobs))")] = None,
    retries: Annotated[int, typer.Option(help="run a job again this many times when its worker dies")] = 1,
    jobs_per_worker: Annotated[int | None, typer.Option(help="restart a worker (a fresh process) after this many jobs")] = None,
    force: Annotated[bool, typer.Option(help="run every job, even those the manifest says are done")] = False,
    dry_run: Annotated[bool, typer.Option(help="list the jobs (id, scene, settings, run or skip) and run nothing")] = False,
    wait_for_workers: Annotated[float, typer.Option(help="give up when the cluster has had no workers this many seconds")] = 120.0,
    job_timeout: Annotated[float | None, typer.Option(help="stop a job that runs longer than this many seconds (recorded as failed, its worker restarted)")] = None,
    wait: Annotated[float, typer.Option(help="when another batch is running in OUT, wait up to this many seconds for it (0 to 86400; default 0: exit 75 at once)")] = 0.0,
    progress: ProgressOpt = True,
) -> None:
    """Run a sweep of jobs (scenes x a grid of settings) on Dask; resumable, with a gallery."""
    from layerlapse.batch import batch
    from layerlapse.batch import dry_run as dry_run_lines

    if dry_run:
        for line in dry_run_lines(sweep, out, force=force):
            typer.echo(line)
        return
    with busy_exits():
        result = batch(sweep, out, scheduler=scheduler, workers=workers, retries=retries,
                       jobs_per_worker=jobs_per_worker, force=force, progress=progress,
                       wait_for_workers=wait_for_workers, job_timeout=job_timeout, wait=wait)
    for what, error in result.failures[:FAILURES_SHOWN]:
        typer.secho(f"failed: {what}: {error}", err=True)
    if len(result.failures) > FAILURES_SHOWN:
        typer.secho(f"failed: {len(result.failures) - FAILURES_SHOWN} more; every error is in {result.manifest} "
                    f"and {result.gallery}", err=True)
    typer.echo(f"{result.done} done, {result.failed} failed, {result.skipped} skipped; "
               f"wrote {result.manifest} and {result.gallery}")
    if result.failed:
        raise typer.Exit(1)


#: how many failed jobs ``batch`` names on the terminal (all are in the manifest)
FAILURES_SHOWN = 5


@contextmanager
def busy_exits() -> Iterator[None]:
    """Another batch holding OUT is one ``error:`` line and exit code 75 (not 2: the input is
    fine, and the same command may well succeed later)."""
    from layerlapse.batch.lock import BUSY_EXIT, Busy

    try:
        yield
    except Busy as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(BUSY_EXIT) from None


@app.command("reproduce")
def reproduce_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for results.md, results.json, key frames, and the sweep's jobs, manifest and gallery")] = Path("outputs/reproduce"),
    seeds: Annotated[int, typer.Option(help="training seeds per network")] = 3,
    epochs: EpochsOpt = None,
    scheduler: Annotated[str | None, typer.Option(help="tcp://HOST:PORT of a running `dask scheduler` (default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes of the local cluster (default: min(cores, jobs))")] = None,
    force: Annotated[bool, typer.Option(help="train every network again, even those a previous run finished")] = False,
    progress: ProgressOpt = True,
) -> None:
    """Train the networks the essay's claims are about (several seeds each, as a batch sweep) and write a table and key frames."""
    from layerlapse.batch.reproduce import SWEEP, markdown, run

    with busy_exits():
        results = run(out, seeds=seeds, epochs=epochs, scheduler=scheduler, workers=workers, force=force,
                      progress=progress)
    typer.echo(markdown(results, seeds))
    typer.echo((out / "manifold.md").read_text(encoding="utf-8"))
    typer.echo(f"wrote {out / 'results.md'}, {out / 'results.json'}, {out / 'manifold.md'}, "
               f"{out / 'manifold.json'} and {len(results)} key frames "
               f"(the sweep: {out / SWEEP}, its gallery: {out / 'index.html'})")
