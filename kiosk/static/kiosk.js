// The kiosk's touch screen: choose a service, leave a mobile number if you like, ask for priority
// if you need it, get the ticket; or check in for an appointment by scanning its QR code. A
// service that gives no ticket now (paused, closed) offers its earliest free time instead: the
// citizen types a mobile number, or books without one (many have no phone: the kiosk's token
// allows it), and gets the booked ticket, with its QR code and its time; without a number the
// screen says nobody will text them and the ticket is printed at once, since paper is their
// only record.
//
// The screen's kiosk token lives in this device's localStorage, with the branch it was enrolled
// for: never in a URL, never typed by a citizen. Without one, the screen shows how to enrol.
// Every ticket attempt carries an Idempotency-Key, sent again unchanged with each retry, so a
// double tap or a retry after a lost answer makes one ticket, not two.
"use strict";

(() => {
  const page = Pages.blob();
  const words = page.strings;
  const now = Pages.serverClock(page.now);
  const format = Pages.formatter(page, now);
  const enrolment = page.enrolment; // the technician's words, in both languages
  const enrolFormats = Object.fromEntries(
    Object.entries(enrolment).map(([locale, settings]) => [locale, Pages.formatter(settings, now)]),
  );
  const $ = (id) => document.getElementById(id);
  const body = document.body;

  // Seconds before an idle screen goes back to the start; the template sets them.
  const IDLE_TICKET_S = Number(body.dataset.idleTicket) || 45;
  const IDLE_FLOW_S = Number(body.dataset.idleFlow) || 60;
  // A request that hangs is a failed one. Failures are retried after 1, 2 and 4 seconds: long
  // enough for a Wi-Fi hiccup or a server restart, short enough for a citizen to wait.
  const REQUEST_TIMEOUT_MS = 8000;
  const RETRIES = 3;
  const FIRST_BACKOFF_MS = 1000;
  // A barcode scanner types a whole address with a few milliseconds between keys; people don't.
  const SCAN_GAP_MS = 300;
  // After printing, a second tap would print the same ticket twice.
  const PRINT_PAUSE_MS = 5000;
  const TAKES_TICKETS = ["open", "degraded"];

  const TOKEN_KEY = "queue.kiosk-token";
  const BRANCH_KEY = "queue.kiosk-branch";

  const screens = [...document.querySelectorAll("section[data-screen]")];
  let screen = null;
  // The ticket being asked for: {mode: "ticket", service, phone, priority, key, sent}, or the
  // earliest free time being booked: {mode: "book", service, start, phone, noPhone, key, sent}
  // (noPhone: the citizen chose to book without a number).
  let attempt = null;
  let busy = false;

  // --- storage --------------------------------------------------------------------------

  const storage = {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch (error) {
        return null;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, value);
        return true;
      } catch (error) {
        return false;
      }
    },
    remove(key) {
      try {
        localStorage.removeItem(key);
      } catch (error) {
        // nothing stored, nothing to remove
      }
    },
  };

  function kioskToken() {
    return storage.get(BRANCH_KEY) === page.branch ? storage.get(TOKEN_KEY) : null;
  }

  function forgetToken() {
    storage.remove(TOKEN_KEY);
    storage.remove(BRANCH_KEY);
  }

  // One key per request the citizen means: the same one for every retry of it, a new one once
  // they change what they ask for (the server refuses a key reused for another request).
  function keyFor(payload) {
    const sent = JSON.stringify(payload);
    if (attempt.sent !== sent) {
      attempt.key = newKey();
      attempt.sent = sent;
    }
  }

  // crypto.randomUUID needs a secure context (HTTPS or localhost); a kiosk on the office network
  // may well be served over plain HTTP, where getRandomValues still works.
  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      .join("-");
  }

  const withToken = (template, token) => template.replace(page.token_slot, encodeURIComponent(token));

  // A time to come: always with its weekday, day and month (formatting.day_and_time).
  const dayAndTime = (moment) =>
    format.fill(page.words.day_at_time, { day: format.day(moment), time: format.time(moment) });

  // --- screens and the idle timer -------------------------------------------------------

  function say(id, text, kind = "") {
    $(id).textContent = text || "";
    $(id).className = "message" + (kind ? " " + kind : "");
  }

  function show(name) {
    for (const section of screens) section.hidden = section.dataset.screen !== name;
    screen = name;
    body.dataset.currentScreen = name;
    // Switching language reloads the page: offered where no choice would be lost.
    $("lang-switch").hidden = !["services", "enrol"].includes(name);
    armIdle();
  }

  let idleTimer = null;

  function idleSeconds() {
    if (busy || screen === "enrol") return 0;
    if (screen === "ticket") return IDLE_TICKET_S;
    // The start screen waits for ever, but in the kiosk's own language.
    if (screen === "services") return page.locale === page.default_locale ? 0 : IDLE_FLOW_S;
    return IDLE_FLOW_S;
  }

  function armIdle() {
    clearTimeout(idleTimer);
    const seconds = idleSeconds();
    if (seconds > 0) idleTimer = setTimeout(restart, seconds * 1000);
  }

  for (const type of ["pointerdown", "keydown", "input"]) {
    document.addEventListener(type, armIdle, { capture: true, passive: true });
  }

  function forgetTicket() {
    delete $("print").dataset.token;
    $("ticket-qr").removeAttribute("src");
    $("no-phone-notice").hidden = true;
    const frame = $("print-frame");
    if (frame) frame.remove();
  }

  function restart() {
    attempt = null;
    forgetTicket();
    if (page.locale !== page.default_locale) {
      location.replace(page.urls.home); // the next citizen finds the kiosk in Arabic
      return;
    }
    $("check-in-code").value = "";
    say("check-in-message", "");
    say("phone-message", "", "error");
    if (!kioskToken()) {
      show("enrol");
      return;
    }
    show("services");
    poller.now();
  }

  for (const button of document.querySelectorAll('[data-action="restart"]')) {
    button.addEventListener("click", restart);
  }

  // --- requests ---------------------------------------------------------------------------

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function post(url, payload, headers = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const json = payload === undefined ? {} : { "Content-Type": "application/json" };
    try {
      return await fetch(url, {
        method: "POST",
        headers: { Accept: "application/json", ...json, ...headers },
        body: payload === undefined ? undefined : JSON.stringify(payload),
        cache: "no-store",
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function get(url, headers = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, {
        headers: { Accept: "application/json", ...headers },
        cache: "no-store",
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  // A network error or a 5xx is tried again with the very same request, Idempotency-Key
  // included: the server may have acted on a request whose answer was lost on the way back.
  // Anything else is an answer. Returns the last response, or null when none came.
  async function withRetries(send, onRetry) {
    for (let retry = 0; ; retry += 1) {
      let response = null;
      try {
        response = await send();
      } catch (error) {
        response = null;
      }
      if (response && response.status < 500) return response;
      if (retry >= RETRIES) return response;
      onRetry(retry + 1);
      await sleep(FIRST_BACKOFF_MS * 2 ** retry);
    }
  }

  async function bodyOf(response) {
    try {
      return await response.json();
    } catch (error) {
      return {};
    }
  }

  // The API says 403 both for a kiosk token of another branch and for a ticket of another branch;
  // its "branch" field is the token's own branch.
  const tokenOfAnotherBranch = (answer) =>
    Boolean(answer.fields && answer.fields.branch && answer.fields.branch !== page.branch);

  // --- enrolment ----------------------------------------------------------------------------

  const ENROL_ERRORS = {
    enrolment_code_wrong: "wrong",
    enrolment_code_used: "used",
    enrolment_code_expired: "expired",
    invalid_input: "shape",
    rate_limited: "locked",
  };

  // One line per language: the technician may read either.
  function enrolSay(key, values = () => ({}), kind = "") {
    const holder = $("enrol-message");
    holder.className = "message" + (kind ? " " + kind : "");
    holder.replaceChildren(
      ...Object.entries(enrolment).map(([locale, settings]) => {
        const line = Pages.element(
          "p",
          enrolFormats[locale].fill(settings.strings[key], values(locale, enrolFormats[locale])),
        );
        line.lang = locale;
        line.dir = locale === "ar" ? "rtl" : "ltr";
        return line;
      }),
    );
  }

  function showEnrol(key, values, kind = "error") {
    attempt = null;
    busy = false;
    show("enrol");
    if (key) enrolSay(key, values, kind);
  }

  $("enrol-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    $("enrol-submit").disabled = true;
    let response = null;
    try {
      response = await post(page.urls.enrol, { code: $("enrol-code").value });
    } catch (error) {
      response = null;
    }
    busy = false;
    $("enrol-submit").disabled = false;
    // Not retried: a code works once, so a retry after a lost answer would only say "used".
    if (!response) {
      enrolSay("network", undefined, "error");
      return;
    }
    const answer = await bodyOf(response);
    if (response.ok && answer.token) {
      if (!storage.set(TOKEN_KEY, answer.token) || !storage.set(BRANCH_KEY, answer.branch)) {
        enrolSay("failed", () => ({ status: "localStorage" }), "error");
        return;
      }
      $("enrol-code").value = "";
      enrolSay("enrolled", (locale) => ({ branch: page.branch_names[locale] }), "ok");
      setTimeout(restart, 2000);
      return;
    }
    const key = ENROL_ERRORS[answer.error];
    if (key === "locked") {
      const minutes = Math.max(1, Math.ceil((answer.fields.retry_after_seconds || 60) / 60));
      enrolSay(key, (locale, fmt) => ({ minutes: fmt.minutes(minutes, enrolment[locale].strings.minutes) }), "error");
    } else if (key) {
      enrolSay(key, undefined, "error");
    } else {
      enrolSay("failed", (locale, fmt) => ({ status: fmt.digits(response.status) }), "error");
    }
  });

  // --- the services -----------------------------------------------------------------------

  const tileOf = (code) => document.querySelector(`.tile[data-service="${CSS.escape(code)}"]`);
  const field = (element, name) => element.querySelector(`[data-field="${name}"]`);

  // The same words as kiosk/touch_screen.py and queue_app/pages/notices.py on the server.
  function noticeOf(service) {
    const texts = words.notices;
    const state = service.state;
    if (state === "paused" || state === "degraded") {
      const lines = service.down_backends.map((backend) => {
        const system = backend.name[page.locale] || backend.name.ar;
        return backend.since
          ? format.fill(texts.down_since, { system, time: format.when(backend.since) })
          : format.fill(texts.down, { system });
      });
      const bookable = state === "paused" && service.next_slot;
      return { lines, advice: bookable ? texts.paused_book : texts[state] };
    }
    if (state !== "closed") return null;
    let advice = texts.closed;
    if (service.takes_walk_ins && service.next_opening) {
      advice = format.fill(texts.early_tickets, { when: format.when(service.next_opening) });
    } else if (service.closed_reason === "no_counter_open") advice = texts.no_counter_open;
    else if (service.closed_reason && service.next_opening && texts[service.closed_reason]) {
      advice = format.fill(texts[service.closed_reason], { when: format.when(service.next_opening) });
    }
    return { lines: [], advice };
  }

  function renderTile(service) {
    const button = tileOf(service.code);
    if (!button) return;
    // Closed with tickets before the opening (early_tickets_minutes) takes them too.
    const open = service.takes_walk_ins ?? TAKES_TICKETS.includes(service.state);
    const bookable = !open && Boolean(service.next_slot);
    button.className = "tile state-" + service.state;
    button.dataset.mode = open ? "ticket" : bookable ? "book" : "none";
    button.dataset.nextSlot = bookable ? service.next_slot : "";
    button.disabled = !open && !bookable;
    if (!button.disabled) button.removeAttribute("aria-disabled");
    else button.setAttribute("aria-disabled", "true");
    field(button, "book").hidden = !bookable;
    field(button, "earliest").textContent = bookable
      ? format.fill(words.earliest, { when: dayAndTime(service.next_slot) })
      : "";
    field(button, "state").textContent = words.state[service.state] || service.state;
    field(button, "wait").hidden = !open;
    field(button, "waiting").textContent = service.waiting
      ? format.fill(words.waiting, { count: format.digits(service.waiting) })
      : words.nobody_waiting;
    const eta = service.eta_minutes;
    const about = open && service.waiting && eta !== null && eta !== undefined
      ? format.fill(words.about, { minutes: format.minutes(eta, words.minutes) })
      : "";
    field(button, "about").hidden = !about;
    field(button, "about").textContent = about;
    const notice = noticeOf(service);
    const holder = field(button, "notice");
    holder.hidden = !notice;
    if (notice) {
      holder.replaceChildren(
        ...notice.lines.map((line) => Pages.element("span", line, "notice-line")),
        Pages.element("span", notice.advice, "notice-advice"),
      );
    }
  }

  function noticeText(code) {
    const button = tileOf(code);
    if (!button) return "";
    const holder = field(button, "notice");
    return holder.hidden ? "" : [...holder.children].map((line) => line.textContent).join(" ");
  }

  const poller = Pages.poll(page.urls.branch_api, page.poll_seconds, (branch) => {
    const shown = [...document.querySelectorAll(".tile")].map((b) => b.dataset.service);
    const offered = branch.services.map((service) => service.code);
    if (shown.join("\n") !== offered.join("\n")) {
      // Services were added or removed: the server lays the screen out again, between citizens.
      if (screen === "services") location.reload();
      return;
    }
    branch.services.forEach(renderTile);
  }, () => {});

  $("tiles").addEventListener("click", (event) => {
    const button = event.target.closest(".tile");
    if (!button || button.disabled || busy) return;
    const service = button.dataset.service;
    if (button.dataset.mode === "book" && button.dataset.nextSlot) {
      attempt = {
        mode: "book", service, start: button.dataset.nextSlot, phone: "", noPhone: false,
        channel: page.channels[0], key: null, sent: null,
      };
    } else if (button.dataset.mode === "ticket") {
      attempt = {
        mode: "ticket", service, phone: "", priority: false, channel: page.channels[0],
        key: null, sent: null,
      };
    } else {
      return;
    }
    for (const chosen of document.querySelectorAll('[data-field="chosen-service"]')) {
      chosen.textContent = page.services[attempt.service] || attempt.service;
    }
    showPhone();
  });

  // --- the mobile number -----------------------------------------------------------------

  function renderPhone() {
    $("phone-display").textContent = attempt && attempt.phone ? format.digits(attempt.phone) : "";
    // WhatsApp or SMS, where the branch offers both: the branch's first until touched.
    for (const choice of document.querySelectorAll("[data-channel]")) {
      choice.setAttribute("aria-pressed", String(!!attempt && choice.dataset.channel === attempt.channel));
    }
  }

  const channels = $("channels");
  if (channels) {
    channels.addEventListener("click", (event) => {
      const choice = event.target.closest("[data-channel]");
      if (!choice || !attempt) return;
      attempt.channel = choice.dataset.channel;
      renderPhone();
    });
  }

  // The same screen asks for an optional number (a ticket) or the number a booking needs.
  function showPhone(message = "") {
    const mode = attempt.mode;
    for (const element of $("screen-phone").querySelectorAll("[data-phone-mode]")) {
      element.hidden = element.dataset.phoneMode !== mode;
    }
    if (mode === "book") $("book-time").textContent = dayAndTime(attempt.start);
    renderPhone();
    say("phone-message", message, "error");
    show("phone");
  }

  $("keypad").addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (!key || !attempt) return;
    const pressed = key.dataset.key;
    if (pressed === "back") attempt.phone = attempt.phone.slice(0, -1);
    else if (pressed === "clear") attempt.phone = "";
    else if (attempt.phone.length < page.phone.max_digits) attempt.phone += pressed;
    say("phone-message", "", "error");
    renderPhone();
  });

  $("phone-continue").addEventListener("click", () => {
    if (!attempt || attempt.mode !== "ticket") return;
    // A light check; the server knows the country's numbers and has the last word.
    if (attempt.phone && attempt.phone.length < page.phone.min_digits) {
      say("phone-message", words.phone_short, "error");
      return;
    }
    show("priority");
  });

  $("phone-skip").addEventListener("click", () => {
    if (!attempt || attempt.mode !== "ticket") return;
    attempt.phone = "";
    renderPhone();
    show("priority");
  });

  // --- the ticket ---------------------------------------------------------------------------

  function working(message, { detail = "", failed = false, retryable = false } = {}) {
    show("working");
    $("working-message").textContent = message;
    $("working-detail").textContent = detail;
    $("working-actions").hidden = !failed;
    $("try-again").hidden = !retryable;
    if (failed) armIdle();
  }

  $("priority-no").addEventListener("click", () => takeTicket(false));
  $("priority-yes").addEventListener("click", () => takeTicket(true));
  $("try-again").addEventListener("click", () => {
    if (attempt && attempt.mode === "book") bookSlot();
    else if (attempt) takeTicket(attempt.priority);
  });

  async function takeTicket(priority) {
    if (!attempt || attempt.mode !== "ticket" || busy) return;
    const token = kioskToken();
    if (!token) {
      restart();
      return;
    }
    attempt.priority = priority;
    const payload = { service: attempt.service, locale: page.locale, priority };
    if (attempt.phone) {
      payload.phone = attempt.phone;
      payload.channel = attempt.channel;
    }
    keyFor(payload);
    const headers = { Authorization: "Bearer " + token, "Idempotency-Key": attempt.key };
    await send(page.urls.tickets, payload, headers, words.working, answerTicket);
  }

  // One request the citizen asked for: the screen says it is working, retries through a lost
  // network (withRetries), then hands the answer on.
  async function send(url, payload, headers, wording, answer) {
    busy = true;
    working(wording);
    const response = await withRetries(
      () => post(url, payload, headers),
      () => working(words.retrying),
    );
    busy = false;
    await answer(response);
  }

  // No answer, or the server's own trouble after every retry: say so, and let them try again.
  function gaveUp(response, wording) {
    if (response && response.status < 500) return false;
    working(wording, { failed: true, retryable: true });
    return true;
  }

  async function answerTicket(response) {
    if (gaveUp(response, words.gave_up)) return;
    const answer = await bodyOf(response);
    if (response.ok) {
      showTicket(answer, words.your_ticket);
      return;
    }
    if (response.status === 401) {
      forgetToken();
      showEnrol("refused");
      return;
    }
    if (response.status === 403) {
      forgetToken();
      const branch = (answer.fields && answer.fields.branch) || "—";
      showEnrol("other_branch", () => ({ branch }));
      return;
    }
    if (answer.error === "invalid_phone") {
      show("phone");
      say("phone-message", format.fill(words.phone_invalid, { country: page.country_name }), "error");
      return;
    }
    if (answer.error === "service_paused" || answer.error === "service_closed") {
      const service = attempt ? attempt.service : "";
      await poller.now(); // the tiles (and their notices) catch up with what the server knows
      const message = answer.error === "service_paused" ? words.paused_now : words.closed_now;
      working(message, { detail: noticeText(service), failed: true });
      return;
    }
    if (response.status === 404) {
      poller.now();
      working(words.gone, { failed: true });
      return;
    }
    if (response.status === 429) {
      working(words.too_many, { failed: true, retryable: true });
      return;
    }
    working(format.fill(words.failed, { status: format.digits(response.status) }), { failed: true });
  }

  function showTicket(ticket, heading, { noPhone = false } = {}) {
    attempt = null;
    $("no-phone-notice").hidden = !noPhone;
    $("no-phone-notice").textContent = noPhone ? words.no_phone_notice : "";
    $("ticket-heading").textContent = heading;
    $("ticket-number").textContent = ticket.number;
    $("ticket-service").textContent = page.services[ticket.service] || ticket.service;
    // An appointment's citizen wants their booked time; a walk-in, when they took the ticket.
    $("ticket-issued").textContent = ticket.slot
      ? format.fill(words.slot, { start: dayAndTime(ticket.slot.start), end: format.time(ticket.slot.end) })
      : format.fill(words.issued, { time: format.when(ticket.issued_at) });
    const waiting = ticket.status === "waiting" && ticket.position !== null;
    $("ticket-ahead-row").hidden = !waiting;
    if (waiting) {
      $("ticket-ahead").textContent = ticket.position === 1 ? words.next : format.digits(ticket.position - 1);
    }
    // A wait is only estimated while counters serve the service, or from the coming opening
    // for a ticket a closed service issued (only in its early window does it issue any).
    const counted = TAKES_TICKETS.includes(ticket.service_state) || ticket.service_state === "closed";
    const eta = waiting && counted ? ticket.eta_minutes : null;
    const hasEta = eta !== null && eta !== undefined;
    $("ticket-eta-row").hidden = !hasEta;
    if (hasEta) $("ticket-eta").textContent = eta === 0 ? words.any_moment : format.minutes(eta, words.minutes);
    $("ticket-qr").src = withToken(page.urls.qr, ticket.token);
    $("print").dataset.token = ticket.token;
    $("print").disabled = false;
    say("print-message", "");
    show("ticket");
    poller.now();
  }

  // --- booking the earliest free time ------------------------------------------------------

  $("book-submit").addEventListener("click", () => bookSlot());
  $("book-no-phone").addEventListener("click", () => {
    if (!attempt || attempt.mode !== "book") return;
    attempt.phone = "";
    attempt.noPhone = true;
    renderPhone();
    bookSlot();
  });

  // POST /api/v1/branches/<b>/appointments, with the kiosk's token (a hall's kiosks share one
  // address, which the public rate limit would count) and an Idempotency-Key kept for every
  // retry of the same booking, like a ticket's: a retry after a lost answer gets the booking
  // it made, with its QR code, not "already booked".
  async function bookSlot() {
    if (!attempt || attempt.mode !== "book" || busy) return;
    if (attempt.phone) {
      attempt.noPhone = false; // a number typed after all is used
    } else if (!attempt.noPhone) {
      say("phone-message", words.book_needs_phone, "error");
      return;
    }
    if (attempt.phone && attempt.phone.length < page.phone.min_digits) {
      say("phone-message", format.fill(words.book_phone_invalid, { country: page.country_name }), "error");
      return;
    }
    const token = kioskToken();
    if (!token && attempt.noPhone) {
      restart(); // only an enrolled kiosk may book without a number
      return;
    }
    const payload = { service: attempt.service, start: attempt.start, locale: page.locale };
    if (attempt.phone) {
      payload.phone = attempt.phone;
      payload.channel = attempt.channel;
    }
    keyFor(payload);
    const headers = { "Idempotency-Key": attempt.key };
    if (token) headers.Authorization = "Bearer " + token;
    await send(page.urls.appointments, payload, headers, words.booking, answerBooking);
  }

  async function answerBooking(response) {
    if (gaveUp(response, words.book_gave_up)) return;
    const answer = await bodyOf(response);
    const fields = answer.fields || {};
    if (response.ok) {
      const noPhone = attempt.noPhone;
      showTicket(answer, words.your_appointment, { noPhone });
      // Paper is the only record of a citizen nobody can text: print it without being asked.
      if (noPhone) printTicket(answer.token);
      return;
    }
    if (answer.error === "invalid_phone") {
      showPhone(format.fill(words.book_phone_invalid, { country: page.country_name }));
      return;
    }
    // The time was just taken, or an outage or announced maintenance now covers it.
    const TAKEN = { slot_full: words.slot_taken, system_unavailable: words.system_away };
    if (TAKEN[answer.error] && fields.next_slot) {
      // The number is kept: one touch books the next free time.
      attempt.start = fields.next_slot;
      showPhone(format.fill(TAKEN[answer.error], { when: dayAndTime(fields.next_slot) }));
      poller.now();
      return;
    }
    if (TAKEN[answer.error] || answer.error === "no_free_slot") {
      poller.now();
      working(words.no_free_time, { failed: true });
      return;
    }
    // Only a booking without a number shows the token; it was revoked, or is another branch's.
    if (response.status === 401) {
      forgetToken();
      showEnrol("refused");
      return;
    }
    if (response.status === 403 && tokenOfAnotherBranch(answer)) {
      forgetToken();
      showEnrol("other_branch", () => ({ branch: answer.fields.branch }));
      return;
    }
    if (answer.error === "already_booked") {
      const when = fields.slot_start ? dayAndTime(fields.slot_start) : "—";
      const number = Pages.isolate(fields.ticket || "—");
      working(format.fill(words.already_booked, { number, when }), { failed: true });
      return;
    }
    if (response.status === 404) {
      poller.now();
      working(words.gone, { failed: true });
      return;
    }
    if (response.status === 429) {
      working(words.too_many, { failed: true, retryable: true });
      return;
    }
    if (response.status === 422) {
      // The time passed or was closed while the citizen typed: the tiles show the next one.
      poller.now();
      working(words.time_gone, { failed: true });
      return;
    }
    working(format.fill(words.failed, { status: format.digits(response.status) }), { failed: true });
  }

  // --- printing -----------------------------------------------------------------------------

  // A kiosk with a network ticket printer (its own in the config file, or the office's common
  // one) prints there: the server sends the ticket as ESC/POS. Without one, the kiosk prints
  // through its browser. The server is asked each time: a config reload may add a printer.
  async function printTicket(token) {
    const button = $("print");
    button.disabled = true;
    say("print-message", words.printing);
    const outcome = await printOnNetwork(token);
    if (outcome === "printed") {
      setTimeout(() => {
        button.disabled = false;
      }, PRINT_PAUSE_MS);
    } else if (outcome === "failed") {
      say("print-message", words.print_failed, "error");
      button.disabled = false;
    } else {
      await printInBrowser(token, button);
    }
  }

  async function printOnNetwork(ticketToken) {
    const token = kioskToken();
    if (!token) return "browser";
    const authorization = { Authorization: "Bearer " + token };
    try {
      const asked = await get(page.urls.printer, authorization);
      if (!asked.ok || !(await bodyOf(asked)).network_printer) return "browser";
    } catch (error) {
      return "browser"; // the browser's way looks at the server again before printing
    }
    let response = null;
    try {
      // Sent once, never retried: a printer that took the ticket but whose answer was lost on
      // the way back would print it twice.
      response = await post(withToken(page.urls.print, ticketToken), undefined, authorization);
    } catch (error) {
      return "failed";
    }
    if (response.ok) return "printed";
    // The printer is off, out of paper or unplugged (printer_problem), or the server is down.
    if (response.status >= 500) return "failed";
    // The printer was taken away since (no_printer), or the key is no longer taken: the
    // printable page needs none.
    return "browser";
  }

  // The printable ticket is loaded in a hidden frame and printed from there: a browser started
  // with --kiosk --kiosk-printing sends it to the default printer without a dialog.
  async function printInBrowser(token, button) {
    const url = withToken(page.urls.print, token);
    try {
      // An error page must not come out of the printer: look before printing.
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      const check = await fetch(url, { cache: "no-store", signal: controller.signal });
      clearTimeout(timer);
      if (!check.ok) throw new Error("HTTP " + check.status);
    } catch (error) {
      say("print-message", words.print_failed, "error");
      button.disabled = false;
      return;
    }
    const old = $("print-frame");
    if (old) old.remove();
    const frame = document.createElement("iframe");
    frame.id = "print-frame";
    frame.className = "print-frame";
    frame.tabIndex = -1;
    frame.setAttribute("aria-hidden", "true");
    frame.addEventListener("load", () => {
      try {
        frame.contentWindow.focus();
        frame.contentWindow.print();
      } catch (error) {
        say("print-message", words.print_failed, "error");
      }
      setTimeout(() => {
        button.disabled = false;
      }, PRINT_PAUSE_MS);
    }, { once: true });
    frame.src = url;
    body.append(frame);
  }

  $("print").addEventListener("click", () => {
    const token = $("print").dataset.token;
    if (token) printTicket(token);
  });

  // --- check-in -----------------------------------------------------------------------------

  // A scanned QR code is the ticket page's address, ".../t/<token>"; a typed code is the token.
  const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

  function tokenFrom(text) {
    const value = (text || "").trim();
    const match = value.match(/\/t\/([A-Za-z0-9_-]+)/);
    const candidate = match ? match[1] : value;
    return TOKEN.test(candidate) ? candidate : null;
  }

  // A barcode scanner is a keyboard: on a computer set to an Arabic layout its keys arrive as
  // Arabic letters. The physical keys (KeyboardEvent.code) are the same on every layout, so the
  // text is also rebuilt from them, as a US layout would have typed it.
  const PUNCTUATION = {
    Minus: ["-", "_"], Slash: ["/", "?"], Period: [".", ">"], Semicolon: [";", ":"],
    Equal: ["=", "+"], Comma: [",", "<"],
  };

  function physicalCharacter(event) {
    const code = event.code || "";
    const letter = /^Key([A-Z])$/.exec(code);
    if (letter) {
      const upper = event.shiftKey !== event.getModifierState("CapsLock");
      return upper ? letter[1] : letter[1].toLowerCase();
    }
    const digit = /^(Digit|Numpad)([0-9])$/.exec(code);
    if (digit) return digit[1] === "Digit" && event.shiftKey ? "" : digit[2];
    const pair = PUNCTUATION[code];
    return pair ? pair[event.shiftKey ? 1 : 0] : "";
  }

  let typedKeys = "";

  function openCheckIn() {
    attempt = null;
    typedKeys = "";
    $("check-in-code").value = "";
    say("check-in-message", "");
    $("check-in-take-ticket").hidden = true;
    show("check-in");
    $("check-in-code").focus();
  }

  $("check-in-open").addEventListener("click", openCheckIn);

  $("check-in-code").addEventListener("keydown", (event) => {
    if (event.key === "Enter") return;
    if (event.key === "Backspace") typedKeys = typedKeys.slice(0, -1);
    else typedKeys += physicalCharacter(event);
  });
  $("check-in-code").addEventListener("input", () => {
    if (!$("check-in-code").value) typedKeys = "";
  });

  $("check-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn(tokenFrom($("check-in-code").value) || tokenFrom(typedKeys));
  });

  // On the start screen a scan goes straight to check-in: nobody needs to find the button first.
  let scanned = "";
  let scannedKeys = "";
  let lastKeyAt = 0;
  document.addEventListener("keydown", (event) => {
    if (screen !== "services") return;
    const at = Date.now();
    if (at - lastKeyAt > SCAN_GAP_MS) {
      scanned = "";
      scannedKeys = "";
    }
    lastKeyAt = at;
    if (event.key === "Enter") {
      const token = tokenFrom(scanned) || tokenFrom(scannedKeys);
      scanned = "";
      scannedKeys = "";
      if (token) {
        event.preventDefault();
        openCheckIn();
        checkIn(token);
      }
      return;
    }
    if (event.key.length === 1) scanned += event.key;
    scannedKeys += physicalCharacter(event);
  });

  async function checkIn(ticketToken) {
    if (busy) return;
    if (!ticketToken) {
      say("check-in-message", words.not_a_code, "error");
      return;
    }
    const token = kioskToken();
    if (!token) {
      restart();
      return;
    }
    busy = true;
    $("check-in-submit").disabled = true;
    $("check-in-take-ticket").hidden = true;
    say("check-in-message", words.checking_in);
    const response = await withRetries(
      () => post(withToken(page.urls.check_in, ticketToken), undefined, { Authorization: "Bearer " + token }),
      () => say("check-in-message", words.retrying),
    );
    busy = false;
    $("check-in-submit").disabled = false;
    $("check-in-code").value = "";
    typedKeys = "";
    armIdle();
    await answerCheckIn(response);
  }

  async function answerCheckIn(response) {
    if (!response || response.status >= 500) {
      say("check-in-message", words.check_in_failed, "error");
      return;
    }
    const answer = await bodyOf(response);
    const fields = answer.fields || {};
    if (response.ok) {
      showTicket(answer, words.checked_in);
    } else if (response.status === 401) {
      forgetToken();
      showEnrol("refused");
    } else if (response.status === 403 && tokenOfAnotherBranch(answer)) {
      forgetToken();
      showEnrol("other_branch", () => ({ branch: fields.branch }));
    } else if (response.status === 403) {
      say("check-in-message", words.other_office, "error");
    } else if (response.status === 404) {
      say("check-in-message", words.unknown_booking, "error");
    } else if (answer.error === "too_early") {
      say("check-in-message", format.fill(words.too_early, { time: format.when(fields.opens_at) }), "error");
    } else if (answer.error === "too_late") {
      say("check-in-message", format.fill(words.too_late, { time: format.when(fields.closed_at) }), "error");
      $("check-in-take-ticket").hidden = false;
    } else if (response.status === 409 && fields.status === "waiting") {
      // Already checked in: perhaps by a retry whose first answer was lost.
      say("check-in-message", words.already_in_line, "ok");
    } else if (response.status === 409) {
      const status = words.status[fields.status] || fields.status || "";
      say("check-in-message", format.fill(words.not_scheduled, { status }), "error");
    } else if (response.status === 429) {
      say("check-in-message", words.too_many, "error");
    } else {
      say("check-in-message", format.fill(words.failed, { status: format.digits(response.status) }), "error");
    }
  }

  // --- start ----------------------------------------------------------------------------------

  // A long press must not open a menu or select text on a public screen.
  document.addEventListener("contextmenu", (event) => event.preventDefault());

  if (kioskToken()) {
    show("services");
  } else {
    show("enrol");
    const enrolledFor = storage.get(BRANCH_KEY);
    if (storage.get(TOKEN_KEY) && enrolledFor && enrolledFor !== page.branch) {
      enrolSay("other_branch", () => ({ branch: enrolledFor }), "error");
    }
  }
})();
