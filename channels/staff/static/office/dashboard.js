/* The office dashboard's charts: reads the figures the page was rendered with and draws them with Chart.js. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("figures").textContent);
  var f = data.figures;
  Chart.defaults.animation = false; // the figures are read, not watched

  function named(counts, names) {
    var keys = Object.keys(counts);
    return {
      labels: keys.map(function (k) { return (names && names[k]) || k; }),
      values: keys.map(function (k) { return counts[k]; })
    };
  }

  function draw(id, type, counts, names, label) {
    var d = named(counts, names);
    return new Chart(document.getElementById(id), {
      type: type,
      data: { labels: d.labels, datasets: [{ label: label, data: d.values }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: type === "doughnut" } },
        scales: type === "doughnut" ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }

  draw("chart-day", "line", f.by_day, null, "受理量");
  draw("chart-channel", "doughnut", f.by_channel, data.channels, "受理量");
  draw("chart-category", "bar", f.by_category, data.categories, "受理量");
  draw("chart-unit", "bar", f.by_unit, f.unit_names, "受理量");
})();
