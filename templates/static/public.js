// The residents' pages keep themselves current without a reload: the center's public message, a
// ticket's status, and the open warming stations (list and map). A missed poll just waits for the next.
(() => {
  const $ = (id) => document.getElementById(id);
  const get = async (url) => {
    const answer = await fetch(url, { cache: "no-store" });
    if (!answer.ok) throw new Error(String(answer.status));
    return answer.json();
  };
  const every = (seconds, refresh) => {
    const run = async () => { try { await refresh(); } catch (error) { /* offline: next time */ } setTimeout(run, seconds * 1000); };
    setTimeout(run, seconds * 1000);
  };

  const result = $("result");
  if (result && result.dataset.ticket) {
    const meanings = JSON.parse(result.dataset.meanings);
    const names = JSON.parse(result.dataset.names);
    every(30, async () => {
      const found = await get(`/api/v1/public/tickets/${encodeURIComponent(result.dataset.ticket)}`);
      const steps = $("steps");
      if (steps.children.length !== found.steps.length) {
        steps.replaceChildren(...found.steps.map((step) => {
          const item = document.createElement("li");
          const at = document.createElement("time");
          item.dataset.step = step.step;
          at.dateTime = step.at;
          at.textContent = new Date(step.at).toLocaleString();
          item.append(at, ` ${step.words}`);
          return item;
        }));
      }
      if ($("status").dataset.status === found.status) return; // said once, when it changes
      $("status").dataset.status = found.status;
      $("status").textContent = names[found.status] || found.status;
      $("meaning").textContent = meanings[found.status] || "";
      $("updated").textContent = new Date(found.updated_at).toLocaleString();
    });
  }

  const list = $("station-list");
  const frame = $("map-frame");
  if (list && frame) {
    const map = window[frame.dataset.map];
    const markers = L.layerGroup().addTo(map);
    const words = JSON.parse(list.dataset.words); // the page's language, from the server's catalogue
    const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key]);
    const places = (s) => (s.full ? words.full : s.space === 1 ? words.one_place : fill(words.places, { n: s.space }));
    const text = (s) => `${s.name}: ${places(s)} (${s.freshness})`;
    const directions = (s) => `https://www.google.com/maps/dir/?api=1&destination=${s.point.lat},${s.point.lon}`;
    const draw = (items) => {
      markers.clearLayers();
      items.forEach((s) => {
        const label = document.createElement("span"); label.textContent = text(s);
        L.circleMarker([s.point.lat, s.point.lon], { radius: 11, color: "#0a7d3b", fillColor: s.full ? "#999" : "#30c060",
          fillOpacity: 0.9 }).bindTooltip(label).addTo(markers);
      });
    };
    const render = (items) => {
      $("none").hidden = items.length > 0;
      list.replaceChildren(...items.map((s) => {
        const li = document.createElement("li");
        li.dataset.station = s.id;
        const name = document.createElement("strong"); name.textContent = s.name;
        const link = document.createElement("a"); link.href = directions(s); link.rel = "noopener"; link.textContent = words.directions;
        const amenities = ["accessible", "pets", "medical_power", "food", "cots"].filter((a) => s.amenities[a]).map((a) => words[a]);
        const small = document.createElement("span"); small.className = "small"; small.textContent = amenities.join(" · ");
        li.append(name, document.createElement("br"), `${s.address || (s.near ? fill(words.near, { place: s.near }) : "")} · `, link,
          document.createElement("br"), places(s), ` (${s.freshness})`,
          document.createElement("br"), fill(words.hours, { hours: s.hours }), document.createElement("br"), small);
        return li;
      }));
    };
    const stations = get("/api/v1/public/stations").then((view) => draw(view.items)).catch(() => {});
    // ready once the base is drawn and the stations were fetched and drawn (or their fetch failed)
    Promise.all([window.stormlineBase(map), stations]).then(() => { frame.dataset.ready = "true"; });
    every(60, async () => { const view = await get("/api/v1/public/stations"); render(view.items); draw(view.items); });
  }

  const banner = $("mode-banner");
  if (banner && !document.querySelector("form.signout")) { // staff pages have banner.js
    every(60, async () => {
      const status = await get("/api/v1/status");
      const message = status.mode === "normal" ? "" : status.public_message;
      if (banner.textContent.trim() === message) return;
      banner.dataset.mode = status.mode;
      banner.textContent = message;
      banner.hidden = !message;
    });
  }
})();
