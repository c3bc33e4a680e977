// The crew's phone: jobs in driving order (the route Stormline planned), one tap per step, the
// phone's position shared, and new work picked up from the crew's feed (acknowledged once shown).
(() => {
  const root = document.getElementById("crew");
  if (!root) return;
  const crew = root.dataset.crew;
  const $ = (id) => document.getElementById(id);
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  const drawn = L.layerGroup().addTo(map);
  const steps = { en_route: ["on_scene", "On scene"], on_scene: ["cleared", "Cleared"] }; // after "En route"
  let lastSent = 0;

  const send = window.stormline.send;

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

  async function ride(id, move) {
    document.querySelectorAll("#jobs button").forEach((b) => { b.disabled = true; });
    try { await send("POST", `/api/v1/transport/requests/${id}/${move}`, {}); }
    catch (error) { $("crew-status").textContent = `Not sent: ${error.message}`; }
    await load();
  }

  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });

  function para(text, className) {
    const p = document.createElement("p");
    p.textContent = text;
    if (className) p.className = className;
    return p;
  }

  function navigate(point, label) {
    // The phone's maps app opens on this link (Google Maps' universal link; Apple Maps on an iPhone).
    const a = document.createElement("a");
    const apple = /iPhone|iPad/.test(navigator.userAgent);
    a.href = apple ? `https://maps.apple.com/?daddr=${point.lat},${point.lon}`
      : `https://www.google.com/maps/dir/?api=1&destination=${point.lat},${point.lon}`;
    a.className = "big navigate"; a.target = "_blank"; a.rel = "noopener";
    a.textContent = `Navigate to ${label}`;
    return a;
  }

  function rideLines(r) {
    const needs = [r.wheelchairs ? `${r.wheelchairs} wheelchair` : "", r.oxygen ? "oxygen" : "", r.pets ? "pets" : ""]
      .filter(Boolean).join(", ");
    const lines = [para(`Ride ${r.id}: ${r.party} ${r.party === 1 ? "person" : "people"}${needs ? ` (${needs})` : ""}`, "ride")];
    if (r.pickup_window) lines.push(para(`Pick up between ${time(r.pickup_window[0])} and ${time(r.pickup_window[1])}`));
    lines.push(para(`Take them to ${r.station_name}${r.station_address ? `, ${r.station_address}` : ""}`));
    return lines;
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
      const head = para(`${index + 1}. ${where}`, "job-head");
      const info = para(`${stop.tickets[0]} · ${stop.category} · ${stop.priority} · ${stop.status.replace("_", " ")}` +
        (stop.job ? ` · job ${stop.job} (${stop.tickets.length} reports)` : "") +
        (stop.eta_minutes !== null ? ` · about ${Math.round(stop.eta_minutes)} min` : ""));
      li.append(head, info);
      if (stop.said) li.append(para(`“${stop.said}”`, "said"));
      if (stop.answers.length) {
        const answers = document.createElement("ul");
        answers.className = "answers";
        answers.append(...stop.answers.map((a) => {
          const item = document.createElement("li");
          item.textContent = `${a.ask} ${a.answer === true ? "Yes" : a.answer === false ? "No" : a.answer}`;
          return item;
        }));
        li.append(answers);
      }
      if (stop.callback) li.append(para(`Call ahead: ${stop.callback}`));
      const r = stop.ride;
      if (r) li.append(...rideLines(r));
      const target = r && r.status === "picked_up" ? [r.station_point, r.station_name] : [stop.location, "the job"];
      if (target[0]) li.append(navigate(target[0], target[1]));
      const ticket = stop.tickets[0];
      if (stop.status === "assigned") li.append(button("En route", "go", () => mark(ticket, "en_route")));
      if (r && r.status === "scheduled") {
        li.append(button("Picked up", "go", () => ride(r.id, "picked_up")),
          button("No-show", "stop", () => { if (confirm(`Nobody at the pickup for ${ticket}? The coordinator is told.`)) ride(r.id, "no_show"); }));
      } else if (r && r.status === "picked_up") {
        li.append(button(`Dropped off at ${r.station_name}`, "go", () => ride(r.id, "dropped_off")));
      } else if (!r) {
        const next = steps[stop.status];
        if (next) li.append(button(next[1], "go", () => mark(ticket, next[0])));
      }
      if (!r || r.status === "scheduled") li.append(button("Unable", "stop", () => unable(ticket)));
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
