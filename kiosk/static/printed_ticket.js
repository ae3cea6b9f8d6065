// The printable ticket (kiosk/templates/printed_ticket.html): fits the paper to the ticket, and
// prints on load when asked (?autoprint=1). A file of its own: the Content-Security-Policy runs
// no inline script.
(function () {
  "use strict";
  var autoprint = document.body.dataset.autoprint === "1";
  var slip = document.getElementById("slip");
  // The page's own stylesheet, changed through the CSSOM: an added <style> element would be
  // inline style, which the policy refuses.
  var sheet = document.getElementById("slip-style").sheet;
  var pageRule = -1;
  // One ticket, one page: no blank paper after it, and no second page.
  function fitPage() {
    var height = slip.getBoundingClientRect().height;
    if (height < 1 || !sheet) return; // not laid out (a frame hidden with display: none): keep 200 mm
    var length = Math.ceil(height * 25.4 / 96) + 2;
    if (pageRule >= 0) sheet.deleteRule(pageRule);
    pageRule = sheet.insertRule("@page { size: 80mm " + length + "mm; margin: 0; }", sheet.cssRules.length);
  }
  // Measured now, again once every font is in, and when printing starts, whoever starts it
  // (this page, the kiosk page that holds it in a frame, or the browser's own menu).
  fitPage();
  window.addEventListener("beforeprint", fitPage);
  window.addEventListener("load", function () {
    document.fonts.ready.then(function () {
      fitPage();
      // Kiosk browsers run with --kiosk-printing: this prints at once, with no dialog.
      if (autoprint) window.print();
    });
  });
  document.getElementById("print").addEventListener("click", function () {
    window.print();
  });
})();
