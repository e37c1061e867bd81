#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's Chromium, headless, driven by Selenium through chromium-driver.

    dashboard_test.py --url http://127.0.0.1:PORT --token TOKEN --amqp-url URL --prefix PREFIX \
                      [--screenshots docs/screenshots] [--artifacts DIR]

scripts/test-browser runs it against a worker and `swiftbatch server` it started (the server with BATCH_API_TOKEN
set, so the token dialog is part of the run). Each check says what it expects; the first that fails ends the run with
its message, a screenshot and the browser's console in --artifacts, and exit status 1. What it does, as an operator
would:

  1. opens the dashboard, is asked for the API token, gives a wrong one (refused) and the right one, and sees the
     event stream go live; opens the start dialog from the keyboard, its fields labelled, and closes it with Escape,
     focus back where it was;
  2. starts `hello` from the start dialog with a `who` too long and sees the server's 400 message in the dialog,
     then with a `who` holding markup, and sees the execution reach COMPLETED in the list without a reload;
  3. opens it: its step `greet` is COMPLETED, and the markup in its parameters is shown as text, not markup;
  4. starts `count` slow (a delay per item), opens it, sees its counters and progress move without the page
     moving, stops it with the Stop button and the confirmation, and sees it STOPPED (live), with Restart now
     offered; restarts it (a new execution), stops that one too and abandons it;
  5. with the list open, a partitioned job (`daily-accounting`) and a failing `count` started over HTTP appear and
     end there through the event stream alone; the first's partitions, the second's exit message; the worker on the workers page, a schedule with its next fire time, a dead
     letter with its reason;
  6. at phone width (375 px) the pages fit without sideways scrolling;
  7. the browser logged no errors, and the page was never reloaded.

