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

  // The version's grid selection (selection.js), when it names samples, is ringed on the map.
  function selectedIds() {
    try {
      var state = JSON.parse(window.sessionStorage.getItem("winnow.selection." + element.dataset.selectionKey) || "null");
      return state && state.mode === "ids" && state.ids.length ? state.ids : null;
    } catch (error) {
      return null;
    }
  }

  function selectionTrace(data) {
    var ids = selectedIds();
    if (!ids) return null;
    var wanted = new Set(ids);
    var trace = { type: "scattergl", mode: "markers", name: "selection (" + ids.length + ")", x: [], y: [], customdata: [],
      marker: { size: 11, color: "rgba(0,0,0,0)", line: { color: "#111", width: 2 } }, hoverinfo: "skip" };
    data.forEach(function (each) {
      (each.customdata || []).forEach(function (sampleId, i) {
        if (!wanted.has(sampleId)) return;
        trace.x.push(each.x[i]);
        trace.y.push(each.y[i]);
        trace.customdata.push(sampleId);
      });
    });
    return trace;
  }

  function withSelection(data) {
    var trace = selectionTrace(data);
    return trace ? data.concat([trace]) : data;
  }

  window.Plotly.newPlot(element, withSelection(figure.data), figure.layout, config).then(function () {
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
          window.Plotly.react(element, withSelection(view.data), layout, config);
          showMeta(view.meta);
        })
        .catch(function () {});
    });
  });
})();
