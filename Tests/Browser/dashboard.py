#!/usr/bin/python3
"""Signs in to the dashboard in a real headless Chromium and checks what a person sees.

Run by the Swift test `DashboardBrowserTests` against a live server it seeded:

    /usr/bin/python3 Tests/Browser/dashboard.py --base http://127.0.0.1:PORT --key sb_live_... \
        --expect inbound_messages=6 --expect handoff_rate="25.0 %" --screenshots .build/screenshots

Chromium, chromedriver and Selenium come from Debian's packages (chromium, chromium-driver,
python3-selenium; Deploy/install-deps.sh installs them); nothing is downloaded. Prints one
JSON object with what it found, and exits non-zero at the first check that fails.
"""
import argparse
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def fail(message, **details):
    print(json.dumps({"ok": False, "error": message, **details}))
    sys.exit(1)


def browser(width, height, phone):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", f"--window-size={width},{height}"):
        options.add_argument(argument)
    if phone:
        # A window is at least 500 px wide; a phone's viewport is emulated instead.
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome Mobile Safari/537.36",
        })
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--expect", action="append", default=[], help="metric=text shown on its card")
    parser.add_argument("--screenshots", required=True)
    arguments = parser.parse_args()
    os.makedirs(arguments.screenshots, exist_ok=True)
    found = {}
    shots = []
    # A phone first (the layout must hold at 390 px), then a desktop.
    for name, width, height in (("phone", 390, 844), ("desktop", 1280, 1000)):
        driver = browser(width, height, phone=name == "phone")
        try:
            driver.get(arguments.base + "/dashboard")
            WebDriverWait(driver, 60).until(expected_conditions.presence_of_element_located((By.NAME, "api_key")))
            if name == "phone":
                # A wrong key first: the form comes back with the reason.
                driver.find_element(By.NAME, "api_key").send_keys("sb_live_not_a_key_0000000000000000000000000")
                driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                alert = WebDriverWait(driver, 60).until(
                    expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
                if "not valid" not in alert.text:
                    fail("a wrong key did not say so", text=alert.text)
            driver.find_element(By.NAME, "api_key").send_keys(arguments.key)
            driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(driver, 60).until(
                expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-metric=inbound_messages]")))
            cookies = {cookie["name"]: cookie for cookie in driver.get_cookies()}
            session = cookies.get("sb_dashboard")
            if not session:
                fail("no session cookie after signing in", cookies=list(cookies))
            if not session.get("httpOnly") or not session.get("secure") or session.get("sameSite") != "Strict":
                fail("the session cookie is not HttpOnly, Secure and SameSite=Strict", cookie={k: v for k, v in session.items() if k != "value"})
            if arguments.key in session.get("value", ""):
                fail("the session cookie carries the key in the clear")
            if driver.execute_script("return document.cookie").find("sb_dashboard") >= 0:
                fail("the page's script can read the session cookie")
            for expectation in arguments.expect:
                metric, expected = expectation.split("=", 1)
                shown = driver.find_element(By.CSS_SELECTOR, f"[data-metric={metric}]").text.strip()
                found[metric] = shown
                if shown != expected:
                    fail(f"{metric} shows {shown!r}, expected {expected!r}", found=found)
            charts = driver.find_elements(By.CSS_SELECTOR, "section.chart svg")
            if len(charts) < 2:
                fail("the charts are missing", charts=len(charts))
            bars = driver.find_elements(By.CSS_SELECTOR, "section.chart svg rect")
            if not any(float(bar.get_attribute("height")) > 0 for bar in bars):
                fail("no bar of the charts has a height")
            if driver.find_elements(By.TAG_NAME, "script"):
                fail("the page carries a script")
            # Nothing but the page itself was fetched: no external script, font or image.
            resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            if resources:
                fail("the page fetched other resources", resources=resources)
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            if name == "phone" and overflow > 1:
                fail("the page is wider than the phone's screen", overflow=overflow)
            path = os.path.join(arguments.screenshots, f"dashboard-{name}.png")
            driver.save_screenshot(path)
            shots.append(path)
            # Signing out ends the session: the form comes back.
            driver.find_element(By.CSS_SELECTOR, "header form button").click()
            WebDriverWait(driver, 60).until(expected_conditions.presence_of_element_located((By.NAME, "api_key")))
        finally:
            driver.quit()
    print(json.dumps({"ok": True, "found": found, "screenshots": shots}))


if __name__ == "__main__":
    main()
