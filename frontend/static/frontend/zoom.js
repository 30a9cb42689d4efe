// The sample page's zoom: a click on the image opens it at natural size in a dialog; the wheel or a pinch
// zooms around the pointer, a drag pans. No library: transforms on one <img>.
(function () {
  "use strict";
  var MIN_SCALE = 0.1;
  var MAX_SCALE = 32;

  function setUp() {
    var trigger = document.querySelector(".js-zoomable");
    var dialog = document.getElementById("zoom-dialog");
    var source = document.getElementById("sample-image");
    if (!trigger || !dialog || !source) return;
    var stage = document.getElementById("zoom-stage");
    // made on the first open: an <img> without a source would count as a broken image on the page
    var image = null;
    var label = document.getElementById("zoom-scale");
    var view = { scale: 1, x: 0, y: 0 };
    var pointers = new Map();
    var pinchDistance = 0;

    function draw() {
      image.style.transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
      image.dataset.scale = String(view.scale);
      label.textContent = Math.round(view.scale * 100) + "%";
    }

    function zoomAt(factor, clientX, clientY) {
      var next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
      var box = stage.getBoundingClientRect();
      var px = clientX - box.left;
      var py = clientY - box.top;
      // keep the image point under the pointer where it is
      view.x = px - ((px - view.x) * next) / view.scale;
      view.y = py - ((py - view.y) * next) / view.scale;
      view.scale = next;
      draw();
    }

    trigger.addEventListener("click", function () {
      if (!image) {
        image = document.createElement("img");
        image.id = "zoom-image";
        image.alt = stage.dataset.alt;
        image.draggable = false;
        stage.appendChild(image);
      }
      image.src = source.currentSrc || source.src;
      view = { scale: 1, x: 0, y: 0 };
      draw();
      dialog.showModal();
    });
    document.getElementById("zoom-close").addEventListener("click", function () {
      dialog.close();
    });
    stage.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX, event.clientY);
      },
      { passive: false }
    );
    stage.addEventListener("pointerdown", function (event) {
      stage.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    });
    stage.addEventListener("pointermove", function (event) {
      var last = pointers.get(event.pointerId);
      if (!last || !image) return;
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (pointers.size === 2) {
        var points = Array.from(pointers.values());
        var distance = Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y);
        if (pinchDistance) {
          zoomAt(distance / pinchDistance, (points[0].x + points[1].x) / 2, (points[0].y + points[1].y) / 2);
        }
        pinchDistance = distance;
        return;
      }
      view.x += event.clientX - last.x;
      view.y += event.clientY - last.y;
      draw();
    });
    function release(event) {
      pointers.delete(event.pointerId);
      pinchDistance = 0;
    }
    stage.addEventListener("pointerup", release);
    stage.addEventListener("pointercancel", release);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
