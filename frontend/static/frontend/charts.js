// Draws every Plotly figure on the page once: <div data-figure="ID"> reads the JSON that
// Django's json_script wrote into <script id="ID">. The figures are built server-side.
(function () {
  "use strict";
  var config = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  };
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source || !window.Plotly) return;
    var figure = JSON.parse(source.textContent);
    if (!figure.data.length) {
      element.textContent = "No data.";
      element.classList.add("chart-empty");
      return;
    }
    window.Plotly.newPlot(element, figure.data, figure.layout, config);
  });
})();
