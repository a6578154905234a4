"""The receiver's page at `/`, in a real browser: Debian's chromium, driven headless by
Playwright, against a real `stac-events receiver` process, with events sent by
`stac-events event send` as a user sends them.

Without chromium or Playwright these tests skip, saying what to install; with
STAC_EVENTS_REQUIRE_BROWSER=1 (as `.ci/run` sets once chromium is there) that is a failure.
STAC_EVENTS_SCREENSHOT=PATH makes the screenshot test write the README's picture there.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from tests.conftest import API_KEY

pytestmark = pytest.mark.slow  # a browser, a receiver and the sends, each a real process

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("STAC_EVENTS_CHROMIUM", "/usr/bin/chromium"))
SHOWN_MS = 30_000  # how long an expectation waits for the page: a safety net on a busy machine
PHONE = {"width": 375, "height": 740}


def absent(why: str) -> None:
    """No browser to test with: a skip that says what to install, or a failure in CI."""
    if os.environ.get("STAC_EVENTS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} (STAC_EVENTS_REQUIRE_BROWSER=1: the browser tests must run)",
                    pytrace=False)  # fmt: skip
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module's tests; each test has a context of its own."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        absent("playwright is not installed: python -m pip install -e '.[test]'")
    if not CHROMIUM.is_file():
        absent(f"chromium not found at {CHROMIUM}: apt-get install chromium "
               f"(or STAC_EVENTS_CHROMIUM=PATH)")  # fmt: skip
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=SHOWN_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


class Problems:
    """What went wrong inside the page: script errors, and what the console said was an
    error (a request refused, a Content-Security-Policy violation)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.seen: List[str] = []
        page.on("pageerror", lambda error: self.seen.append(f"page error: {error}"))
        page.on("console", lambda message: self.seen.append(f"console: {message.text}")
                if message.type == "error" else None)  # fmt: skip


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A browser context of the test's own: its own cookies, a phone-sized window."""
    made = browser.new_context(viewport=PHONE)
    made.set_default_timeout(SHOWN_MS)
    yield made
    made.close()


@pytest.fixture
def problems(context: Any) -> Iterator[Problems]:
    """A page (`.page`) that fails the test, after it, if a script failed or the console
    told of an error (`.seen`, which a test that causes one on purpose clears)."""
    watched = Problems(context.new_page())
    yield watched
    assert watched.seen == []


@pytest.fixture
def page(problems: Problems) -> Any:
    return problems.page


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def send(processes: Any, receiver: Any, *args: str, expect: int = 0) -> None:
    """`stac-events event send ARGS` to the receiver, as a user runs it."""
    processes.cli("event", "send", *args, expect=expect,
                  env={"STAC_EVENTS_RECEIVER_URL": receiver.url,
                       "STAC_EVENTS_API_KEY": API_KEY})  # fmt: skip


def deploy(processes: Any, receiver: Any, title: str, *identifiers: str, **more: str) -> None:
    flags = [f for name, value in more.items() for f in (f"--{name}", value)]
    send(processes, receiver, "DeployEvent", "--title", title, "-c", "Changes",
         "-i", *(identifiers or ("urn:service:/checkout",)), *flags)  # fmt: skip


def refuse(processes: Any, receiver: Any) -> None:
    """A send the receiver refuses (400): a timestamp older than StackState keeps."""
    send(processes, receiver, "DeployEvent", "--title", "Last year's deploy",
         "--timestamp", "2025-01-01T00:00:00Z", expect=4)  # fmt: skip


def titles(page: Any) -> Any:
    """The titles of the events shown (the text filter hides some), newest first."""
    return page.locator("#events > li.event:visible .title")


