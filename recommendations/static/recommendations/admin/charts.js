// Draws every <canvas data-chart="ID"> of an admin page from the JSON in <script id="ID">:
// {"type": "line"|"bar", "labels": [...], "datasets": [{"label": ..., "data": [...]}], "stacked": bool}
(function () {
  "use strict";
  var palette = ["#417690", "#e07b39", "#79aec8", "#5b8c5a", "#c94f4f", "#8e6bb8", "#b59a3a", "#666"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (set, i) {
      var colour = palette[i % palette.length];
      return {
        label: set.label, data: set.data, borderColor: colour, backgroundColor: colour,
        borderWidth: spec.type === "line" ? 1.5 : 0, pointRadius: 0, tension: 0.2, fill: false
      };
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: false, interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: {
          x: { stacked: !!spec.stacked, ticks: { maxTicksLimit: 12, autoSkip: true } },
          y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
    canvas.dataset.drawn = "true";
  }

  function drawAll() { document.querySelectorAll("canvas[data-chart]").forEach(draw); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
