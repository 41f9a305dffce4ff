#!/usr/bin/python3
"""The team's workspace in a real headless Chromium, as its people use it.

Run by the Swift test `InboxBrowserTests` against a live server whose Telegram Bot API is
a loopback fake:

    /usr/bin/python3 Tests/Browser/inbox.py --base http://127.0.0.1:PORT --bot-token 123:abc \
        --server-now 1765000000 --reply "We deliver tomorrow" --screenshots .build/screenshots

1. An owner signs up on /app/sign-up, creates a Telegram channel through the API with the
   session (as the page's own script would), and invites an operator on /app/team.
2. The operator opens the invitation link in another browser, chooses a password, sets up
   two-factor on /app/security (the code computed here from the secret shown, RFC 6238),
   signs out, and signs in again with the password and a code.
3. A customer writes to the bot (this script posts the Telegram update to the channel's
   hook, as Telegram would); the conversation appears in the operator's open inbox without
   a reload; the operator opens it, takes it over and replies.
4. The owner sees the operator's sign-in on /app/team.

Prints one JSON object with what it found and exits non-zero at the first check that
fails. Screenshots: inbox-desktop.png (a conversation open), inbox-phone.png, team.png.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import urllib.request
import uuid

from selenium import webdriver
from selenium.common.exceptions import (ElementClickInterceptedException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

FOUND = {}


def fail(message, driver=None, shots=None, **details):
    if driver is not None and shots:
        try:
            driver.save_screenshot(os.path.join(shots, "failure.png"))
            details["url"] = driver.current_url
            details["page"] = driver.find_element(By.TAG_NAME, "body").text[:2000]
        except Exception as error:  # the failure matters more than its picture
            details["screenshot_error"] = str(error)
    print(json.dumps({"ok": False, "error": message, "found": FOUND, **details}))
    sys.exit(1)


def browser(width, height, phone=False):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", f"--window-size={width},{height}"):
        options.add_argument(argument)
    if phone:
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome Mobile Safari/537.36",
        })
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(30)
    return driver


def totp(secret_base32, at):
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def wait(driver, shots, condition, what, seconds=20):
    try:
        return WebDriverWait(driver, seconds).until(condition)
    except TimeoutException:
        fail("timed out waiting for " + what, driver, shots)


def click_fresh(driver, shots, locator, what):
    """Clicks what `locator` finds now: the live list swaps its HTML on every event, so an
    element found a moment ago may be gone."""
    def attempt(d):
        try:
            d.find_element(*locator).click()
            return True
        except (StaleElementReferenceException, ElementClickInterceptedException):
            return False
    wait(driver, shots, attempt, what)


def fill(driver, element_id, text):
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--bot-token", required=True)
    parser.add_argument("--server-now", type=float, default=None,
                        help="the server's clock, when a test holds it still (Unix seconds); else this machine's")
    parser.add_argument("--reply", required=True)
    parser.add_argument("--screenshots", required=True)
    arguments = parser.parse_args()
    base, shots = arguments.base, arguments.screenshots
    os.makedirs(shots, exist_ok=True)
    suffix = uuid.uuid4().hex[:8]
    owner_email, operator_email = f"owner-{suffix}@example.kz", f"operator-{suffix}@example.kz"
    owner_password, operator_password = "owner password 1", "operator password 1"

    owner = browser(1280, 900)
    operator = browser(1280, 900)
    try:
        # 1. The owner signs up.
        owner.get(base + "/app/sign-up")
        fill(owner, "company", "Almaty Flowers")
        fill(owner, "email", owner_email)
        fill(owner, "password", owner_password)
        owner.find_element(By.ID, "sign-up").click()
        wait(owner, shots, EC.url_contains("/app/inbox"), "the inbox after sign-up")
        wait(owner, shots, EC.presence_of_element_located((By.ID, "conversation-list")), "the owner's inbox")
        FOUND["signed_up"] = True
        # The channel, through the API with the owner's session and CSRF token.
        channel = owner.execute_async_script("""
            var done = arguments[arguments.length - 1];
            var csrf = document.querySelector('meta[name="csrf-token"]').content;
            fetch('/v1/channels', {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({kind: 'telegram', name: 'Flowers bot', credentials: {bot_token: arguments[0]}})})
              .then(function (r) { return r.json().then(function (b) { done({status: r.status, body: b}); }); },
                    function (e) { done({status: 0, body: String(e)}); });
        """, arguments.bot_token)
        if channel.get("status") != 201:
            fail("the owner could not create the channel", owner, shots, answer=channel)
        hook = channel["body"]["webhook_url"]
        secret_token = channel["body"]["credentials"]["secret_token"] if "credentials" in channel["body"] else channel["body"].get("secret_token")
        if not secret_token:
            fail("the channel's secret token was not shown", owner, shots, answer=channel)
        FOUND["channel"] = channel["body"]["id"]
        # The invitation.
        owner.get(base + "/app/team")
        fill(owner, "invite-email", operator_email)
        owner.find_element(By.CSS_SELECTOR, "#invite-role option[value=operator]").click()
        owner.find_element(By.ID, "invite").click()
        link = wait(owner, shots, EC.visibility_of_element_located((By.ID, "invitation-url")), "the invitation link").text
        if "/app/accept-invitation?token=" not in link:
            fail("no invitation link", owner, shots, link=link)
        FOUND["invited"] = True

        # 2. The operator joins, sets up two-factor, signs out and in again with a code.
        # The link names SWITCHBOARD_PUBLIC_URL (unset here: the listening address, port 0).
        operator.get(base + link[link.index("/app/"):])
        fill(operator, "password", operator_password)
        operator.find_element(By.ID, "accept").click()
        wait(operator, shots, EC.url_contains("/app/security"), "the security page after joining")
        operator.find_element(By.ID, "totp-start").click()
        recovery_codes = []
        secret = wait(operator, shots, EC.visibility_of_element_located((By.ID, "totp-secret")), "the TOTP secret").text
        def server_now():
            return arguments.server_now if arguments.server_now is not None else time.time()
        fill(operator, "code", totp(secret, server_now()))
        operator.find_element(By.ID, "totp-confirm").click()
        codes = wait(operator, shots, EC.visibility_of_element_located((By.ID, "recovery-codes")), "the recovery codes")
        recovery_codes = [item.text for item in codes.find_elements(By.TAG_NAME, "li")]
        FOUND["recovery_codes"] = len(recovery_codes)
        if FOUND["recovery_codes"] != 10:
            fail("expected ten recovery codes", operator, shots)
        operator.find_element(By.ID, "sign-out").click()
        wait(operator, shots, EC.url_contains("/app/sign-in"), "the sign-in page after signing out")
        operator.get(base + "/app/inbox")
        wait(operator, shots, EC.url_contains("/app/sign-in"), "the inbox sends a signed-out person to sign in")
        fill(operator, "email", operator_email)
        fill(operator, "password", operator_password)
        operator.find_element(By.ID, "sign-in").click()
        wait(operator, shots, EC.visibility_of_element_located((By.ID, "totp_code")), "the second-factor field")
        # The code of the next 30 s step: the confirming code's step is spent.
        fill(operator, "totp_code", totp(secret, server_now() + 30))
        operator.find_element(By.ID, "sign-in").click()
        wait(operator, shots, EC.url_contains("/app/inbox"), "the inbox after signing in with a code")
        wait(operator, shots, EC.text_to_be_present_in_element((By.ID, "live-status"), "Live"), "the live stream to open")
        FOUND["operator_signed_in_with_totp"] = True

        # 3. A customer writes; the conversation arrives live.
        operator.execute_script("window.__notReloaded = true;")
        customer_text = "Do you deliver to Medeu today?"
        update = {
            "update_id": 900001,
            "message": {"message_id": 41, "date": int(time.time()),
                        "chat": {"id": 7700123, "type": "private", "first_name": "Dana"},
                        "from": {"id": 7700123, "is_bot": False, "first_name": "Dana", "language_code": "ru"},
                        "text": customer_text},
        }
        hook_path = hook[hook.index("/hooks/"):]
        request = urllib.request.Request(base + hook_path, data=json.dumps(update).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "X-Telegram-Bot-Api-Secret-Token": secret_token})
        with urllib.request.urlopen(request, timeout=30) as answer:
            if answer.status != 200:
                fail("the hook refused the update", operator, shots, status=answer.status)
        wait(operator, shots, EC.presence_of_element_located((By.CSS_SELECTOR, ".conversation-row[data-id]")),
             "the conversation to appear live")
        if not operator.execute_script("return window.__notReloaded === true;"):
            fail("the page reloaded instead of updating live", operator, shots)
        FOUND["arrived_live"] = True
        click_fresh(operator, shots, (By.CSS_SELECTOR, ".conversation-row[data-id] a"), "a click on the conversation")
        wait(operator, shots, EC.url_contains("/app/conversations/"), "the conversation's page")
        wait(operator, shots, EC.presence_of_element_located((By.ID, "messages")), "the conversation")
        wait(operator, shots, EC.text_to_be_present_in_element((By.ID, "messages"), customer_text), "the customer's message")
        wait(operator, shots, EC.element_to_be_clickable((By.ID, "take-over")), "Take over").click()
        wait(operator, shots, EC.presence_of_element_located((By.ID, "give-back")), "Give back, once taken over")
        FOUND["taken_over"] = True
        fill(operator, "reply-text", arguments.reply)
        operator.find_element(By.ID, "reply-send").click()
        wait(operator, shots, EC.presence_of_element_located(
            (By.CSS_SELECTOR, '#messages .message[data-direction="outbound"]')), "the reply in the conversation")
        wait(operator, shots, EC.text_to_be_present_in_element((By.ID, "messages"), arguments.reply), "the reply's text")
        FOUND["replied"] = True
        operator.save_screenshot(os.path.join(shots, "inbox-desktop.png"))

        # 4. The owner sees the operator's sign-in.
        owner.get(base + "/app/team")
        events = owner.find_elements(By.CSS_SELECTOR, "#login-events tr.login-event")
        seen = [(e.find_elements(By.TAG_NAME, "td")[1].text, e.get_attribute("data-outcome")) for e in events]
        if (operator_email, "signed_in") not in seen:
            fail("the owner does not see the operator's sign-in", owner, shots, seen=seen)
        FOUND["owner_sees_login"] = True
        owner.save_screenshot(os.path.join(shots, "team.png"))
        # An analyst-only refusal is a page that says so, not an error dump: the operator
        # opening the team page.
        operator.get(base + "/app/team")
        refused = wait(operator, shots, EC.presence_of_element_located((By.ID, "refused")), "the refusal page").text
        FOUND["operator_refused_team"] = "operator" in refused
    finally:
        owner.quit()
    # The same inbox on a phone, signed in as the operator again (a new browser), this time
    # with a recovery code (a third code within a minute would be one the clock has not
    # reached).
    phone = browser(390, 844, phone=True)
    try:
        phone.get(base + "/app/sign-in")
        fill(phone, "email", operator_email)
        fill(phone, "password", operator_password)
        phone.find_element(By.ID, "sign-in").click()
        wait(phone, shots, EC.visibility_of_element_located((By.ID, "totp_code")), "the second-factor field (phone)")
        fill(phone, "recovery_code", recovery_codes[0])
        phone.find_element(By.ID, "sign-in").click()
        wait(phone, shots, EC.presence_of_element_located((By.CSS_SELECTOR, ".conversation-row[data-id]")), "the list on a phone")
        width = phone.execute_script("return document.documentElement.scrollWidth;")
        if width > 400:
            fail("the inbox does not fit a phone", phone, shots, scroll_width=width)
        phone.save_screenshot(os.path.join(shots, "inbox-phone.png"))
    finally:
        phone.quit()
        operator.quit()
    print(json.dumps({"ok": True, "found": FOUND}))


if __name__ == "__main__":
    main()
