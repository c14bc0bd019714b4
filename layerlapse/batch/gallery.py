"""``OUT/index.html``: a sweep's jobs as one offline table (relative links, no outside URLs)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path

from layerlapse._files import WriteError, atomic_output
from layerlapse.batch.manifest import MANIFEST, OutputKind, Record, Status, read_manifest
from layerlapse.batch.sweep import Job

#: the output shown as a job's thumbnail, the first one it has
THUMBNAILS = (OutputKind.SHEET, OutputKind.FIGURE, OutputKind.FIRST_FRAME, OutputKind.CERTIFICATE_PNG)

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: middle; }
th { background: #f3f3f3; }
img { max-width: 360px; max-height: 140px; display: block; }
.failed { color: #b00020; }
.missing { color: #888; }
code { font-size: 12px; }
details { max-width: 420px; margin-top: 4px; }
"""


def write_gallery(out: Path, jobs: Iterable[Job]) -> Path:
    """Write ``out/index.html`` for ``jobs`` from the manifest's latest record of each.

    Parameters
    ----------
    out
        The batch's output folder (holding ``manifest.jsonl``).
    jobs
        The sweep's jobs, in the order shown.

    Returns
    -------
    Path
        The page.

    Raises
    ------
    WriteError
        The page could not be stored (a full disk): one line naming it and saying that the
        manifest keeps every record.
    """
    latest = read_manifest(out)
    jobs = list(jobs)
    rows = [_row(job, latest.get(job.id)) for job in jobs]
    n_done = sum(job.id in latest and latest[job.id].status is Status.DONE for job in jobs)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"generator\" content=\"layerlapse\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self' 'unsafe-inline' file:\">"
        f"<title>layerlapse batch: {len(rows)} jobs</title><style>{STYLE}</style></head><body>"
        f"<h1>layerlapse batch</h1><p>{len(rows)} jobs; {n_done} done.</p>"
        "<table><thead><tr><th>thumbnail</th><th>job</th><th>scene and parameters</th><th>accuracy, network</th>"
        "<th>time</th><th>status</th><th>outputs</th></tr></thead><tbody>\n"
        + "\n".join(rows) + "\n</tbody></table></body></html>\n"
    )
    path = out / "index.html"
    try:
        with atomic_output(path, "gallery") as tmp:
            tmp.write_text(page, encoding="utf-8")
    except WriteError as exc:  # a full disk: what the manifest still holds, and what to do
        n_failed = sum(job.id in latest and latest[job.id].status is Status.FAILED for job in jobs)
        raise WriteError(f"{exc}; the manifest {str(out / MANIFEST)!r} keeps every job's record ({n_done} done, "
                         f"{n_failed} failed): make room, then run the batch again (done jobs are skipped)") from exc
    return path


def _row(job: Job, record: Record | None) -> str:
    e = html.escape
    params = "<br>".join(f"<code>{e(k)}={e(json.dumps(v))}</code>" for k, v in job.settings().items())
    scene = (f"<b>{e(job.label)}</b><br>" if job.label else "") + e(Path(job.scene).name)
    if record is None:
        return (f'<tr class="missing"><td></td><td><code>{job.id}</code></td><td>{scene}<br>{params}</td>'
                "<td></td><td></td><td>not run</td><td></td></tr>")
    outputs = {item.kind: item.path for item in record.outputs}
    thumb = next((outputs[kind] for kind in THUMBNAILS if kind in outputs), None)
    link = outputs.get(OutputKind.MOVIE) or thumb or ""
    image = f'<a href="{e(link)}"><img src="{e(thumb)}" alt="{e(job.id)}"></a>' if thumb else ""
    accuracy = f"{100 * record.accuracy:.1f}%" if record.accuracy is not None else ""
    if record.network:
        accuracy += f"<br><small>{e(record.network)}</small>"
    wall = f"{record.wall_s:.1f} s" if record.wall_s is not None else ""
    status = e(record.status.value)
    if record.error:
        status += f'<br><span class="failed">{e(record.error)}</span>'
    links = " ".join(f'<a href="{e(path)}">{e(kind.value)}</a>' for kind, path in outputs.items())
    if record.certificate:
        links += f"<details><summary>certificate</summary><small>{e(record.certificate)}</small></details>"
    return (f'<tr class="{e(record.status.value)}"><td>{image}</td><td><code>{job.id}</code></td>'
            f"<td>{scene}<br>{params}</td><td>{accuracy}</td><td>{wall}</td><td>{status}</td><td>{links}</td></tr>")
