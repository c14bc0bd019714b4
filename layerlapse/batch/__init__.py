"""``layerlapse batch``: a sweep file's jobs run on Dask, recorded in a manifest to resume from.

Modules, each importing only those above it:

- :mod:`~layerlapse.batch.manifest`: ``OUT/manifest.jsonl``, its typed records and the output kinds
- :mod:`~layerlapse.batch.sweep`: sweep files (TOML), expanded into jobs with content ids
- :mod:`~layerlapse.batch.job`: what a worker runs for one job
- :mod:`~layerlapse.batch.gallery`: ``OUT/index.html``, the offline table of a sweep's jobs
- :mod:`~layerlapse.batch.cluster`: the Dask cluster (a running scheduler or a local one)
- :mod:`~layerlapse.batch.lock`: ``OUT/.lock``, one driver per output folder
- :mod:`~layerlapse.batch.driver`: :func:`batch`, which schedules the jobs and writes the manifest
- :mod:`~layerlapse.batch.reproduce`: ``layerlapse reproduce``, the essay's claims as one sweep

Dask is imported only once jobs are to run (``--dry-run`` never imports it).
"""

from layerlapse.batch.driver import BatchResult, batch, check_out, dry_run, plan, unique_jobs
from layerlapse.batch.manifest import MANIFEST, JobOutput, OutputKind, Record, read_manifest
from layerlapse.batch.sweep import Job, read_sweep

__all__ = [
    "MANIFEST",
    "BatchResult",
    "Job",
    "JobOutput",
    "OutputKind",
    "Record",
    "batch",
    "check_out",
    "dry_run",
    "plan",
    "read_manifest",
    "read_sweep",
    "unique_jobs",
]
