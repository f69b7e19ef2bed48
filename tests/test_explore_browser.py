"""The explore page in headless Chromium (Debian's, driven by its chromium-driver through
Selenium), offline, from disk: sorting, brushing, picking, hostile strings, 500 runs."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from mnist_mlp.tools.experiments import override_value
from mnist_mlp.tools.explore import explore_page
from tests.helpers import (
    CHROMIUM_NAMES,
    CHROMIUM_OFFLINE_FLAGS,
    PROJECT_ROOT,
    find_chromedriver,
    find_chromium,
    generated_runs,
    skip_unless_ci,
)

pytestmark = [pytest.mark.browser, pytest.mark.pipeline]

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--window-size=1400,1000",
    *CHROMIUM_OFFLINE_FLAGS,
]
SCRIPT = '<script>window.hacked = "script"</script>'
IMAGE = "<img src=x onerror=\"window.hacked = 'img'\">"


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    chromium, chromedriver = find_chromium(), find_chromedriver()
    if chromium is None or chromedriver is None:
        skip_unless_ci(
            f"no Chromium and chromedriver on PATH (looked for {', '.join(CHROMIUM_NAMES)} "
            "and chromedriver); `apt-get install chromium chromium-driver` to run this test"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve made-up runs, one named with a script, one with an image whose param value
    holds the script."""
    runs, artifacts = generated_runs(12)
    runs[3].names = [SCRIPT]
    runs[5].names = [IMAGE]
    runs[5].params["train"]["solver"] = SCRIPT
    path = tmp_path_factory.mktemp("explore") / "explore.html"
    path.write_text(explore_page(runs, artifacts, PROJECT_ROOT / "templates"))
    return path


def open_page(driver: WebDriver, page: Path) -> None:
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#runs tbody tr"))


def column(driver: WebDriver, key: str) -> list[str]:
    """The text of column ``key`` in each shown row, top to bottom."""
    index = driver.execute_script(
        "return [...document.querySelectorAll('#runs thead tr:first-child th')]"
        ".findIndex((th) => th.dataset.key === arguments[0])",
        key,
    )
    assert index > 0, f"no column {key}"
    return [
        row.find_elements(By.TAG_NAME, "td")[index].text
        for row in driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    ]


def test_sorts_by_test_score_either_way(driver: WebDriver, page: Path) -> None:
    open_page(driver, page)

    def sort_by(key: str) -> str:
        driver.find_element(By.CSS_SELECTOR, f'th[data-key="{key}"]').click()
        return driver.find_element(By.CSS_SELECTOR, f'th[data-key="{key}"]').text

    sort_by("name")
    by_name = column(driver, "m:test_score")
    assert by_name != sorted(by_name)
    assert sort_by("m:test_score") == "test_score ▲"
    assert column(driver, "m:test_score") == sorted(by_name)
    assert sort_by("m:test_score") == "test_score ▼"
    assert column(driver, "m:test_score") == sorted(by_name, reverse=True)


