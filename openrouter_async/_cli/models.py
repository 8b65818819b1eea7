"""``openrouter-async models``: the model catalog as a table, filtered.

``GET /models`` is public: without a key the request goes without one. Filters are sent to
it (``q``, ``model_authors``, ``output_modalities``) and applied again to what comes back, so
the table is right whether or not a server honours them.
Prices arrive as USD per token in strings; they are shown per million tokens, as ``Decimal``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
from rich.table import Table
from rich.text import Text

from ._common import add_client_arguments, open_client, per_million, positive_int, stdout_console

if TYPE_CHECKING:
    from .._client import OpenRouter
    from ..types.models import Model

__all__ = ["MODALITIES", "ModelRow", "add_arguments", "filter_rows", "format_price", "run"]

#: ``output_modalities`` values in OpenRouter's OpenAPI description, plus ``all``.
MODALITIES = (
    "text",
    "image",
    "audio",
    "embeddings",
    "video",
    "rerank",
    "speech",
    "transcription",
    "all",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q", "--search", metavar="TEXT", help="only models whose id or name contains TEXT"
    )
    parser.add_argument(
        "--author", metavar="AUTHOR", help="only models by this author (the part before '/')"
    )
    parser.add_argument(
        "--modality",
        choices=MODALITIES,
        metavar="MODALITY",
        help=f"output modality: {', '.join(MODALITIES)} (default: text, as the API's)",
    )
    parser.add_argument("--limit", type=positive_int, metavar="N", help="show at most N models")
    add_client_arguments(parser)


@attrs.frozen(kw_only=True)
class ModelRow:
    id: str
    name: str = ""
    context_length: int | None = None
    prompt: Decimal | None = None  # USD per million tokens
    completion: Decimal | None = None
    output_modalities: tuple[str, ...] | None = None


def to_row(model: Model) -> ModelRow:
    pricing = model.pricing
    architecture = model.architecture
    return ModelRow(
        id=model.id,
        name=model.name,
        context_length=model.context_length,
        prompt=per_million(pricing.prompt) if pricing is not None else None,
        completion=per_million(pricing.completion) if pricing is not None else None,
        output_modalities=(
            tuple(architecture.output_modalities)
            if architecture is not None and architecture.output_modalities
            else None
        ),
    )


def filter_rows(
    rows: Iterable[ModelRow],
    *,
    search: str | None = None,
    author: str | None = None,
    modality: str | None = None,
    limit: int | None = None,
) -> list[ModelRow]:
    found: list[ModelRow] = []
    needle = search.lower() if search else None
    for row in rows:
        if needle and needle not in row.id.lower() and needle not in row.name.lower():
            continue
        if author and row.id.split("/", 1)[0].lower() != author.lower():
            continue
        if (
            modality
            and modality != "all"
            and row.output_modalities is not None
            and modality not in row.output_modalities
        ):
            continue
        found.append(row)
        if limit is not None and len(found) >= limit:
            break
    return found


def format_price(price: Decimal | None) -> str:
    if price is None:
        return "-"
    if price < 0:
        return "varies"  # openrouter/auto and friends send -1
    if price == 0:
        return "free"
    if price < Decimal("0.000001"):
        return "<$0.000001"
    # At least cents, more digits only when the price has them: $0.60, $0.075, $15.00.
    whole, _, frac = f"{price:,.6f}".partition(".")
    return f"${whole}.{frac.rstrip('0').ljust(2, '0')}"


def build_table(rows: list[ModelRow], *, title: str | None = None) -> Table:
    table = Table(title=title, header_style="bold", title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("context", justify="right")
    table.add_column("prompt $/1M", justify="right")
    table.add_column("completion $/1M", justify="right")
    for row in rows:
        table.add_row(
            row.id,
            f"{row.context_length:,}" if row.context_length is not None else "-",
            format_price(row.prompt),
            format_price(row.completion),
        )
    return table


async def fetch_models(client: OpenRouter, args: argparse.Namespace) -> list[Model]:
    page = await client.models.list(
        q=args.search or None,
        model_authors=args.author or None,
        output_modalities=args.modality or None,
    )
    return list(page.data)


async def run(args: argparse.Namespace) -> int:
    async with open_client(args, key_required=False) as client:  # the catalog is public
        models = await fetch_models(client, args)
    rows = filter_rows(
        (to_row(m) for m in models),
        search=args.search,
        author=args.author,
        modality=args.modality,
        limit=args.limit,
    )
    out = stdout_console()
    if not rows:
        out.print(Text("No models match.", style="yellow"))
        return 0
    shown = f"{len(rows)} of {len(models)}" if len(rows) < len(models) else str(len(rows))
    out.print(build_table(rows, title=f"Models ({shown})"))
    return 0
