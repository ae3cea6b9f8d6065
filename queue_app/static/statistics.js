// The manager's statistics page: four charts drawn with the vendored Chart.js (vendor/README.md)
// from the figures the page embeds (#page-data, statistics_export.as_json). The same figures are
// in the table under each chart: the charts add nothing a screen reader would miss.
"use strict";

(() => {
  const data = Pages.blob();
  const { figures, words } = data;
  const locale = data.locale;
  const rtl = data.rtl;

  // Arabic-Indic digits on Arabic pages, as the server writes them (formatting.digits).
  function digits(value) {
    const text = String(value);
    if (data.digits !== "arab") return text;
    return text.replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d)));
  }
  const nameOf = (service) => service.name[locale] || service.name.ar;

  const ACCENT = "#0b6e4f";
  const LIGHT = "#7fb8a4";
  const WARN = "#b3541e";
  const MUTED = "#5b6673";

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1b2430";
  // Drawn once and never animated: a figure a manager reads, not a show (and a test's
  // screenshot never catches a bar half-grown).
  Chart.defaults.animation = false;

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    const chart = new Chart(canvas, config);
    canvas.dataset.drawn = "true";
    return chart;
  }

  // Right to left on Arabic pages: the first category on the right, the legend and tooltips
  // read from the right, the value axis on the right.
  function options(xTitle, yTitle) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      locale: locale === "ar" ? "ar-EG-u-nu-arab" : "en",
      plugins: {
        legend: { rtl, textDirection: rtl ? "rtl" : "ltr" },
        tooltip: { rtl, textDirection: rtl ? "rtl" : "ltr" },
      },
      scales: {
        x: { reverse: rtl, title: { display: true, text: xTitle } },
        y: {
          position: rtl ? "right" : "left",
          beginAtZero: true,
          title: { display: true, text: yTitle },
          ticks: { precision: 0, callback: (value) => digits(value) },
        },
      },
    };
  }

  draw("chart-hours", {
    type: "bar",
    data: {
      labels: figures.hours.map((h) => digits(String(h.hour).padStart(2, "0"))),
      datasets: [
        { label: words.arrived, data: figures.hours.map((h) => h.arrived), backgroundColor: LIGHT },
        { label: words.served, data: figures.hours.map((h) => h.served), backgroundColor: ACCENT },
      ],
    },
    options: options(words.hour, words.tickets),
  });

  // The bucket that holds the 90th percentile is drawn darker: "90 in 100 were called by then".
  const p90 = figures.wait.p90_minutes;
  const holdsP90 = (b) =>
    p90 !== null && p90 >= b.from_minutes && (b.to_minutes === null || p90 < b.to_minutes);
  const bucketLabel = (b) =>
    b.to_minutes === null
      ? Pages.fill(words.and_more, { low: digits(b.from_minutes) })
      : digits(`${b.from_minutes}–${b.to_minutes}`);
  const waitOptions = options(words.wait_minutes, words.tickets);
  waitOptions.plugins.legend.display = false;
  draw("chart-waits", {
    type: "bar",
    data: {
      labels: figures.wait_buckets.map(bucketLabel),
      datasets: [
        {
          label: words.other_buckets,
          data: figures.wait_buckets.map((b) => b.count),
          backgroundColor: figures.wait_buckets.map((b) => (holdsP90(b) ? WARN : LIGHT)),
        },
      ],
    },
    options: waitOptions,
  });

  const services = figures.services;
  draw("chart-services", {
    type: "bar",
    data: {
      labels: services.map(nameOf),
      datasets: [
        {
          label: words.median,
          data: services.map((s) => s.service_time.median_minutes),
          backgroundColor: ACCENT,
        },
        {
          label: words.p90,
          data: services.map((s) => s.service_time.p90_minutes),
          backgroundColor: WARN,
        },
      ],
    },
    options: options("", words.minutes),
  });

  const noShowOptions = options("", words.no_show_share);
  noShowOptions.scales.y.ticks = { callback: (value) => digits(value) + words.percent };
  noShowOptions.plugins.legend.display = false;
  draw("chart-no-shows", {
    type: "bar",
    data: {
      labels: services.map(nameOf),
      datasets: [
        {
          label: words.no_show_share,
          data: services.map((s) =>
            s.no_show_share === null ? null : Math.round(s.no_show_share * 1000) / 10,
          ),
          backgroundColor: MUTED,
        },
      ],
    },
    options: noShowOptions,
  });
})();
