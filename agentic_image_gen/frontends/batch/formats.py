"""A shop's catalog as products: a CSV in one of three shapes, recognised by its header.

* simple: ``sku``, ``prompt`` or ``title``, ``image`` (paths or URLs separated by ``|``);
* a Shopify product export: ``Handle`` and ``Image Src``; rows sharing a handle are one
  product, its images in ``Image Position`` order;
* a Google Merchant feed: ``id``, ``title``, ``image_link`` and ``additional_image_link``
  (comma separated).

Every other column is an attribute a ``--prompt-template`` may name, by its header as written
or in lower case with ``_`` for spaces (``{Title}`` or ``{title}``, ``{Image Src}`` or
``{image_src}``). A bad row (no id, no image, an image that is missing or not an image, an
empty prompt, an id seen before) is reported with its row number (the header is row 1) and
skipped; a template naming a column the catalog lacks stops everything before it starts.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Literal

from agentic_image_gen.core.errors import InputError

Format = Literal["simple", "shopify", "google"]
FORMATS: tuple[Format, ...] = ("simple", "shopify", "google")
_NEEDS: dict[Format, tuple[str, ...]] = {
    "shopify": ("handle", "image_src"),
    "google": ("id", "title", "image_link"),
    "simple": ("sku", "image"),
}
_ID_COLUMN: dict[Format, str] = {"simple": "sku", "shopify": "handle", "google": "id"}
_Row = dict[str, str | None]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FOLDER_CHARS = 80


@dataclass(frozen=True)
class Product:
    id: str
    row: int  # the row it starts on (the header is row 1)
    folder: str  # its folder name under the batch's --out: the id made safe
    prompt: str
    title: str
    images: tuple[str, ...]  # absolute paths or URLs, in order
    columns: Mapping[str, str | None] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class BadRow:
    row: int
    id: str
    error: str


@dataclass(frozen=True)
class Catalog:
    path: Path
    format: Format
    products: list[Product]
    bad_rows: list[BadRow]


def folder_name(product_id: str) -> str:
    """The id as a folder name: itself when it is safe, else its safe characters and a short
    hash of the id (so two ids never share a folder, and the name never changes)."""
    safe = _UNSAFE.sub("-", product_id).strip(".-")[:MAX_FOLDER_CHARS] or "product"
    if safe == product_id:
        return safe
    return f"{safe}-{hashlib.sha256(product_id.encode()).hexdigest()[:8]}"


def normalised(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def read_catalog(
    path: Path, fmt: Format | None = None, template: str | None = None
) -> Catalog:
    """Every product of the catalog at ``path`` and every row skipped, with why."""
    rows, headers = _rows(path)
    names = {normalised(header) for header in headers}
    fmt = fmt or _recognised(names, path)
    missing = [name for name in _NEEDS[fmt] if name not in names]
    if fmt == "simple" and not names & {"prompt", "title"}:
        missing.append("prompt or title")
    if missing:
        raise InputError(f"{path}: a {fmt} catalog needs the columns {', '.join(missing)}")
    _check_template(template, headers, path)
    grouped = _shopify_products(rows) if fmt == "shopify" else _single_rows(rows, fmt)
    products: list[Product] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    for row, columns, images in grouped:
        product_id = _text(columns, _ID_COLUMN[fmt])
        if not product_id:
            bad.append(BadRow(row, "", f"no {_ID_COLUMN[fmt]}"))
            continue
        if product_id in seen:
            bad.append(BadRow(row, product_id, f"the id is on row {seen[product_id]} already"))
            continue
        seen[product_id] = row
        try:
            products.append(_product(row, product_id, columns, images, template, path.parent))
        except _Bad as why:
            bad.append(BadRow(row, product_id, str(why)))
    return Catalog(path.resolve(), fmt, products, bad)


class _Bad(Exception):
    """Why one row is skipped."""


def _rows(path: Path) -> tuple[list[_Row], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"catalog {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"catalog {path} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"catalog {path} cannot be read: {exc.strerror or exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count)  # Merchant feeds are often tab separated
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        rows = [
            {key: None if value is None else value.strip() for key, value in row.items() if key}
            for row in reader
        ]
    except csv.Error as exc:
        raise InputError(f"catalog {path}: row {reader.line_num}: {exc}") from None
    headers = [header for header in reader.fieldnames or [] if header]
    if not headers:
        raise InputError(f"catalog {path} is empty: it needs a header row")
    return rows, headers


def _text(columns: Mapping[str, str | None], key: str) -> str:
    return columns.get(key) or ""


def _recognised(names: set[str], path: Path) -> Format:
    for fmt in ("shopify", "google", "simple"):
        if all(name in names for name in _NEEDS[fmt]):
            return fmt
    raise InputError(
        f"{path}: not a catalog this reads: its header needs sku and image (simple), Handle "
        "and Image Src (a Shopify export) or id, title and image_link (a Google Merchant "
        "feed); or say which with --catalog-format"
    )


def _with_aliases(row: _Row) -> _Row:
    """The row by its headers as written and as normalised (``Image Src``, ``image_src``);
    None where the row is shorter than the header."""
    columns = {normalised(key): value for key, value in row.items()}
    columns.update(row)
    return columns


def _single_rows(
    rows: list[_Row], fmt: Format
) -> Iterator[tuple[int, _Row, list[str]]]:
    for number, row in enumerate(rows, start=2):
        columns = _with_aliases(row)
        if fmt == "google":
            extra = _text(columns, "additional_image_link").split(",")
            images = [_text(columns, "image_link"), *extra]
        else:
            images = _text(columns, "image").split("|")
        yield number, columns, images


def _shopify_products(
    rows: list[_Row],
) -> Iterator[tuple[int, _Row, list[str]]]:
    """Rows sharing a Handle as one product: the first row's columns (title, vendor, ...),
    every row's image by its position (rows without a position keep their order, last)."""
    products: dict[str, tuple[int, _Row, list[tuple[float, int, str]]]] = {}
    for number, row in enumerate(rows, start=2):
        columns = _with_aliases(row)
        handle = _text(columns, "handle")
        if not handle:
            yield number, columns, []
            continue
        first = products.setdefault(handle, (number, columns, []))
        for key, value in columns.items():  # a later row may fill what the first left empty
            if value and not first[1].get(key):
                first[1][key] = value
        if source := _text(columns, "image_src"):
            position = _text(columns, "image_position")
            rank = float(position) if position.isdigit() else float("inf")
            first[2].append((rank, number, source))
    for start, merged, images in products.values():
        yield start, merged, [source for _rank, _row, source in sorted(images)]