def test_the_page_shows_stored_events_newest_first_and_new_ones_without_a_reload(
    local_receiver, processes, page
):
    deploy(processes, local_receiver, "Deployed checkout 1.4.1", "urn:service:/checkout",
           source="ci")  # fmt: skip
    deploy(processes, local_receiver, "Deployed cart 2.0", "urn:service:/cart")
    answer = page.goto(local_receiver.url + "/")
    assert answer.status == 200
    expect(titles(page)).to_have_text(["Deployed cart 2.0", "Deployed checkout 1.4.1"])
    first = page.locator("#events > li.event").last
    expect(first.locator(".type")).to_have_text("DeployEvent")
    expect(first.locator(".category")).to_have_text("Changes")
    expect(first.locator(".identifier")).to_have_text(["urn:service:/checkout"])
    expect(first.locator(".source .value")).to_have_text("ci")
    expect(first.locator(".when")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    expect(page.locator("#status")).to_contain_text("Live")

    page.evaluate("window.loadedOnce = true")  # gone, were the page loaded again
    send(processes, local_receiver, "AlertEvent", "--title", "CPU high on db-1",
         "-i", "urn:host:/db-1", "-c", "Alerts", "-s", "monitoring")  # fmt: skip
    expect(titles(page)).to_have_text(
        ["CPU high on db-1", "Deployed cart 2.0", "Deployed checkout 1.4.1"]
    )
    assert page.evaluate("window.loadedOnce") is True
    expect(page.locator("#events-count")).to_have_text("(3)")


def test_filters_by_type_identifier_and_text(local_receiver, processes, page):
    deploy(processes, local_receiver, "Deployed checkout 1.4.2", "urn:service:/checkout")
    send(processes, local_receiver, "AlertEvent", "--title", "Checkout errors up",
         "-i", "urn:service:/checkout", "-c", "Alerts")  # fmt: skip
    deploy(processes, local_receiver, "Deployed cart 2.0", "urn:service:/cart",
           text="Rolled out by the release train")  # fmt: skip
    page.goto(local_receiver.url + "/")
    everything = ["Deployed cart 2.0", "Checkout errors up", "Deployed checkout 1.4.2"]
    expect(titles(page)).to_have_text(everything)

    page.fill("#filter-type", "AlertEvent")
    expect(titles(page)).to_have_text(["Checkout errors up"])
    page.fill("#filter-type", "")
    page.fill("#filter-identifier", "urn:service:/cart")
    expect(titles(page)).to_have_text(["Deployed cart 2.0"])
    page.fill("#filter-identifier", "urn:service:/checkout")
    expect(titles(page)).to_have_text(["Checkout errors up", "Deployed checkout 1.4.2"])
    page.fill("#filter-type", "DeployEvent")
    expect(titles(page)).to_have_text(["Deployed checkout 1.4.2"])

    page.fill("#filter-type", "")
    page.fill("#filter-identifier", "")
    page.fill("#filter-text", "release TRAIN")  # the event's text, in any case
    expect(titles(page)).to_have_text(["Deployed cart 2.0"])
    expect(page.locator("#events-count")).to_have_text("(1 of 3)")
    page.fill("#filter-text", "checkout")
    expect(titles(page)).to_have_text(["Checkout errors up", "Deployed checkout 1.4.2"])

    # While filtered, what arrives shows only when it matches.
    page.fill("#filter-text", "")
    page.fill("#filter-type", "AlertEvent")
    expect(titles(page)).to_have_text(["Checkout errors up"])
    deploy(processes, local_receiver, "Deployed checkout 1.4.3")
    send(processes, local_receiver, "AlertEvent", "--title", "Checkout errors down",
         "-i", "urn:service:/checkout", "-c", "Alerts")  # fmt: skip
    expect(titles(page)).to_have_text(["Checkout errors down", "Checkout errors up"])


def test_an_event_shows_its_whole_json_on_click(local_receiver, processes, page):
    deploy(processes, local_receiver, "Deployed checkout 1.4.2", "urn:service:/checkout",
           data="version=1.4.2")  # fmt: skip
    page.goto(local_receiver.url + "/")
    event = page.locator("#events > li.event").first
    expect(event.locator(".title")).to_have_text("Deployed checkout 1.4.2")
    json_view = event.locator("pre.json")
    expect(json_view).to_be_hidden()
    event.locator("summary").click()
    expect(json_view).to_be_visible()
    (stored,) = local_receiver.events()
    assert json.loads(json_view.text_content()) == stored
    assert stored["event"]["context"]["data"] == {"version": "1.4.2"}
    event.locator("summary").click()
    expect(json_view).to_be_hidden()


def test_refusals_show_with_their_reasons_and_new_ones_arrive(local_receiver, processes, page):
    refuse(processes, local_receiver)
    page.goto(local_receiver.url + "/")
    refusal = page.locator("#refusals > li.refusal")
    expect(refusal).to_have_count(1)
    expect(refusal.locator(".status")).to_have_text("refused (400)")
    expect(refusal.locator(".reason")).to_have_text(
        [re.compile(r"^events\.DeployEvent\[0\]\.timestamp: \d+ days old; StackState drops")]
    )
    expect(page.locator("#events-empty")).to_be_visible()

    page.evaluate("window.loadedOnce = true")
    send(processes, local_receiver, "DeployEvent", "--title", "Rollback of 2024",
         "--timestamp", "2024-06-01T00:00:00Z", expect=4)  # fmt: skip
    expect(refusal).to_have_count(2)
    expect(refusal.first.locator(".reason")).to_have_text([re.compile(r"\d+ days old")])
    assert page.evaluate("window.loadedOnce") is True
    refusal.first.locator("summary").click()
    expect(refusal.first.locator("pre.json")).to_contain_text('"msg_title":"Rollback of 2024"')


def test_a_title_that_is_html_shows_as_text(local_receiver, processes, page):
    title = '<img src=x onerror="window.ran = 1"><b>bold</b>'
    deploy(processes, local_receiver, title, "urn:<script>window.ran = 2</script>")
    page.goto(local_receiver.url + "/")
    event = page.locator("#events > li.event").first
    expect(event.locator(".title")).to_have_text(title)
    expect(event.locator(".identifier")).to_have_text(["urn:<script>window.ran = 2</script>"])
    assert event.locator("img, b, script").count() == 0
    assert page.evaluate("window.ran") is None


def test_at_phone_width_nothing_scrolls_sideways(local_receiver, processes, page):
    long = "urn:service:/" + "a-very-long-service-name-" * 8
    deploy(processes, local_receiver, "Deployed " + "x" * 120, long, source="s" * 90)
    refuse(processes, local_receiver)
    page.goto(local_receiver.url + "/")
    event = page.locator("#events > li.event").first
    expect(event.locator(".identifier")).to_have_text([long])
    event.locator("summary").click()
    page.locator("#refusals summary").first.click()
    expect(page.locator("#refusals pre.json")).to_be_visible()
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width == [PHONE["width"], PHONE["width"]]


def test_after_a_clear_the_page_shows_only_the_events_stored_since(local_receiver, processes, page):
    for title in ("Deployed 1", "Deployed 2", "Deployed 3"):
        deploy(processes, local_receiver, title)
    refuse(processes, local_receiver)
    page.goto(local_receiver.url + "/")
    expect(titles(page)).to_have_text(["Deployed 3", "Deployed 2", "Deployed 1"])
    expect(page.locator("#refusals > li.refusal")).to_have_count(1)
    cleared = requests.delete(local_receiver.url + "/events", timeout=30)
    assert cleared.json() == {"deleted": 3, "refusals_deleted": 1}
    deploy(processes, local_receiver, "Deployed 4")  # fewer than were there: ids go on
    expect(titles(page)).to_have_text(["Deployed 4"])
    expect(page.locator("#refusals > li.refusal")).to_have_count(0)
    expect(page.locator("#events > li.event")).to_have_count(1)
    assert page.locator("#events > li.event").get_attribute("data-id") == "4"


def test_a_sender_s_direction_controls_turn_nothing_else_round(local_receiver, processes, page):
    deploy(processes, local_receiver, "\u202eabc", "urn:\u202eservice")
    page.goto(local_receiver.url + "/")
    expect(titles(page)).to_have_text(["\u202eabc"])
    for selector in (".title", ".identifier", ".type"):
        isolated = page.locator(f"#events > li.event {selector}").first.evaluate(
            "(shown) => getComputedStyle(shown).unicodeBidi"
        )
        assert isolated == "isolate", selector
    page.locator("#events summary").first.click()
    shown = page.locator("#events pre.json").first.text_content()
    assert "\u202e" not in shown
    assert "\\u202e" in shown


class HeadersSeen:
    """A plain HTTP server on another local port, in the test's process, that keeps the
    headers of each request it answers: what a browser sends to another port of the same
    host."""

    def __init__(self) -> None:
        import http.server
        import threading

        seen: List[Dict[str, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(dict(self.headers.items()))
                body = b"<!doctype html><title>elsewhere</title><p>elsewhere</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.seen = seen
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[HeadersSeen]:
    server = HeadersSeen()
    yield server
    server.close()


def test_with_an_api_key_the_page_takes_it_once_and_keeps_only_a_token_of_its_own(
    receiver_factory, processes, context, problems, elsewhere
):
    page = problems.page
    receiver = receiver_factory("--api-key", API_KEY)
    deploy(processes, receiver, "Deployed checkout 1.4.2")

    # Without the key: how to open it, at the page's own address, and no more requests.
    asked: List[str] = []
    unopened = context.new_page()
    unopened.on("request", lambda request: asked.append(request.url))
    assert unopened.goto(receiver.url + "/").status == 200
    expect(unopened.locator("#key-needed")).to_be_visible()
    expect(unopened.locator("#key-address")).to_have_text(f"{receiver.url}/?api_key=YOUR_KEY")
    expect(unopened.locator("#key-needed")).to_contain_text("percent-encoded")
    expect(unopened.locator("#events")).to_be_hidden()
    reads = [url for url in asked if "/events" in url or "/refusals" in url]
    assert len(reads) == 2  # one each, refused: then it stops
    assert requests.get(receiver.url + "/events", timeout=30).status_code == 401
    wrong = page.goto(receiver.url + "/?api_key=not-the-key")
    assert wrong.status == 401
    expect(page.locator("#key-needed")).to_be_visible()
    assert page.url == receiver.url + "/"  # the wrong key left the address bar too
    assert [seen for seen in problems.seen if "status of 401" not in seen] == []
    problems.seen.clear()  # the refusals, which the console tells of

    opened = page.goto(f"{receiver.url}/?api_key={requests.utils.quote(API_KEY, safe='')}")
    assert opened.status == 200
    assert opened.request.redirected_from is not None  # 303: the key leaves the address bar
    expect(titles(page)).to_have_text(["Deployed checkout 1.4.2"])
    assert page.url == receiver.url + "/"  # and the token too
    send(processes, receiver, "DeployEvent", "--title", "Deployed checkout 1.4.3")
    expect(titles(page)).to_have_text(["Deployed checkout 1.4.3", "Deployed checkout 1.4.2"])

    assert context.cookies() == []
    stored = page.evaluate("JSON.stringify(Object.entries(sessionStorage))")
    (token,) = [value for name, value in json.loads(stored)]
    assert API_KEY not in stored
    assert requests.utils.quote(API_KEY, safe="") not in stored
    assert API_KEY not in page.content()
    header = {"X-Receiver-Token": token}
    assert requests.get(receiver.url + "/events", headers=header, timeout=30).status_code == 200

    # Another server on this host, opened in the same tab: it is sent neither the token nor
    # anything that stands for it. (The page's own policy lets it fetch nothing from there.)
    page.goto(elsewhere.url + "/")
    expect(page.locator("p")).to_have_text("elsewhere")
    assert elsewhere.seen  # the page, and whatever else the browser asks for (an icon)
    for headers in elsewhere.seen:
        said = json.dumps(headers)
        assert token not in said
        assert API_KEY not in said
        assert "cookie" not in said.lower()
        assert "x-receiver-token" not in said.lower()
    # Back in the tab, the page still has its token; a tab of its own has none.
    page.goto(receiver.url + "/")
    expect(titles(page)).to_have_count(2)
    other = context.browser.new_context()
    try:
        fresh = other.new_page()
        fresh.goto(receiver.url + "/")
        expect(fresh.locator("#key-needed")).to_be_visible()
    finally:
        other.close()
    problems.seen[:] = [seen for seen in problems.seen if "status of 401" not in seen]
    reads = [url for url in asked if "/events" in url or "/refusals" in url]
    assert len(reads) == 2  # the page without the key asked nothing since
    _, out, err = receiver.stop()
    assert API_KEY not in out + err
    assert token not in out + err
    assert requests.utils.quote(API_KEY, safe="") not in out + err


def test_a_picture_of_the_page(local_receiver, processes, browser, tmp_path):
    """What the README shows: a few deploys, an alert and a refusal, the oldest event's JSON
    open.
    Written to tmp_path; also to $STAC_EVENTS_SCREENSHOT when set (`make screenshot`)."""
    deploy(processes, local_receiver, "Deployed checkout 1.4.1 to staging",
           "urn:service:/checkout", source="ci-pipeline", data="version=1.4.1")  # fmt: skip
    deploy(processes, local_receiver, "Deployed cart 2.0.0 to staging", "urn:service:/cart",
           source="ci-pipeline")  # fmt: skip
    refuse(processes, local_receiver)
    send(processes, local_receiver, "AlertEvent", "--title", "Checkout p99 latency over 800 ms",
         "-i", "urn:service:/checkout", "urn:host:/node-3", "-c", "Alerts",
         "-s", "monitoring")  # fmt: skip
    deploy(processes, local_receiver, "Deployed checkout 1.4.2 to production",
           "urn:service:/checkout", source="ci-pipeline", data="version=1.4.2")  # fmt: skip
    made = browser.new_context(viewport={"width": 1100, "height": 640})
    try:
        page = made.new_page()
        page.goto(local_receiver.url + "/")
        expect(titles(page)).to_have_count(4)
        expect(page.locator("#refusals > li.refusal")).to_have_count(1)
        page.locator("#events > li.event summary").last.click()  # the oldest: below the rest
        expect(page.locator("#events pre.json").last).to_be_visible()
        expect(page.locator("#status")).to_contain_text("Live")
        shots = [tmp_path / "receiver-page.png"]
        wanted = os.environ.get("STAC_EVENTS_SCREENSHOT")
        if wanted:
            shots.append(ROOT / wanted)
        for shot in shots:
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(b"\x89PNG")
    finally:
        made.close()
