"""``punchlog push FILE --url URL --key KEY``: send a CSV/JSONL of logs to any compatible
endpoint (punchlog or Keka), in batches, with retries and a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from punchlog.cli.output import JsonOpt, console, emit_json, fail
from punchlog.client.push import PushError, push_file


def push(
    file: Annotated[Path, typer.Argument(help="CSV (with header) or JSONL of logs.")],
    url: Annotated[str, typer.Option(help="Base URL or the /v1/logs endpoint.")],
    key: Annotated[str, typer.Option(help="API key (ingest scope).", envvar="PUNCHLOG_PUSH_KEY")],
    batch_size: Annotated[int, typer.Option(help="Logs per request (at most 1000).")] = 1000,
    max_attempts: Annotated[int, typer.Option(help="Tries per batch before giving up.")] = 8,
    json_out: JsonOpt = False,
) -> None:
    """Push logs from a file; retries 5xx/429/network errors with backoff."""
    try:
        with Progress(console=console, disable=json_out, transient=True) as progress:
            task = progress.add_task("pushing", total=None)

            def on_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = push_file(
                file,
                url=url,
                key=key,
                batch_size=min(batch_size, 1000),
                max_attempts=max_attempts,
                on_progress=on_progress,
            )
    except PushError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    payload = {
        "batches": summary.batches,
        "received": summary.received,
        "accepted": summary.accepted,
        "duplicate": summary.duplicate,
        "unmatched": summary.unmatched,
        "rejected": summary.rejected,
        "rejectedByReason": summary.rejected_by_reason,
        "rejections": [
            {"line": r.line, "reason": r.reason, "message": r.message} for r in summary.rejections
        ],
    }
    if json_out:
        emit_json(payload)
        return
    console.print(
        f"received {summary.received}, accepted {summary.accepted} "
        f"({summary.duplicate} duplicate, {summary.unmatched} unmatched), "
        f"rejected {summary.rejected} in {summary.batches} batches",
        markup=False,
    )
    for reason, count in sorted(summary.rejected_by_reason.items()):
        console.print(f"  {reason}: {count}", markup=False)
    for rejection in summary.rejections[:20]:
        console.print(
            f"  line {rejection.line}: {rejection.reason}: {rejection.message}", markup=False
        )
