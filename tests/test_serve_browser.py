"""The calculator page driven in headless Chromium, as a person would use it.

Fill the form, submit, read the interval back, move the budget (typing and with the keyboard on the
slider), check that P(exceed) follows, see a bad value named, and save a screenshot. Skips when no
Chromium with its driver (or selenium, or the service's extra) is installed, except with
``CARBON_BAYES_REQUIRE_BROWSER=1`` (``.ci/run`` sets it, and installs Debian's ``chromium`` and
``chromium-driver``): then every test fails, so CI cannot pass without the browser.

With ``CARBON_BAYES_SCREENSHOT_DIR`` set the screenshot is also saved there as ``calculator.png``;
with ``CARBON_BAYES_SCREENSHOT`` set, at that path (``docs/service.png`` is taken this way).
"""

from __future__ import annotations

import os

import pytest
from serve_support import REQUIRE_BROWSER, browser_required, find_browser, live_server

BROWSER, DRIVER, MISSING = find_browser()
if MISSING and not browser_required():
    pytest.skip(MISSING, allow_module_level=True)
if MISSING is None:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

RUN = {"parameters": "7e9", "training_tokens": "2e12", "hardware": "A100-80GB", "device_hours": "184320",
       "country": "US", "year": "2023"}


def _fmt(x: float) -> str:
    """Format as the page does (3 significant figures below 1,000)."""
    return f"{float(f'{x:.3g}'):g}" if abs(x) < 1000 else f"{round(x):,}"


@pytest.fixture(scope="module")
def page():
    if MISSING:
        pytest.fail(f"the browser test cannot run: {MISSING}; {REQUIRE_BROWSER}=1 says it must", pytrace=False)
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = BROWSER
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,2700",
              "--disable-gpu", "--no-first-run"):
        opts.add_argument(a)
    with live_server() as url:
        driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
        try:
            driver.get(url + "/")
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            yield driver
        finally:
            driver.quit()


def _p_exceed(driver) -> float:
    return float(driver.find_element(By.ID, "p-exceed").get_attribute("data-value"))


def test_every_control_has_a_label(page):
    controls = page.find_elements(By.CSS_SELECTOR, "#fields input, #fields select, #budget, #budget-range")
    assert len(controls) > 20
    for c in controls:
        assert page.find_elements(By.CSS_SELECTOR, f"label[for='{c.get_attribute('id')}']"), c.get_attribute("id")
    hw = page.find_element(By.ID, "f-hardware")
    options = page.find_elements(By.CSS_SELECTOR, f"#{hw.get_attribute('list')} option")
    assert "H100-SXM5" in [o.get_attribute("value") for o in options]


def test_estimate_budget_and_report(page, tmp_path):
    import carbon_bayes as cb

    for name, value in RUN.items():
        field = page.find_element(By.ID, f"f-{name}")
        field.clear()
        field.send_keys(value)
    page.find_element(By.ID, "f-year").send_keys(Keys.ENTER)  # submit from the keyboard
    WebDriverWait(page, 30).until(lambda d: d.find_element(By.ID, "co2-interval").text)
    est = cb.estimate({k: v for k, v in RUN.items()}).to_frame(mcse=True).iloc[0]
    co2 = page.find_element(By.ID, "co2-interval").text
    assert co2 == (f"{_fmt(est['co2_t_median'])} t CO2e (90% interval {_fmt(est['co2_t_lower'])} to "
                   f"{_fmt(est['co2_t_upper'])})")
    assert _fmt(est["energy_mwh_median"]) in page.find_element(By.ID, "energy-interval").text

    # a budget typed in: P(exceed) as the package computes it, to the resolution of the quantile grid
    budget = page.find_element(By.ID, "budget")
    budget.clear()
    budget.send_keys("30")
    p30 = _p_exceed(page)
    assert p30 == pytest.approx(float(cb.estimate(RUN).prob_exceeds(co2_t=30).iloc[0]), abs=0.01)
    assert page.find_element(By.ID, "budget-line")
    # the slider moved with the arrow keys: a larger budget, a smaller risk
    slider = page.find_element(By.ID, "budget-range")
    slider.send_keys(*[Keys.ARROW_RIGHT] * 40)
    assert float(budget.get_attribute("value")) > 30
    assert _p_exceed(page) < p30
    slider.send_keys(*[Keys.ARROW_LEFT] * 120)
    assert float(budget.get_attribute("value")) < 30 and _p_exceed(page) > p30

    # the ranking follows the budget once it stops moving, and agrees with the P(exceed) above it
    final = budget.get_attribute("value")
    WebDriverWait(page, 60).until(lambda d: d.find_element(By.ID, "alternatives").get_attribute("data-budget") == final
                                  and d.find_element(By.ID, "paragraph").get_attribute("value")
                                  and d.find_element(By.ID, "voi").text)
    rows = page.find_elements(By.CSS_SELECTOR, "#alternatives tbody tr")
    yours = [r for r in rows if "your run" in r.text]
    assert len(rows) >= 4 and len(yours) == 1
    # your run's row shows the headline's figures, not the paired simulation's (which has more draws)
    cells = [td.text for td in yours[0].find_elements(By.TAG_NAME, "td")]
    assert cells[2:5] == [_fmt(est["co2_t_median"]), f"{_fmt(est['co2_t_lower'])} to {_fmt(est['co2_t_upper'])}",
                          page.find_element(By.ID, "p-exceed").text]
    draws = int(page.find_element(By.ID, "alt-draws").text.replace(",", ""))
    assert draws >= est["n_draws"]
    ranks = [int(r.find_element(By.TAG_NAME, "td").text) for r in rows]
    assert ranks == list(range(1, len(rows) + 1))
    assert page.find_element(By.ID, "voi").get_attribute("data-input")
    assert page.find_element(By.ID, "paragraph").get_attribute("value").startswith("Training emitted an estimated")
    shot = tmp_path / "calculator.png"
    page.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("CARBON_BAYES_SCREENSHOT_DIR"):  # CI keeps it with its artifacts
        os.makedirs(os.environ["CARBON_BAYES_SCREENSHOT_DIR"], exist_ok=True)
        page.save_screenshot(os.path.join(os.environ["CARBON_BAYES_SCREENSHOT_DIR"], "calculator.png"))
    if os.environ.get("CARBON_BAYES_SCREENSHOT"):  # docs/service.png is taken this way
        page.save_screenshot(os.environ["CARBON_BAYES_SCREENSHOT"])


def test_a_bad_value_is_named_and_its_field_marked(page):
    pue = page.find_element(By.ID, "f-pue")
    pue.clear()
    pue.send_keys("0.5")
    page.find_element(By.ID, "submit").click()
    WebDriverWait(page, 30).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert page.find_element(By.ID, "error").text.startswith("Error: pue='0.5'")
    assert "at least 1.0" in page.find_element(By.ID, "error").text
    assert pue.get_attribute("aria-invalid") == "true"
    assert page.switch_to.active_element == pue
