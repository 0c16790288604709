// Shared by every page: calls to the app's JSON API, errors in one line.
"use strict";

window.aig = {
  async call(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      let detail = (data && data.detail) || response.statusText || "the request failed";
      if (response.status === 413 && !(data && data.detail && data.detail.includes("MB"))) {
        detail = "too large: the upload is over the size limit";
      }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return data;
  },

  showError(element, message) {
    if (!element) return;
    element.textContent = message || "";
    element.hidden = !message;
  },

  // Tell htmx partials that listen with `hx-trigger="NAME from:body"`.
  fire(name) {
    document.body.dispatchEvent(new CustomEvent(name, { bubbles: true }));
  },
};
