// Shared by the boards: calling the API with the page's CSRF token, building rows, following events.
window.board = (() => {
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  async function send(method, url, body) {
    const answer = await fetch(url, { method, credentials: "same-origin",
      headers: body !== undefined ? { "Content-Type": "application/json", "X-CSRF-Token": csrf } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) { const e = new Error(data.detail || `${answer.status}`); e.problem = data; throw e; }
    return data;
  }
  function cells(...values) {
    const tr = document.createElement("tr");
    values.forEach((v) => {
      const td = document.createElement("td");
      if (v instanceof Node) td.append(v); else td.textContent = v === null || v === undefined ? "–" : String(v);
      tr.append(td);
    });
    return tr;
  }
  function item(text, cls) { const li = document.createElement("li"); li.textContent = text; if (cls) li.className = cls; return li; }
  // Refresh when the events say something changed (with a pause, so a burst is one refresh).
  function follow(kinds, refresh) {
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(refresh, 400); };
    const source = new EventSource("/api/v1/events/stream");
    kinds.forEach((kind) => source.addEventListener(kind, soon));
    return source;
  }
  return { send, cells, item, follow };
})();