Screenshots of the main pages go to --screenshots (committed, shown in the README).
"""

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid

import pika
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select


class CheckFailed(Exception):
    """A check did not hold: the message says what was expected and what was seen."""


class Dashboard:
    """The browser and the helpers the checks share."""

    def __init__(self, args):
        self.args = args
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for argument in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--force-prefers-reduced-motion",
            "--lang=en-GB",
            "--window-size=1280,860",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)
        self.console = []

    # ------------------------------------------------------------------ waiting and finding

    def wait_for(self, what, condition, timeout=30.0, every=0.1):
        """Polls `condition` until it returns something truthy (returned), or fails naming `what`."""
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            try:
                value = condition()
                if value:
                    return value
            except (StaleElementReferenceException, WebDriverException) as error:
                last_error = error
            if time.monotonic() > deadline:
                detail = f" (last error: {str(last_error).splitlines()[0]})" if last_error else ""
                raise CheckFailed(f"{what}: not seen within {timeout:.0f} s{detail}")
            time.sleep(every)

    def find(self, css, within=None):
        return (within or self.driver).find_element(By.CSS_SELECTOR, css)

    def find_all(self, css, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def visible(self, css):
        elements = [e for e in self.find_all(css) if e.is_displayed()]
        return elements[0] if elements else None

    def text(self, css):
        element = self.visible(css)
        return element.text if element else ""

    def js(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)

    def navigate(self, hash_route):
        """Follows an in-page link, as a click would: no page load."""
        self.js("location.hash = arguments[0]", hash_route)

    def screenshot(self, name, full_page=False):
        os.makedirs(self.args.screenshots, exist_ok=True)
        # Notices dismissed, transitions settled: the picture shows the page itself.
        for close in self.find_all(".notice-close"):
            try:
                close.click()
            except WebDriverException:
                pass
        time.sleep(0.5)
        path = os.path.join(self.args.screenshots, name)
        size = self.driver.get_window_size()
        if full_page:
            height = self.js("return document.documentElement.scrollHeight")
            self.driver.set_window_size(size["width"], min(2400, max(size["height"], height + 160)))
            time.sleep(0.3)
        self.driver.save_screenshot(path)
        if full_page:
            self.driver.set_window_size(size["width"], size["height"])
        print(f"  screenshot {path}")

    def collect_console(self):
        try:
            self.console.extend(self.driver.get_log("browser"))
        except WebDriverException:
            pass

    # ------------------------------------------------------------------ dashboard parts

    def start_over_http(self, job, params):
        """Starts a job through the API (as a script would), for the runs only the screenshots need."""
        request = urllib.request.Request(
            f"{self.args.url}/api/jobs/{job}/start",
            data=json.dumps(params).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.args.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=40) as response:
            if response.status != 202:
                raise CheckFailed(f"POST /api/jobs/{job}/start answered {response.status}, expected 202")
            return json.loads(response.read())["executionId"]

    def status_of_row(self, execution_id):
        rows = self.find_all(f'table.executions tr[data-id="{execution_id}"] .status')
        return rows[0].get_attribute("data-status") if rows else None

    def detail_status(self):
        badge = self.visible(".title-line .status")
        return badge.get_attribute("data-status") if badge else None

    def open_start_dialog(self):
        self.find("#start-job").click()
        dialog = self.wait_for("the start dialog", lambda: self.visible("dialog[open]"))
        self.wait_for(
            "the registered jobs in the start dialog",
            lambda: len(Select(self.find("dialog[open] select")).options) > 1,
        )
        return dialog

    def start_job(self, job, params_text, expect_error=None):
        """Starts a job from the dialog. Returns the execution id from the notice, or the dialog's error."""
        dialog = self.open_start_dialog()
        Select(self.find("select", dialog)).select_by_value(job)
        area = self.find("textarea", dialog)
        area.clear()
        area.send_keys(params_text)
        before = len(self.find_all(".notice"))
        self.find('button[type="submit"]', dialog).click()
        if expect_error is not None:
            error = self.wait_for(
                "the server's message in the start dialog",
                lambda: self.text("dialog[open] .dialog-error.is-shown"),
            )
            if expect_error not in error:
                raise CheckFailed(f"the start dialog showed {error!r}, expected it to contain {expect_error!r}")
            self.find("dialog[open] .dialog-buttons button[type=button]").click()  # Cancel
            self.wait_for("the start dialog to close", lambda: not self.find_all("dialog[open]"))
            return error
        self.wait_for("the start dialog to close after 202", lambda: not self.find_all("dialog[open]"), timeout=40)
        notice = self.wait_for(
            "the 'started' notice", lambda: len(self.find_all(".notice")) > before and self.find_all(".notice")[-1]
        )
        link = self.find("a", notice).get_attribute("href")
        return int(link.rsplit("/", 1)[1])


# ---------------------------------------------------------------------- the checks


def check_token_and_live(d):
    d.driver.get(d.args.url + "/")
    # A marker that only survives as long as the page is never reloaded.
    d.js("window.__notReloaded = true")
    dialog = d.wait_for(
        "the API token dialog (the server has BATCH_API_TOKEN set)",
        lambda: d.visible("dialog[open] input[type=password]"),
    )
    dialog.send_keys("wrong-" + d.args.token)
    d.find("dialog[open] button[type=submit]").click()
    d.wait_for(
        "the dialog saying a wrong token was refused",
        lambda: "refused" in d.text("dialog[open] .dialog-error.is-shown"),
    )
    field = d.find("dialog[open] input[type=password]")
    field.clear()
    field.send_keys(d.args.token)
    d.find("dialog[open] button[type=submit]").click()
    d.wait_for("the token dialog to close", lambda: not d.find_all("dialog[open]"))
    d.wait_for("the event stream to be live", lambda: d.find("#live-state").get_attribute("data-state") == "live")
    stored = d.js("return sessionStorage.getItem('swift-batch.token')")
    if stored != d.args.token:
        raise CheckFailed("the token is not kept in sessionStorage")
    d.wait_for("the executions table", lambda: d.visible("table.executions"))


