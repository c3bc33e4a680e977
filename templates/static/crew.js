// The crew's phone: jobs in driving order (the route Stormline planned), one tap per step, the
// phone's position shared, and new work picked up from the crew's feed (acknowledged once shown).
(() => {
  const root = document.getElementById("crew");
  if (!root) return;
  const crew = root.dataset.crew;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const $ = (id) => document.getElementById(id);
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  const drawn = L.layerGroup().addTo(map);
  const steps = { assigned: ["en_route", "En route"], en_route: ["on_scene", "On scene"], on_scene: ["cleared", "Cleared"] };
  let lastSent = 0;

  const send = async (method, url, body) => {
    const answer = await fetch(url, { method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json", "X-CSRF-Token": csrf } : {},
      body: body ? JSON.stringify(body) : undefined });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.detail || `${answer.status}`);
    return data;
  };

  function button(label, kind, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = `big ${kind}`; b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  async function mark(ticket, which, reason) {
    document.querySelectorAll("#jobs button").forEach((b) => { b.disabled = true; }); // one tap, one mark
    try {
      await send("POST", `/api/v1/crews/${crew}/work/${ticket}/mark`, { mark: which, ...(reason ? { reason } : {}) });
    } catch (error) { $("crew-status").textContent = `Not sent: ${error.message}`; }
    await load();
  }

  function unable(ticket) {
    const dialog = $("unable-dialog");
    dialog.returnValue = "";
    dialog.showModal();
    dialog.onclose = () => {
      if (dialog.returnValue !== "send") return;
      const reason = $("unable-other").value.trim() || $("unable-reason").value;
      if (reason) mark(ticket, "unable", reason);
    };
  }

  async function load() {
    const route = await send("GET", `/api/v1/crews/${crew}/route`);
    const list = $("jobs");
    drawn.clearLayers();
    const line = [];
    if (route.start) line.push([route.start.lat, route.start.lon]);
    list.replaceChildren(...route.stops.map((stop, index) => {
      const li = document.createElement("li");
      li.dataset.tickets = stop.tickets.join(" ");
      li.dataset.status = stop.status;
      const where = stop.address || (stop.location ? `${stop.location.lat.toFixed(4)}, ${stop.location.lon.toFixed(4)}` : "no location yet");
      const head = document.createElement("p");
      head.className = "job-head";
      head.textContent = `${index + 1}. ${where}`;
      const info = document.createElement("p");
      info.textContent = `${stop.category} · ${stop.priority} · ${stop.status.replace("_", " ")}` +
        (stop.job ? ` · job ${stop.job} (${stop.tickets.length} reports)` : "") +
        (stop.eta_minutes !== null ? ` · about ${Math.round(stop.eta_minutes)} min` : "");
      li.append(head, info);
      const next = steps[stop.status];
      if (next) li.append(button(next[1], "go", () => mark(stop.tickets[0], next[0])));
      li.append(button("Unable", "stop", () => unable(stop.tickets[0])));
      if (stop.location) {
        line.push([stop.location.lat, stop.location.lon]);
        L.marker([stop.location.lat, stop.location.lon], { title: `${index + 1}` })
          .bindTooltip(`${index + 1}`, { permanent: true, direction: "top" }).addTo(drawn);
      }
      return li;
    }));
    if (line.length > 1) L.polyline(line, { color: "#0a4b8c", weight: 5 }).addTo(drawn);
    if (line.length) map.fitBounds(L.latLngBounds(line).pad(0.2));
    $("crew-status").textContent = route.stops.length ? `${route.stops.length} job(s), in driving order` : "No jobs right now.";
    root.dataset.ready = "true";
  }

  async function feed() {
    try {
      const page = await send("GET", `/api/v1/crews/${crew}/feed`);
      if (page.messages.length) {
        await load();
        await send("POST", `/api/v1/crews/${crew}/feed/ack`, { ids: page.messages.map((m) => m.id) });
      }
    } catch (error) { /* no signal: the next read gets it, and unacknowledged work comes again */ }
  }

  if (navigator.geolocation) {
    const share = async (fix) => {
      if (Date.now() - lastSent < 30000) return; // every 30 s is enough to find a crew
      lastSent = Date.now();
      try {
        await send("POST", `/api/v1/crews/${crew}/position`, { lat: fix.coords.latitude, lon: fix.coords.longitude,
          accuracy_m: fix.coords.accuracy, at: new Date(fix.timestamp).toISOString() });
        $("position-status").textContent = `Position shared ${new Date().toLocaleTimeString()}`;
      } catch (error) { lastSent = 0; }
    };
    const refused = () => { $("position-status").textContent = "Position not shared: allow location for this page."; };
    navigator.geolocation.watchPosition(share, refused, { enableHighAccuracy: true, maximumAge: 30000 });
    // A parked truck's phone reports no movement: ask anyway each minute, so the crew is not "silent".
    setInterval(() => navigator.geolocation.getCurrentPosition(share, refused, { maximumAge: 60000 }), 60000);
  }

  window.stormlineBase(map, { fit: false }); // the crew's map keeps to its route
  load().then(feed);
  setInterval(feed, 10000);
})();
