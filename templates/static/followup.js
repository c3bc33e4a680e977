// Rides and referrals for one ticket (templates/_followup.html): the incident page and the agent
// console share it. The ride form preselects the nearest open station that suits the party; the
// referral form lists the agencies suggested for the call first, and says how each is reached.
window.stormlineFollowup = (() => {
  const root = document.getElementById("followup");
  if (!root) return null;
  const send = window.stormline.send;
  const $ = (id) => document.getElementById(id);
  let ticket = root.dataset.ticket || null;
  let agencies = [];
  let suggested = 0;

  const cell = (...values) => {
    const tr = document.createElement("tr");
    values.forEach((v) => { const td = document.createElement("td"); td.textContent = v ?? "–"; tr.append(td); });
    return tr;
  };
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  const iso = (local) => (local ? new Date(local).toISOString() : undefined);

  async function refresh() {
    if (!ticket) return;
    const history = await send("GET", `/api/v1/incidents/${ticket}/history?limit=1000`);
    const rides = new Set(), referrals = new Set();
    history.events.forEach(({ event }) => {
      if (event.type === "transport.changed") rides.add(event.request_id);
      if (event.type === "referral.changed") referrals.add(event.referral_id);
    });
    const rideViews = await Promise.all([...rides].map((id) => send("GET", `/api/v1/transport/requests/${id}`)));
    $("ticket-rides").hidden = !rideViews.length;
    $("ticket-rides").tBodies[0].replaceChildren(...rideViews.map(({ request: r, pickup_window: w }) => {
      const row = cell(r.id, r.party + (r.wheelchairs ? ` (${r.wheelchairs} wheelchair)` : ""), r.station, r.crew_id,
        r.status.replace("_", " "), w ? `${time(w[0])}–${time(w[1])}` : null);
      row.dataset.ride = r.id;
      return row;
    }));
    const referralViews = await Promise.all([...referrals].map((id) => send("GET", `/api/v1/referrals/${id}`)));
    $("ticket-referrals").hidden = !referralViews.length;
    $("ticket-referrals").tBodies[0].replaceChildren(...referralViews.map(({ referral: r, delivery: d }) => {
      const row = cell(r.id, r.service, r.method === "phone" ? "by phone" : `${r.method} (${d.state})`, r.status);
      row.dataset.referral = r.id;
      return row;
    }));
  }

  async function stations(context) {
    const answers = context.answers || {};
    const party = Number(answers.party_size) || 1;
    $("ride-party").value = party;
    $("ride-wheelchairs").value = answers.wheelchair === "yes" ? 1 : 0;
    $("ride-pets").checked = answers.pets === "yes";
    $("ride-oxygen").checked = answers.on_oxygen === "yes";
    const all = (await send("GET", "/api/v1/stations")).items.filter((v) => v.station.status === "open");
    const query = new URLSearchParams({ ticket, party, wheelchair: answers.wheelchair === "yes", pets: answers.pets === "yes" });
    let best = null;
    try { best = (await send("GET", `/api/v1/stations/nearest?${query}`, undefined, { quiet: true })).items[0]; }
    catch (error) { best = null; } // not placed yet: no nearest, the coordinator's list still works
    $("ride-station").replaceChildren(...all.map((v) => {
      const option = document.createElement("option");
      option.value = v.station.id;
      option.textContent = `${v.station.name} · ${v.full ? "FULL" : `${v.space} places`}` +
        (best && best.station.id === v.station.id ? ` · nearest that suits (${(best.distance_m / 1000).toFixed(1)} km)` : "");
      option.selected = Boolean(best && best.station.id === v.station.id);
      return option;
    }));
    if (!all.length) $("followup-result").textContent = "No warming station is open: ask the coordinator to open one.";
  }

  function showAgencies() {
    const words = $("agency-filter").value.trim().toLowerCase();
    const shown = agencies.map((a, i) => [a, i]).filter(([a]) => !words ||
      [a.organization, a.name, a.description, ...a.area_served].join(" ").toLowerCase().includes(words));
    const group = (label, items) => {
      const g = document.createElement("optgroup"); g.label = label;
      g.append(...items.map(([a]) => {
        const option = document.createElement("option");
        option.value = a.id;
        option.textContent = `${a.organization}: ${a.name} (${a.area_served.join(", ") || "area not given"})`;
        return option;
      }));
      return g;
    };
    const first = shown.filter(([, i]) => i < suggested), rest = shown.filter(([, i]) => i >= suggested);
    $("referral-agency").replaceChildren(...[first.length ? group("Suggested for this call", first) : null,
      rest.length ? group("Other agencies", rest) : null].filter(Boolean));
  }

  function how() {
    const a = agencies.find((x) => x.id === $("referral-agency").value);
    $("agency-how").hidden = !a;
    if (!a) return;
    $("agency-how").textContent = a.method === "phone"
      ? `By phone: call ${a.phone || "the number in the directory"}${a.hours ? ` (${a.hours})` : ""}, then record their answer on the coordinator's board.`
      : `Sent by ${a.method}; the agency answers through its link.`;
  }

  async function show(newTicket, context = {}) {
    ticket = newTicket;
    root.dataset.ticket = ticket;
    root.hidden = false;
    $("ride-box").hidden = !context.rides;
    $("referral-need").value = context.narrative || "";
    $("followup-result").textContent = "";
    const list = await send("GET", `/api/v1/incidents/${ticket}/agencies`);
    agencies = list.items; suggested = list.suggested;
    showAgencies();
    if (context.rides) await stations(context);
    await refresh();
  }

  function hide() { ticket = null; root.hidden = true; $("ride-form").reset(); $("referral-form").reset(); }

  $("agency-filter").addEventListener("input", showAgencies);
  $("referral-agency").addEventListener("change", how);
  $("ride-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { ticket, party: $("ride-party").valueAsNumber, wheelchairs: $("ride-wheelchairs").valueAsNumber,
      oxygen: $("ride-oxygen").checked, pets: $("ride-pets").checked, station: $("ride-station").value,
      ready_from: iso($("ride-from").value), ready_until: iso($("ride-until").value) };
    try {
      const made = await send("POST", "/api/v1/transport/requests", body);
      $("followup-result").textContent = `Ride ${made.request.id} requested to ${made.request.station}: the coordinator plans the van.`;
      $("ride-box").open = false;
    } catch (error) { $("followup-result").textContent = `No ride: ${error.message}`; }
    refresh();
  });
  $("referral-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const given = $("consent-given").checked;
    const body = { service_id: $("referral-agency").value, need: $("referral-need").value.trim(),
      consent: { given, how: $("consent-how").value }, share_contact: given && $("share-contact").checked, share_address: given };
    try {
      const made = await send("POST", `/api/v1/incidents/${ticket}/referrals`, body);
      const a = agencies.find((x) => x.id === body.service_id);
      $("followup-result").textContent = `Referral ${made.referral.id} to ${made.referral.service}` +
        (made.referral.method === "phone" ? `: call them now on ${a && a.phone ? a.phone : "their number"}.` : ": sent.");
      $("referral-box").open = false;
    } catch (error) { $("followup-result").textContent = `Not referred: ${error.message}`; }
    refresh();
  });

  if (ticket) show(ticket, { rides: root.dataset.rides === "yes", narrative: root.dataset.narrative || "",
    answers: JSON.parse(root.dataset.answers || "{}") });
  return { show, hide, refresh };
})();
