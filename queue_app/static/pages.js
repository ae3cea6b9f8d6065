// Shared by the page scripts: the page's JSON blob, its words, digits, times in the branch's own
// time zone, and polling that survives a bad connection. No framework: these pages must load fast
// on an old phone over a weak signal, and a board runs for days without a reload.
"use strict";

const Pages = (() => {
  // The words and settings the template rendered through the translation layer.
  function blob(id = "page-data") {
    return JSON.parse(document.getElementById(id).textContent);
  }

  // Fill "%(name)s" the way the server does (Python's % operator on gettext's result).
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (whole, name) =>
      name in values ? String(values[name]) : whole,
    );
  }

  // A ticket number or counter code in one left-to-right piece (see formatting.isolate).
  function isolate(identifier) {
    return "\u2066" + identifier + "\u2069";
  }

  // The server's clock may not be the browser's (the demo shifts it): measure the difference once.
  function serverClock(serverNowIso) {
    const offset = serverNowIso ? Date.parse(serverNowIso) - Date.now() : 0;
    return () => new Date(Date.now() + offset);
  }

  // Numbers and times in one language, mirroring queue_app/pages/formatting.py.
  function formatter(settings, now) {
    const { intl, timezone, digits: style, words } = settings;
    const timeFormat = new Intl.DateTimeFormat(intl, {
      timeZone: timezone, hour: "numeric", minute: "2-digit",
    });
    const dayFormat = new Intl.DateTimeFormat(intl, {
      timeZone: timezone, weekday: "long", day: "numeric", month: "long",
    });
    const dateKey = new Intl.DateTimeFormat("en-CA", { timeZone: timezone });
    const plural = new Intl.PluralRules(settings.locale);

    function digits(value) {
      const text = String(value);
      if (style !== "arab") return text;
      return text.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)));
    }
    const time = (moment) => digits(timeFormat.format(new Date(moment)));
    const day = (moment) => digits(dayFormat.format(new Date(moment)));
    function when(moment) {
      const date = new Date(moment);
      if (dateKey.format(date) === dateKey.format(now())) return time(date);
      return fill(words.day_at_time, { day: day(date), time: time(date) });
    }
    function minutes(count, forms) {
      return fill(forms[plural.select(count)] || forms.other, { num: digits(count) });
    }
    // "about 9–17 minutes": the plural form follows the high end (formatting.minutes_range).
    function minutesRange(low, high, forms) {
      return fill(forms[plural.select(high)] || forms.other, {
        low: digits(low), num: digits(high),
      });
    }
    return { digits, time, day, when, minutes, minutesRange, fill };
  }

  // Ask for JSON every few seconds; report each answer (with when it was asked) or failure.
  // Pauses while the page is hidden (a phone in a pocket need not spend its data) and asks at
  // once when it comes back. An answer with an ETag is kept here, not in the browser's cache
  // (the address is the ticket: no copy on disk), and the next poll sends it back: "304 Not
  // Modified" means the kept answer still stands, at a fraction of the server's work.
  function poll(url, seconds, onData, onFailure) {
    let timer = null;
    let stopped = false;
    let kept = null;
    async function once() {
      clearTimeout(timer);
      if (stopped) return;
      const askedAt = Date.now();
      try {
        const headers = { Accept: "application/json" };
        if (kept) headers["If-None-Match"] = kept.tag;
        const response = await fetch(url, { headers, cache: "no-store" });
        if (response.status === 304 && kept) {
          onData(kept.data, askedAt);
        } else {
          if (!response.ok) throw new Error("HTTP " + response.status);
          const data = await response.json();
          const tag = response.headers.get("ETag");
          kept = tag ? { tag, data } : null;
          onData(data, askedAt);
        }
      } catch (error) {
        onFailure(error);
      }
      if (!stopped && !document.hidden) timer = setTimeout(once, seconds * 1000);
    }
    document.addEventListener("visibilitychange", () => {
      clearTimeout(timer);
      if (!document.hidden) once();
    });
    timer = setTimeout(once, seconds * 1000);
    return {
      now: once,
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  // Replace an element's children with new ones built by the caller (text only, never HTML).
  function replaceChildren(element, items, build) {
    element.replaceChildren(...items.map(build));
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  return { blob, fill, isolate, serverClock, formatter, poll, replaceChildren, element };
})();
