"""What a batch leaves beside its run folders: ``catalog.json`` (every product and every
skipped row), ``catalog.csv`` (the products as rows), ``catalog.html`` (a contact sheet of the
best images, filterable by status) and, with ``--export shopify``, a CSV a shop imports to
attach the new images. All are rebuilt from the state at the end of every batch."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentic_image_gen.frontends.batch.formats import BadRow, Catalog
from agentic_image_gen.frontends.batch.state import STATUSES, Record

PRODUCT_KEYS = (
    "id", "row", "status", "best_image", "delivery", "score", "compliant", "cost_usd",
    "run_dir", "error", "url", "report", "title",
)
SHOPIFY_EXPORT = "shopify-images.csv"


@dataclass(frozen=True)
class Written:
    json: Path
    csv: Path
    html: Path
    export: Path | None


def product_json(record: Record) -> dict[str, Any]:
    values = {
        "id": record.id,
        "row": record.row,
        "status": record.status,
        "best_image": record.best_image,
        "delivery": record.delivery,
        "score": record.score,
        "compliant": record.compliant,
        "cost_usd": round(record.cost_usd, 6),
        "run_dir": record.run_dir,
        "error": record.error,
        "url": record.url,
        "report": record.report,
        "title": record.title,
    }
    return {key: values[key] for key in PRODUCT_KEYS}


def summary(
    catalog: Catalog, records: list[Record], max_cost: float | None
) -> dict[str, Any]:
    """What the JSON files and stdout share: counts, the cost, what is not done and why."""
    statuses = Counter(record.status for record in records)
    counts: dict[str, int] = {"products": len(records)}
    counts.update({status: statuses.get(status, 0) for status in ("done", "failed", "pending")})
    counts["skipped_rows"] = len(catalog.bad_rows)
    counts["compliant"] = sum(1 for r in records if r.status == "done" and r.compliant is True)
    counts["not_compliant"] = sum(
        1 for r in records if r.status == "done" and r.compliant is False
    )
    return {
        "catalog": str(catalog.path),
        "format": catalog.format,
        "counts": counts,
        "cost_usd": round(sum(record.cost_usd for record in records), 6),
        "max_cost": max_cost,
        "not_done": [
            {"id": r.id, "row": r.row, "status": r.status, "error": r.error or "not started yet"}
            for r in records
            if r.status != "done"
        ],
        "skipped_rows": [_bad(row) for row in catalog.bad_rows],
    }


def _bad(row: BadRow) -> dict[str, Any]:
    return {"row": row.row, "id": row.id, "error": row.error}


def write_all(
    out_dir: Path,
    catalog: Catalog,
    records: list[Record],
    max_cost: float | None,
    export: str | None,
) -> Written:
    head = summary(catalog, records, max_cost)
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    document = {**head, "generated_at": generated,
                "products": [product_json(record) for record in records]}
    paths = Written(
        json=out_dir / "catalog.json",
        csv=out_dir / "catalog.csv",
        html=out_dir / "catalog.html",
        export=out_dir / SHOPIFY_EXPORT if export == "shopify" else None,
    )
    _atomic(paths.json, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _atomic(paths.csv, _csv(PRODUCT_KEYS, [product_json(r) for r in records]))
    _atomic(paths.html, render_html(out_dir, head, records, generated))
    if paths.export is not None:
        _atomic(paths.export, shopify_csv(records))
    return paths


def _csv(keys: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else _cell(row[k]) for k in keys})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A spreadsheet would run a cell starting with = + - @ as a formula: quote it as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def shopify_csv(records: list[Record]) -> str:
    """Rows Shopify's product import reads to attach an image to an existing product (by
    Handle), as its first image: every done product whose delivery was uploaded."""
    rows = [
        {
            "Handle": record.id,
            "Image Src": record.url,
            "Image Position": 1,
            "Image Alt Text": record.title,
        }
        for record in records
        if record.status == "done" and record.url
    ]
    return _csv(("Handle", "Image Src", "Image Position", "Image Alt Text"), rows)


def render_html(
    out_dir: Path, head: dict[str, Any], records: list[Record], generated: str
) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("agentic_image_gen.frontends.batch", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    cards = [
        {
            **product_json(record),
            "image": _link(out_dir, record.delivery or record.best_image),
            "report_link": _link(out_dir, record.report),
        }
        for record in records
    ]
    statuses = Counter(record.status for record in records)
    return environment.get_template("catalog.html.j2").render(
        head=head, cards=cards, statuses=statuses, generated=generated,
        filters=[status for status in STATUSES if statuses.get(status)],
    )


def _link(out_dir: Path, path: str | None) -> str | None:
    """A path as the page links it: relative to the batch folder (the page moves with it)."""
    if not path:
        return None
    relative = os.path.relpath(path, out_dir)
    return Path(relative).as_posix()


def _atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
