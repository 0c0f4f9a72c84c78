"""The curators' toolbar: `heritage dashboard` (and compose, which runs it) serves the app in
Streamlit's viewer toolbar mode, so the Deploy button and the developer entries are gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from heritage.dashboard.launch import TOOLBAR_MODE, streamlit_argv
from heritage.lakehouse_layout import LakehouseLayout
from heritage.settings import Settings

HERITAGE = str(Path(sys.executable).with_name("heritage"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT_S = 90


def test_the_launcher_asks_for_the_viewer_toolbar() -> None:
    argv = streamlit_argv(8501, "127.0.0.1", headless=True)
    assert argv[argv.index("--client.toolbarMode") + 1] == TOOLBAR_MODE == "viewer"
    assert argv[argv.index("--client.disableDataExport") + 1] == "true"


@pytest.fixture
def served_dashboard(live_settings: Settings, layout: LakehouseLayout) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, **live_settings.as_environment(), "PGDATABASE": layout.pg_database}
    server = subprocess.Popen(
        [HERITAGE, "dashboard", "--port", str(port), "--headless"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"heritage dashboard did not answer on {url}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.integration
@pytest.mark.e2e
def test_a_curator_sees_no_deploy_button(served_dashboard: str) -> None:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.fail("Chromium is missing: `make setup` installs Debian's chromium and driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Wide: Streamlit leaves the Deploy button out of narrow windows whatever the mode.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(served_dashboard)
        wait = WebDriverWait(driver, WAIT_S)
        # The page has run once its title is drawn; the toolbar is in place by then.
        wait.until(
            when.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stMainMenu']"))
        )
        wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Explore"))
        assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAppDeployButton']")
        header = driver.find_element(By.CSS_SELECTOR, "header").text
        assert "Deploy" not in header
    finally:
        driver.quit()
