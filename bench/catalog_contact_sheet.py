"""The catalog page (catalog.html) of a small demo catalog, as the README shows it (bench, not a
test). Offline: the local providers on drawn product shots and the project's own sample photo
(no development photo is copied into a picture); one product's photo URL is unreachable (it
fails) and one row has no image (it is skipped). Chromium (Playwright) takes the screenshot.
Run: python bench/catalog_contact_sheet.py [--out docs/catalog-screenshot.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = (  # sku, title, metal (RGB), backdrop, fill
    ("RG-101", "Gold band with a sapphire", (0.83, 0.66, 0.22), "table", 0.6),
    ("RG-102", "Sterling silver band", (0.78, 0.79, 0.82), "dark", 0.55),
    ("RG-103", "Rose gold solitaire", (0.86, 0.56, 0.47), "dark", 0.5),
    ("RG-104", "Platinum ring <limited>", (0.86, 0.86, 0.88), "table", 0.7),
    ("RG-105", "Brushed gold ring", (0.75, 0.6, 0.25), "white", 0.45),
)


def build(work: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from local_images import product_shot

    rows = ["sku,title,image"]
    for sku, title, metal, backdrop, fill in SHOTS:
        name = f"{sku}.png"
        (work / name).write_bytes(product_shot((640, 640), fill=fill, metal=metal,
                                               backdrop=backdrop))
        rows.append(f'{sku},"{title}",{name}')
    shutil.copy(ROOT / "examples" / "ring.jpg", work / "sample.jpg")
    rows.append("RG-106,Gold ring (the sample photo),sample.jpg")
    rows.append("RG-107,Ring from a retired CDN,http://127.0.0.1:9/rg-107.jpg")
    rows.append("RG-108,A row without a photo,")
    (work / "catalog.csv").write_text("\n".join(rows) + "\n")
    return work / "catalog.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "catalog-screenshot.png")
    args = parser.parse_args()
    from agentic_image_gen.frontends import cli

    work = Path(tempfile.mkdtemp(prefix="catalog-sheet-"))
    catalog = build(work)
    code = cli.main([
        "batch", str(catalog), "--out", str(work / "out"), "--provider", "local",
        "--segmenter", "classical", "--size", "512x512", "--max-iterations", "2",
        "--profile", "amazon-main", "--quiet",
    ])
    print(f"batch exit code {code}; the page: {work / 'out' / 'catalog.html'}", file=sys.stderr)
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import chromium_page

    with chromium_page(1180, 760) as page:
        page.goto((work / "out" / "catalog.html").as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(args.out), full_page=True)
    print(args.out)


if __name__ == "__main__":
    main()
