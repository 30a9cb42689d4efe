// Synthetic review: one generated image at a time, from the keyboard (a mouse works too).
//   a approve · r reject · s skip · u undo the last decision (the image goes back to pending and is shown) · z zoom.
// Decisions go to the JSON API (/api/synthetic-images/<id>/review/), like scripts; the next pending
// image is the page's partial (?partial=1&after=<position>).
(function () {
  "use strict";

  var root = document.getElementById("synthetic-review-root");
  if (!root) return;
  var history = []; // [{url, position}] of decided images, newest last
  var busy = false;

  function current() {
    return document.getElementById("synthetic-image");
  }

  function say(text, isError) {
    var line = document.getElementById("review-status");
    if (!line) return;
    line.textContent = text;
    line.classList.toggle("is-error", Boolean(isError));
  }

  function show(after) {
    return window.WinnowApi.partial(root.dataset.nextUrl + "?after=" + encodeURIComponent(after)).then(function (html) {
      root.innerHTML = html;
    });
  }

  function decide(url, decision) {
    return window.WinnowApi.json("POST", url, { decision: decision }).then(function (result) {
      if (!result.ok) throw new Error(window.WinnowApi.errorOf(result).message);
      return result.data;
    });
  }

  function act(decision) {
    var item = current();
    if (busy || !item || item.dataset.done) return;
    busy = true;
    var url = item.dataset.reviewUrl;
    var position = Number(item.dataset.position);
    decide(url, decision)
      .then(function () {
        history.push({ url: url, position: position });
        say("Image " + position + " " + decision + ".");
        return show(position);
      })
      .catch(function (error) {
        say(error.message, true);
      })
      .finally(function () {
        busy = false;
      });
  }

  function skip() {
    var item = current();
    if (busy || !item || item.dataset.done) return;
    busy = true;
    show(Number(item.dataset.position)).finally(function () {
      busy = false;
    });
  }

  function undo() {
    var last = history.pop();
    if (busy || !last) return;
    busy = true;
    decide(last.url, "pending")
      .then(function () {
        say("Image " + last.position + " back to pending.");
        return show(last.position - 1);
      })
      .catch(function (error) {
        say(error.message, true);
      })
      .finally(function () {
        busy = false;
      });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    var key = event.key.toLowerCase();
    if (key === "a") act("approved");
    else if (key === "r") act("rejected");
    else if (key === "s") skip();
    else if (key === "u") undo();
    else if (key === "z") {
      var image = root.querySelector(".review-image");
      if (image) image.classList.toggle("is-zoomed");
    } else return;
    event.preventDefault();
  });
})();
