"""A whole catalog (frontends/batch), offline with the local providers: the three CSV shapes,
bad rows, the catalog files and page, a second batch refused, failed products retried only
when asked, export and upload against a local S3 stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes.file_server import FileServer
from images import ring_photo

from agentic_image_gen.core.errors import InputError
from agentic_image_gen.frontends import cli
from agentic_image_gen.frontends.batch.formats import folder_name, read_catalog
from agentic_image_gen.frontends.batch.state import State

# Fast runs: the classical cut, small images, one round.
LOCAL = ("--provider", "local", "--segmenter", "classical", "--size", "512x512",
         "--max-iterations", "1")

SHOPIFY = """\
Handle,Title,Body (HTML),Vendor,Type,Tags,Option1 Name,Option1 Value,Variant SKU,Image Src,\
Image Position
gold-ring,Gold ring <b>18k</b>,<p>An 18k ring</p>,Acme,Ring,"gold, ring",Size,6,GR-6,side.png,2
gold-ring,,,,,,Size,7,GR-7,front.jpg,1
silver-band,Silver band,,Acme,Ring,,Size,6,SB-6,band.jpg,1
lonely,Lonely product,,Acme,Ring,,Size,6,LP-6,,
"""


def batch(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["batch", *argv, "--quiet"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def photos(folder: Path, *names: str) -> None:
    for number, name in enumerate(names):
        fmt = "PNG" if name.endswith(".png") else "JPEG"
        (folder / name).write_bytes(ring_photo(320 + 16 * number, 240, fmt=fmt))


def test_the_three_shapes_are_read_with_their_images_in_order_and_bad_rows_named(
    tmp_path: Path,
) -> None:
    photos(tmp_path, "front.jpg", "side.png", "band.jpg", "g1.jpg", "g1b.jpg", "a.jpg", "b.jpg")
    (tmp_path / "broken.jpg").write_text("not an image")
    (tmp_path / "shop.csv").write_text(SHOPIFY)
    shop = read_catalog(tmp_path / "shop.csv")
    assert shop.format == "shopify"
    assert [(p.id, p.row, p.prompt) for p in shop.products] == [
        ("gold-ring", 2, "Gold ring <b>18k</b>"), ("silver-band", 4, "Silver band")]
    assert [Path(i).name for i in shop.products[0].images] == ["front.jpg", "side.png"]
    assert shop.products[0].columns["Vendor"] == "Acme"
    assert [(b.row, b.id, b.error) for b in shop.bad_rows] == [(5, "lonely", "no image")]

    (tmp_path / "feed.tsv").write_text(
        "id\ttitle\timage_link\tadditional_image_link\tcolor\tmaterial\n"
        "G1\tRose ring\tg1.jpg\tg1b.jpg, https://cdn.example.com/g1c.jpg\trose\t18k gold\n"
        "G2\tPendant\tbroken.jpg\t\t\tsilver\n"
    )
    feed = read_catalog(tmp_path / "feed.tsv", template="{title}, {material}, white seamless")
    assert feed.format == "google"
    (g1,) = feed.products
    assert g1.prompt == "Rose ring, 18k gold, white seamless"
    assert g1.images == (str(tmp_path / "g1.jpg"), str(tmp_path / "g1b.jpg"),
                         "https://cdn.example.com/g1c.jpg")
    assert [(b.row, b.id) for b in feed.bad_rows] == [(3, "G2")]
    assert "cannot be read as an image" in feed.bad_rows[0].error

    (tmp_path / "simple.csv").write_text(
        "sku,prompt,title,image\n"
        "R/1,a ring on white,Ring,a.jpg|b.jpg\n"
        "R/1,again,Ring,a.jpg\n"
        ",no id,,a.jpg\n"
        "R3,,,a.jpg\n"
        "R4,ring,,nowhere.jpg\n"
    )
    simple = read_catalog(tmp_path / "simple.csv")
    (r1,) = simple.products
    assert (r1.prompt, len(r1.images), r1.folder) == ("a ring on white", 2, folder_name("R/1"))
    assert r1.folder.startswith("R-1-") and "/" not in r1.folder
    assert [(b.row, b.error) for b in simple.bad_rows] == [
        (3, "the id is on row 2 already"), (4, "no sku"),
        (5, "the prompt is empty (no prompt or title)"), (6, "image nowhere.jpg: no such file")]

    with pytest.raises(InputError, match=r"names \{material\}, a column row 1"):
        read_catalog(tmp_path / "simple.csv", template="{title} in {material}")
    (tmp_path / "short.csv").write_text("sku,title,image,material\nS1,Ring,a.jpg,gold\nS2,Ring\n")
    with pytest.raises(InputError, match="row 3 has no column 'image'"):
        read_catalog(tmp_path / "short.csv", template="{title} {image}")
    (tmp_path / "other.csv").write_text("name,picture\nx,y\n")
    with pytest.raises(InputError, match="not a catalog this reads"):
        read_catalog(tmp_path / "other.csv")


def test_a_shopify_catalog_runs_once_and_a_second_batch_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos(tmp_path, "front.jpg", "side.png", "band.jpg")
    (tmp_path / "shop.csv").write_text(SHOPIFY)
    out = tmp_path / "out"
    # 576 px: instagram-feed's 1080 px is then within the 2x a delivery may enlarge.
    argv = (str(tmp_path / "shop.csv"), "--out", str(out), *LOCAL, "--size", "576x576",
            "--profile", "instagram-feed")
    code, summary, err = batch(capsys, *argv)
    assert code == 10, err  # a row was skipped
    assert summary["counts"] == {"products": 2, "done": 2, "failed": 0, "pending": 0,
                                 "skipped_rows": 1, "compliant": 2, "not_compliant": 0}
    assert summary["skipped_rows"] == [{"row": 5, "id": "lonely", "error": "no image"}]
    assert summary["not_done"] == [] and summary["cost_usd"] == 0
    document = json.loads((out / "catalog.json").read_text())
    gold, band = document["products"]
    assert (gold["id"], gold["row"], gold["status"], gold["compliant"]) == (
        "gold-ring", 2, "done", True)
    (run_dir,) = (out / "gold-ring").iterdir()  # one run folder, under the product's folder
    assert gold["run_dir"] == str(run_dir)
    references = sorted((run_dir / "references").iterdir())
    assert [ref.read_bytes()[:4] for ref in references] == [b"\xff\xd8\xff\xe0", b"\x89PNG"]
    assert Path(gold["delivery"]).is_file() and Path(gold["report"]).is_file()
    assert gold["score"] == json.loads((run_dir / "run.json").read_text())["result"][
        "iterations"][0]["evaluation"]["score"]
    rows = (out / "catalog.csv").read_text().splitlines()
    assert rows[0].startswith("id,row,status,best_image,delivery,score,compliant,cost_usd")
    assert rows[1].startswith("gold-ring,2,done,") and len(rows) == 3
    page = (out / "catalog.html").read_text()
    assert "Gold ring &lt;b&gt;18k&lt;/b&gt;" in page and "<b>18k</b>" not in page
    assert page.count('<article class="card s-done') == 2
    assert "Rows skipped" in page and "lonely" in page

    journals = {path: path.read_bytes() for path in out.glob("*/*/run.json")}
    code, again, _ = batch(capsys, *argv)
    assert code == 10 and again["counts"] == summary["counts"]
    assert {path: path.read_bytes() for path in out.glob("*/*/run.json")} == journals
    assert band["status"] == "done" and len(list((out / "silver-band").iterdir())) == 1


def test_the_contact_sheet_filters_by_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chromium: Any
) -> None:
    photos(tmp_path, "ring.jpg")
    (tmp_path / "c.csv").write_text(
        "sku,title,image\nA,Gold ring,ring.jpg\nB,Gone ring,http://127.0.0.1:9/gone.jpg\n")
    out = tmp_path / "out"
    code, summary, _ = batch(capsys, str(tmp_path / "c.csv"), "--out", str(out), *LOCAL)
    assert code == 10 and summary["counts"]["failed"] == 1
    with chromium.page(1000, 700) as page:
        page.goto((out / "catalog.html").as_uri())
        cards = page.locator("article.card")
        assert cards.count() == 2
        image = page.locator("article.s-done img")
        assert image.evaluate("img => img.naturalWidth") == 512  # the best image loads
        page.click("label[for=show-failed]")
        visible = [cards.nth(number).is_visible() for number in range(2)]
        assert visible == [False, True]
        assert "127.0.0.1" in page.locator("article.s-failed .error").inner_text()
        page.click("label[for=show-all]")
        assert all(cards.nth(number).is_visible() for number in range(2))


def test_a_failed_product_is_retried_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FileServer() as files:
        (tmp_path / "c.csv").write_text(f"sku,title,image\nU1,Ring,{files.url('/ring.jpg')}\n")
        argv = (str(tmp_path / "c.csv"), "--out", str(tmp_path / "out"), *LOCAL,
                "--allow-private-urls")
        code, summary, _ = batch(capsys, *argv)
        assert code == 10 and summary["not_done"][0]["status"] == "failed"
        assert "404" in summary["not_done"][0]["error"]
        assert len(files.hits) == 1
        code, summary, _ = batch(capsys, *argv)  # failed products wait for --retry-failed
        assert code == 10 and len(files.hits) == 1
        files.add("/ring.jpg", ring_photo())
        code, summary, err = batch(capsys, *argv, "--retry-failed")
        assert code == 0, err
        assert summary["counts"]["done"] == 1 and len(files.hits) == 2


def test_a_second_batch_on_the_same_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos(tmp_path, "ring.jpg")
    (tmp_path / "c.csv").write_text("sku,title,image\nA,Ring,ring.jpg\n")
    with State(tmp_path / "out"):  # a batch that is running holds the folder
        code, summary, err = batch(capsys, str(tmp_path / "c.csv"), "--out",
                                   str(tmp_path / "out"), *LOCAL)
    assert code == 7 and summary == {}
    assert "in use by another batch" in err and str(tmp_path / "out") in err
    assert not (tmp_path / "out" / "A").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--review", "rounds"), "--review is refused here"),
        (("--refs", "x.jpg"), "--refs cannot be given"),
        (("--export", "shopify"), "--export shopify needs --upload"),
        (("--rate", "openai=fast"), "is not PROVIDER=N/min"),
        (("--rate", "nobody=5/s"), "'nobody' is not an installed provider"),
        (("--prompt-template", "{colour}"), "names {colour}"),
        (("--candidates", "99"), "--candidates must be between 1 and 8"),
    ],
)
def test_bad_flags_are_one_line_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    photos(tmp_path, "ring.jpg")
    (tmp_path / "c.csv").write_text("sku,title,image\nA,Ring,ring.jpg\n")
    code, summary, err = batch(capsys, str(tmp_path / "c.csv"), "--out",
                               str(tmp_path / "out"), *LOCAL, *flags)
    assert code == 2 and summary == {}
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "A").exists()