def _product(
    row: int,
    product_id: str,
    columns: _Row,
    images: list[str],
    template: str | None,
    base: Path,
) -> Product:
    title = _text(columns, "title")
    if template is not None:
        prompt = _filled(template, columns, row)
    else:
        prompt = _text(columns, "prompt") or title
    if not prompt:
        raise _Bad("the prompt is empty (no prompt or title)")
    found = list(dict.fromkeys(image.strip() for image in images if image.strip()))
    if not found:
        raise _Bad("no image")
    return Product(
        id=product_id,
        row=row,
        folder=folder_name(product_id),
        prompt=prompt,
        title=title,
        images=tuple(_image(image, base) for image in found),
        columns=columns,
    )


def _image(image: str, base: Path) -> str:
    """A URL as it is (the engine fetches and checks it); a path relative to the catalog's
    folder, checked to be an image now so the row is skipped rather than the run failed."""
    if "://" in image:
        return image
    path = (base / image).resolve()
    if not path.is_file():
        raise _Bad(f"image {image}: no such file")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _Bad(f"image {image} cannot be read as an image ({type(exc).__name__})") from None
    except Image.DecompressionBombError:
        raise _Bad(f"image {image} is too large to open safely") from None
    return str(path)


def _check_template(template: str | None, headers: list[str], path: Path) -> None:
    """Every column the template names is in the header (checked before any row runs)."""
    if template is None:
        return
    known = {*headers, *(normalised(header) for header in headers)}
    try:
        named = [name for _text, name, _spec, _conv in Formatter().parse(template) if name]
    except ValueError as exc:
        raise InputError(f"--prompt-template is not a template: {exc}") from None
    for name in named:
        if name not in known:
            raise InputError(
                f"--prompt-template names {{{name}}}, a column row 1 of {path.name} does not "
                f"have (it has: {', '.join(headers)})"
            )


def _filled(template: str, columns: Mapping[str, str | None], row: int) -> str:
    """The template with the row's columns; a row without one of them (shorter than the
    header) stops everything, naming the row."""
    try:
        return template.format_map(_Strict(columns)).strip()
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise InputError(f"--prompt-template: row {row} has no column {exc}") from None


class _Strict(dict[str, str | None]):
    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value
