// Every page's way to call the API: the page's CSRF token on every change, JSON in and out, and a
// failed request shown to the person (in the page's alert line), never swallowed by the console.
window.stormline = (() => {
  const meta = document.querySelector("meta[name=csrf-token]");
  const csrf = meta ? meta.content : "";
  function fail(message) {
    const line = document.getElementById("request-error");
    if (!line) return;
    line.textContent = `Not done: ${message}`;
    line.hidden = false;
    clearTimeout(fail.timer);
    fail.timer = setTimeout(() => { line.hidden = true; }, 15000);
  }
  async function send(method, url, body, { quiet = false } = {}) {
    const headers = {};
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let answer;
    try {
      answer = await fetch(url, { method, credentials: "same-origin", headers,
        body: body !== undefined ? JSON.stringify(body) : undefined });
    } catch (error) {
      if (!quiet) fail("the server could not be reached; check the connection and try again");
      throw error;
    }
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      const error = new Error(data.detail || `${answer.status} ${answer.statusText}`);
      error.problem = data; error.status = answer.status;
      if (!quiet) fail(error.message);
      throw error;
    }
    return data;
  }
  // Whatever a page's script did not catch is still said, not lost in the developer console.
  window.addEventListener("unhandledrejection", (event) => {
    const reason = event.reason;
    if (!(reason && reason.problem)) fail(reason && reason.message ? reason.message : "something went wrong");
  });
  return { send, fail, csrf };
})();
