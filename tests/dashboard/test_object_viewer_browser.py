"""The deep-zoom viewer in a real browser: `heritage dashboard` against a collection the real
pipeline produced, an original stored where the ML job stores it, and headless Chromium
(Debian's, through /usr/bin/chromedriver) opening the object: OpenSeadragon (vendored,
inlined in the component's iframe) must draw the image on its canvas, fitted and zoomed in.
Screenshots go under artifacts/screenshots/."""

from __future__ import annotations

import time

import pytest
from dashboard_fixtures import DashboardData
from test_dashboard_browser import (  # noqa: F401  (fixtures: the same server and browser)
    SCREENSHOTS,
    WAIT_S,
    browser,
    dashboard_url,
    downloads,
)
from test_object_and_review_pages import store_original

from heritage.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# Pixels of the viewer's canvas that something was drawn on (alpha above zero).
DRAWN_PIXELS_JS = """
const canvas = document.querySelector('.openseadragon-canvas canvas');
if (!canvas || !canvas.width || !canvas.height) { return 0; }
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let drawn = 0;
for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { drawn += 1; } }
return drawn;
"""
FULLY_LOADED_JS = """
const viewer = window.viewer;
return Boolean(viewer && viewer.world.getItemCount() === 1
               && viewer.world.getItemAt(0).getFullyLoaded());
"""


def test_the_full_image_opens_with_deep_zoom(
    dashboard_url: str,  # noqa: F811
    browser: object,  # noqa: F811
    live_settings: Settings,
    dashboard_data: DashboardData,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    wait = WebDriverWait(driver, WAIT_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    record_id = sorted(dashboard_data.groups)[0]
    store_original(live_settings, dashboard_data.layout.pg_database, record_id, (1800, 1200))

    driver.get(f"{dashboard_url}/object?record_id={record_id}")
    wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "body"), "Full image"))
    frame = wait.until(
        lambda d: next(
            (
                f
                for f in d.find_elements(By.TAG_NAME, "iframe")
                if "OpenSeadragon" in (f.get_attribute("srcdoc") or "")
            ),
            None,
        )
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", frame)
    driver.switch_to.frame(frame)
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, ".openseadragon-canvas canvas")))
    wait.until(lambda d: d.execute_script(FULLY_LOADED_JS))
    wait.until(lambda d: d.execute_script(DRAWN_PIXELS_JS) > 10_000)
    canvas = driver.find_element(By.CSS_SELECTOR, ".openseadragon-canvas canvas")
    assert canvas.size["width"] > 300 and canvas.size["height"] > 300
    # The navigation buttons come from the vendored images, served by Streamlit itself.
    assert driver.execute_script(
        "return Array.from(document.images).some("
        "i => i.src.includes('/app/static/openseadragon/images/') && i.naturalWidth > 0);"
    )
    driver.switch_to.default_content()
    time.sleep(1)  # let the page settle before the screenshot
    driver.save_screenshot(str(SCREENSHOTS / "20-object-full-image.png"))

    driver.switch_to.frame(frame)
    before = driver.execute_script("return window.viewer.viewport.getZoom(true);")
    driver.execute_script(
        "window.viewer.viewport.zoomBy(6); window.viewer.viewport.applyConstraints();"
    )
    wait.until(
        lambda d: d.execute_script("return window.viewer.viewport.getZoom(true);") > before * 3
    )
    wait.until(lambda d: d.execute_script(DRAWN_PIXELS_JS) > 10_000)
    driver.switch_to.default_content()
    time.sleep(1)
    driver.save_screenshot(str(SCREENSHOTS / "21-object-deep-zoom.png"))
    for name in ("20-object-full-image", "21-object-deep-zoom"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name
