// Winnow page behaviour without a framework: auto-submitting selects, the mask overlay toggle and
// keyboard shortcuts on the sample page (m: mask, j/→: next, k/←: previous).
(function () {
  "use strict";

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function syncMaskOverlay() {
    var toggle = document.getElementById("mask-toggle");
    var overlay = document.getElementById("mask-overlay");
    if (toggle && overlay) overlay.hidden = !toggle.checked;
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link && link.href) window.location.assign(link.href);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "mask-toggle") syncMaskOverlay();
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) target.form.submit();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) return;
    var toggle = document.getElementById("mask-toggle");
    if (event.key === "m" && toggle) {
      toggle.checked = !toggle.checked;
      syncMaskOverlay();
      event.preventDefault();
    } else if ((event.key === "j" || event.key === "ArrowRight") && document.getElementById("next-sample")) {
      follow("next-sample");
      event.preventDefault();
    } else if ((event.key === "k" || event.key === "ArrowLeft") && document.getElementById("previous-sample")) {
      follow("previous-sample");
      event.preventDefault();
    }
  });

  // Sample grid: the thumbnail size slider sets --thumb-size, remembered across pages in localStorage.
  var THUMB_SIZE_KEY = "winnow.thumbSize";

  function applyThumbSize(size) {
    var slider = document.getElementById("thumb-size");
    var output = document.getElementById("thumb-size-value");
    document.documentElement.style.setProperty("--thumb-size", size + "px");
    if (slider) slider.value = size;
    if (output) output.textContent = size + " px";
  }

  function restoreThumbSize() {
    var saved = null;
    try {
      saved = window.localStorage.getItem(THUMB_SIZE_KEY);
    } catch (error) {
      saved = null;
    }
    if (saved && document.getElementById("thumb-size")) applyThumbSize(Number(saved));
  }

  document.addEventListener("input", function (event) {
    if (event.target.id !== "thumb-size") return;
    applyThumbSize(Number(event.target.value));
    try {
      window.localStorage.setItem(THUMB_SIZE_KEY, event.target.value);
    } catch (error) {
      // private mode: the size still applies to this page
    }
  });
  document.addEventListener("DOMContentLoaded", restoreThumbSize);

  // Navigation groups: one menu open at a time; a click elsewhere or Escape closes it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.navgroup[open]").forEach(function (group) {
      if (!group.contains(event.target)) group.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.navgroup[open]").forEach(function (group) {
      group.open = false;
    });
  });

  // A checkbox restored by the browser's back/forward cache must still match the overlay.
  window.addEventListener("pageshow", syncMaskOverlay);
})();
