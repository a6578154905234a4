// The receiver's page: the events it stored and the payloads it refused, kept up to date.
//
// It asks GET /events and GET /refusals for the newest, then holds one request on each
// (`after=<the last id seen>&wait=25`) that the receiver answers as soon as something newer
// is stored, or after 25 s with nothing; an empty answer makes it load the newest afresh
// (what was seen may have been cleared). Type and identifier filter on the receiver, as the
// same parameters of GET /events do; the text filter hides what is already shown.
// Every value shown is set as text, never as HTML: whatever a sender wrote stays text, and
// is isolated from the text around it (page.css), so that a right-to-left override in it
// turns nothing else round.
//
// With an API key, the receiver sends the browser here as `/#token=TOKEN` once the page was
// opened with the key: the token moves from the address (its fragment, which no server is
// sent) to this tab's sessionStorage, and goes in the X-Receiver-Token header of the page's
// own requests, which no other site's page, nor any other server, is ever sent.
// Each answer says, in X-Receiver-Clears, how many times events were deleted: when that
// changes, what is shown is loaded afresh (ids may no longer be there).
"use strict";

(() => {
  const NEWEST = 500; // events (and refusals) loaded at first, and kept on the page
  const WAIT_S = 25; // how long the receiver holds a request for something new
  const RETRY_MS = 2000; // after a failed request
  const TYPING_MS = 300; // a filter is applied once typing pauses this long

  const byId = (id) => document.getElementById(id);
  const status = byId("status");
  const failures = { events: null, refusals: null };
  const TOKEN_HEADER = "X-Receiver-Token";
  const CLEARS_HEADER = "X-Receiver-Clears";
  const tokenKey = `stac_events_token_${location.port || "80"}`; // one a receiver's port
  let token = null;
  let clears = null; // X-Receiver-Clears as last answered
  let keyWanted = false;

  function storage() {
    try {
      return window.sessionStorage;
    } catch (ignored) {
      return null; // storage turned off: the token lasts as long as the page
    }
  }

  function takeToken() {
    const given = new URLSearchParams(location.hash.slice(1)).get("token");
    const stored = storage();
    if (given) {
      token = given;
      if (stored) stored.setItem(tokenKey, given);
    } else if (stored) {
      token = stored.getItem(tokenKey);
    }
    if (location.hash || location.search) {
      history.replaceState(null, "", location.pathname); // no token, nor a key, in the bar
    }
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined && text !== null) made.textContent = String(text);
    return made;
  }

  function pause(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  class Failure extends Error {
    constructor(status, said) {
      super(said || `the receiver answered ${status}`);
      this.status = status;
    }
  }

  async function ask(path, parameters, signal) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(parameters)) {
      if (value !== "" && value !== null && value !== undefined) query.set(name, String(value));
    }
    const headers = token ? { [TOKEN_HEADER]: token } : {};
    const answer = await fetch(`${path}?${query}`, { signal, cache: "no-store", headers });
    if (!answer.ok) {
      let said = "";
      try {
        said = (await answer.json()).error;
      } catch (ignored) {
        said = "";
      }
      throw new Failure(answer.status, said);
    }
    const found = await answer.json();
    return { found, clears: answer.headers.get(CLEARS_HEADER) };
  }

  // Whether the events were deleted since the last answer: then both lists start afresh.
  function clearedSince(answered) {
    if (answered === null || answered === clears) return false;
    const first = clears === null;
    clears = answered;
    if (first) return false;
    events.follow(events.parameters);
    refusals.follow(refusals.parameters);
    return true;
  }

  // The token was refused (none, or one of an earlier run): say how to open the page, and
  // ask no more until it is opened again.
  function keyNeeded() {
    keyWanted = true;
    events.stop();
    refusals.stop();
    const stored = storage();
    if (stored) stored.removeItem(tokenKey);
    byId("key-address").textContent = `${location.origin}/?api_key=YOUR_KEY`;
    byId("key-needed").hidden = false;
    byId("listings").hidden = true;
    byId("filters").hidden = true;
    status.classList.add("failed");
    status.textContent = "Not live: the receiver asks for its API key.";
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  // Epoch seconds as local time, `2026-12-07 11:02:07`.
  function clock(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
    const at = new Date(seconds * 1000);
    if (Number.isNaN(at.getTime())) return "";
    return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
      `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  }

  function receivedSeconds(iso) {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? null : at / 1000;
  }

  function showStatus() {
    const failed = failures.events || failures.refusals;
    status.classList.toggle("failed", Boolean(failed));
    if (keyWanted) return;
    if (!failed) {
      status.textContent = "Live: new events appear as they arrive.";
    } else {
      status.textContent = `Not live: ${failed.message}. Trying again…`;
    }
  }

  // A list on the page that follows one of the receiver's listings.
  class Listing {
    constructor(path, list, empty, count, render, matches) {
      this.path = path;
      this.list = list;
      this.empty = empty;
      this.count = count;
      this.render = render;
      this.matches = matches || (() => true);
      this.shown = new Map(); // id -> its <li>
      this.parameters = {};
      this.controller = null;
    }

    stop() {
      if (this.controller) this.controller.abort();
      this.controller = null;
    }

    // Follow the listing with these parameters, from scratch; an earlier loop stops.
    follow(parameters) {
      if (keyWanted) return;
      if (this.controller) this.controller.abort();
      this.controller = new AbortController();
      this.parameters = parameters;
      this.shown.clear();
      this.list.replaceChildren();
      this.update();
      this.loop(this.controller.signal);
    }

    async loop(signal) {
      let after = null;
      while (!signal.aborted) {
        try {
          if (after === null) {
            const newest = await ask(this.path, { ...this.parameters, limit: NEWEST }, signal);
            if (signal.aborted) return; // the filters changed while it was on its way
            if (clearedSince(newest.clears)) return; // started afresh
            after = this.take(newest.found, true);
            this.failed(null);
          }
          const newer = await ask(this.path, { ...this.parameters, after, wait: WAIT_S }, signal);
          if (signal.aborted) return;
          if (clearedSince(newer.clears)) return;
          if (newer.found.length) {
            after = this.take(newer.found, false);
          } else {
            after = null; // nothing new within WAIT_S, or what was seen is gone: look afresh
          }
          this.failed(null);
        } catch (error) {
          if (signal.aborted) return;
          if (error.status === 401) {
            keyNeeded();
            return;
          }
          this.failed(error);
          after = null;
          await pause(RETRY_MS);
        }
      }
    }

    failed(error) {
      failures[this.path === "/events" ? "events" : "refusals"] = error;
      showStatus();
    }

    // Show `found` (oldest first, as the receiver lists them) newest first; with `whole`,
    // it is all there is: anything else shown is gone. Returns the last id.
    take(found, whole) {
      if (whole) {
        const kept = new Set(found.map((item) => item.id));
        for (const [id, item] of this.shown) {
          if (!kept.has(id)) {
            item.remove();
            this.shown.delete(id);
          }
        }
      }
      for (const item of found) {
        let shown = this.shown.get(item.id);
        if (!shown) {
          shown = this.render(item);
          shown.hidden = !this.matches(shown);
          this.shown.set(item.id, shown);
        }
        this.list.prepend(shown); // one already shown keeps its place, and stays open
      }
      while (this.shown.size > NEWEST) {
        const oldest = this.list.lastElementChild;
        for (const [id, item] of this.shown) {
          if (item === oldest) this.shown.delete(id);
        }
        oldest.remove();
      }
      this.update();
      return found.length ? found[found.length - 1].id : 0;
    }

    // Hide what the text filter leaves out, and say how many are shown.
    update() {
      let visible = 0;
      for (const item of this.shown.values()) {
        item.hidden = !this.matches(item);
        if (!item.hidden) visible += 1;
      }
      this.empty.hidden = visible > 0;
      this.count.textContent = this.shown.size === visible ?
        `(${visible})` : `(${visible} of ${this.shown.size})`;
    }
  }

  const seenTypes = new Set();
  const seenIdentifiers = new Set();

  function remember(value, seen, list) {
    if (typeof value !== "string" || !value || seen.has(value) || seen.size >= 1000) return;
    seen.add(value);
    const option = document.createElement("option");
    option.value = value;
    byId(list).append(option);
  }

  const haystacks = new WeakMap(); // <li> -> the lower-case text the text filter looks in

  // Direction controls (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C) as JSON escapes
  // in the JSON shown: the same JSON, that turns no text round.
  const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
  function withoutBidi(json) {
    return json.replace(BIDI, (found) => `\\u${found.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }

  function text(value) {
    return typeof value === "string" ? value : (value === undefined || value === null ?
      "" : JSON.stringify(value));
  }

  function renderEvent(stored) {
    const event = stored.event && typeof stored.event === "object" ? stored.event : {};
    const context = event.context && typeof event.context === "object" ? event.context : {};
    const identifiers = Array.isArray(context.element_identifiers) ?
      context.element_identifiers.map(text) : [];
    const type = text(event.event_type) || text(stored.name);

    const item = element("li", "event");
    item.dataset.id = String(stored.id);
    const details = element("details");
    const summary = element("summary");
    const line = element("div", "line");
    const when = element("time", "when",
      clock(event.timestamp) || clock(receivedSeconds(stored.received)));
    if (typeof event.timestamp === "number") {
      when.dateTime = new Date(event.timestamp * 1000).toISOString();
    }
    line.append(when, element("span", "type", type));
    if (context.category !== undefined) line.append(element("span", "category", text(context.category)));
    summary.append(line, element("div", "title", text(event.msg_title)));
    if (identifiers.length) {
      const list = element("ul", "identifiers");
      for (const identifier of identifiers) list.append(element("li", "identifier", identifier));
      summary.append(list);
    }
    if (context.source !== undefined) {
      const source = element("div", "source");
      source.append(element("span", "label", "source "), element("span", "value", text(context.source)));
      summary.append(source);
    }
    const json = element("pre", "json", withoutBidi(JSON.stringify(stored, null, 2)));
    details.append(summary, json);
    item.append(details);

    remember(type, seenTypes, "seen-types");
    for (const identifier of identifiers) remember(identifier, seenIdentifiers, "seen-identifiers");
    haystacks.set(item, [type, event.msg_title, event.msg_text, context.source, context.category,
      stored.host, ...identifiers].map(text).join("\n").toLowerCase());
    return item;
  }

  function renderRefusal(refusal) {
    const item = element("li", "refusal");
    item.dataset.id = String(refusal.id);
    const line = element("div", "line");
    line.append(element("time", "when", clock(receivedSeconds(refusal.received))),
      element("span", "status", `refused (${text(refusal.status)})`));
    item.append(line, element("div", "error", text(refusal.error)));
    const reasons = element("ul", "reasons");
    for (const reason of Array.isArray(refusal.reasons) ? refusal.reasons : []) {
      const shown = element("li", "reason");
      if (reason && reason.path) shown.append(element("code", "path", text(reason.path)), ": ");
      shown.append(element("span", "why", text(reason && reason.reason)));
      reasons.append(shown);
    }
    item.append(reasons);
    const details = element("details");
    const size = typeof refusal.size === "number" ? `${refusal.size} bytes` : "";
    details.append(
      element("summary", null, refusal.truncated ? `The payload's start (of ${size})` :
        `The payload (${size})`),
      element("pre", "json", withoutBidi(text(refusal.excerpt))));
    item.append(details);
    return item;
  }

  const textFilter = byId("filter-text");
  const events = new Listing("/events", byId("events"), byId("events-empty"),
    byId("events-count"), renderEvent, (item) => {
      const wanted = textFilter.value.trim().toLowerCase();
      return !wanted || (haystacks.get(item) || "").includes(wanted);
    });
  const refusals = new Listing("/refusals", byId("refusals"), byId("refusals-empty"),
    byId("refusals-count"), renderRefusal);

  function serverFilters() {
    return {
      type: byId("filter-type").value.trim(),
      identifier: byId("filter-identifier").value.trim(),
    };
  }

  let typing = null;
  let following = JSON.stringify(serverFilters());
  function filtersChanged() {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const wanted = serverFilters();
      if (JSON.stringify(wanted) === following) return;
      following = JSON.stringify(wanted);
      events.follow(wanted);
    }, TYPING_MS);
  }
  byId("filter-type").addEventListener("input", filtersChanged);
  byId("filter-identifier").addEventListener("input", filtersChanged);
  textFilter.addEventListener("input", () => events.update());
  byId("filters").addEventListener("submit", (submitted) => submitted.preventDefault());

  takeToken();
  events.follow(serverFilters());
  refusals.follow({});
})();
