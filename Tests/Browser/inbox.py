#!/usr/bin/python3
"""Opens the inbox in a real headless Chromium, on a phone and a desktop, and checks what a
person sees: the conversation with its messages, the live connection (EventSource under the
page's CSP), a message delivered while the page is open appearing without a reload, and a
layout that holds at 390 px.

Run by the Swift test `InboxBrowserTests` against a live server it seeded; the test's
stand-in for the session sign-in reads the principal from the `sb_test_principal` cookie:

    /usr/bin/python3 Tests/Browser/inbox.py --base http://127.0.0.1:PORT --principal TENANT:USER:operator \
        --conversation ID --hook /hooks/CHANNEL --secret SECRET --screenshots .build/screenshots

Chromium, chromedriver and Selenium come from Debian's packages; nothing is downloaded.
Prints one JSON object and exits non-zero at the first check that fails.
"""
import argparse
import json
import os
import sys
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
from dashboard import browser, fail  # noqa: E402


def deliver(base, hook, secret, update_id, text):
    body = json.dumps({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 1763900000, "from": {"id": 552001, "is_bot": False, "first_name": "Dana"},
                    "chat": {"id": 552001, "first_name": "Dana", "type": "private"}, "text": text},
    }).encode()
    request = urllib.request.Request(base + hook, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            fail("the delivery was refused", status=response.status)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--principal", required=True)
    parser.add_argument("--conversation", required=True)
    parser.add_argument("--hook", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--screenshots", required=True)
    arguments = parser.parse_args()
    os.makedirs(arguments.screenshots, exist_ok=True)
    shots = []
    for index, (name, width, height) in enumerate((("phone", 390, 844), ("desktop", 1280, 900))):
        driver = browser(width, height, phone=name == "phone")
        try:
            # The cookie is set on the origin first (an asset), then the page is opened.
            driver.get(arguments.base + "/app/assets/app.css")
            driver.add_cookie({"name": "sb_test_principal", "value": arguments.principal, "path": "/"})
            driver.get(arguments.base + "/app/conversations/" + arguments.conversation)
            wait = WebDriverWait(driver, 60)
            wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#messages .message[data-direction=inbound][data-sender=customer]")))
            for element in ("#reply-text", "#reply-send", "#take-over", "#assign-select", "#note-text", "#note-add", "#close-conversation"):
                if not driver.find_elements(By.CSS_SELECTOR, element):
                    fail(f"{element} is missing on the {name}")
            if driver.find_elements(By.CSS_SELECTOR, "script:not([src])"):
                fail("the page carries an inline script")
            # Live: the EventSource connects under default-src 'self'.
            wait.until(lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live")
            # A message delivered now appears without a reload.
            text = f"arrived live on the {name}"
            deliver(arguments.base, arguments.hook, arguments.secret, 7000 + index, text)
            wait.until(lambda d: text in d.find_element(By.ID, "messages").text)
            # The list follows, and the open conversation shows no unread badge (it is read).
            row = f".conversation-row[data-id='{arguments.conversation}']"
            wait.until(lambda d: text in d.find_element(By.CSS_SELECTOR, row).get_attribute("textContent")
                       and not d.find_elements(By.CSS_SELECTOR, row + " .badge"))
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 1:
                fail(f"the page is wider than the {name}'s screen", overflow=overflow)
            errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE" and "favicon" not in entry.get("message", "")]
            if errors:
                fail("the browser logged errors", errors=errors)
            path = os.path.join(arguments.screenshots, f"inbox-{name}.png")
            driver.save_screenshot(path)
            shots.append(path)
            if name == "phone":
                # The list on a phone: the inbox page alone.
                driver.get(arguments.base + "/app/inbox")
                wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, f".conversation-row[data-id='{arguments.conversation}']")))
                overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 1:
                    fail("the list is wider than the phone's screen", overflow=overflow)
                path = os.path.join(arguments.screenshots, "inbox-list-phone.png")
                driver.save_screenshot(path)
                shots.append(path)
        finally:
            driver.quit()
    print(json.dumps({"ok": True, "screenshots": shots}))


if __name__ == "__main__":
    main()
