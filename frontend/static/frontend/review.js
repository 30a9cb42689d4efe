// The review page: one item at a time, driven from the keyboard (a mouse works too).
//   1-9 toggle a candidate (yes <-> no) and focus it; ArrowUp/ArrowDown move the focus;
//   y / m / n vote yes / maybe / no on the focused label; a adds a label (type to filter the classes);
//   Enter submits and shows the next item; s skips; u undoes the last action; z (or a click) zooms.
// Votes, submit, skip and undo go to the JSON API; every vote carries a fresh request id, so a retried
// request is recorded once. The next item is fetched (and its image loaded) while this one is shown; leaving
// the page gives back the claims without votes (a beacon to the queue's release endpoint).
(function () {
  "use strict";

  var root = document.getElementById("review-root");
  if (!root) return;
  // The page of one item: the reversed URL of item 0 (data-item-url) with the id in place of the 0.
  function itemPageUrl(id) {
    return root.dataset.itemUrl.replace(/0\/$/, id + "/");
  }
  var focusIndex = 0;
  var prefetched = null; // a promise of {html, url} or {done: true}
  var pending = 0; // requests in flight (Enter waits for votes before submitting)
  var queueWaiters = [];
  var emptyConfirmFor = null; // the item whose submit with no "yes" label was asked about once

  function item() {
    return document.getElementById("review-item");
  }

  function candidates() {
    var current = item();
    return current ? Array.prototype.slice.call(current.querySelectorAll(".candidate")) : [];
  }

  function requestId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(16).slice(2);
  }

  function say(text, isError) {
    var line = document.getElementById("review-status");
    if (!line) return;
    line.textContent = text;
    line.classList.toggle("is-error", Boolean(isError));
  }

  function settled() {
    pending -= 1;
    if (pending === 0) {
      var waiters = queueWaiters;
      queueWaiters = [];
      waiters.forEach(function (resolve) { resolve(); });
    }
  }

  function idle() {
    return pending === 0 ? Promise.resolve() : new Promise(function (resolve) { queueWaiters.push(resolve); });
  }

  // Calls to the JSON API (api.js), counted so that Enter can wait for the votes in flight.
  function api(method, url, body) {
    pending += 1;
    return window.WinnowApi.json(method, url, body).finally(settled);
  }

  var errorOf = window.WinnowApi.errorOf;

  function setFocus(index) {
    var list = candidates();
    if (!list.length) return;
    focusIndex = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (li, i) {
      li.classList.toggle("is-focused", i === focusIndex);
      li.setAttribute("aria-current", i === focusIndex ? "true" : "false");
    });
    list[focusIndex].focus({ preventScroll: false });
  }

  function showVote(li, value) {
    li.dataset.vote = value || "";
    Array.prototype.forEach.call(li.querySelectorAll(".vote"), function (button) {
      button.setAttribute("aria-pressed", button.dataset.value === value ? "true" : "false");
    });
  }

  function closedMessage(error) {
    say(error.message + " Press Enter for the next item.", true);
    var current = item();
    if (current) current.dataset.state = "closed";
  }

  function vote(li, value) {
    var current = item();
    var before = li.dataset.vote;
    showVote(li, value);
    say(value + " on " + li.dataset.label + "…");
    return api("POST", current.dataset.voteUrl, { label: li.dataset.label, vote: value, request_id: requestId() }).then(
      function (result) {
        if (result.ok) {
          say("Voted " + value + " on " + li.dataset.label + ".");
          return;
        }
        showVote(li, before);
        var error = errorOf(result);
        if (error.code === "consensus_reached") closedMessage(error);
        else say(error.message, true);
      }
    );
  }

  function toggle(index) {
    var list = candidates();
    if (index >= list.length) return;
    setFocus(index);
    vote(list[index], list[index].dataset.vote === "yes" ? "no" : "yes");
  }

  function swap(html, url, push) {
    root.innerHTML = html;
    if (push) window.history.pushState({ url: url }, "", url);
    init();
  }

  function loadItem(url, push) {
    return window.WinnowApi.partial(url).then(function (html) { swap(html, url, push); });
  }

  function prefetch() {
    var current = item();
    var url = root.dataset.nextUrl + "?exclude=" + (current ? current.dataset.item : "");
    // The page's token: the claims it is served (own claims an earlier page took included) become this page's.
    if (root.dataset.page) url += "&page=" + encodeURIComponent(root.dataset.page);
    prefetched = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.item) return { done: true };
        var itemUrl = itemPageUrl(data.item.id);
        var image = new Image();
        image.src = data.item.image_url;
        return window.WinnowApi.partial(itemUrl).then(function (html) { return { html: html, url: itemUrl }; });
      })
      .catch(function () { return null; });
  }

  function goNext() {
    var next = prefetched || Promise.resolve(null);
    prefetched = null;
    return next.then(function (found) {
      if (found && found.done) {
        window.location.assign(root.dataset.doneUrl);
      } else if (found) {
        swap(found.html, found.url, true);
        prefetch();
        say("Next item.");
      } else {
        window.location.assign(root.dataset.doneUrl);
      }
    });
  }

  function submit() {
    var current = item();
    if (!current) return Promise.resolve();
    return idle().then(function () {
      if (current.dataset.state !== "open" || current.dataset.myState === "submitted") return goNext();
      var anyYes = candidates().some(function (li) { return li.dataset.vote === "yes"; });
      if (!anyYes && emptyConfirmFor !== current.dataset.url) {
        // Closing with no valid label excludes the image (as in ReaL): ask once before doing it.
        emptyConfirmFor = current.dataset.url;
        say("No label is marked yes: this image would have no valid label. Press Enter again to submit anyway.", true);
        return;
      }
      emptyConfirmFor = null;
      say("Submitting…");
      return api("POST", current.dataset.submitUrl).then(function (result) {
        if (result.ok) return goNext();
        var error = errorOf(result);
        if (error.code === "consensus_reached") return goNext();
        say(error.message, true);
      });
    });
  }

  function skip() {
    var current = item();
    if (!current) return Promise.resolve();
    return idle().then(function () {
      if (current.dataset.state !== "open") return goNext();
      return api("POST", current.dataset.skipUrl).then(function (result) {
        if (result.ok || errorOf(result).code === "consensus_reached") return goNext();
        say(errorOf(result).message, true);
      });
    });
  }

  function undo() {
    return idle().then(function () {
      return api("POST", root.dataset.undoUrl).then(function (result) {
        if (!result.ok) {
          say(errorOf(result).message, true);
          return;
        }
        if (!result.data.undone) {
          say("Nothing to undo.");
          return;
        }
        var vote = result.data.vote;
        var what = vote ? "your " + vote.vote + " on " + vote.label : "your " + result.data.undone;
        var current = item();
        var url = itemPageUrl(result.data.item);
        var sameItem = current && String(result.data.item) === current.dataset.item;
        return loadItem(url, !sameItem).then(function () {
          if (!sameItem) prefetch();
          say("Undid " + what + ".");
        });
      });
    });
  }

  function zoom(step) {
    var frame = document.getElementById("review-zoom");
    if (!frame) return;
    var level = parseFloat(frame.dataset.zoom || "1");
    level = step === 0 ? (level > 1 ? 1 : 2) : Math.max(1, Math.min(6, level + step));
    frame.dataset.zoom = String(level);
    frame.style.setProperty("--zoom", String(level));
    frame.classList.toggle("is-zoomed", level > 1);
    say(level > 1 ? "Zoom " + level + "×." : "Zoom off.");
  }

  // Adding a label: the typed text filters the taxonomy; Enter takes the exact match, else the first match.
  function addForm() {
    return document.getElementById("add-label");
  }

  function taxonomy() {
    return Array.prototype.map.call(document.querySelectorAll("#taxonomy option"), function (o) { return o.value; });
  }

  function matches(text) {
    var needle = text.trim().toLowerCase();
    return taxonomy().filter(function (name) { return name.toLowerCase().indexOf(needle) >= 0; });
  }

  function showMatches() {
    var input = document.getElementById("add-label-input");
    var list = document.getElementById("taxonomy-matches");
    if (!input || !list) return;
    list.innerHTML = "";
    matches(input.value).slice(0, 8).forEach(function (name, i) {
      var li = document.createElement("li");
      li.textContent = name;
      if (i === 0) li.className = "is-first";
      list.appendChild(li);
    });
  }

  function openAdd() {
    var form = addForm();
    if (!form) return;
    form.hidden = false;
    var input = document.getElementById("add-label-input");
    input.value = "";
    showMatches();
    input.focus();
  }

  function closeAdd() {
    var form = addForm();
    if (form) form.hidden = true;
    setFocus(focusIndex);
  }

  function addLabel() {
    var input = document.getElementById("add-label-input");
    var text = input.value.trim();
    var found = matches(text);
    var exact = taxonomy().filter(function (name) { return name.toLowerCase() === text.toLowerCase(); })[0];
    var label = exact || found[0] || text;
    if (!label) return;
    var current = item();
    api("POST", current.dataset.voteUrl, { label: label, vote: "yes", request_id: requestId() }).then(function (result) {
      if (!result.ok) {
        say(errorOf(result).message, true);
        return;
      }
      loadItem(current.dataset.url, false).then(function () {
        var list = candidates();
        var index = list.findIndex(function (li) { return li.dataset.label === label; });
        setFocus(index >= 0 ? index : 0);
        say("Added " + label + " (yes).");
      });
    });
  }

  function init() {
    focusIndex = 0;
    setFocus(0);
    var form = addForm();
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        addLabel();
      });
      var input = document.getElementById("add-label-input");
      input.addEventListener("input", showMatches);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          closeAdd();
        }
      });
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !root.contains(target)) return;
    var button = target.closest(".vote");
    if (button) {
      var li = button.closest(".candidate");
      setFocus(candidates().indexOf(li));
      vote(li, button.dataset.value);
    } else if (target.closest("#submit-item")) {
      submit();
    } else if (target.closest("#skip-item")) {
      skip();
    } else if (target.closest("#undo")) {
      undo();
    } else if (target.closest("#review-zoom")) {
      zoom(0);
    } else if (target.closest(".candidate")) {
      setFocus(candidates().indexOf(target.closest(".candidate")));
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var key = event.key;
    var handled = true;
    var help = document.getElementById("review-help");
    if (key !== "Enter") emptyConfirmFor = null;
    if (key === "?") {
      if (help && help.open) help.close();
      else if (help) help.showModal();
    } else if (help && help.open) handled = false;
    else if (/^[1-9]$/.test(key)) toggle(Number(key) - 1);
    else if (key === "ArrowDown") setFocus(focusIndex + 1);
    else if (key === "ArrowUp") setFocus(focusIndex - 1);
    else if (key === "y" || key === "m" || key === "n") {
      var list = candidates();
      if (list.length) vote(list[focusIndex], { y: "yes", m: "maybe", n: "no" }[key]);
    } else if (key === "a") openAdd();
    else if (key === "Enter") submit();
    else if (key === "s") skip();
    else if (key === "u") undo();
    else if (key === "z") zoom(0);
    else if (key === "+" || key === "=") zoom(1);
    else if (key === "-") zoom(-1);
    else handled = false;
    if (handled) event.preventDefault();
  });

  window.addEventListener("popstate", function () {
    loadItem(window.location.pathname, false).then(prefetch);
  });

  // Leaving the page (tab closed, another page opened): the reviewer's claims that carry no vote (the item shown
  // and the one prefetched) go back to the other reviewers now, not when they expire. A beacon outlives the
  // page; it cannot set headers, so the CSRF token goes as the form field that Django's check reads too.
  // The beacon names this page (its token, data-page): the server frees only the claims this page still holds.
  // On a reload, pagehide fires after the next page was served, which has taken the claims it shows and serves
  // under its own token: however late this beacon arrives, it frees none of those.
  window.addEventListener("pagehide", function () {
    if (!root.dataset.releaseUrl || !navigator.sendBeacon) return;
    var body = new FormData();
    body.append("csrfmiddlewaretoken", window.WinnowApi.csrfToken());
    if (root.dataset.page) body.append("page", root.dataset.page);
    navigator.sendBeacon(root.dataset.releaseUrl, body);
  });

  // Back to the page from the browser's cache: its claims went back on leaving, so what it shows may be another
  // reviewer's now. Load it again: the new page claims its item (when there is room) and draws a new token.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  init();
  prefetch();
})();
