// The waiting-room board asks GET /api/v1/branches/<b> every few seconds and changes the numbers
// in place, in both languages. When counters or services are added or removed it reloads once to
// get the new layout from the server. As often, it asks /display/<b>/calls for the last numbers
// called: each new one is listed, written into a live region for screen readers, chimed once
// sound is on, and spoken in Arabic then English with ?speak=1. Less often it asks
// /display/<b>/moved for the tickets moved today whose citizens left no number, and lays that
// table out again when it changed.
"use strict";

(() => {
  const page = Pages.blob();
  const now = Pages.serverClock(page.now);
  const locales = page.locales;
  const formats = Object.fromEntries(locales.map((l) => [l, Pages.formatter(page[l], now)]));
  let lastGood = now();

  function setBoth(container, field, texts) {
    const holder = container.querySelector(`[data-field="${field}"]`);
    for (const locale of locales) {
      holder.querySelector(`[data-locale="${locale}"]`).textContent = texts[locale];
    }
  }

  function inBoth(make) {
    return Object.fromEntries(locales.map((l) => [l, make(page[l].strings, formats[l], l)]));
  }

  function sameCodes(selector, attribute, items) {
    const shown = [...document.querySelectorAll(selector)].map((el) => el.dataset[attribute]);
    return shown.join("\n") === items.map((item) => item.code).join("\n");
  }

  // The same lines as display_board._service_row on the server.
  function noticeLines(service, words, format, locale) {
    const texts = words.notices;
    if (service.state === "paused" || service.state === "degraded") {
      return service.down_backends.map((backend) => {
        const system = backend.name[locale];
        return backend.since
          ? format.fill(texts.down_since, { system, time: format.when(backend.since) })
          : format.fill(texts.down, { system });
      });
    }
    if (service.state !== "closed") return [];
    if (service.closed_reason === "no_counter_open") return [texts.no_counter_open];
    if (service.closed_reason && service.next_opening && texts[service.closed_reason]) {
      return [format.fill(texts[service.closed_reason], { when: format.when(service.next_opening) })];
    }
    return [texts.closed];
  }

  function renderCounter(counter) {
    const card = document.querySelector(`[data-counter="${CSS.escape(counter.code)}"]`);
    const number = card.querySelector('[data-field="now-serving"]');
    const shown = counter.now_serving || "—";
    if (number.textContent !== shown) {
      number.textContent = shown;
      // A new number flashes for a few seconds so that eyes find it.
      card.classList.remove("changed");
      void card.offsetWidth; // restart the animation
      if (counter.now_serving) card.classList.add("changed");
    }
    card.classList.toggle("closed", !counter.open);
    card.querySelector('[data-field="closed"]').hidden = counter.open;
  }

  function renderService(service) {
    const row = document.querySelector(`[data-service="${CSS.escape(service.code)}"]`);
    row.className = "service state-" + service.state;
    setBoth(row, "state", inBoth((words) => words.state[service.state] || service.state));
    setBoth(row, "waiting", inBoth((words, format) =>
      format.fill(words.waiting, { count: format.digits(service.waiting) })));
    const notices = inBoth((words, format, locale) =>
      noticeLines(service, words, format, locale).join(" "));
    setBoth(row, "notice", notices);
    row.querySelector("[data-notice]").hidden = !notices[locales[0]];
  }

  function stamp(fresh) {
    const footer = document.getElementById("updated");
    setBoth(footer, "updated", inBoth((words, format, locale) =>
      format.fill(page[locale].words[fresh ? "updated" : "stale"], {
        time: format.time(lastGood),
      })));
    footer.classList.toggle("stale", !fresh);
  }

  // Two spans, Arabic first, as the template's both() macro writes them.
  function both(texts) {
    const holder = document.createElement("span");
    holder.className = "both";
    for (const locale of locales) {
      const text = Pages.element("span", texts[locale] || "");
      text.lang = locale;
      text.dir = locale === "ar" ? "rtl" : "ltr";
      text.dataset.locale = locale;
      holder.append(text);
    }
    return holder;
  }

  let movedShown = null;

  function renderMoved(answer) {
    const rows = answer.moved || [];
    const shown = JSON.stringify(rows);
    if (shown === movedShown) return; // unchanged: leave the table (and anyone reading it) be
    movedShown = shown;
    Pages.replaceChildren(document.getElementById("moved-rows"), rows, (row) => {
      const line = document.createElement("tr");
      line.dataset.moved = row.number;
      const number = Pages.element("th", row.number, "moved-number");
      number.scope = "row";
      number.dir = "ltr";
      const service = document.createElement("td");
      service.append(both(row.service));
      const when = document.createElement("td");
      when.append(both(row.when));
      line.append(number, service, when);
      return line;
    });
    document.getElementById("moved").hidden = rows.length === 0;
  }

  Pages.poll(page.moved_api, page.moved_poll_seconds, renderMoved, () => {});

  // --- the last numbers called: listed, announced to screen readers, chimed, and spoken ------

  let lastCallId = page.last_call_id; // what the page was made with is not announced again
  const sound = { context: null, on: false };
  const soundButton = document.getElementById("sound");

  function showSound() {
    soundButton.setAttribute("aria-pressed", String(sound.on));
    soundButton.querySelector('[data-sound="off"]').hidden = sound.on;
    soundButton.querySelector('[data-sound="on"]').hidden = !sound.on;
  }

  // Browsers keep a page silent until someone taps it: the tap makes (or wakes) the audio.
  soundButton.addEventListener("click", () => {
    sound.on = !sound.on;
    if (sound.on) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !sound.context) sound.context = new Context();
      if (sound.context) sound.context.resume();
    } else if ("speechSynthesis" in window) {
      window.speechSynthesis.cancel();
    }
    showSound();
  });

  // Two soft tones, falling: made here with the Web Audio API, no sound file to fetch.
  function chime() {
    const context = sound.context;
    if (!sound.on || !context) return;
    const start = context.currentTime + 0.05;
    [[659.25, 0], [523.25, 0.4]].forEach(([frequency, delay]) => {
      const tone = context.createOscillator();
      const volume = context.createGain();
      tone.type = "sine";
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.0001, start + delay);
      volume.gain.exponentialRampToValueAtTime(0.4, start + delay + 0.03);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + delay + 0.9);
      tone.connect(volume).connect(context.destination);
      tone.start(start + delay);
      tone.stop(start + delay + 1);
    });
  }

  // "A-012" as a voice should say it: the letter (its Arabic name for the Arabic voice), then
  // the number without its leading zeros, which the voice reads as a number ("twelve").
  function spokenNumber(number, locale) {
    const [letter, digits] = number.split("-");
    const name = locale === "ar" ? page.spoken_letters[letter] || letter : letter;
    return `${name} ${Number.parseInt(digits, 10)}`;
  }

  function say(call) {
    if (!page.speak || !sound.on || !("speechSynthesis" in window)) return;
    for (const locale of locales) { // Arabic first, then English
      const text = formats[locale].fill(page[locale].strings.announce, {
        number: spokenNumber(call.number, locale),
        counter: call.counter,
      });
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = locale;
      utterance.rate = 0.9;
      window.speechSynthesis.speak(utterance);
    }
  }

  function written(call) {
    return locales.map((locale) =>
      formats[locale].fill(page[locale].strings.announce, {
        number: Pages.isolate(call.number),
        counter: Pages.isolate(call.counter),
      })).join(" · ");
  }

  let callsShown = null;

  function renderCalls(answer) {
    const calls = answer.calls || [];
    const shown = JSON.stringify(calls);
    if (shown !== callsShown) {
      callsShown = shown;
      Pages.replaceChildren(document.getElementById("call-rows"), calls, (call) => {
        const line = document.createElement("tr");
        line.dataset.call = call.id;
        line.dataset.number = call.number;
        const number = Pages.element("th", call.number, "call-number");
        number.scope = "row";
        number.dir = "ltr";
        const counter = Pages.element("td", call.counter, "call-counter");
        counter.dir = "ltr";
        const when = document.createElement("td");
        when.append(both(call.time));
        if (call.note[locales[0]]) {
          const note = both(call.note);
          note.classList.add("call-note");
          when.append(" ", note);
        }
        if (call.told && call.told[locales[0]]) {
          // Texted (turn near, called): may be on the way. Words beside the sign, not only it.
          const told = document.createElement("span");
          told.className = "call-told";
          told.dataset.test = "told";
          const sign = Pages.element("span", "\u2709");
          sign.setAttribute("aria-hidden", "true");
          told.append(sign, " ", both(call.told));
          when.append(" ", told);
        }
        line.append(number, counter, when);
        return line;
      });
    }
    const fresh = calls.filter((call) => call.id > lastCallId).reverse(); // oldest first
    if (fresh.length === 0) return;
    lastCallId = Math.max(...fresh.map((call) => call.id));
    const newest = fresh[fresh.length - 1];
    document.getElementById("announce").textContent = written(newest);
    const row = document.querySelector(`[data-call="${CSS.escape(String(newest.id))}"]`);
    if (row) row.classList.add("changed"); // a new row: its flash starts with it
    chime();
    fresh.forEach(say);
  }

  Pages.poll(page.calls_api, page.poll_seconds, renderCalls, () => {});

  Pages.poll(
    page.api,
    page.poll_seconds,
    (branch) => {
      if (!sameCodes("[data-counter]", "counter", branch.counters) ||
          !sameCodes("[data-service]", "service", branch.services)) {
        window.location.reload();
        return;
      }
      lastGood = now();
      branch.counters.forEach(renderCounter);
      branch.services.forEach(renderService);
      stamp(true);
    },
    () => stamp(false),
  );
})();
