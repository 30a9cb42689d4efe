// Method-specific form fields: an element with data-show-for="<control id>" is shown, and its inputs
// enabled (so that hidden ones are not submitted), only while the control selects one of its
// data-values (a select) or is checked (a checkbox). A select whose chosen option gets hidden moves
// to its first option still shown.
(function () {
  "use strict";

  function isOn(control, element) {
    if (control.type === "checkbox") return control.checked;
    return (element.dataset.values || "").split(" ").indexOf(control.value) !== -1;
  }

  function sync(control) {
    var touched = [];
    document.querySelectorAll('[data-show-for="' + control.id + '"]').forEach(function (element) {
      var on = isOn(control, element);
      element.hidden = !on;
      if (element.tagName === "OPTION") {
        element.disabled = !on || element.hasAttribute("data-refused");
        if (touched.indexOf(element.parentElement) === -1) touched.push(element.parentElement);
      } else {
        element.querySelectorAll("input, select, textarea").forEach(function (input) {
          input.disabled = !on;
        });
      }
    });
    touched.forEach(function (select) {
      var chosen = select.options[select.selectedIndex];
      if (chosen && !chosen.disabled) return;
      var first = Array.prototype.find.call(select.options, function (option) { return !option.disabled; });
      if (first) select.value = first.value;
    });
  }

  function controls() {
    var ids = [];
    document.querySelectorAll("[data-show-for]").forEach(function (element) {
      if (ids.indexOf(element.dataset.showFor) === -1) ids.push(element.dataset.showFor);
    });
    return ids.map(function (id) { return document.getElementById(id); }).filter(Boolean);
  }

  document.addEventListener("change", function (event) {
    if (event.target.id && document.querySelector('[data-show-for="' + event.target.id + '"]')) sync(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    controls().forEach(sync);
  });
})();