def check_keyboard(d):
    """The start dialog from the keyboard: focus goes into it, Escape closes it, focus returns to the button."""
    button = d.find("#start-job")
    button.send_keys(Keys.ENTER)
    d.wait_for("the start dialog opened with Enter", lambda: d.visible("dialog[open]"))
    focused = d.js(
        "return document.activeElement.tagName + (document.activeElement.closest('dialog') ? ' in dialog' : '')"
    )
    if focused != "SELECT in dialog":
        raise CheckFailed(f"focus is on {focused!r} when the start dialog opens, expected its job field")
    labels = d.js(
        "return [...document.querySelectorAll('dialog[open] select, dialog[open] textarea')].map(e => e.labels.length)"
    )
    if labels != [1, 1]:
        raise CheckFailed(f"the start dialog's fields have {labels} labels, expected one each")
    ActionChains(d.driver).send_keys(Keys.ESCAPE).perform()
    d.wait_for("the start dialog closed by Escape", lambda: not d.find_all("dialog[open]"))
    if d.js("return document.activeElement.id") != "start-job":
        raise CheckFailed("focus did not return to the 'Start a job…' button after the dialog closed")


def check_start_hello(d, marker):
    error = d.start_job("hello", json.dumps({"who": "x" * 201}), expect_error="at most 200 characters")
    print(f"  refused as expected: {error}")
    who = f'<b id="injected">{marker}</b>'
    execution_id = d.start_job("hello", json.dumps({"who": who}))
    print(f"  hello started as execution {execution_id}")
    d.wait_for(
        f"execution {execution_id} in the list",
        lambda: d.status_of_row(execution_id) is not None,
        timeout=15,
    )
    status = d.wait_for(
        f"execution {execution_id} COMPLETED in the list (live, no reload)",
        lambda: d.status_of_row(execution_id) == "COMPLETED" and "COMPLETED",
        timeout=60,
    )
    word = d.find(f'table.executions tr[data-id="{execution_id}"] .status .word').text
    if word != status:
        raise CheckFailed(f"the status badge says {word!r}, not the status in words")
    if not d.js("return window.__notReloaded === true"):
        raise CheckFailed("the page was reloaded")
    return execution_id, who


def check_hello_detail(d, execution_id, who):
    d.find(f'table.executions tr[data-id="{execution_id}"] .c-id a').click()
    d.wait_for("the execution page", lambda: d.detail_status() == "COMPLETED")
    step = d.wait_for("the step 'greet' in the steps table", lambda: d.visible('table.steps tr[data-step="greet"]'))
    step_status = d.find(".status", step).get_attribute("data-status")
    if step_status != "COMPLETED":
        raise CheckFailed(f"step greet is {step_status}, expected COMPLETED")
    parameters = d.find("pre.parameters").text
    if json.dumps(who) not in parameters:
        raise CheckFailed(f"the parameters show {parameters!r}, expected the markup {json.dumps(who)} as text")
    if d.find_all("#injected"):
        raise CheckFailed("markup from the parameters became an element: a string from the server was not escaped")
    for name in ("stop", "restart", "abandon"):
        if d.find(f'button[data-action="{name}"]').is_enabled():
            raise CheckFailed(f"the {name} button is enabled for a COMPLETED execution")


