// Sample grid selection: tick thumbnails (shift-click for a range), select the page, or select every
// member matching the grid's filters. A selection is {mode: "ids", ids: [...]} or
// {mode: "query", query: "label=cat", count: N}; it is kept in sessionStorage per dataset version
// (so it survives paging, "Load more" and filter changes) and posted with each bulk action. A page
// that shows a selection made elsewhere (a lasso on the embedding map, a duplicate group) seeds it.
(function () {
  "use strict";

  var bar = null;
  var lastClicked = null;

  function storageKey() {
    return "winnow.selection." + bar.dataset.selectionKey;
  }

  function load() {
    try {
      var state = JSON.parse(window.sessionStorage.getItem(storageKey()) || "null");
      if (state && (state.mode === "ids" || state.mode === "query")) return state;
    } catch (error) {
      // A corrupt entry means no selection.
    }
    return { mode: "ids", ids: [] };
  }

  function save(state) {
    window.sessionStorage.setItem(storageKey(), JSON.stringify(state));
    render();
  }

  function grid() {
    return document.getElementById("grid");
  }

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll(".thumb .thumb-select"));
  }

  function selectedCount(state) {
    return state.mode === "query" ? state.count : state.ids.length;
  }

  function isSelected(state, sampleId) {
    if (state.mode === "query") return grid() !== null && (grid().dataset.filterQuery || "") === state.query;
    return state.ids.indexOf(sampleId) !== -1;
  }

  function render() {
    var state = load();
    var count = selectedCount(state);
    boxes().forEach(function (box) {
      var checked = isSelected(state, Number(box.value));
      box.checked = checked;
      box.closest(".thumb").classList.toggle("is-selected", checked);
    });
    var text = count + " selected";
    if (state.mode === "query") text += " (all matching " + (state.query || "no filter") + ")";
    document.getElementById("selection-count").textContent = text;
    document.getElementById("select-clear").hidden = count === 0;
    document.getElementById("selection-actions").hidden = count === 0;
    var selectAll = document.getElementById("select-all-matching");
    if (selectAll && grid()) selectAll.textContent = "Select all " + grid().dataset.matching + " matching";
  }

  // Ticking a box in "all matching" mode starts an explicit selection from the boxes ticked on the page.
  function explicitIds(state) {
    if (state.mode === "ids") return state.ids.slice();
    return boxes()
      .filter(function (box) {
        return isSelected(state, Number(box.value));
      })
      .map(function (box) {
        return Number(box.value);
      });
  }

  function setSelected(ids, sampleIds, selected) {
    sampleIds.forEach(function (sampleId) {
      var at = ids.indexOf(sampleId);
      if (selected && at === -1) ids.push(sampleId);
      if (!selected && at !== -1) ids.splice(at, 1);
    });
    return ids;
  }

  function onBoxClick(event) {
    var box = event.target;
    var all = boxes();
    var index = all.indexOf(box);
    var range = [box];
    if (event.shiftKey && lastClicked !== null && all.indexOf(lastClicked) !== -1) {
      var from = all.indexOf(lastClicked);
      range = all.slice(Math.min(from, index), Math.max(from, index) + 1);
    }
    lastClicked = box;
    var sampleIds = range.map(function (each) {
      return Number(each.value);
    });
    var state = load();
    save({ mode: "ids", ids: setSelected(explicitIds(state), sampleIds, box.checked), origin: state.origin });
  }

  function selectPage() {
    var sampleIds = boxes().map(function (box) {
      return Number(box.value);
    });
    var state = load();
    save({ mode: "ids", ids: setSelected(explicitIds(state), sampleIds, true), origin: state.origin });
  }

  function selectAllMatching() {
    save({ mode: "query", query: grid().dataset.filterQuery || "", count: Number(grid().dataset.matching) });
  }

  function fillForm(form) {
    var state = load();
    form.elements.mode.value = state.mode;
    form.elements.ids.value = state.mode === "ids" ? state.ids.join(",") : "";
    form.elements.query.value = state.mode === "query" ? state.query : "";
    if (form.elements.origin) form.elements.origin.value = state.origin || "bulk_grid";
  }

  function init() {
    bar = document.getElementById("selection-bar");
    if (!bar) return;
    document.addEventListener("click", function (event) {
      if (event.target.classList && event.target.classList.contains("thumb-select")) onBoxClick(event);
    });
    if (bar.dataset.seedIds) {
      var seeded = bar.dataset.seedIds.split(",").map(Number);
      window.sessionStorage.setItem(
        storageKey(),
        JSON.stringify({ mode: "ids", ids: seeded, origin: bar.dataset.seedOrigin || undefined })
      );
    }
    document.getElementById("select-page").addEventListener("click", selectPage);
    var selectAll = document.getElementById("select-all-matching");
    if (selectAll) selectAll.addEventListener("click", selectAllMatching);
    document.getElementById("select-clear").addEventListener("click", function () {
      save({ mode: "ids", ids: [] });
    });
    Array.prototype.forEach.call(bar.querySelectorAll(".selection-form"), function (form) {
      form.addEventListener("submit", function () {
        fillForm(form);
      });
    });
    document.body.addEventListener("htmx:afterSwap", render);
    render();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