def test_brushing_an_axis_filters_the_table(driver: WebDriver, page: Path) -> None:
    open_page(driver, page)
    everything = [float(score) for score in column(driver, "m:test_score")]
    axis = driver.find_element(By.CSS_SELECTOR, 'g[data-axis="m:test_score"] rect.brush')
    height = axis.size["height"]
    ActionChains(driver).move_to_element_with_offset(axis, 0, -height // 4).click_and_hold()\
        .move_by_offset(0, height // 3).release().perform()  # fmt: skip
    kept = [float(score) for score in column(driver, "m:test_score")]
    low, high = (
        float(driver.find_element(By.CSS_SELECTOR, f'input[data-range="m:test_score:{end}"]')
              .get_attribute("value"))
        for end in ("low", "high")
    )  # fmt: skip
    assert 0 < len(kept) < len(everything)
    assert all(low <= score <= high for score in kept)
    assert sorted(kept) == sorted(s for s in everything if low <= s <= high)
    axis = driver.find_element(By.CSS_SELECTOR, 'g[data-axis="m:test_score"] rect.brush')
    ActionChains(driver).move_to_element(axis).click().perform()
    assert len(column(driver, "m:test_score")) == len(everything)


def pick(driver: WebDriver, run: int) -> None:
    """Tick run ``run``'s box in the table (the rows are drawn again after each change)."""
    driver.find_element(By.CSS_SELECTOR, f'tr[data-run="{run}"] input[type=checkbox]').click()


def canvas_pixel(driver: WebDriver, run: int, x: int, y: int) -> list[int]:
    return driver.execute_script(
        "const c = document.querySelector(`#grids figure[data-run='${arguments[0]}'] canvas`);"
        "return [...c.getContext('2d').getImageData(arguments[1], arguments[2], 1, 1).data]"
        ".slice(0, 3)",
        run,
        x,
        y,
    )


def first_pixel(data: dict, run: int, epoch: int) -> list[int]:
    """The colour the page must draw at a grid's top-left pixel: the first unit's first
    pixel, in the last epoch (its 8 bits) or the first (its top 4 bits)."""
    grid = data["runs"][run]["grid"]
    raw = zlib.decompress(base64.b64decode(grid["pixels"]))
    level = (
        raw[0] if epoch == grid["epochs"][-1] else raw[grid["units"] * grid["side"] ** 2] << 4 | 8
    )
    colours = base64.b64decode(data["colormaps"][grid["cmap"]])
    return list(colours[3 * level : 3 * level + 3])


def test_picking_two_runs_draws_both_curves_and_grids(driver: WebDriver, page: Path) -> None:
    open_page(driver, page)
    data = json.loads(driver.find_element(By.ID, "data").get_attribute("textContent"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")[:2]
    picked = [int(row.get_attribute("data-run")) for row in rows]
    for run in picked:
        pick(driver, run)
    charts = driver.find_elements(By.CSS_SELECTOR, "#curves svg")
    assert [len(chart.find_elements(By.CSS_SELECTOR, "path.series")) for chart in charts] == [2] * 3
    assert len(driver.find_elements(By.CSS_SELECTOR, "#grids canvas")) == 2
    for epoch in (10, 1):
        slider = driver.find_element(By.ID, "epoch")
        driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
            slider,
            epoch,
        )
        for run in picked:
            expected = first_pixel(data, run, epoch)
            WebDriverWait(driver, 10).until(
                lambda d, run=run, expected=expected: canvas_pixel(d, run, 0, 0) == expected
            )
    code = driver.find_element(By.CSS_SELECTOR, "#commands code")
    assert code.text.startswith(("dvc exp apply ", "git checkout "))
    button = code.find_element(By.XPATH, "following-sibling::button")
    button.click()
    selected = driver.execute_script("return getSelection().toString()")
    assert button.text == "Copied" or (button.text.startswith("Selected") and selected == code.text)


def test_names_and_params_holding_markup_are_shown_as_text(driver: WebDriver, page: Path) -> None:
    open_page(driver, page)
    names = column(driver, "name")
    assert SCRIPT in names and IMAGE in names
    assert override_value(SCRIPT) in column(driver, "p:train.solver")
    for run in (3, 5):
        pick(driver, run)
    legend = driver.find_element(By.ID, "legend").text
    assert SCRIPT in legend and IMAGE in legend
    assert driver.execute_script("return window.hacked") is None
    assert driver.find_elements(By.TAG_NAME, "img") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2


def test_500_runs_load_in_a_page_under_20_mb(driver: WebDriver, tmp_path: Path) -> None:
    runs, artifacts = generated_runs(500)
    page = tmp_path / "explore.html"
    page.write_text(explore_page(runs, artifacts, PROJECT_ROOT / "templates"))
    assert page.stat().st_size < 20_000_000
    open_page(driver, page)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")) == 500
    assert len(driver.find_elements(By.CSS_SELECTOR, "#parallel path")) == 500
    assert re.fullmatch(
        r"500 of 500 runs shown, 0 picked.*", driver.find_element(By.ID, "summary").text
    )
