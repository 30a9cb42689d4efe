// The embedding map: draws the server-built WebGL figure, shows the hovered sample's thumbnail,
// opens a lasso/box selection as a grid (POSTs the sample ids), and on zoom asks the server for
// the points inside the new view (it never sends more than its cap; zooming in shows them all).
(function () {
  "use strict";
  var element = document.getElementById("embedding-map");
  var source = document.getElementById("map-figure");
  if (!element || !source || !window.Plotly) return;
  var figure = JSON.parse(source.textContent);
  var config = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    modeBarButtonsToRemove: ["autoScale2d", "toggleSpikelines", "sendDataToCloud"],
  };
  var meta = document.getElementById("map-meta");
  var hoverImage = document.getElementById("map-hover-image");
  var hoverText = document.getElementById("map-hover-text");
  var thumbnailUrl = element.dataset.thumbnailUrl;
  var pending = null;

  function showMeta(figureMeta) {
    if (meta && figureMeta) meta.textContent = "showing " + figureMeta.shown + " of " + figureMeta.in_view + " points in view (" + figureMeta.total + " in all)";
  }

  window.Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
    element.on("plotly_hover", function (event) {
      var point = event.points && event.points[0];
      if (!point) return;
      hoverImage.src = thumbnailUrl.replace("/0/", "/" + point.customdata + "/");
      hoverImage.alt = "Sample " + point.customdata;
      hoverImage.hidden = false;
      hoverText.textContent = "#" + point.customdata + " · " + point.data.name.replace(/ \(\d+\)$/, "");
    });
    element.on("plotly_selected", function (event) {
      if (!event || !event.points || !event.points.length) return;
      var ids = event.points.map(function (point) { return point.customdata; });
      document.getElementById("map-selection-ids").value = ids.join(",");
      document.getElementById("map-selection-form").submit();
    });
    element.on("plotly_relayout", function (change) {
      var zoomed = change["xaxis.range[0]"] !== undefined;
      var reset = change["xaxis.autorange"] === true;
      if (!zoomed && !reset) return;
      var params = new URLSearchParams({ color: element.dataset.color });
      if (zoomed) {
        params.set("x0", change["xaxis.range[0]"]);
        params.set("x1", change["xaxis.range[1]"]);
        params.set("y0", change["yaxis.range[0]"]);
        params.set("y1", change["yaxis.range[1]"]);
      }
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(element.dataset.pointsUrl + "?" + params.toString(), { signal: pending.signal, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (view) {
          var layout = Object.assign({}, element.layout, { uirevision: "map" });
          window.Plotly.react(element, view.data, layout, config);
          showMeta(view.meta);
        })
        .catch(function () {});
    });
  });
})();