def check_stop_count(d, marker):
    params = {"items": 1_000_000, "delayMs": 20, "chunkSize": 10, "run": marker}
    execution_id = d.start_job("count", json.dumps(params))
    print(f"  count started as execution {execution_id}")
    d.navigate(f"#/executions/{execution_id}")
    d.wait_for(f"execution {execution_id} STARTED", lambda: d.detail_status() == "STARTED", timeout=30)

    def read_count():
        cells = d.find_all('table.steps tr[data-step="count"] td.c-counter')
        if not cells:
            return 0
        return int("".join(ch for ch in cells[0].text if ch.isdigit()) or 0)

    first = d.wait_for("the step's read counter above 0", read_count, timeout=30)
    # From here on events arrive and nothing is clicked: the page must not move (layout shifts, as Chrome counts them).
    d.js("""window.__shift = 0;
        new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
        }).observe({type: "layout-shift"});""")
    second = d.wait_for(
        "the read counter to move (live, no reload)", lambda: read_count() > first and read_count(), timeout=30
    )
    d.wait_for("the read counter to move again", lambda: read_count() > second, timeout=30)
    progress = d.wait_for(
        "the step's progress from the workers' progress events",
        lambda: "/s" in d.text('table.steps tr[data-step="count"] .bar-text')
        and d.text('table.steps tr[data-step="count"] .bar-text'),
        timeout=15,
    )
    print(f"  progress shown: {progress}")
    shift = d.js("return window.__shift")
    if shift > 0:
        raise CheckFailed(f"the execution page moved while events arrived (layout shift {shift:.5f}, expected none)")
    d.screenshot("execution-running.png")
    stop = d.find('button[data-action="stop"]')
    if not stop.is_enabled():
        raise CheckFailed("the Stop button is disabled for a STARTED execution")
    stop.click()
    dialog = d.wait_for("the stop confirmation", lambda: d.visible("dialog[open]"))
    if str(execution_id) not in dialog.text:
        raise CheckFailed(f"the confirmation does not name execution {execution_id}: {dialog.text!r}")
    d.find("button[type=submit]", dialog).click()
    d.wait_for("the confirmation to close", lambda: not d.find_all("dialog[open]"), timeout=40)
    d.wait_for(
        f"execution {execution_id} STOPPED (live, no reload)", lambda: d.detail_status() == "STOPPED", timeout=60
    )
    d.wait_for(
        "Restart offered for the STOPPED execution", lambda: d.find('button[data-action="restart"]').is_enabled()
    )
    if d.find('button[data-action="stop"]').is_enabled():
        raise CheckFailed("Stop is still offered for a STOPPED execution")
    if not d.js("return window.__notReloaded === true"):
        raise CheckFailed("the page was reloaded")
    return execution_id


def operate(d, action, execution_id):
    """Clicks an operation's button on the execution page and confirms it; returns the notice's text."""
    button = d.find(f'button[data-action="{action}"]')
    if not button.is_enabled():
        raise CheckFailed(f"the {action} button is disabled for execution {execution_id}")
    before = len(d.find_all(".notice"))
    button.click()
    dialog = d.wait_for(f"the {action} confirmation", lambda: d.visible("dialog[open]"))
    if str(execution_id) not in dialog.text:
        raise CheckFailed(f"the {action} confirmation does not name execution {execution_id}: {dialog.text!r}")
    d.find("button[type=submit]", dialog).click()
    d.wait_for(f"the {action} confirmation to close", lambda: not d.find_all("dialog[open]"), timeout=40)
    return d.wait_for(
        f"the notice after {action}", lambda: len(d.find_all(".notice")) > before and d.find_all(".notice")[-1]
    )


def check_restart_and_abandon(d, stopped_id):
    """Restart the stopped execution (a new one resumes it), stop that one too, then abandon it."""
    notice = operate(d, "restart", stopped_id)
    link = d.find("a", notice).get_attribute("href")
    restarted = int(link.rsplit("/", 1)[1])
    if restarted == stopped_id:
        raise CheckFailed("the restart answered the stopped execution's id, expected a new execution")
    print(f"  restarted as execution {restarted}")
    d.find("a", notice).click()
    d.wait_for(f"execution {restarted} STARTED", lambda: d.detail_status() == "STARTED", timeout=30)
    operate(d, "stop", restarted)
    d.wait_for(f"execution {restarted} STOPPED", lambda: d.detail_status() == "STOPPED", timeout=60)
    operate(d, "abandon", restarted)
    d.wait_for(f"execution {restarted} ABANDONED (live)", lambda: d.detail_status() == "ABANDONED", timeout=30)
    offered = [name for name in ("stop", "restart", "abandon") if d.find(f'button[data-action="{name}"]').is_enabled()]
    if offered:
        raise CheckFailed(f"{offered} still offered for an ABANDONED execution")


