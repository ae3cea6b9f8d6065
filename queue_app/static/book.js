// The booking page's form, sent in the background when the browser can. A phone on a weak signal
// then reads, in the page's language, that the connection failed and that the booking is being
// tried again, instead of the browser's own error page. The server's answer is shown as the
// browser would have shown it: the confirmation (after its redirect), or the form again with
// why it was refused. Without this script the form posts the ordinary way, and works the same.
//
// Sending again after a lost answer books nothing twice: the server keeps one booking per
// mobile number and service, and says so.
"use strict";

(() => {
  // A phone on a weak signal may take a while; a request that hangs longer than this failed.
  const REQUEST_TIMEOUT_MS = 15000;
  // Tried again after 1 and 2 seconds, then the citizen is told and may tap again.
  const RETRIES = 2;
  const FIRST_BACKOFF_MS = 1000;
  let busy = false;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Read afresh each time: an answer shown in place brings its own page data.
  const words = () => Pages.blob().strings;

  function say(form, text, kind = "") {
    const holder = form.querySelector('[data-field="status"]');
    if (!holder) return;
    holder.textContent = text || "";
    holder.className = "message" + (kind ? " " + kind : "");
  }

  async function send(form) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "text/html" },
        cache: "no-store",
        signal: controller.signal,
      });
      // The answer's body may be cut off too: read it within the same time limit.
      return { response, html: await response.text() };
    } finally {
      clearTimeout(timer);
    }
  }

  // Show an answer page in place of this one. Its scripts are not run again (a parsed
  // document's scripts never run when inserted): this one already listens.
  function showAnswer(html) {
    const answer = new DOMParser().parseFromString(html, "text/html");
    document.title = answer.title;
    document.body.replaceWith(document.adoptNode(answer.body));
    window.scrollTo(0, 0);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-book")) return;
    event.preventDefault();
    if (busy) return; // a second tap while the first is on its way
    busy = true;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    const text = words();
    say(form, text.booking);
    let answer = null;
    for (let retry = 0; ; retry += 1) {
      try {
        answer = await send(form);
        break;
      } catch (error) {
        answer = null;
      }
      if (retry >= RETRIES) break;
      say(form, text.retrying);
      await sleep(FIRST_BACKOFF_MS * 2 ** retry);
    }
    busy = false;
    if (!answer) {
      say(form, text.network, "error");
      if (button) button.disabled = false;
      return;
    }
    if (answer.response.redirected) {
      location.assign(answer.response.url); // the confirmation, at its own address
      return;
    }
    showAnswer(answer.html);
  });

  // Back from the confirmation, a page kept in the browser's memory must not stay disabled.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    busy = false;
    for (const button of document.querySelectorAll("form[data-book] button")) {
      button.disabled = false;
    }
  });
})();
