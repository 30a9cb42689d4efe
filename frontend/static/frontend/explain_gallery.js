// The heatmap-opacity slider of the Grad-CAM gallery and comparison pages: sets --cam-opacity on
// the element named by data-cam-opacity, so every heatmap stacked on its image follows it.
(function () {
  "use strict";
  document.querySelectorAll("[data-cam-opacity]").forEach(function (slider) {
    var target = document.getElementById(slider.dataset.camOpacity);
    var output = document.getElementById(slider.id + "-value");
    function apply() {
      if (target) target.style.setProperty("--cam-opacity", String(slider.value / 100));
      if (output) output.textContent = slider.value + "%";
    }
    slider.addEventListener("input", apply);
    apply();
  });
})();