def check_partitions(d, marker):
    """A partitioned job and a failing one, started over HTTP while the list is open: the list polls nothing, so
    they appear and end there only through the event stream. The detail shows the partitions with their counters."""
    d.navigate("#/executions")
    d.wait_for("the executions list", lambda: d.find_all("table.executions tbody tr"))
    time.sleep(0.5)  # the list's own load is done: from here on only events change it
    daily = d.start_over_http("daily-accounting", {"date": "2026-11-25", "rows": 20000, "accounts": 400})
    failing = d.start_over_http("count", {"items": 300, "failAt": 150, "chunkSize": 50, "run": marker + "-fail"})
    d.wait_for(f"execution {failing} FAILED in the list", lambda: d.status_of_row(failing) == "FAILED", timeout=60)
    message = d.find(f'table.executions tr[data-id="{failing}"] .c-message').text
    if "150" not in message:
        raise CheckFailed(f"the failed execution's exit message is {message!r}, expected it to name item 150")
    d.wait_for(f"execution {daily} COMPLETED in the list", lambda: d.status_of_row(daily) == "COMPLETED", timeout=120)
    d.screenshot("executions.png")
    d.find(f'table.executions tr[data-id="{daily}"] .c-id a').click()
    d.wait_for("the daily-accounting execution page", lambda: d.detail_status() == "COMPLETED")
    partitions = d.wait_for(
        "the 8 partitions of daily-balances",
        lambda: len(d.find_all("table.steps tr.partition")) == 8 and d.find_all("table.steps tr.partition"),
    )
    statuses = {p.find_element(By.CSS_SELECTOR, ".status").get_attribute("data-status") for p in partitions}
    if statuses != {"COMPLETED"}:
        raise CheckFailed(f"the partitions' statuses are {statuses}, expected all COMPLETED")
    names = [p.find_element(By.CSS_SELECTOR, "th").get_attribute("title") for p in partitions]
    if names != sorted(names) or not all(name.startswith("daily-balances:") for name in names):
        raise CheckFailed(f"the partitions are {names}, expected daily-balances:<name> sorted by name")
    d.screenshot("execution.png", full_page=True)


def check_pages(d, args):

    d.navigate("#/workers")
    row = d.wait_for("a worker on the workers page", lambda: d.visible("table.workers tbody tr"))
    if not ("jobs" in row.text or "running" in row.text) or "ago" not in row.text:
        raise CheckFailed(f"the worker row shows no load or heartbeat age: {row.text!r}")
    d.screenshot("workers.png")

    d.navigate("#/schedules")
    row = d.wait_for("the schedule on the schedules page", lambda: d.visible("table.schedules tbody tr"))
    if args.schedule not in row.text or "in " not in row.text:
        raise CheckFailed(f"the schedule row shows no name or next fire time: {row.text!r}")
    d.screenshot("schedules.png")

    d.navigate("#/dead-letters")
    letters = d.wait_for(
        f"the {len(BAD_COMMANDS)} dead letters with their reasons",
        lambda: len(d.find_all(".letter")) == len(BAD_COMMANDS) and d.find_all(".letter"),
        timeout=45,
        every=0.5,
    )
    # A worker launches several starts at once, so the letters' order is not the commands' order: each reason once.
    reasons = [d.find(".reason", letter).text for letter in letters]
    for expected in ("no-such-job", "at most 200 characters", "JSON"):
        if sum(expected in reason for reason in reasons) != 1:
            raise CheckFailed(f"expected one dead letter whose reason names {expected!r}, the reasons are {reasons!r}")
    d.screenshot("dead-letters.png")


