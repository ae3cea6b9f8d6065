// The counter screen: staff press a button, the script calls the JSON API and says what happened
// in the page's language. The person signed in once: the browser sends the session cookie, which
// no script can read, and the script adds the page's CSRF token. No credential is kept in storage.
// The called ticket's token comes back from call-next; it is kept in sessionStorage so that a
// reload keeps the buttons working, as are the tickets this counter put on hold. Each button has
// a key (page.shortcuts, listed on the page), ignored while typing in a field.
"use strict";

(() => {
  const page = Pages.blob();
  const words = page.strings;
  const format = Pages.formatter(page, Pages.serverClock(page.now));
  const ticketKey = `queue.counter-ticket.${page.branch}.${page.counter}`;
  const heldKey = `queue.counter-held.${page.branch}.${page.counter}`;
  const missedKey = `queue.counter-missed.${page.branch}.${page.counter}`;
  const $ = (id) => document.getElementById(id);
  const buttons = [...document.querySelectorAll("[data-action]")];
  let serving = page.serving; // the number the branch shows for this counter (public)
  let busy = false;
  let lastActionAt = 0;

  let signedOut = false;

  function current() {
    try {
      return JSON.parse(sessionStorage.getItem(ticketKey));
    } catch (error) {
      return null;
    }
  }

  function remember(ticket) {
    if (ticket) {
      sessionStorage.setItem(ticketKey, JSON.stringify({ token: ticket.token, number: ticket.number }));
    } else {
      sessionStorage.removeItem(ticketKey);
    }
  }

  // Tickets on hold here, oldest first: resume and back-to-line act on the first.
  function held() {
    try {
      return JSON.parse(sessionStorage.getItem(heldKey)) || [];
    } catch (error) {
      return [];
    }
  }

  function keepHeld(list) {
    sessionStorage.setItem(heldKey, JSON.stringify(list));
  }

  function addHeld(ticket) {
    keepHeld([...held().filter((t) => t.token !== ticket.token),
      { token: ticket.token, number: ticket.number }]);
  }

  function dropHeld(token) {
    keepHeld(held().filter((t) => t.token !== token));
  }

  // The last ticket marked missed here: "came back" acts on it.
  function missed() {
    try {
      return JSON.parse(sessionStorage.getItem(missedKey));
    } catch (error) {
      return null;
    }
  }

  function keepMissed(ticket) {
    if (ticket) {
      sessionStorage.setItem(missedKey, JSON.stringify({ token: ticket.token, number: ticket.number }));
    } else {
      sessionStorage.removeItem(missedKey);
    }
  }

  // What each button acts on: nothing (call next), the called ticket, the first held one, or
  // the last one marked missed.
  const ON_HELD = ["resume", "back_to_line"];
  const target = (action) =>
    action === "call_next" ? null
      : action === "came_back" ? missed()
        : ON_HELD.includes(action) ? held()[0] : current();

  function say(text, kind = "") {
    $("message").textContent = text;
    $("message").className = "message " + kind;
  }

  function refresh() {
    const ticket = current();
    for (const button of buttons) {
      const action = button.dataset.action;
      button.disabled = busy || signedOut || (action !== "call_next" && !target(action));
    }
    $("current").textContent = ticket ? ticket.number : serving || "—";
    const last = missed();
    $("missed").hidden = !last;
    $("missed-number").textContent = last ? last.number : "";
    const onHold = held();
    $("held").hidden = onHold.length === 0;
    Pages.replaceChildren($("held-list"), onHold, (t) => {
      const item = Pages.element("li", t.number);
      item.dir = "ltr";
      return item;
    });
  }

  function actionUrl(action, ticket) {
    if (action === "call_next") return page.call_next;
    return page.actions[action].replace(page.token_slot, encodeURIComponent(ticket.token));
  }

  const DONE_WORDS = {
    call_next: "called", done: "done", no_show: "no_show", recall: "recalled", hold: "held",
    resume: "resumed", back_to_line: "back_to_line", transfer: "transferred",
    came_back: "came_back",
  };

  function conflict(action, body, ticket) {
    const fields = body.fields || {};
    if (body.error === "counter_busy") {
      return fields.serving
        ? format.fill(words.counter_busy, { number: Pages.isolate(fields.serving) })
        : words.same_counter;
    }
    if (action === "call_next") return fields.counter ? words.counter_closed : words.busy;
    if (fields.status && fields.status !== "called") remember(null); // it has moved on
    return format.fill(words.not_now, {
      number: Pages.isolate(ticket.number),
      status: words.status[fields.status] || fields.status || "",
    });
  }

  async function answer(action, response, ticket) {
    if (response.status === 204) {
      remember(null);
      serving = null;
      say(words.nobody_waiting);
      return;
    }
    const body = await response.json().catch(() => ({}));
    if (action === "came_back") {
      // Back in the line, or refused for good (too late, not told): either way, done with it.
      if (response.ok || response.status === 409 || response.status === 404) keepMissed(null);
      if (response.ok) {
        say(format.fill(words.came_back, { number: Pages.isolate(body.number) }), "ok");
        return;
      }
      if (response.status === 409) {
        say(body.error === "too_late" ? words.came_back_late : words.came_back_refused, "error");
        return;
      }
    }
    if (response.ok) {
      if (action === "no_show") keepMissed(body);
      // Off this counter: finished, put aside, sent elsewhere. Resume and recall keep it here.
      const gone = ["done", "no_show", "hold", "transfer"].includes(action);
      if (action === "hold") addHeld(body);
      else if (body.status !== "on_hold") dropHeld(body.token);
      if (action !== "back_to_line") {
        remember(gone ? null : body);
        serving = gone ? null : body.number;
      }
      say(format.fill(words[DONE_WORDS[action]], { number: Pages.isolate(body.number) }), "ok");
      return;
    }
    if (response.status === 401) {
      // The session ended (signed out elsewhere, expired, account disabled).
      signedOut = true;
      say(words.unauthorized, "error");
    } else if (response.status === 403) {
      say(words.forbidden, "error");
    } else if (response.status === 404 && action === "transfer" && body.fields) {
      say(format.fill(words.failed, { status: format.digits(response.status) }), "error");
    } else if (response.status === 404 && action !== "call_next") {
      if (ON_HELD.includes(action)) dropHeld(ticket.token);
      else remember(null);
      say(words.gone, "error");
    } else if (response.status === 409) {
      if (ON_HELD.includes(action) && body.fields && body.fields.status !== "on_hold" &&
          body.error !== "counter_busy") {
        dropHeld(ticket.token); // resumed or finished from another device
      }
      say(conflict(action, body, ticket), "error");
    } else if (response.status === 429) {
      say(words.too_many, "error");
    } else {
      say(format.fill(words.failed, { status: format.digits(response.status) }), "error");
    }
  }

  // The transfer's target, from the page's list: {"service": code} or {"counter": code}.
  function transferBody() {
    const [kind, code] = $("transfer-to").value.split(/:(.*)/s);
    return JSON.stringify({ [kind]: code });
  }

  async function act(action) {
    const ticket = target(action);
    if (action !== "call_next" && !ticket) return; // a key pressed with nothing to act on
    busy = true;
    refresh();
    const headers = { "X-CSRFToken": page.csrf_token, Accept: "application/json" };
    if (action === "transfer") headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(actionUrl(action, ticket), {
        method: "POST",
        headers,
        credentials: "same-origin",
        body: action === "transfer" ? transferBody() : undefined,
      });
      lastActionAt = Date.now();
      await answer(action, response, ticket);
    } catch (error) {
      say(words.network, "error");
    } finally {
      busy = false;
      refresh();
    }
  }

  for (const button of buttons) {
    button.addEventListener("click", () => act(button.dataset.action));
  }

  // Keyboard shortcuts: one letter per button, whatever the keyboard's language (event.code).
  const byKey = Object.fromEntries(
    Object.entries(page.shortcuts).map(([action, key]) => ["Key" + key, action]));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const action = byKey[event.code];
    if (!action) return;
    const button = document.querySelector(`[data-action="${action}"]`);
    if (!button || button.disabled) return;
    event.preventDefault();
    act(action);
  });

  // "Down here" and "working again" for a government system: one call each, for this branch.
  async function system(action, code) {
    const url = (action === "report" ? page.report_url : page.back_url)
      .replace(page.system_slot, encodeURIComponent(code));
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "X-CSRFToken": page.csrf_token,
          Accept: "application/json",
          "Content-Type": "application/json",
        },
        credentials: "same-origin",
        body: JSON.stringify({ branch: page.branch }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok && action === "report") {
        const here = (body.backend && body.backend.down_at) || [];
        say(here.includes(page.branch) ? words.paused_here : format.fill(words.reported, {
          reports: format.digits(body.reports),
          needed: format.digits(body.needed),
        }), "ok");
      } else if (response.ok) {
        say(words.back_here, "ok");
      } else if (response.status === 401) {
        signedOut = true;
        say(words.unauthorized, "error");
      } else if (response.status === 403 && action === "back") {
        say(words.down_everywhere, "error");
      } else if (response.status === 409) {
        say(words.not_down_here, "error");
      } else {
        say(format.fill(words.failed, { status: format.digits(response.status) }), "error");
      }
    } catch (error) {
      say(words.network, "error");
    }
  }

  for (const button of document.querySelectorAll("[data-system-action]")) {
    button.addEventListener("click", () => system(button.dataset.systemAction, button.dataset.system));
  }

  function renderService(service) {
    const row = document.querySelector(`[data-service="${CSS.escape(service.code)}"]`);
    if (!row) return;
    row.className = "state-" + service.state;
    row.querySelector('[data-field="state"]').textContent = words.state[service.state] || service.state;
    row.querySelector('[data-field="waiting"]').textContent =
      format.fill(words.waiting, { count: format.digits(service.waiting) });
  }

  Pages.poll(page.branch_api, page.poll_seconds, (branch, askedAt) => {
    branch.services.forEach(renderService);
    const mine = branch.counters.find((counter) => counter.code === page.counter);
    if (!mine) return;
    $("counter-closed").hidden = mine.open;
    // An answer asked for before our last button press may not know about it yet.
    if (askedAt < lastActionAt || busy) return;
    serving = mine.now_serving;
    const ticket = current();
    // Another device at this counter moved on: our ticket is not the one being served any more.
    if (ticket && ticket.number !== serving) remember(null);
    refresh();
  }, () => {});

  // A ticket kept from an earlier visit counts only if it is still the one being served.
  const kept = current();
  if (kept && kept.number !== serving) remember(null);
  refresh();
})();
