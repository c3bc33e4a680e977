// The live map: draws what is open when it loads, then follows the event stream (Server-Sent Events).
// EventSource reconnects by itself and sends Last-Event-ID, so after a dropped connection the server
// sends what was missed; the page never reloads.
(() => {
  const frame = document.getElementById("map-frame");
  if (!frame) return;
  const map = window[frame.dataset.map];
  const colours = { P1: "#c0001a", P2: "#b35300", P3: "#c9a400", P4: "#2a6fdb" };
  // Each category's own border colour, so kinds can be told apart at a glance as well as filtered.
  const kinds = ["#222222", "#6a1b9a", "#00695c", "#ad1457", "#4e342e", "#1565c0", "#558b2f", "#ef6c00"];
  const codes = [...document.querySelectorAll("#map-filters input[name=category]")].map((i) => i.value);
  const escape = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const touched = new Set(); // tickets changed by events while the snapshot was loading: events win
  let snapshotting = true;
  const done = new Set(["resolved", "closed", "cancelled"]);
  // A cluster takes the colour of its most urgent incident, and says how many it holds.
  const clusters = L.markerClusterGroup({ chunkedLoading: true, disableClusteringAtZoom: 17,
    iconCreateFunction: (cluster) => {
      const worst = cluster.getAllChildMarkers().map((m) => m.options.priority).sort()[0] || "P4";
      const n = cluster.getChildCount();
      return L.divIcon({ html: `<span>${n}</span>`, className: `cluster cluster-${worst}`,
        iconSize: L.point(40, 40) });
    } });
  const markers = new Map(); // ticket → { marker, data }
  const crews = new Map();
  const stations = new Map();
  const jobs = L.layerGroup();
  const status = document.getElementById("live-status");
  const count = document.getElementById("incident-count");
  const filters = document.getElementById("map-filters");
  // Kept for whoever looks (the benchmark, the tests): when each new incident reached this page.
  const arrivals = [];
  window.stormlineMap = { markers, crews, stations, events: 0, lastEventId: null, arrivals };

  function shown(data) {
    const chosen = (name) => [...filters.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    return chosen("category").includes(data.category) && chosen("priority").includes(data.priority);
  }

  function style(data) {
    // Outside the city: a dashed ring and a pale fill, so another town's work is not read as ours.
    return { radius: data.priority === "P1" ? 9 : 7, color: kinds[codes.indexOf(data.category) % kinds.length] || "#222",
             weight: data.crew ? 4 : 2, priority: data.priority, dashArray: data.outside ? "3 3" : null,
             fillColor: colours[data.priority] || "#777", fillOpacity: data.outside ? 0.3 : 0.85 };
  }

  function label(data) {
    return `<strong><a href="/incidents/${encodeURIComponent(data.ticket)}">${escape(data.ticket)}</a></strong><br>${escape(data.category)} · ${escape(data.priority)} · ` +
      escape(data.status) + (data.crew ? `<br>crew ${escape(data.crew)}` : "") + (data.job ? `<br>job ${escape(data.job)}` : "") +
      (data.outside ? "<br>outside the city" : "");
  }

  function put(data) {
    const known = markers.get(data.ticket);
    if (done.has(data.status)) {
      if (known) { clusters.removeLayer(known.marker); markers.delete(data.ticket); }
    } else if (known) {
      Object.assign(known.data, data);
      known.marker.setLatLng([known.data.lat, known.data.lon]).setStyle(style(known.data));
      known.marker.setPopupContent(label(known.data));
      if (shown(known.data) !== clusters.hasLayer(known.marker)) {
        shown(known.data) ? clusters.addLayer(known.marker) : clusters.removeLayer(known.marker);
      }
    } else if (data.lat !== undefined) {
      const marker = L.circleMarker([data.lat, data.lon], style(data)).bindPopup(label(data));
      markers.set(data.ticket, { marker, data: { ...data } });
      if (shown(data)) clusters.addLayer(marker);
    }
    count.textContent = markers.size;
  }

  async function update(ticket, change) {
    if (snapshotting) touched.add(ticket);
    const known = markers.get(ticket);
    if (known) { put({ ...known.data, ...change }); return; }
    if (change.status && done.has(change.status)) return;
    // Not drawn yet (placed late, or reopened): read it whole and draw it.
    try {
      const i = (await json(`/api/v1/incidents/${encodeURIComponent(ticket)}`)).incident;
      if (i.location) put({ ticket: i.ticket, lat: i.location.lat, lon: i.location.lon, category: i.category,
        priority: i.priority, status: i.status, crew: i.assigned_crew, job: i.job, outside: i.outside_jurisdiction });
    } catch (error) { /* gone, or not ours to see */ }
  }

  async function json(url) {
    const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
    return answer.json();
  }

  function crewAt(view) {
    if (!view.position) return;
    const age = Math.round(view.position.age_seconds / 60);
    const text = `${escape(view.crew.name)} · ${escape(view.status)}<br>position ${age} min old` +
      (view.position.stale ? " (stale)" : "");
    const known = crews.get(view.crew.id);
    if (known) { known.setLatLng([view.position.lat, view.position.lon]).setPopupContent(text); return; }
    const label = document.createElement("span"); label.textContent = view.crew.name;
    crews.set(view.crew.id, L.marker([view.position.lat, view.position.lon], { title: view.crew.name })
      .bindPopup(text).bindTooltip(label, { permanent: true, direction: "right", className: "crew-name" }).addTo(map));
  }

  function stationAt(view) {
    const s = view.station;
    const text = `${escape(s.name)}<br>` +
      (s.status === "open" ? `${view.space} places left${view.full ? " (FULL)" : ""}, ${escape(view.freshness)}` : "closed");
    const known = stations.get(s.id);
    if (s.status !== "open") { if (known) { map.removeLayer(known); stations.delete(s.id); } return; }
    if (known) { known.setPopupContent(text); return; }
    stations.set(s.id, L.circleMarker([s.point.lat, s.point.lon], { radius: 11, color: "#0a7d3b", weight: 3,
      fillColor: view.full ? "#999" : "#30c060", fillOpacity: 0.9 }).bindPopup(text).addTo(map));
  }

  function follow(after, opened = () => {}) {
    const source = new EventSource(`/api/v1/events/stream${after ? `?after=${encodeURIComponent(after)}` : ""}`);
    const seen = (event) => {
      window.stormlineMap.events += 1;
      window.stormlineMap.lastEventId = event.lastEventId;
      status.dataset.state = "live";
      status.textContent = `Live · last event ${new Date().toLocaleTimeString()}`;
      return JSON.parse(event.data);
    };
    source.onopen = () => { status.dataset.state = "live"; status.textContent = "Live"; opened(); };
    source.onerror = () => {
      status.dataset.state = "reconnecting"; status.textContent = "Reconnecting…";
      // The browser retries by itself, unless the server answered with an error: then we do, from the last id.
      if (source.readyState === EventSource.CLOSED) setTimeout(() => follow(window.stormlineMap.lastEventId), 5000);
    };
    source.addEventListener("reset", () => { snapshot(); });
    source.addEventListener("denied", () => {
      source.close(); // signed out, revoked or no longer allowed: no more events, and no retrying
      status.dataset.state = "denied"; status.textContent = "Not following: sign in again";
    });
    source.addEventListener("incident.opened", (e) => {
      const i = seen(e).incident;
      arrivals.push([i.ticket, Date.now()]);
      if (arrivals.length > 20000) arrivals.splice(0, 10000);
      if (i.location) put({ ticket: i.ticket, lat: i.location.lat, lon: i.location.lon, category: i.category,
        priority: i.priority, status: i.status, crew: i.assigned_crew, job: i.job, outside: i.outside_jurisdiction });
      else unplaced();
    });
    source.addEventListener("incident.status_changed", (e) => {
      const ev = seen(e); update(ev.ticket, { status: ev.to, crew: ev.crew_id }); unplaced();
    });
    source.addEventListener("call.attached", (e) => {
      const ev = seen(e); if (ev.priority) update(ev.ticket, { priority: ev.priority });
    });
    source.addEventListener("incident.located", (e) => {
      const ev = seen(e);
      update(ev.ticket, { lat: ev.located_by.point.lat, lon: ev.located_by.point.lon, outside: ev.outside_jurisdiction });
      unplaced();
    });
    source.addEventListener("incident.assigned", (e) => {
      const ev = seen(e); ev.tickets.forEach((t) => update(t, { status: "assigned", crew: ev.crew_id }));
    });
    source.addEventListener("incident.unassigned", (e) => {
      const ev = seen(e); ev.tickets.forEach((t) => update(t, { status: "open", crew: null }));
    });
    source.addEventListener("crew.marked", (e) => {
      const ev = seen(e); ev.tickets.forEach((t) => update(t, { status: ev.to }));
    });
    source.addEventListener("crew.position", async (e) => {
      const ev = seen(e); const known = crews.get(ev.crew_id);
      if (known) known.setLatLng([ev.lat, ev.lon]);
      else crewAt(await json(`/api/v1/crews/${encodeURIComponent(ev.crew_id)}`));
    });
    source.addEventListener("incident.triage_overridden", (e) => {
      const ev = seen(e); update(ev.ticket, { category: ev.override.category, priority: ev.override.priority });
    });
    source.addEventListener("incident.requeued", (e) => { const ev = seen(e); update(ev.ticket, { category: ev.category }); });
    source.addEventListener("job.grouped", async (e) => { seen(e); drawJobs(); });
    source.addEventListener("job.dissolved", async (e) => { seen(e); drawJobs(); });
    source.addEventListener("station.changed", async (e) => { seen(e); (await json("/api/v1/stations")).items.forEach(stationAt); });
    for (const kind of ["handoff.step", "alarm.raised", "transport.changed", "referral.changed", "crew.route"]) {
      source.addEventListener(kind, seen);
    }
  }

  async function snapshot() {
    snapshotting = true;
    const rows = await json("/api/v1/map/incidents");
    rows.forEach(([ticket, lat, lon, category, priority, status, crew, job, outside]) => {
      if (!touched.has(ticket)) put({ ticket, lat, lon, category, priority, status, crew, job, outside });
    });
    unplaced();
    snapshotting = false;
    touched.clear();
  }

  // The calls that are not on the map at all: counted, with the way to place them.
  const countUnplaced = async () => {
    const page = await json("/api/v1/incidents?needs_location=true&status=open,assigned&limit=500");
    const n = page.items.length;
    document.getElementById("unplaced-count").textContent = n ? `${n}${page.next_cursor ? "+" : ""} not on the map` : "Every call is on the map";
  };
  let unplacedTimer = null;
  function unplaced() { clearTimeout(unplacedTimer); unplacedTimer = setTimeout(() => countUnplaced().catch(() => {}), 500); }

  async function drawJobs() {
    const found = await json("/api/v1/jobs");
    jobs.clearLayers();
    found.items.forEach((view) =>
      L.geoJSON(view.feature, { style: { color: "#7a3e00", weight: 6, opacity: 0.7 } })
        .bindPopup(`${escape(view.job.label)}<br>${view.job.tickets.length} incidents`).addTo(jobs));
  }

  async function start() {
    const { zones, features } = await window.stormlineBase(map);
    window.stormlineMap.baseFeatures = features;
    clusters.addTo(map);
    jobs.addTo(map);
    // Subscribed before the snapshot is read, so nothing falls between the two (what events touch
    // meanwhile, they own). Open means subscribed: the server subscribes before it answers. A stream
    // slow to open does not keep the map from drawing; when it does open, the map reads it again.
    await new Promise((resolve) => {
      let waited = false, first = true;
      const timer = setTimeout(() => { waited = true; resolve(); }, 5000);
      follow(undefined, () => {
        if (!first) return;
        first = false; clearTimeout(timer);
        waited ? snapshot() : resolve();
      });
    });
    await snapshot();
    (await json("/api/v1/stations")).items.forEach(stationAt);
    (await json("/api/v1/crews")).items.forEach(crewAt);
    await drawJobs();
    L.control.layers(null, { "Incidents": clusters, "Street-segment jobs": jobs, ...zones }).addTo(map);
    filters.addEventListener("change", () => markers.forEach((known) => put(known.data)));
    frame.dataset.ready = "true";
  }

  start().catch((error) => {
    console.error(error);
    status.dataset.state = "error";
    status.textContent = `Map failed: ${error && error.message ? error.message : error}`;
  });
})();
