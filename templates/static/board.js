// Shared by the boards: calling the API with the page's CSRF token, building rows, following events.
window.board = (() => {
  const send = window.stormline.send;
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
  // Every ticket number on a board opens its incident page.
  function ticket(number) { const a = document.createElement("a"); a.href = `/incidents/${number}`; a.textContent = number; return a; }
  function ticketItem(number, text, cls) { const li = item("", cls); li.append(ticket(number), text); return li; }
  // One stream per page (a browser allows few connections per host), shared by every panel; each panel
  // refreshes when an event of its kinds comes (after a pause, so a burst is one refresh).
  const panels = [];
  let lastId = null;
  let started = false;
  function open() {
    const source = new EventSource(`/api/v1/events/stream${lastId ? `?after=${encodeURIComponent(lastId)}` : ""}`);
    const kinds = new Set(panels.flatMap((p) => p.kinds));
    kinds.forEach((kind) => source.addEventListener(kind, (e) => {
      lastId = e.lastEventId || lastId;
      let data;
      const read = () => { if (data === undefined) { try { data = JSON.parse(e.data); } catch { data = null; } } return data; };
      // A panel that says which events it wants (wants(event)) refreshes only for those.
      panels.filter((p) => p.kinds.includes(kind) && (!p.wants || p.wants(read() || {}))).forEach((p) => p.soon());
    }));
    source.addEventListener("reset", () => panels.forEach((p) => p.soon()));
    // The credential no longer holds (revoked, disabled, signed out): stop, and send the person to sign in.
    source.addEventListener("denied", () => { source.close(); window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`); });
    source.onerror = () => {
      // The browser retries by itself, unless the server answered with an error: then we do.
      if (source.readyState === EventSource.CLOSED) setTimeout(open, 5000);
    };
  }
  function follow(kinds, refresh, wants) {
    let timer = null;
    panels.push({ kinds, wants, soon: () => { clearTimeout(timer); timer = setTimeout(refresh, 400); } });
    if (!started) { started = true; setTimeout(open, 0); } // after every panel has said what it follows
  }
  return { send, cells, item, ticket, ticketItem, follow };
})();
