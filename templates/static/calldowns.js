// Call-downs: a list built by district or outage area, each list's progress kept live (the event
// stream's calldown.changed, and a slow poll besides), and an agent's working view: the next resident
// held for them, the outcome of the call, and the ticket it opened.
(() => {
  const root = document.getElementById("calldowns");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const { send, follow } = window.board;
  const mayBuild = root.dataset.mayBuild === "true";
  const words = (needs) => needs.map((n) => n.replaceAll("_", " ")).join(", ");
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  let working = null; // the list this agent calls from
  let held = null; // { entry, resident } the agent holds now

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function button(label, onClick) {
    const b = el("button", label); b.type = "button"; b.addEventListener("click", onClick); return b;
  }

  // done / safe / help / unreached / waiting / held, as a bar and in words.
  const SEGMENTS = [["safe", "safe"], ["help", "help"], ["unreached", "door knock"], ["calling_again", "call again"],
    ["held", "being called"], ["waiting", "waiting"]];
  function progressBar(p) {
    const bar = el("div", undefined, "progress-bar");
    bar.setAttribute("aria-hidden", "true");
    SEGMENTS.forEach(([key]) => {
      if (!p[key] || !p.size) return;
      const part = el("span", undefined, `segment ${key}`);
      part.style.width = `${(100 * p[key]) / p.size}%`;
      bar.append(part);
    });
    return bar;
  }
  function progressText(p) {
    return `${p.done} of ${p.size} done: ${p.safe} safe, ${p.help} need help, ${p.unreached} door knock · ` +
      `${p.calling_again} to call again · ${p.held} being called · ${p.waiting} waiting`;
  }

  // Each list's card is made once and its progress updated in place, so a refresh never takes the
  // keyboard's focus away from a button on it.
  async function lists() {
    const all = (await send("GET", "/api/v1/calldowns")).items;
    const progress = await Promise.all(all.map((c) => send("GET", `/api/v1/calldowns/${c.id}`)));
    $("lists-none").hidden = all.length > 0;
    const known = new Map([...$("lists").children].map((li) => [li.dataset.calldown, li]));
    const cards = progress.map((p) => {
      const c = p.calldown;
      let li = known.get(c.id);
      if (!li || li.dataset.closed !== String(Boolean(c.closed_at))) li = card(c);
      li.querySelector(".progress-bar").replaceWith(progressBar(p));
      li.querySelector(".progress-text").textContent = progressText(p);
      return li;
    });
    cards.forEach((li, i) => { if ($("lists").children[i] !== li) $("lists").insertBefore(li, $("lists").children[i] || null); });
    [...$("lists").children].slice(cards.length).forEach((li) => li.remove());
    choices(progress);
    root.dataset.ready = "true";
  }

  // The chosen list on the map: its area, and each resident as a mark by how their call went (a shape
  // and a colour, with the counts in words beside the map). Redrawn when that list's events come.
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  const MARKS = { waiting: "○", held: "◆", calling_again: "↻", safe: "✓", help: "!", unreached: "⌂", removed: "–" };
  const known = new Map(); // list id → its progress, as last read
  let base = null; // the offline base layer, drawn once
  let drawn = null; // the list's layer on the map
  let mapped = null; // the list it shows

  function choices(progress) {
    const select = $("map-list");
    const chosen = select.value;
    known.clear();
    progress.forEach((p) => known.set(p.calldown.id, p));
    select.replaceChildren(...progress.map((p) => new Option(
      `${p.calldown.name} (${p.calldown.id})${p.calldown.closed_at ? " · closed" : ""}`, p.calldown.id)));
    const open = progress.find((p) => !p.calldown.closed_at) || progress[0];
    select.value = known.has(chosen) ? chosen : open ? open.calldown.id : "";
    const first = $("map-panel").hidden && progress.length > 0;
    $("map-panel").hidden = progress.length === 0;
    if (first) map.invalidateSize();
    if (first || select.value !== chosen) drawMap();
  }

  function mark(feature, latlng) {
    const { state, rank } = feature.properties;
    const span = el("span", MARKS[state] || "?", `cd-mark cd-${state}`);
    span.dataset.state = state;
    span.dataset.rank = rank;
    return L.marker(latlng, { interactive: false, keyboard: false,
      icon: L.divIcon({ html: span, className: "cd-point", iconSize: [22, 22] }) });
  }

  async function drawMap() {
    const id = $("map-list").value;
    if (!id) return;
    if (!base) base = window.stormlineBase(map);
    const { zones } = await base;
    const data = await send("GET", `/api/v1/calldowns/${encodeURIComponent(id)}/map`);
    if (id !== $("map-list").value) return; // another list was chosen meanwhile
    const layer = L.geoJSON(data, { pointToLayer: mark,
      style: () => ({ color: "#0b4f8a", weight: 3, dashArray: "6 4", fillOpacity: 0.05, interactive: false }) });
    if (drawn) map.removeLayer(drawn);
    drawn = layer.addTo(map);
    const listed = known.get(id);
    const districts = new Set(listed ? listed.calldown.districts : []);
    zones["Council districts"].eachLayer((l) => l.setStyle(districts.has(l.feature.properties.name)
      ? { weight: 4, color: "#0b4f8a", fillOpacity: 0.08 } : { weight: 1, color: "#5a4fcf", fillOpacity: 0.03 }));
    const counts = {};
    const points = data.features.filter((f) => f.geometry.type === "Point");
    points.forEach((f) => { counts[f.properties.state] = (counts[f.properties.state] || 0) + 1; });
    document.querySelectorAll("#map-legend [data-state]").forEach((li) => {
      li.querySelector(".cd-count").textContent = counts[li.dataset.state] || 0;
    });
    const size = listed ? listed.size : points.length;
    $("map-status").textContent = `${points.length} of ${size} resident(s) on the map` +
      (points.length < size ? ` (${size - points.length} not placed or taken off the registry)` : "") +
      ` · updated ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`;
    if (mapped !== id && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 16, animate: false });
    mapped = id;
    frame.dataset.calldown = id;
    frame.dataset.ready = "true";
  }
  $("map-list").addEventListener("change", drawMap);

  function card(c) {
    const li = el("li", undefined, "calldown");
    li.dataset.calldown = c.id;
    li.dataset.closed = String(Boolean(c.closed_at));
    const where = [...c.districts, ...(c.area ? ["outage area"] : [])].join(", ");
    li.append(el("h3", `${c.name} (${c.id})${c.closed_at ? " · closed" : ""}`),
      el("p", `Built ${time(c.built_at)} by ${c.built_by || "?"} · ${where} · needs: ${words(c.needs) || "all"}`, "small"),
      el("div", undefined, "progress-bar"), el("p", "", "progress-text"));
    const actions = el("p");
    if (!c.closed_at) {
      actions.append(button("Work this list", () => work(c)));
      if (mayBuild) {
        actions.append(" ", button("Close", async () => {
          if (!confirm(`Close ${c.name}? Nobody more is taken from it.`)) return;
          await send("POST", `/api/v1/calldowns/${c.id}/close`);
          lists();
        }));
      }
    }
    li.append(actions);
    return li;
  }

  function work(calldown) {
    working = calldown;
    $("work").hidden = false;
    $("work-title").textContent = `Calling: ${calldown.name} (${calldown.id})`;
    if ($("map-list").value !== calldown.id) { $("map-list").value = calldown.id; drawMap(); }
    $("work-status").textContent = "";
    if (!held) $("resident").hidden = true;
    $("work-title").focus();
  }

  $("take-next").addEventListener("click", async () => {
    if (!working) return;
    const taken = await send("POST", `/api/v1/calldowns/${working.id}/next`);
    if (!taken.entry) {
      held = null; $("resident").hidden = true;
      $("work-status").textContent = "Nobody left to call now on this list.";
      return;
    }
    held = taken;
    show(taken);
    $("work-status").textContent = `Call ${taken.resident.name} now (held for you until ${time(taken.entry.held_until)}).`;
  });

  function show({ entry, resident: r }) {
    $("resident").hidden = false;
    $("resident-name").textContent = r.name;
    const phone = $("resident-phone");
    phone.replaceChildren();
    if (r.phone) { const a = el("a", r.phone); a.href = `tel:${r.phone_e164 || r.phone}`; phone.append(a); }
    else phone.textContent = "none: a door knock";
    $("resident-address").textContent = r.address;
    $("resident-needs").textContent = [words(r.needs), r.dialysis_schedule ? `dialysis ${r.dialysis_schedule}` : ""]
      .filter(Boolean).join(" · ") || "none recorded";
    $("resident-language").textContent = r.language;
    $("resident-contact").textContent = [r.contact_name, r.contact_phone].filter(Boolean).join(", ") || "–";
    $("resident-notes").textContent = r.notes || "–";
    $("resident-attempts").textContent = entry.attempts.length
      ? entry.attempts.map((a) => `${time(a.at)} ${a.outcome.replace("_", " ")}`).join(", ") : "none";
    $("o-narrative").value = ""; $("o-note").value = "";
  }

  $("outcome").querySelectorAll("[data-outcome]").forEach((b) => b.addEventListener("click", async () => {
    if (!held || !working) return;
    const outcome = b.dataset.outcome;
    const body = { outcome, note: $("o-note").value.trim() };
    const narrative = $("o-narrative").value.trim();
    if (outcome === "help") {
      if (!narrative) { $("work-status").textContent = "Say what the resident needs first."; $("o-narrative").focus(); return; }
      body.narrative = narrative;
    }
    const name = held.resident.name;
    const entry = await send("POST",
      `/api/v1/calldowns/${working.id}/residents/${held.resident.id}/attempts`, body);
    held = null;
    $("resident").hidden = true;
    const status = $("work-status");
    status.replaceChildren();
    const said = {
      safe: `Recorded: ${name} is safe.`,
      help: `${name} needs help: ticket `,
      unreached: `${name} was not reached: a door knock, ticket `,
    }[entry.outcome] || `No answer: ${name} goes back on the list, to call again after ${time(entry.call_again_at)}.`;
    status.append(said);
    if (entry.ticket) {
      const a = el("a", entry.ticket); a.href = `/incidents/${entry.ticket}`; a.id = "opened-ticket";
      status.append(a, ".");
    }
    $("take-next").focus();
    lists();
  }));

  if (mayBuild) {
    $("build").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const body = {
        name: $("b-name").value.trim(),
        districts: [...form.querySelectorAll("[name=districts]:checked")].map((b) => b.value),
        needs: [...form.querySelectorAll("[name=needs]:checked")].map((b) => b.value),
        hours_without_power: Number($("b-hours").value || 0),
      };
      const file = $("b-area").files[0];
      if (file) {
        try { body.area = JSON.parse(await file.text()); }
        catch { $("build-result").textContent = `Not built: ${file.name} is not GeoJSON.`; return; }
      }
      if (!body.area && !body.districts.length) {
        $("build-result").textContent = "Not built: tick council districts or choose an outage area file.";
        return;
      }
      try {
        const built = await send("POST", "/api/v1/calldowns", body);
        $("build-result").textContent = `Built ${built.calldown.id}: ${built.calldown.size} resident(s) to call, in order of risk.`;
        form.reset();
        lists();
      } catch (error) { $("build-result").textContent = `Not built: ${error.message}`; }
    });
  }

  follow(["calldown.changed"], lists);
  follow(["calldown.changed"], () => drawMap().catch(() => {}), (event) => event.calldown === $("map-list").value);
  setInterval(lists, 15000); // besides the stream: a list's counts stay right if the stream drops
  lists();
})();
