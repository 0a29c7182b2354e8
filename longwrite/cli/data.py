"""`longwrite synth` and `longwrite curate` (filter, mix): making and choosing SFT data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from longwrite.cli.app import app
from longwrite.cli.options import (
    INPUT_FORMS,
    ApiKey,
    HfDataset,
    ModelId,
    PushToHub,
    SaveToDisk,
    one_source,
    settings_from,
)


@app.command(
    epilog=(
        "Examples:\n\n  longwrite synth instructions.jsonl -o synth.jsonl --concurrency 2\n\n"
        "  longwrite synth instructions.jsonl -o synth.jsonl --concurrency 16 --base-url http://gpu1:8000/v1 "
        "--base-url http://gpu2:8000/v1 --model Qwen/Qwen2.5-7B-Instruct\n\n"
        "  longwrite synth hf:THUDM/LongWriter-6k --limit 100 -o synth.jsonl --push-to-hub me/longwrite-synth"
    )
)
def synth(
    output: Annotated[Path, typer.Option("-o", "--output", help="SFT rows are appended here")],
    source: Annotated[
        Path | None,
        typer.Argument(help=f'instructions: rows {{"prompt", optional "id", "length"}} ({INPUT_FORMS})'),
    ] = None,
    hf_dataset: HfDataset = None,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="documents written at once")] = 1,
    base_urls: Annotated[
        list[str] | None, typer.Option("--base-url", help="endpoint (repeat for round robin); unset = embedded")
    ] = None,
    model: ModelId = None,
    api_key: ApiKey = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="write at most N documents")] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="write in a random order (see --seed)")] = False,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="retry the rows in OUT.errors.jsonl")] = False,
) -> None:
    """Batch AgentWrite synthesis of long-output SFT data; rerun the same command to resume."""
    from longwrite.training.datasets_io import check_outputs
    from longwrite.training.rows import publish_file
    from longwrite.training.synth import SynthRequest, synthesize

    source = one_source(source, hf_dataset)
    check_outputs(save_to_disk, push_to_hub)  # before a run that may take days
    request = SynthRequest(
        source=source,
        output=output,
        concurrency=concurrency,
        base_urls=tuple(base_urls or ()),
        limit=limit,
        shuffle=shuffle,
        seed=seed,
        retry_errors=retry_errors,
    )
    summary = synthesize(request, settings_from(None, model, api_key))
    if published := publish_file(output, save_to_disk, push_to_hub):
        summary["published"] = published  # stdout stays one JSON object
    typer.echo(json.dumps(summary))


class _CurateGroup(TyperGroup):
    """`longwrite curate IN -o OUT` filters; `longwrite curate mix ...` mixes."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["filter", *args]
        return super().parse_args(ctx, args)


curate_app = typer.Typer(
    cls=_CurateGroup,
    help="`longwrite curate IN -o OUT [--min-length-score 80] [--report DIR]` keeps rows whose answer follows the "
    "length its instruction states; `longwrite curate mix` mixes them with general data.",
    no_args_is_help=True,
)
app.add_typer(curate_app, name="curate")
Output = Annotated[Path, typer.Option("-o", "--output", help="where to write the rows (JSONL)")]


@curate_app.command(
    "filter",
    hidden=True,
    epilog="Example:\n\n  longwrite curate synth.jsonl -o curated.jsonl --min-length-score 80 --report curation/",
)
def curate_filter(
    output: Output,
    source: Annotated[Path | None, typer.Argument(help=f"rows: {INPUT_FORMS}")] = None,
    hf_dataset: HfDataset = None,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    min_length_score: Annotated[float, typer.Option("--min-length-score", min=0, max=100)] = 80.0,
    report: Annotated[Path | None, typer.Option("--report", help="folder for report.md and plots")] = None,
) -> None:
    """Keep rows whose answer follows the one length their instruction states (length score >=
    --min-length-score); drop refusals, loops and duplicate prompts."""
    from longwrite.training.curate import curate, write_report
    from longwrite.training.datasets_io import check_outputs, publish_rows
    from longwrite.training.rows import read_rows, write_rows

    source = one_source(source, hf_dataset)
    check_outputs(save_to_disk, push_to_hub)
    result = curate(read_rows(source), min_length_score)
    write_rows(output, result.kept)
    if report:
        write_report(result, report, str(source))
    published = publish_rows(result.kept, save_to_disk, push_to_hub)
    dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(result.dropped.items())) or "none"
    typer.echo(f"kept {len(result.kept)} of {len(result.decisions)} rows -> {output} (dropped: {dropped})")
    for line in published:
        typer.echo(line)


@curate_app.command(
    "mix",
    epilog="Example:\n\n  longwrite curate mix --long curated.jsonl --general chat.jsonl "
    "--ratio 20 --seed 1 -o mixed.jsonl\n\n"
    "  longwrite curate mix --long curated.jsonl --general hf:HuggingFaceTB/smoltalk/all:train -o mixed.jsonl "
    "--save-to-disk mixed-ds --push-to-hub me/longwrite-mixed",
)
def curate_mix(
    long: Annotated[Path, typer.Option("--long", help=f"long-output rows: {INPUT_FORMS}")],
    general: Annotated[
        Path, typer.Option("--general", help="general chat rows (same messages format and input forms)")
    ],
    output: Output,
    save_to_disk: SaveToDisk = None,
    push_to_hub: PushToHub = None,
    ratio: Annotated[int, typer.Option("--ratio", help="general rows per long row (Minimum Tuning: 20)")] = 20,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    allow_repeat: Annotated[bool, typer.Option("--allow-repeat", help="reuse general rows if too few")] = False,
    long_limit: Annotated[
        int | None,
        typer.Option("--long-limit", help="use N long rows, spread over their lengths (a smaller data set)"),
    ] = None,
) -> None:
    """Mix every long-output row (or --long-limit of them) with RATIO general rows, shuffled."""
    from longwrite.training.datasets_io import check_outputs, publish_rows
    from longwrite.training.mix import mix
    from longwrite.training.rows import read_rows, write_rows

    check_outputs(save_to_disk, push_to_hub)
    result = mix(read_rows(long), read_rows(general), ratio, seed, allow_repeat, long_limit)
    write_rows(output, result.rows)
    published = publish_rows(result.rows, save_to_disk, push_to_hub)
    repeated = f" ({result.repeated_general} general rows used twice)" if result.repeated_general else ""
    typer.echo(f"{result.long} long + {result.general} general = {len(result.rows)} rows{repeated} -> {output}")
    for line in published:
        typer.echo(line)
