// The needs-location queue: calls the gazetteer could not place. Choose one, click a candidate or
// the map, place it; the queue follows new calls and other agents' placings live.
(() => {
  const root = document.getElementById("locate");
  if (!root) return;
  const { send, follow } = window.board;
  const $ = (id) => document.getElementById(id);
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  const candidates = L.layerGroup().addTo(map);
  let chosen = null;
  let pin = null;
  let point = null;

  function put(lat, lon) {
    point = { lat, lon };
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true, keyboard: true, title: "Where the call is" }).addTo(map);
      pin.on("dragend", () => { const p = pin.getLatLng(); point = { lat: p.lat, lon: p.lng }; });
    } else pin.setLatLng([lat, lon]);
    $("place-here").disabled = !chosen;
  }
  map.on("click", (e) => { if (chosen) put(e.latlng.lat, e.latlng.lng); });

  function choose(incident, item) {
    chosen = incident;
    document.querySelectorAll("#unplaced li").forEach((li) => li.classList.toggle("chosen", li === item));
    $("chosen").hidden = false;
    $("chosen-text").textContent = `${incident.ticket} · ${incident.category} · “${incident.address || "no address given"}”`;
    candidates.clearLayers();
    if (pin) { map.removeLayer(pin); pin = null; point = null; }
    $("place-here").disabled = true;
    const found = incident.location_candidates || [];
    $("chosen-candidates").textContent = found.length
      ? `Suggestions on the map: ${found.map((c) => c.label).join("; ")}` : "No suggestion: click the map where the caller is.";
    const reach = [];
    found.forEach((c) => {
      L.circleMarker([c.point.lat, c.point.lon], { radius: 9, color: "#8a4b00" })
        .bindTooltip(c.label).on("click", () => put(c.point.lat, c.point.lon)).addTo(candidates);
      reach.push([c.point.lat, c.point.lon]);
      // A street alone is somewhere along its stretch: its box is shown, not just its middle.
      if (c.extent) {
        const box = [[c.extent.south, c.extent.west], [c.extent.north, c.extent.east]];
        L.rectangle(box, { color: "#8a4b00", weight: 1, dashArray: "4 4", fill: false, interactive: false,
          className: "candidate-extent" }).addTo(candidates);
        reach.push(...box);
      }
    });
    if (found.length) map.fitBounds(L.latLngBounds(reach).pad(0.2), { maxZoom: 16 });
    $("place-result").textContent = "";
  }

  async function load() {
    const page = await send("GET", "/api/v1/incidents?needs_location=true&status=open,assigned&limit=200");
    $("locate-count").textContent = page.items.length ? `${page.items.length} not on the map` : "Every call is placed.";
    $("unplaced").replaceChildren(...page.items.map((incident) => {
      const li = document.createElement("li");
      const pick = document.createElement("button");
      pick.type = "button";
      pick.textContent = `${incident.ticket}: “${incident.address || "no address"}”`;
      pick.addEventListener("click", () => choose(incident, li));
      const link = document.createElement("a");
      link.href = `/incidents/${incident.ticket}`; link.textContent = "open";
      li.dataset.ticket = incident.ticket;
      li.append(pick, " ", link);
      if (chosen && chosen.ticket === incident.ticket) li.classList.add("chosen");
      return li;
    }));
    root.dataset.ready = "true";
  }

  $("place-here").addEventListener("click", async () => {
    if (!chosen || !point) return;
    try {
      await send("POST", `/api/v1/incidents/${chosen.ticket}/location`, { point });
      $("place-result").textContent = `${chosen.ticket} placed.`;
      chosen = null; $("place-here").disabled = true;
      candidates.clearLayers();
      if (pin) { map.removeLayer(pin); pin = null; }
    } catch (error) { $("place-result").textContent = `Not placed: ${error.message}`; }
    load();
  });

  window.stormlineBase(map).then(() => { frame.dataset.ready = "true"; });
  follow(["incident.opened", "incident.located", "incident.status_changed"], load);
  load();
})();