def check_phone(d, hello_id, count_id):
    d.driver.set_window_size(375, 812)
    for route, name in (
        ("#/executions", "phone-executions.png"),
        (f"#/executions/{count_id}", "phone-execution.png"),
        ("#/workers", None),
        ("#/schedules", None),
        ("#/dead-letters", None),
    ):
        d.navigate(route)
        time.sleep(0.8)
        overflow = d.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            raise CheckFailed(f"{route} is {overflow} px wider than a 375 px phone screen")
        if name:
            d.screenshot(name)
    d.driver.set_window_size(1280, 860)


BAD_COMMANDS = (
    b'{"command":"start","job":"no-such-job","params":{}}',
    b'{"command":"start","job":"hello","params":{"who":"' + b"x" * 201 + b'"}}',
    b'{"command":"start","job":',
)


def publish_bad_commands(args):
    """Commands that can never succeed (an unknown job, refused parameters, not JSON): the worker dead-letters each
    with its reason."""
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for body in BAD_COMMANDS:
            channel.basic_publish(
                exchange="",
                routing_key=f"{args.prefix}.commands",
                body=body,
                properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
            )
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--schedule", required=True, help="the name of a schedule the runner added")
    parser.add_argument("--screenshots", default="docs/screenshots")
    parser.add_argument("--artifacts", default=".")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
    parser.add_argument("--chromedriver", default=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    args = parser.parse_args()

    marker = uuid.uuid4().hex[:8]
    publish_bad_commands(args)
    d = Dashboard(args)
    try:
        return run_checks(d, args, marker)
    finally:
        d.driver.quit()


def run_checks(d, args, marker):
    """Runs the checks in order; 0 when all held, 1 (with a screenshot and the console) at the first that did not."""
    step = "starting"
    began = time.monotonic()
    try:
        step = "token and live events"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_token_and_live(d)
        step = "the start dialog from the keyboard"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_keyboard(d)
        step = "start hello, see it COMPLETED live"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        hello_id, who = check_start_hello(d, marker)
        step = "open its steps"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_hello_detail(d, hello_id, who)
        step = "stop a slow count, see it STOPPED"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        count_id = check_stop_count(d, marker)
        step = "restart it, stop it again, abandon it"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_restart_and_abandon(d, count_id)
        step = "a partitioned job and a failing one"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_partitions(d, marker)
        step = "workers, schedules, dead letters"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_pages(d, args)
        step = "phone width"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        check_phone(d, hello_id, count_id)
        step = "no errors in the browser's console"
        print(f"- {step} ({time.monotonic() - began:.1f} s)")
        d.collect_console()
        # The 401s before the token was given and the refused start's 400 were asked for; nothing else may fail.
        expected = (
            "status of 401 (Unauthorized)",
            "/api/jobs/hello/start - Failed to load resource: the server responded with a status of 400",
        )
        errors = [
            entry
            for entry in d.console
            if entry.get("level") == "SEVERE" and not any(text in entry.get("message", "") for text in expected)
        ]
        if errors:
            raise CheckFailed("the browser logged errors:\n" + "\n".join(entry["message"] for entry in errors))
        print(f"dashboard: all checks passed in {time.monotonic() - began:.1f} s")
        return 0
    except CheckFailed as failure:
        print(f"dashboard: FAILED at '{step}': {failure}", file=sys.stderr)
    except Exception as error:  # a broken driver or browser: say so plainly
        print(f"dashboard: FAILED at '{step}': {type(error).__name__}: {error}", file=sys.stderr)
    try:
        os.makedirs(args.artifacts, exist_ok=True)
        path = os.path.join(args.artifacts, "failure.png")
        d.driver.save_screenshot(path)
        print(f"  screenshot of the failure: {path}", file=sys.stderr)
        d.collect_console()
        for entry in d.console:
            print(f"  console {entry.get('level')}: {entry.get('message')}", file=sys.stderr)
    except WebDriverException:
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
