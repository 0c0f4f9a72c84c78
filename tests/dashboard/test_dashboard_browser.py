"""End to end in a real browser: `heritage dashboard` on a free port against a collection the
real pipeline produced; headless Chromium (Debian's, through /usr/bin/chromedriver) searches,
opens an object and comes back to the same search (browser Back and the object's "Back to
results" link), opens a shared search link, exports the results as CSV, and confirms a
duplicate group; every page is saved as a screenshot under artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_fixtures import DashboardData

from heritage.postgres_db import connect
from heritage.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
WAIT_S = 90
SEARCH_LABEL = "Search titles, descriptions and creators"
HERITAGE = str(Path(sys.executable).with_name("heritage"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dashboard_url(live_settings: Settings, dashboard_data: DashboardData) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **live_settings.as_environment(),
        "PGDATABASE": dashboard_data.layout.pg_database,
    }
    server = subprocess.Popen(
        [HERITAGE, "dashboard", "--port", str(port), "--headless"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"heritage dashboard exited: {server.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"heritage dashboard did not answer on {url} within {WAIT_S}s")
    yield url
    server.terminate()
    server.wait(timeout=20)
    # `heritage dashboard` is the server itself: stopping it leaves nothing on the port (it
    # used to run Streamlit as a child, which outlived a SIGTERM).
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads: Path) -> Iterator[object]:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.fail("Chromium is missing: `make setup` installs Debian's chromium and driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1300", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()


def test_search_open_an_object_and_confirm_a_group(
    dashboard_url: str, browser: object, live_settings: Settings, dashboard_data: DashboardData
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    wait = WebDriverWait(driver, WAIT_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def page_shows(text: str) -> None:
        wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "body"), text))
        time.sleep(1.5)  # let images and charts finish drawing before a screenshot

    def button(label: str) -> object:
        return wait.until(
            when.element_to_be_clickable((By.XPATH, f"(//button[.//p[text()='{label}']])[1]"))
        )

    def shot(name: str) -> None:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    canonical = sorted(dashboard_data.groups)[0]
    connection = connect(live_settings, dashboard_data.layout.pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT title FROM heritage.objects WHERE record_id = %s", (canonical,))
        title = cursor.fetchone()[0]  # type: ignore[index]
    connection.close()
    search = max(title.replace(".", " ").split(), key=len)

    driver.get(dashboard_url)
    page_shows("matching records of")
    shot("01-explore")
    field = wait.until(
        when.element_to_be_clickable((By.CSS_SELECTOR, f"input[aria-label='{SEARCH_LABEL}']"))
    )
    field.send_keys(search, Keys.ENTER)
    total = len(dashboard_data.manifest.valid_record_ids)
    # The caption's first figure drops below the total once the search has run.
    wait.until(
        lambda d: (
            f"matching records of {total:,}" in d.find_element(By.TAG_NAME, "body").text
            and f"{total:,} matching" not in d.find_element(By.TAG_NAME, "body").text
        )
    )
    time.sleep(2)
    shot("02-search")
    button("Open").click()
    page_shows("Fields")
    page_shows("Duplicate group")
    shot("03-object")

    driver.get(f"{dashboard_url}/duplicates")
    page_shows("Confirm group")
    shot("04-duplicates")
    first_group = driver.find_element(
        By.XPATH, "(//div[contains(@data-testid, 'stMarkdown')]//code)[1]"
    ).text
    button("Confirm group").click()
    page_shows("pair decision(s)")
    shot("05-decision")
    connection = connect(live_settings, dashboard_data.layout.pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM heritage.duplicate_decisions "
            "WHERE decision = 'same' AND decided_by = 'curator' "
            "AND %s IN (record_id, other_record_id)",
            (first_group,),
        )
        assert cursor.fetchone()[0] == len(dashboard_data.groups[first_group]) - 1  # type: ignore[index]
    connection.close()

    driver.get(f"{dashboard_url}/pipeline")
    page_shows("Dead letters by stage and reason")
    shot("06-pipeline")
    driver.get(f"{dashboard_url}/sql")
    page_shows("Example queries")
    shot("07-sql")
    for name in ("01-explore", "03-object", "04-duplicates", "06-pipeline", "07-sql"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name


def test_a_search_survives_back_opens_from_a_link_and_exports(
    dashboard_url: str,
    browser: object,
    downloads: Path,
    live_settings: Settings,
    dashboard_data: DashboardData,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    wait = WebDriverWait(driver, WAIT_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def body() -> str:
        return str(driver.find_element(By.TAG_NAME, "body").text)

    def summary() -> str:
        """The results' summary line ('N matching records of M · page ...')."""
        wait.until(lambda d: "matching records of" in body())
        time.sleep(1.5)  # let the rerun settle and images draw before reading or a screenshot
        return next(line for line in body().splitlines() if "matching records of" in line)

    def search_field() -> object:
        return wait.until(
            when.element_to_be_clickable((By.CSS_SELECTOR, f"input[aria-label='{SEARCH_LABEL}']"))
        )

    def shown_ids() -> list[str]:
        known = dashboard_data.manifest.valid_record_ids
        return [line for line in body().splitlines() if line in known]

    def shot(name: str) -> None:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    canonical = sorted(dashboard_data.groups)[0]
    connection = connect(live_settings, dashboard_data.layout.pg_database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT title FROM heritage.objects WHERE record_id = %s", (canonical,))
        title = cursor.fetchone()[0]  # type: ignore[index]
    connection.close()
    search = max(title.replace(".", " ").split(), key=len)

    driver.get(dashboard_url)
    unfiltered = summary()
    search_field().send_keys(search, Keys.ENTER)  # type: ignore[attr-defined]
    wait.until(lambda d: "q=" in d.current_url)
    searched = summary()
    assert searched != unfiltered
    searched_url, searched_ids = driver.current_url, shown_ids()
    assert searched_ids and urllib.parse.parse_qs(urllib.parse.urlsplit(searched_url).query)[
        "q"
    ] == [search]
    shot("08-explore-search-in-url")

    # Open an object, then the browser's Back button: the same search, the same results.
    wait.until(
        when.element_to_be_clickable((By.XPATH, "(//button[.//p[text()='Open']])[1]"))
    ).click()
    wait.until(lambda d: "Back to results" in body() and "Fields" in body())
    time.sleep(1.5)
    shot("09-object-with-back-link")
    driver.back()
    assert summary() == searched
    assert search_field().get_attribute("value") == search  # type: ignore[attr-defined]
    assert shown_ids() == searched_ids
    shot("10-explore-after-back")

    # The object's "Back to results" link does the same.
    wait.until(
        when.element_to_be_clickable((By.XPATH, "(//button[.//p[text()='Open']])[1]"))
    ).click()
    link = wait.until(
        when.element_to_be_clickable((By.XPATH, "//a[.//*[contains(text(), 'Back to results')]]"))
    )
    link.click()
    assert summary() == searched
    assert search_field().get_attribute("value") == search  # type: ignore[attr-defined]

    # A shared link, opened in a fresh page load, shows the same view.
    grid = searched_url + "&view=grid"
    driver.get("about:blank")
    driver.get(grid)
    assert summary() == searched
    assert search_field().get_attribute("value") == search  # type: ignore[attr-defined]
    shot("11-explore-grid-from-link")
    driver.get(searched_url)
    assert summary() == searched and shown_ids() == searched_ids

    # The export downloads the rows shown.
    wait.until(
        when.element_to_be_clickable((By.XPATH, "(//button[.//p[starts-with(text(), 'CSV')]])[1]"))
    ).click()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not list(downloads.glob("*.csv")):
        time.sleep(0.5)
    files = list(downloads.glob("*.csv"))
    assert files, f"no CSV in {downloads}: {list(downloads.iterdir())}"
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8-sig"))))
    assert [row["record_id"] for row in rows] == searched_ids
    assert rows[0]["title"] and "rights" in rows[0]
    shot("12-explore-export")
    for name in ("08-explore-search-in-url", "09-object-with-back-link", "10-explore-after-back"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name
