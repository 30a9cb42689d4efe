// The pages' one way to call the JSON API and to fetch a page's partial (window.WinnowApi).
//   WinnowApi.json(method, url, body) -> Promise of {ok, status, data}; never rejects: a network failure is
//     {ok: false, status: 0, data: {error: {code: "network", ...}}}. Sends the CSRF token and the session cookie.
//   WinnowApi.errorOf(result) -> {code, message} of a refused call (the API's error envelope).
//   WinnowApi.partial(url) -> Promise of the HTML of `url` with ?partial=1 (rejects on an HTTP error).
//   WinnowApi.csrfToken() -> the token (the cookie, else the one base.html puts in hx-headers).
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function json(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, status: response.status, data: data }; },
          function () { return { ok: response.ok, status: response.status, data: {} }; }
        );
      })
      .catch(function () {
        return { ok: false, status: 0, data: { error: { code: "network", message: "The server did not answer." } } };
      });
  }

  function errorOf(result) {
    var error = (result.data && result.data.error) || {};
    return { code: error.code || "error", message: error.message || "Request failed (" + result.status + ")." };
  }

  function partialUrl(url) {
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "partial=1";
  }

  function partial(url) {
    return fetch(partialUrl(url), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    });
  }

  window.WinnowApi = { csrfToken: csrfToken, json: json, errorOf: errorOf, partial: partial, partialUrl: partialUrl };
})();
