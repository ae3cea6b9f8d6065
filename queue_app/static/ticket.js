// The ticket page follows its ticket: it asks GET /api/v1/tickets/<token> every few seconds and
// changes the number, status, place, wait and notice in place. When a poll fails it keeps the last
// good data and says from when it is. A booked time can be confirmed or traded for the next free
// one, and a ticket still waiting can be cancelled: each answer is shown in place.
"use strict";

(() => {
  const page = Pages.blob();
  const words = page.strings;
  const now = Pages.serverClock(page.now);
  const format = Pages.formatter(page, now);
  const $ = (id) => document.getElementById(id);
  const ACTIVE = ["scheduled", "waiting", "called", "on_hold"];
  // Only those still waiting need the notice (ticket_page.STILL_WAITING); they may also cancel.
  const STILL_WAITING = ["scheduled", "waiting"];
  let lastGood = now();
  let status = page.status;

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  const slotText = (slot) =>
    format.fill(words.slot, {
      day: format.day(slot.start),
      start: format.time(slot.start),
      end: format.time(slot.end),
    });

  // Whether the citizen confirmed the current time: their last word since it was set
  // (ticket_page.time_confirmed on the server).
  function timeConfirmed(history) {
    for (let i = history.length - 1; i >= 0; i -= 1) {
      if (history[i].event === "confirmed") return true;
      if (page.time_set.includes(history[i].event)) return false;
    }
    return false;
  }

  function renderPlace(ticket) {
    const waiting = ticket.status === "waiting" && ticket.position !== null;
    show("ahead-row", waiting);
    if (waiting) {
      const ahead = ticket.position - 1;
      $("ahead").textContent = ahead === 0 ? words.next : format.digits(ahead);
    }
    // A wait is only estimated while counters serve the service; the notice says why not.
    // Before an opening that issues tickets early, the wait counts from the opening.
    const serving = ["open", "degraded"].includes(ticket.service_state) || earlyTickets(ticket);
    const eta = ticket.status === "waiting" && serving ? ticket.eta_minutes : null;
    show("eta-row", eta !== null && eta !== undefined);
    if (eta !== null && eta !== undefined) {
      // A wide range is shown as one (ticket_page.RANGE_SHOWN_FROM_MINUTES).
      const range = ticket.eta_range_minutes;
      const wide = Array.isArray(range) && range[1] - range[0] >= page.range_from;
      if (eta === 0) $("eta").textContent = words.any_moment;
      else if (wide) $("eta").textContent = format.minutesRange(range[0], range[1], words.minute_range);
      else $("eta").textContent = format.minutes(eta, words.minutes);
    }
    show("slot-row", Boolean(ticket.slot));
    if (ticket.slot) $("slot").textContent = slotText(ticket.slot);
    show("call", ticket.status === "called");
    // ticket_page.counter_note: a held ticket's counter, or the one a transfer sent it to.
    const noteWords = { on_hold: words.held_at, waiting: words.waits_for_counter };
    const counterNote = ticket.counter && noteWords[ticket.status];
    show("counter-note", Boolean(counterNote));
    $("counter-note").textContent = counterNote
      ? format.fill(counterNote, { counter: Pages.isolate(ticket.counter) })
      : "";
    if (ticket.status === "called") {
      $("call").textContent = format.fill(words.go_to_counter, {
        counter: Pages.isolate(ticket.counter || "—"),
      });
    }
  }

  // Closed, but tickets are issued for the coming opening (early_tickets_minutes): the page was
  // rendered in that window and that opening has not come yet.
  function earlyTickets(ticket) {
    if (ticket.service_state !== "closed" || !page.closed.early_tickets) return false;
    const opening = ticket.next_opening || page.closed.next_opening;
    return opening === page.closed.next_opening && now().getTime() < Date.parse(opening);
  }

  // The same words as ticket_page.service_notice on the server.
  function notice(ticket) {
    const texts = words.notices;
    const state = ticket.service_state;
    if (!STILL_WAITING.includes(ticket.status)) return null;
    if (state === "paused" || state === "degraded") {
      const lines = ticket.down_backends.map((backend) => {
        const system = backend.name[page.locale] || backend.name.ar;
        return backend.since
          ? format.fill(texts.down_since, { system, time: format.when(backend.since) })
          : format.fill(texts.down, { system });
      });
      const advice = ticket.awaiting_slot ? texts.no_slot_yet : texts[state];
      return { title: words.state[state], lines, advice };
    }
    if (state !== "closed") return null;
    // Newer servers may send why and until when; otherwise keep what the page was rendered with.
    const reason = ticket.closed_reason || page.closed.reason;
    const nextOpening = ticket.next_opening || page.closed.next_opening;
    let advice = texts.closed;
    if (earlyTickets(ticket)) advice = format.fill(texts.early_tickets, { when: format.when(nextOpening) });
    else if (reason === "no_counter_open") advice = texts.no_counter_open;
    else if (reason && nextOpening && texts[reason]) {
      advice = format.fill(texts[reason], { when: format.when(nextOpening) });
    }
    return { title: words.state.closed, lines: [], advice };
  }

  function renderNotice(ticket) {
    const current = notice(ticket);
    show("notice", Boolean(current));
    if (!current) return;
    $("notice-title").textContent = current.title;
    Pages.replaceChildren($("notice-lines"), current.lines, (line) => Pages.element("li", line));
    $("notice-advice").textContent = current.advice;
  }

  function renderHistory(history) {
    const newestFirst = history.slice().reverse();
    Pages.replaceChildren($("history"), newestFirst, (entry) => {
      const item = Pages.element("li");
      const time = Pages.element("time", format.when(entry.at));
      time.dateTime = entry.at;
      const template = words.events[entry.event] || entry.event;
      const called = page.counter_noted.includes(entry.event);
      const text = called ? format.fill(template, { counter: Pages.isolate(entry.note || "—") }) : template;
      item.append(time, " ", Pages.element("span", text));
      if (entry.note && !called && !page.note_for_staff.includes(entry.event)) {
        const note = Pages.element("span", entry.note, "note");
        note.dir = "auto";
        item.append(" ", note);
      }
      return item;
    });
  }

  function render(ticket) {
    status = ticket.status;
    $("number").textContent = ticket.number;
    $("status").textContent = words.status[ticket.status] || ticket.status;
    $("status").className = "status status-" + ticket.status;
    renderPlace(ticket);
    renderNotice(ticket);
    renderHistory(ticket.history);
    renderChoices(ticket);
    renderOffer(ticket);
    show("cancel", STILL_WAITING.includes(ticket.status));
    const question = words.cancel_question[ticket.status];
    if (question) {
      $("cancel-question").textContent = format.fill(question, {
        number: Pages.isolate(ticket.number),
      });
    }
  }

  function renderChoices(ticket) {
    const booked = ticket.status === "scheduled" && Boolean(ticket.slot);
    show("choices", booked);
    if (!booked) return;
    const confirmed = timeConfirmed(ticket.history);
    show("confirm", !confirmed);
    show("time-confirmed", confirmed);
  }

  // The system is back and today has free time (recovery offers): one tap joins today's line.
  function renderOffer(ticket) {
    show("offer", Boolean(ticket.offer));
    if (ticket.offer) {
      $("offer-text").textContent = format.fill(words.offer_text, {
        time: format.time(ticket.offer.until),
      });
    }
  }

  function stamp(fresh) {
    const updated = $("updated");
    updated.textContent = format.fill(fresh ? page.words.updated : page.words.stale, {
      time: format.time(lastGood),
    });
    updated.classList.toggle("stale", !fresh);
  }

  const poller = Pages.poll(
    page.api,
    page.poll_seconds,
    (ticket) => {
      lastGood = now();
      render(ticket);
      stamp(true);
      // A finished ticket changes no more: stop asking.
      if (!ACTIVE.includes(ticket.status)) poller.stop();
    },
    () => stamp(false),
  );
  if (!ACTIVE.includes(status)) poller.stop();

  // A booked time: "Yes, I will come" or "Another time", one tap each, as by SMS. Another time
  // gives this one up, so the page says so under the button.
  show("choices", status === "scheduled" && !$("slot-row").hidden);

  async function choose(url, done) {
    const buttons = [$("confirm"), $("next-slot")];
    for (const button of buttons) button.disabled = true;
    $("choice-result").textContent = "";
    let said = words.choice_failed;
    try {
      const response = await fetch(url, {
        method: "POST", headers: { Accept: "application/json" }, cache: "no-store",
      });
      let answer = {};
      try {
        answer = await response.json();
      } catch (error) {
        answer = {};
      }
      if (response.ok) {
        lastGood = now();
        render(answer);
        stamp(true);
        said = done(answer);
      } else if (answer.error === "no_free_slot") {
        said = words.no_free_slot;
      } else if (response.status === 409 || response.status === 404) {
        said = words.not_booked;
        poller.now(); // it changed meanwhile: show how
      }
    } catch (error) {
      said = words.choice_failed;
    } finally {
      for (const button of buttons) button.disabled = false;
    }
    $("choice-result").textContent = said;
  }

  $("confirm").addEventListener("click", () => choose(page.confirm, () => words.confirm_thanks));

  $("accept-offer").addEventListener("click", async () => {
    const button = $("accept-offer");
    button.disabled = true;
    let said = words.choice_failed;
    try {
      const response = await fetch(page.accept_offer, {
        method: "POST", headers: { Accept: "application/json" }, cache: "no-store",
      });
      if (response.ok) {
        lastGood = now();
        render(await response.json());
        stamp(true);
        said = words.offer_taken;
        // Keep the answer in view until the next poll; the place in line now shows above.
        show("offer", true);
        show("accept-offer", false);
      } else if (response.status === 409 || response.status === 404) {
        said = words.offer_gone;
        poller.now();
      }
    } catch (error) {
      said = words.choice_failed;
    } finally {
      button.disabled = false;
    }
    $("offer-result").textContent = said;
  });
  $("next-slot").addEventListener("click", () =>
    choose(page.next_slot, (ticket) =>
      ticket.slot ? format.fill(words.moved_to, { slot: slotText(ticket.slot) }) : "",
    ),
  );

  // Cancelling cannot be undone, so it takes two steps: ask, then confirm.
  show("cancel", STILL_WAITING.includes(status));
  function confirming(on) {
    show("cancel-ask", !on);
    show("cancel-confirm", on);
    if (on) $("cancel-no").focus();
  }
  $("cancel-ask").addEventListener("click", () => {
    $("cancel-result").textContent = "";
    confirming(true);
  });
  $("cancel-no").addEventListener("click", () => confirming(false));
  $("cancel-yes").addEventListener("click", async () => {
    $("cancel-yes").disabled = true;
    try {
      const response = await fetch(page.cancel, {
        method: "POST", headers: { Accept: "application/json" },
      });
      if (response.ok) {
        lastGood = now();
        render(await response.json());
        stamp(true);
        poller.stop();
        $("cancel-result").textContent = words.cancelled;
        $("cancel").hidden = false; // keep the confirmation sentence in view
        show("cancel-ask", false);
        show("cancel-confirm", false);
        return;
      }
      $("cancel-result").textContent =
        response.status === 409 ? words.cannot_cancel : words.cancel_failed;
      poller.now();
    } catch (error) {
      $("cancel-result").textContent = words.cancel_failed;
    } finally {
      $("cancel-yes").disabled = false;
    }
    confirming(false);
  });
})();
