// The coordinator's board, kept live from the event stream.
(() => {
  const { send, cells, ticket, ticketItem, follow } = window.board;
  const $ = (id) => document.getElementById(id);

  function button(label, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.textContent = label;
    b.addEventListener("click", onClick); return b;
  }

  async function stations() {
    const view = await send("GET", "/api/v1/stations");
    const open = view.items.filter((v) => v.station.status === "open");
    $("stations").tBodies[0].replaceChildren(...view.items.map((v) => {
      const s = v.station;
      const actions = document.createElement("span");
      if (s.status === "open") {
        const count = document.createElement("input");
        count.type = "number"; count.min = "0"; count.value = s.occupancy; count.setAttribute("aria-label", `Head count at ${s.name}`);
        actions.append(count, button("Count", async () => {
          await send("POST", `/api/v1/stations/${s.id}/count`, { occupancy: Number(count.value) }); stations();
        }), button("Edit", () => edit(s)), button("Close", async () => {
          // Closing cannot be undone from here: people in it are moved and its rides re-planned.
          const inside = s.occupancy + s.reserved;
          if (!confirm(`Close ${s.name}?${inside ? ` ${s.occupancy} people are in it and ${s.reserved} places are held for rides.` : ""}`)) return;
          try { await send("POST", `/api/v1/stations/${s.id}/close`, {}); }
          catch (error) {
            const choices = (error.problem && error.problem.candidates) || [];
            const target = choices.length ? prompt(`${error.message}\\nMove them to: ${choices.map((c) => c.id).join(", ")}`, choices[0].id) : null;
            if (target) {
              try { await send("POST", `/api/v1/stations/${s.id}/close`, { move_to: target }); }
              catch (again) { $("station-result").textContent = again.message; }
            } else $("station-result").textContent = error.message;
          }
          stations();
        }));
      }
      const row = cells(s.name, s.status, s.status === "open" ? `${s.occupancy} / ${s.reserved} / ${v.capacity_now}` : "",
        s.status === "open" ? (v.full ? "FULL" : v.space) : "", s.status === "open" ? v.freshness : "", actions);
      row.dataset.station = s.id;
      if (v.stale || v.full) row.className = "late";
      return row;
    }));
    $("stations").dataset.open = open.length;
  }

  async function rides() {
    const view = await send("GET", "/api/v1/transport/requests");
    $("rides").tBodies[0].replaceChildren(...view.items.map(({ request: r, pickup_window: w }) => {
      const cancel = ["requested", "scheduled", "picked_up"].includes(r.status)
        ? button("Cancel ride", async () => {
          const reason = prompt(`Cancel ride ${r.id}? Why`, "van broke down");
          if (reason === null) return;
          try { await send("POST", `/api/v1/transport/requests/${r.id}/cancelled`, { reason }); } catch (error) { alert(error.message); }
          rides(); stations();
        }) : "";
      const row = cells(r.id, ticket(r.ticket), r.party + (r.wheelchairs ? ` (${r.wheelchairs} wheelchair)` : ""), r.station, r.crew_id || "",
        r.status.replace("_", " "), w ? `${new Date(w[0]).toLocaleTimeString()}–${new Date(w[1]).toLocaleTimeString()}` : "",
        cancel);
      row.dataset.ride = r.id;
      return row;
    }));
  }

  async function referrals() {
    const view = await send("GET", "/api/v1/referrals");
    const due = new Set((await send("GET", "/api/v1/referrals?follow_up=true")).items.map((v) => v.referral.id));
    const counts = {};
    view.items.forEach(({ referral: r }) => { const k = `${r.service} · ${r.status}`; counts[k] = (counts[k] || 0) + 1; });
    $("referral-counts").textContent = Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(" | ");
    $("referrals").tBodies[0].replaceChildren(...view.items.map(({ referral: r, delivery: d }) => {
      const answers = document.createElement("span");
      const next = { sent: ["accepted", "declined"], accepted: ["completed", "declined"] }[r.status] || [];
      next.forEach((status) => answers.append(button(status, async () => {
        const reason = status === "declined" ? prompt("Why did the agency decline?") : null;
        if (status === "declined" && !reason) return;
        try { await send("POST", `/api/v1/referrals/${r.id}/status`, { status, ...(reason ? { reason } : {}) }); }
        catch (error) { alert(error.message); }
        referrals();
      })));
      const row = cells(r.id, ticket(r.ticket), r.service, r.status + (due.has(r.id) ? " (follow up)" : ""), d.state, answers);
      row.dataset.referral = r.id;
      if (due.has(r.id)) row.className = "late";
      return row;
    }));
  }

  async function overdue() {
    const page = await send("GET", "/api/v1/incidents?overdue=true&limit=20");
    $("overdue").replaceChildren(...page.items.map((i) => ticketItem(i.ticket, ` · ${i.category} · ${i.priority}`, "late")));
  }

  const AMENITIES = { accessible: "accessible", pets: "pets", medical_power: "power", food: "food", cots: "cots" };

  function edit(s) {
    const dialog = $("edit-dialog");
    $("edit-title").textContent = `Change ${s.name}`;
    $("edit-day").value = s.capacity_day; $("edit-night").value = s.capacity_overnight;
    $("edit-hours").value = s.hours; $("edit-contact").value = s.contact;
    Object.entries(AMENITIES).forEach(([key, id]) => { $(`edit-${id}`).checked = s.amenities[key]; });
    dialog.returnValue = "";
    dialog.showModal();
    dialog.onclose = async () => {
      if (dialog.returnValue !== "save") return;
      const amenities = Object.fromEntries(Object.entries(AMENITIES).map(([key, id]) => [key, $(`edit-${id}`).checked]));
      try {
        await send("PATCH", `/api/v1/stations/${s.id}`, { capacity_day: $("edit-day").valueAsNumber,
          capacity_overnight: $("edit-night").valueAsNumber, hours: $("edit-hours").value,
          contact: $("edit-contact").value, amenities });
        $("station-result").textContent = `${s.name} changed.`;
      } catch (error) { $("station-result").textContent = error.message; }
      stations();
    };
  }

  $("open-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await send("POST", `/api/v1/stations/${$("open-site").value}/open`, {
        capacity_day: $("open-day").valueAsNumber, capacity_overnight: $("open-night").valueAsNumber,
        amenities: { accessible: $("open-accessible").checked, pets: $("open-pets").checked,
                     medical_power: $("open-power").checked, cots: $("open-cots").checked } });
      $("station-result").textContent = "Opened.";
    } catch (error) { $("station-result").textContent = error.message; }
    stations();
  });
  $("plan-runs").addEventListener("click", async () => { await send("POST", "/api/v1/transport/runs/auto"); rides(); });

  follow(["station.changed"], stations);
  follow(["transport.changed", "transport.run"], () => { rides(); stations(); });
  follow(["referral.changed"], referrals);
  follow(["incident.opened", "incident.status_changed"], overdue);
  Promise.all([stations(), rides(), referrals(), overdue()])
    .then(() => { document.getElementById("coordinator").dataset.ready = "true"; });
  setInterval(stations, 60000); // counts go stale with the clock
})();
