"""How the receiver serves its page, over HTTP (a real receiver in this process, on a free
port): the files and the headers that keep them to themselves, and with an API key the
way in, once, by the key and then by a token that is not the key, which only the page's
script sends. What the page shows is
tested in a browser (tests/test_receiver_page.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from stac_events.receiver import Limits, LocalReceiver, Store
from tests.conftest import API_KEY

ANSWER_WAIT_S = 30.0
PAGE_FOLDER = Path(__file__).resolve().parent.parent / "stac_events" / "receiver" / "page"


def payload(title: str) -> bytes:
    event = {"event_type": "DeployEvent", "msg_title": title, "msg_text": "x",
             "timestamp": int(time.time())}  # fmt: skip
    return json.dumps({"collection_timestamp": int(time.time()), "internalHostname": "h",
                       "events": {"DeployEvent": [event]}}).encode()  # fmt: skip


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[LocalReceiver]:
    with LocalReceiver(Store(tmp_path / "events.db"), port=0) as running:
        yield running
    running.store.close()


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[LocalReceiver]:
    store = Store(tmp_path / "keyed.db")
    with LocalReceiver(store, port=0, limits=Limits(api_key=API_KEY)) as running:
        yield running
    store.close()


def get(url: str, **options: Any) -> requests.Response:
    return requests.get(url, timeout=ANSWER_WAIT_S, allow_redirects=False, **options)


def test_the_page_and_its_files_are_served_with_a_policy_that_loads_nothing_else(receiver):
    page = get(receiver.url + "/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.content == (PAGE_FOLDER / "index.html").read_bytes()
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    for path, kind in [("/page.js", "text/javascript"), ("/page.css", "text/css"),
                       ("/favicon.svg", "image/svg+xml")]:  # fmt: skip
        served = get(receiver.url + path)
        assert served.status_code == 200
        assert served.headers["Content-Type"].startswith(kind)
        assert served.content == (PAGE_FOLDER / path.lstrip("/")).read_bytes()
    # every file it names is served, and none is fetched from elsewhere
    for name in ("index.html", "page.js", "page.css"):
        text = (PAGE_FOLDER / name).read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://127.0.0.1:7077/", "")
        assert "https://" not in text
        assert "innerHTML" not in text
        assert "<style" not in text
        assert "<script>" not in text  # a script of its own file only: CSP has no inline
    assert get(receiver.url + "/page.html").status_code == 404
    assert get(receiver.url + "/../server.py").status_code == 404


def test_a_page_elsewhere_still_cannot_read_events(receiver):
    elsewhere = {"Origin": "https://evil.example"}
    assert get(receiver.url + "/", headers=elsewhere).status_code == 403
    assert get(receiver.url + "/events", headers=elsewhere).status_code == 403
    assert get(receiver.url + "/", headers={"Host": "evil.example"}).status_code == 403


def test_without_a_key_the_key_in_the_address_is_sent_away_and_no_token_made(receiver):
    answer = get(receiver.url + "/?api_key=anything")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"
    assert "Set-Cookie" not in answer.headers


def test_with_a_key_the_page_takes_it_once_and_then_a_token_in_a_header(keyed):
    page = get(keyed.url + "/")  # no events in it: served to anyone
    assert page.status_code == 200
    assert page.content == (PAGE_FOLDER / "index.html").read_bytes()
    assert b"/?api_key=YOUR_KEY" in page.content
    refused = get(keyed.url + "/?api_key=wrong")
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(keyed.url + "/page.js").status_code == 200
    assert get(keyed.url + "/events").status_code == 401

    opened = get(keyed.url + "/", params={"api_key": API_KEY})
    assert opened.status_code == 303
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in opened.headers
    location = opened.headers["Location"]
    assert location.startswith("/#token=")
    token = location.removeprefix("/#token=")
    assert len(token) >= 40
    assert API_KEY not in token
    assert requests.utils.quote(API_KEY, safe="") not in location
    assert API_KEY not in json.dumps(dict(opened.headers)) + opened.text

    header = {"X-Receiver-Token": token}
    sent = requests.post(keyed.url + "/stsAgent/intake", data=payload("keyed"),
                         params={"api_key": API_KEY}, timeout=ANSWER_WAIT_S)  # fmt: skip
    assert sent.status_code == 200
    events = get(keyed.url + "/events", headers=header)
    assert events.status_code == 200
    assert [e["event"]["msg_title"] for e in events.json()] == ["keyed"]
    assert get(keyed.url + "/refusals", headers=header).status_code == 200

    # the token stands for the key on the page's reads only: not to send, nor to delete
    sent = requests.post(keyed.url + "/stsAgent/intake", data=payload("by token"),
                         headers=header, timeout=ANSWER_WAIT_S)  # fmt: skip
    assert sent.status_code == 401
    assert "the page's token only reads" in sent.json()["error"]
    deleted = requests.delete(keyed.url + "/events", headers=header, timeout=ANSWER_WAIT_S)
    assert deleted.status_code == 401
    # nor in a cookie, nor in the query, nor any other value in the header
    assert get(keyed.url + "/events", headers={"Cookie": f"stac_events_{keyed.port}={token}"}
               ).status_code == 401  # fmt: skip
    assert get(keyed.url + f"/events?token={token}").status_code == 401
    for wrong in (token[:-1], "", API_KEY):
        refused = get(keyed.url + "/events", headers={"X-Receiver-Token": wrong})
        assert refused.status_code == 401
        # a stale token (the page left open over a restart) is told apart from no key
        assert "open the page again as /?api_key=KEY" in refused.json()["error"]


def test_the_token_of_one_run_does_not_open_the_next(tmp_path):
    tokens = []
    for _ in range(2):
        store = Store(tmp_path / "events.db")
        with LocalReceiver(store, port=0, limits=Limits(api_key=API_KEY)) as running:
            tokens.append(running.page_token)
        store.close()
    assert tokens[0] != tokens[1]
