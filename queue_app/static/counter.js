// The counter screen: staff press a button, the script calls the JSON API and says what happened
// in the page's language. The person signed in once: the browser sends the session cookie, which
// no script can read, and the script adds the page's CSRF token. No credential is kept in storage.
// The called ticket's token comes back from call-next; it is kept in sessionStorage so that a
// reload keeps the buttons working.
"use strict";

(() => {
  const page = Pages.blob();
  const words = page.strings;
  const format = Pages.formatter(page, Pages.serverClock(page.now));
  const ticketKey = `queue.counter-ticket.${page.branch}.${page.counter}`;
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

  function say(text, kind = "") {
    $("message").textContent = text;
    $("message").className = "message " + kind;
  }

  function refresh() {
    const ticket = current();
    for (const button of buttons) {
      const needsTicket = button.dataset.action !== "call_next";
      button.disabled = busy || signedOut || (needsTicket && !ticket);
    }
    $("current").textContent = ticket ? ticket.number : serving || "—";
  }

  function actionUrl(action, ticket) {
    if (action === "call_next") return page.call_next;
    return page.actions[action].replace(page.token_slot, encodeURIComponent(ticket.token));
  }

  const DONE_WORDS = { call_next: "called", done: "done", no_show: "no_show", recall: "recalled" };

  function conflict(action, body, ticket) {
    const fields = body.fields || {};
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
    if (response.ok) {
      const finished = action === "done" || action === "no_show";
      remember(finished ? null : body);
      serving = finished ? null : body.number;
      say(format.fill(words[DONE_WORDS[action]], { number: Pages.isolate(body.number) }), "ok");
      return;
    }
    if (response.status === 401) {
      // The session ended (signed out elsewhere, expired, account disabled).
      signedOut = true;
      say(words.unauthorized, "error");
    } else if (response.status === 403) {
      say(words.forbidden, "error");
    } else if (response.status === 404 && action !== "call_next") {
      remember(null);
      say(words.gone, "error");
    } else if (response.status === 409) {
      say(conflict(action, body, ticket), "error");
    } else if (response.status === 429) {
      say(words.too_many, "error");
    } else {
      say(format.fill(words.failed, { status: format.digits(response.status) }), "error");
    }
  }

  async function act(action) {
    const ticket = current();
    busy = true;
    refresh();
    try {
      const response = await fetch(actionUrl(action, ticket), {
        method: "POST",
        headers: { "X-CSRFToken": page.csrf_token, Accept: "application/json" },
        credentials: "same-origin",
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
