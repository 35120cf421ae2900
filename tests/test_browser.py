"""Reports opened in a real headless browser (Debian chromium + chromedriver, driven by selenium).

No console errors, every figure embedded and drawn, a table of contents, title/dataset/parameters
shown, readable at 1280 px (no table wider than the page, one title, no machine paths or Python reprs); a screenshot of each report is saved in the run folder. A dataset
carrying <script> and <img onerror> payloads must execute nothing.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]


def _ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver when missing (the test setup; needs root)."""
    if Path(CHROMIUM).exists() and Path(DRIVER).exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("chromium and chromium-driver are needed: apt-get install -y chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env,
                   capture_output=True)


@pytest.fixture(scope="module")
def browser():
    _ensure_chromium()
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1280,1600"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _open(driver, path: Path) -> list[dict]:
    driver.get(path.resolve().as_uri())
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _pages(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("*.html"))


def test_reports_render_cleanly_in_chromium(browser, demo_pack_run):
    run_dir = Path(demo_pack_run.run_dir)
    shots = run_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = _pages(run_dir)
    assert any(p.name == "index.html" for p in pages) and len(pages) >= 2
    for page in pages:
        errors = _open(browser, page)
        assert not errors, f"{page.name}: console errors {errors}"
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.src.slice(0, 22), i.naturalWidth]);")
        assert all(src.startswith("data:image/") and w > 0 for src, w in images), f"{page.name}: {images[:3]}"
        width = browser.execute_script("return document.documentElement.scrollWidth;")
        assert width <= 1280, f"{page.name} needs {width}px at 1280px"
        wide = browser.execute_script(
            "return Array.from(document.querySelectorAll('table')).filter(t => t.scrollWidth > t.clientWidth + 1)"
            ".map(t => (t.querySelector('caption') || {}).textContent || t.textContent.slice(0, 80));")
        assert not wide, f"{page.name}: tables wider than the page (cut off at 1280 px): {wide}"
        text = browser.find_element("tag name", "body").text
        leaks = re.findall(r"PosixPath\(|/work/|/tmp/|/home/|object at 0x|\.metrics\.json", text)
        assert not leaks, f"{page.name} shows machine paths or Python reprs: {sorted(set(leaks))}"
        titles = browser.find_elements("tag name", "h1")
        assert len(titles) == 1, f"{page.name} shows {len(titles)} titles: {[t.text for t in titles]}"
        if page.name == "index.html":
            assert "Dataset" in text and browser.find_elements("css selector", "nav a")
        else:
            toc = browser.find_elements("css selector", "nav.ck-toc a")
            assert toc, f"{page.name} has no table of contents"
            assert "Dataset" in text and "privacy" in text, f"{page.name} lacks its header"
            heading = browser.find_element("tag name", "h1").text
            assert heading.strip(), f"{page.name} has no title"
            n_img = len(images)
            n_fig_cells = page.read_text().count('src="data:image/')
            assert n_img == n_fig_cells
        browser.save_screenshot(str(shots / f"{page.stem}.png"))
        assert (shots / f"{page.stem}.png").stat().st_size > 10_000


PAYLOAD_TITLE = 'Shop <script>window.__xss = "title"</script><img src=x onerror="window.__xss=\'img\'">'


def test_markup_in_data_executes_nothing(browser, tmp_path):
    from toolkit.runner import load_config, run_pack

    rows = "".join(f"c{i % 5},o{i},2025-01-{1 + i % 28:02d},{10 + i}.5\n" for i in range(80))
    bad = ('c1,x1,"<script>window.__xss=\'date\'</script>",5\n'
           'c2,x2,2025-02-01,"<img src=x onerror=""window.__xss=\'amount\'"">"\n')
    (tmp_path / "tx.csv").write_text("cust_id,invoice,invoice_date,net_amount\n" + rows + bad)
    spec = {"name": "xss", "title": PAYLOAD_TITLE, "as_of": "2025-12-31",
            "tables": {"transactions": {"file": "tx.csv", "columns": {
                "customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date", "amount": "net_amount"}}}}
    (tmp_path / "xss.yaml").write_text(yaml.safe_dump(spec))
    cfg = load_config(ROOT / "config" / "reports.yaml", dataset=str(tmp_path / "xss.yaml"),
                      output_dir=str(tmp_path / "out"))
    outcome = run_pack(cfg, only=["data_quality"], echo=lambda *a, **k: None)
    assert outcome.exit_code == 0
    run_dir = Path(outcome.run_dir)
    for page in (run_dir / "data_quality.html", run_dir / "index.html"):
        _open(browser, page)
        assert browser.execute_script("return window.__xss === undefined;"), f"payload ran in {page.name}"
        html = page.read_text()
        assert "<script>window.__xss" not in html and "<img src=x" not in html  # only escaped forms
    # the payloads are shown as text, not dropped
    _open(browser, run_dir / "data_quality.html")
    assert "<script>window.__xss='date'</script>" in browser.find_element("tag name", "body").text
