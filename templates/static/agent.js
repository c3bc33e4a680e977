// The agent console: triage as the agent types, the address found and pinned, the reports it may
// repeat, the nearest warming station, and the ticket to read back. Every key action has a key.
(() => {
  const form = document.getElementById("call");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  let pin = null;
  let point = null;
  let stretch = null; // a street-only answer's stretch in the city, drawn as a line
  // Sent with the call only once sure: the geocoder was, or the agent placed, dragged or confirmed
  // the pin. A guess goes in as the address alone, and the call waits in the needs-location queue
  // with the candidates, rather than sending a crew to the middle of a street.
  let confirmed = false;
  let logged = false; // a logged call locks the form until the next call: a second Ctrl+Enter files nothing
  let triaged = null;
  let key = crypto.randomUUID();
  let nearby = [];
  const rideCategories = (form.dataset.rideCategories || "").split(" ").filter(Boolean);

  const send = window.stormline.send;
  const debounce = (fn, ms) => { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; };

  map.on("click", (e) => {
    if (logged) return;
    setPoint(e.latlng.lat, e.latlng.lng); confirm_(); $("located").textContent = "Placed on the map by hand.";
    checkOutside();
  });

  // Outside the city: said while the caller is still on the line, with what to tell them.
  function outside(yes, town) {
    const notice = $("outside");
    notice.hidden = !yes;
    notice.textContent = yes
      ? `Outside the city${town ? ` (${town})` : ""}. ${notice.dataset.referral}` : "";
  }
  async function checkOutside() {
    if (!point) return;
    const at = { ...point };
    const found = await send("GET", `/api/v1/geo/reverse?lat=${at.lat}&lon=${at.lon}`);
    if (point && point.lat === at.lat && point.lon === at.lon) outside(found.outside_jurisdiction, found.zones.town);
  }
  function confirm_() { confirmed = true; $("confirm-place").hidden = true; }
  $("confirm-place").addEventListener("click", () => { confirm_(); $("located").textContent += " Confirmed."; });
  window.stormlineBase(map).then(() => { frame.dataset.ready = "true"; });
  const home = { center: map.getCenter(), zoom: map.getZoom() };
  // The keyboard goes from the address to the category, not through the map: the pin is set by the
  // address, confirmed with Alt+P, or placed with the mouse.
  map.getContainer().tabIndex = -1;
  map.keyboard.disable();
  const unfocusable = (root) => root.querySelectorAll("a, button, path, [tabindex]")
    .forEach((el) => { if (el !== map.getContainer()) el.setAttribute("tabindex", "-1"); });
  unfocusable(frame);
  new MutationObserver(() => unfocusable(frame)).observe(frame, { childList: true, subtree: true });

  function answers() {
    const out = {};
    form.querySelectorAll("[name=answer]").forEach((input) => {
      if (input.closest("fieldset[hidden]") || input.value === "") return;
      out[input.dataset.question] = input.dataset.kind === "number" ? Number(input.value) : input.value;
    });
    return out;
  }

  // A reason in the agent's words: what the caller said, and what it does to the call.
  const names = Object.fromEntries([...$("category").options].filter((o) => o.value).map((o) => [o.value, o.textContent]));
  function reason(r) {
    const effect = r.category && names[r.category] ? r.effect.replace(r.category, names[r.category]) : r.effect;
    if (r.words && r.words.length) return `“${r.words.join("”, “")}”: ${effect}`;
    if (r.answer) return `The answer “${r.answer}”: ${effect}`;
    if (r.rule === "vulnerability") return `A vulnerable person ${effect}`;
    return effect.charAt(0).toUpperCase() + effect.slice(1);
  }

  function category() { return $("category").value || (triaged && triaged.category) || ""; }

  function showQuestions() {
    const chosen = category();
    form.querySelectorAll("fieldset.questions").forEach((f) => { f.hidden = f.dataset.category !== chosen; });
  }

  // The caller's language: each question and script also shows in it, for the agent to read out.
  function showLanguage() {
    const spoken = $("caller-language").value;
    form.querySelectorAll("[data-lang]").forEach((said) => { said.hidden = said.dataset.lang !== spoken; });
  }
  $("caller-language").addEventListener("change", showLanguage);

  let asked = 0; // answers can come back out of order: only the latest question's answer counts
  const triage = debounce(async () => {
    const text = $("narrative").value.trim();
    if (!text) return;
    const mine = ++asked;
    const answer = await send("POST", "/api/v1/triage", { text, answers: answers() });
    if (mine !== asked || logged) return; // a filed call's screen stays as it was filed
    triaged = answer;
    $("transfer").hidden = !triaged.life_safety;
    $("handoff-hint").hidden = !triaged.life_safety;
    // A medical or danger word no rule settled: not "general", but the life-safety questions first.
    const first = triaged.screen_first && !triaged.life_safety;
    // "unsettled": a danger word no rule settled; "learnt": words like those of earlier life-safety calls.
    const asking = triaged.reasons.find((r) => r.rule === "unsettled" || r.rule === "learnt");
    const mentions = asking && asking.words.length ? ` ("${asking.words.join('", "')}")` : "";
    const why = asking && asking.rule === "learnt" ? "Like earlier life-safety calls" : "Not settled";
    $("screen").classList.toggle("ask-first", first);
    $("screen-first").hidden = !first;
    $("triage-first").hidden = !first;
    $("triage-first").textContent = first
      ? `${why}${mentions}: ask the life-safety questions first.` : "";
    $("triage-decision").textContent = first
      ? `Ask the life-safety questions first · ${triaged.priority}`
      : `${triaged.category} · ${triaged.priority}` + (triaged.life_safety ? " · LIFE SAFETY" : "");
    $("triage-reasons").replaceChildren(...triaged.reasons.map((r) => {
      const li = document.createElement("li");
      li.textContent = reason(r);
      li.title = `rule ${r.rule}`; // for the supervisor tuning the rules; the agent reads the sentence
      return li;
    }));
    $("triage-ask").textContent = triaged.questions.length
      ? `Ask: ${triaged.questions.map((q) => q.ask).join(" · ")}` : "";
    showQuestions();
    lookAround();
  }, 250);

  const suggest = debounce(async () => {
    const q = $("address").value.trim();
    if (q.length < 3) return;
    const found = await send("GET", `/api/v1/geo/suggest?q=${encodeURIComponent(q)}&limit=8`);
    $("address-suggestions").replaceChildren(...found.suggestions.map((s) => {
      const option = document.createElement("option"); option.value = s; return option;
    }));
  }, 150);

  async function locate() {
    const q = $("address").value.trim();
    if (!q) return;
    const found = await send("GET", `/api/v1/geo/geocode?q=${encodeURIComponent(q)}`);
    confirmed = false;
    showStretch(null);
    if (!found.results.length) {
      $("located").textContent = "Not found: the call will be logged to be placed."; $("confirm-place").hidden = true;
      outside(false); return;
    }
    const best = found.results[0];
    outside(found.outside_jurisdiction, best.town);
    setPoint(best.point.lat, best.point.lon);
    if (found.sure) confirm_();
    else $("confirm-place").hidden = false;
    // A street alone is a line, not a place: drawn whole, so the agent asks where on it.
    showStretch(best);
    match();
    $("located").textContent = `${best.label}${found.sure ? "" :
      " (not sure: check with the caller, then confirm, drag the pin or click the place; else it is logged to be placed)"}` +
      (best.warning ? ` ${best.warning}` : "");
  }

  function showStretch(best) {
    if (stretch) { map.removeLayer(stretch); stretch = null; }
    if (!best || !best.line || !best.line.length) return;
    stretch = L.polyline(best.line, { color: "#8a4b00", weight: 6, opacity: 0.75, interactive: false,
      className: "street-stretch" }).addTo(map);
    const e = best.extent;
    if (e) map.fitBounds([[e.south, e.west], [e.north, e.east]], { padding: [24, 24], maxZoom: 17 });
  }

  function setPoint(lat, lon) {
    point = { lat, lon };
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true, keyboard: false, title: "The caller's location" }).addTo(map);
      pin.on("dragend", () => {
        const p = pin.getLatLng(); point = { lat: p.lat, lon: p.lng }; confirm_(); lookAround(); checkOutside();
      });
    } else pin.setLatLng([lat, lon]);
    map.setView([lat, lon], 16);
    lookAround();
  }

  const lookAround = debounce(async () => {
    const code = category();
    if (!point || !code) return;
    const callback = $("callback_number").value.trim();
    const found = await send("POST", "/api/v1/duplicates",
      { category: code, location: point, ...(callback ? { callback_number: callback } : {}) });
    nearby = [...found.nearby, ...found.same_caller.filter((s) => !found.nearby.some((n) => n.ticket === s.ticket))];
    $("nearby-none").hidden = nearby.length > 0;
    $("nearby-list").replaceChildren(...nearby.slice(0, 9).map((n, i) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.ticket = n.ticket;
      button.textContent = `Attach to ${n.ticket} (Alt+${i + 1})`;
      button.addEventListener("click", () => attach(n.ticket));
      const view = document.createElement("a");
      view.href = `/incidents/${n.ticket}`; view.target = "_blank"; view.textContent = "view";
      view.tabIndex = -1; // the keyboard path is Alt+number; the link is for the mouse
      li.append(button, " ", view, ` ${n.category} · ${n.status} · ${n.calls} call(s)` +
        (n.distance_m !== null ? ` · ${Math.round(n.distance_m)} m` : " · same caller"));
      return li;
    }));
    $("station").hidden = !rideCategories.includes(code);
    if (rideCategories.includes(code)) {
      const a = answers();
      const q = new URLSearchParams({ lat: point.lat, lon: point.lon, party: a.party_size || 1,
        wheelchair: a.wheelchair === "yes", pets: a.pets === "yes" });
      const stations = await send("GET", `/api/v1/stations/nearest?${q}`);
      const s = stations.items[0];
      $("station-text").textContent = s
        ? `${s.station.name}: ${s.space} places, ${(s.distance_m / 1000).toFixed(1)} km (${s.freshness})`
        : "No open station suits this party: tell the coordinator.";
    }
  }, 200);

  // The registry: the caller (by number) or someone at the address is registered; their needs said at once.
  let matchAsked = 0;
  const registeredWords = (r) => {
    const needs = r.needs.map((n) => n.replaceAll("_", " ")).join(", ") || "none recorded";
    return `${r.name} — needs: ${needs}` + (r.dialysis_schedule ? ` · dialysis ${r.dialysis_schedule}` : "") +
      (r.language && r.language !== "en" ? ` · speaks ${r.language}` : "") + ` (matched by ${r.matched_by})`;
  };
  function registeredLines(items) {
    return items.map((r) => {
      const p = document.createElement("p");
      const said = document.createElement("strong");
      said.textContent = "Registered resident: ";
      p.append(said, registeredWords(r));
      p.dataset.resident = r.id;
      return p;
    });
  }
  const match = debounce(async () => {
    if (logged) return;
    const phone = $("callback_number").value.trim();
    const address = $("address").value.trim();
    const q = {};
    if (phone.replace(/\D/g, "").length >= 10) q.phone = phone;
    if (address.length >= 3) q.address = address;
    const mine = ++matchAsked;
    if (!Object.keys(q).length) { $("registered").replaceChildren(); return; }
    const found = await send("POST", "/api/v1/registry/match", q, { quiet: true });
    if (mine === matchAsked && !logged) $("registered").replaceChildren(...registeredLines(found.items));
  }, 400);

  async function step(name) {
    const ticket = $("handoff-steps").dataset.ticket;
    if (!ticket) return;
    try {
      await send("POST", `/api/v1/incidents/${encodeURIComponent(ticket)}/handoff`, { step: name });
      const button = $("handoff-steps").querySelector(`[data-step=${name}]`);
      button.classList.add("done");
      $("handoff-done").textContent = `${button.textContent}: recorded ${new Date().toLocaleTimeString()}`;
    } catch (error) { $("handoff-done").textContent = `Not recorded: ${error.message}`; }
  }
  $("handoff-steps").querySelectorAll("button").forEach((b) => b.addEventListener("click", () => step(b.dataset.step)));

  function attach(ticket) {
    $("ticket").value = ticket;
    document.querySelectorAll("#nearby-list button").forEach((b) => b.classList.toggle("chosen", b.dataset.ticket === ticket));
    $("log-call").textContent = `Log the call on ${ticket}`;
    $("log-call").focus();
  }

  async function submit(event) {
    event.preventDefault();
    if (logged) { $("receipt").focus(); return; }
    const body = { narrative: $("narrative").value.trim(), answers: answers(), call_ahead: $("call_ahead").checked,
      language: $("caller-language").value };
    for (const name of ["address", "caller_name", "callback_number", "ticket"]) {
      const value = $(name).value.trim(); if (value) body[name] = value;
    }
    if ($("category").value) body.category = $("category").value;
    if ($("drill").checked && !$("drill").closest("[data-drill-only]").hidden) body.drill = true;
    if (point && confirmed && !body.ticket) body.location = point;
    if (body.ticket) { delete body.address; delete body.location; }
    try {
      const answer = await fetch("/api/v1/calls", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Idempotency-Key": key },
        body: JSON.stringify(body) });
      const receipt = await answer.json();
      if (!answer.ok) throw new Error(receipt.detail || answer.status);
      lock();
      $("receipt").hidden = false;
      $("receipt").innerHTML = "";
      const h = document.createElement("p");
      h.className = "ticket-number";
      const link = document.createElement("a");
      link.id = "ticket-number"; link.href = `/incidents/${receipt.ticket}`; link.target = "_blank";
      link.textContent = receipt.ticket;
      h.append(link);
      const note = document.createElement("p");
      note.textContent = receipt.new_incident ? "Read this ticket number back to the caller." : "Added to this report.";
      $("receipt").append(h, note);
      if (receipt.incident.needs_location) {
        const n = document.createElement("p"); n.textContent = "Not placed yet: it waits in the needs-location queue.";
        $("receipt").append(n);
      }
      if (receipt.registered && receipt.registered.length) {
        $("receipt").append(...registeredLines(receipt.registered));
        $("registered").replaceChildren(...registeredLines(receipt.registered));
      }
      if (receipt.outside_referral) { const o = document.createElement("p"); o.textContent = receipt.outside_referral; $("receipt").append(o); }
      const next = document.createElement("button");
      next.type = "button"; next.id = "next-call"; next.textContent = "Next call (Esc)";
      next.addEventListener("click", startOver);
      $("receipt").append(next);
      if (!receipt.transfer_to_911 && window.stormlineFollowup) {
        // A ride or a referral while the caller is still on the line.
        const code = receipt.incident.category;
        window.stormlineFollowup.show(receipt.ticket, { rides: rideCategories.includes(code),
          narrative: body.narrative, answers: body.answers });
      }
      $("transfer").hidden = !receipt.transfer_to_911;
      $("handoff-steps").hidden = !receipt.transfer_to_911;
      $("handoff-hint").hidden = true;
      $("handoff-steps").dataset.ticket = receipt.ticket;
      $("handoff-done").textContent = "";
      if (receipt.transfer_to_911) $("handoff-steps").querySelector("button").focus();
      else { $("receipt").scrollIntoView({ block: "nearest" }); $("receipt").focus(); }
    } catch (error) {
      $("receipt").hidden = false;
      $("receipt").textContent = `Not logged: ${error.message}. Try again (the same call will not be logged twice).`;
    }
  }

  // Logged: every field of the call is read-only until "Next call", so nothing is typed into a filed call.
  function lock() {
    logged = true;
    form.querySelectorAll("input, select, textarea, #log-call, #confirm-place").forEach((el) => { el.disabled = true; });
    if (pin) pin.dragging.disable();
  }

  function startOver() {
    logged = false; confirmed = false;
    form.querySelectorAll("input, select, textarea, #log-call, #confirm-place").forEach((el) => { el.disabled = false; });
    $("confirm-place").hidden = true;
    form.reset(); $("ticket").value = ""; point = null; triaged = null; nearby = [];
    if (pin) { map.removeLayer(pin); pin = null; }
    showStretch(null);
    // Nothing of the last call stays on screen: words, place, triage, stations, steps.
    ["located", "triage-reasons", "triage-ask", "station-text", "handoff-done", "address-suggestions", "triage-first",
      "receipt", "registered"]
      .forEach((id) => $(id).replaceChildren());
    matchAsked++; // an answer still on its way is for the last call
    $("triage-decision").textContent = "Type what the caller says.";
    $("handoff-steps").querySelectorAll("button").forEach((b) => b.classList.remove("done"));
    map.setView(home.center, home.zoom);
    if (window.stormlineFollowup) window.stormlineFollowup.hide();
    ["transfer", "receipt", "station", "handoff-steps", "triage-first", "screen-first", "outside"].forEach((id) => { $(id).hidden = true; });
    $("screen").classList.remove("ask-first");
    delete $("handoff-steps").dataset.ticket;
    $("nearby-list").replaceChildren(); $("nearby-none").hidden = false;
    $("log-call").textContent = "Log the call";
    key = crypto.randomUUID();
    showQuestions();
    showLanguage();
    $("narrative").focus();
  }

  $("narrative").addEventListener("input", triage);
  form.addEventListener("change", (e) => { if (e.target.name === "answer" || e.target.id === "category") { triage(); showQuestions(); } });
  $("address").addEventListener("input", suggest);
  $("address").addEventListener("change", locate);
  $("address").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); locate(); } });
  $("callback_number").addEventListener("change", lookAround);
  $("callback_number").addEventListener("input", match);
  form.addEventListener("submit", submit);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); form.requestSubmit(); }
    else if (e.key === "Escape") {
      e.preventDefault();
      // A logged call (or an empty form) starts over at once; a call being typed is not lost to one key.
      const typed = $("narrative").value.trim() && $("receipt").hidden;
      if (!typed || confirm("Start a new call? What was typed is not logged.")) startOver();
    }
    else if (e.altKey && e.key.toLowerCase() === "p" && !$("confirm-place").hidden) {
      e.preventDefault(); $("confirm-place").click();
    }
    else if (e.altKey && !$("handoff-steps").hidden && ["l", "t", "r"].includes(e.key.toLowerCase())) {
      e.preventDefault();
      step({ l: "location_verified", t: "transfer_started", r: "caller_released" }[e.key.toLowerCase()]);
    }
    else if (e.altKey && /^[1-9]$/.test(e.key) && nearby[Number(e.key) - 1]) {
      e.preventDefault(); attach(nearby[Number(e.key) - 1].ticket);
    }
  });
})();
