// The supervisor's wall screen, kept live from the event stream.
(() => {
  const { send, cells, item, ticket, ticketItem, follow } = window.board;
  const $ = (id) => document.getElementById(id);
  const PRIORITIES = ["P1", "P2", "P3", "P4"];

  async function mode() {
    const view = await send("GET", "/api/v1/mode");
    $("mode-now").textContent = view.state.mode + (view.state.activation ? ` · ${view.state.activation.name}` : "");
    $("mode-now").dataset.mode = view.state.mode;
    const latest = (await send("GET", "/api/v1/activations")).items[0];
    $("storm-report").hidden = !latest;
    if (latest) {
      $("storm-report").href = `/reports/${latest.id}`;
      $("storm-report").textContent = `${latest.name}: after-action report${latest.stood_down_at ? "" : " so far"}`;
    }
  }

  async function surge() {
    const view = await send("GET", "/api/v1/surge");
    $("window-minutes").textContent = view.window_minutes;
    const all = view.readings[0];
    $("surge-now").textContent = `Now: ${all.calls} calls this window, baseline ${all.baseline}` + (all.surging ? " · SURGE" : "");
    // Axes: calls per window up the side, local time along the bottom, the baseline dashed.
    const svg = $("surge-chart");
    const [L, R, T, B] = [44, 712, 8, 176];
    const peak = Math.max(1, all.baseline * 1.2, ...view.history.map(([, n]) => n));
    const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((s) => s * 4 >= peak) || 10000;
    const top = Math.ceil(peak / step) * step;
    const y = (n) => B - (n / top) * (B - T);
    const width = (R - L) / view.history.length;
    const time = (t) => new Date(t).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    const parts = [];
    for (let v = 0; v <= top; v += step) {
      parts.push(`<line x1="${L}" x2="${R}" y1="${y(v)}" y2="${y(v)}" class="grid"></line>`,
        `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" class="tick">${v}</text>`);
    }
    view.history.forEach(([t, n], i) => {
      parts.push(`<rect x="${L + i * width}" y="${y(n)}" width="${Math.max(1, width - 1)}" height="${B - y(n)}" class="col"><title>${time(t)}: ${n} calls</title></rect>`);
      if (i % 16 === 0) parts.push(`<text x="${L + i * width}" y="${B + 16}" class="tick">${time(t)}</text>`);
    });
    parts.push(`<line x1="${L}" x2="${R}" y1="${y(all.baseline)}" y2="${y(all.baseline)}" class="baseline"></line>`,
      `<line x1="${L}" x2="${R}" y1="${B}" y2="${B}" class="axis"></line><line x1="${L}" x2="${L}" y1="${T}" y2="${B}" class="axis"></line>`,
      `<text transform="translate(12 ${(T + B) / 2}) rotate(-90)" text-anchor="middle" class="axis-title">calls</text>`);
    svg.innerHTML = parts.join("");
    svg.dataset.windows = view.history.length;
  }

  async function queues() {
    const view = await send("GET", "/api/v1/queues");
    const table = {};
    view.rows.forEach(([category, priority, , count]) => {
      table[category] = table[category] || { P1: 0, P2: 0, P3: 0, P4: 0 };
      table[category][priority] += count;
    });
    $("queues").tBodies[0].replaceChildren(...Object.entries(table).map(([category, counts]) => {
      const row = cells(category, ...PRIORITIES.map((p) => counts[p]), PRIORITIES.reduce((s, p) => s + counts[p], 0));
      row.dataset.category = category;
      return row;
    }));
  }

  async function overdue() {
    const page = await send("GET", "/api/v1/incidents?overdue=true&limit=20");
    $("overdue").replaceChildren(...page.items.map((i) => ticketItem(i.ticket, ` · ${i.category} · ${i.priority} · due ${new Date(i.due_at).toLocaleTimeString()}`, "late")));
  }

  async function crews() {
    const board = await send("GET", "/api/v1/crews");
    $("crews").tBodies[0].replaceChildren(...board.items.map((v) => {
      const row = cells(v.crew.name, v.crew.kind, v.status, v.load,
        v.position ? `${Math.round(v.position.age_seconds / 60)} min old${v.position.stale ? " (stale)" : ""}` : "unknown",
        v.silent ? "SILENT" : v.last_heard_at ? new Date(v.last_heard_at).toLocaleTimeString() : "never");
      if (v.silent) row.className = "late";
      return row;
    }));
  }

  function button(label, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.textContent = label;
    b.addEventListener("click", onClick); return b;
  }

  // Outside the city, or a crew that does not fit: said first, and sent only on a yes.
  const ASK_FIRST = ["outside-jurisdiction", "crew-kind-mismatch", "missing-capability"];
  async function assign(ticket, crewId, name, reason) {
    const body = { crew_id: crewId, reason };
    try {
      await send("POST", `/api/v1/incidents/${ticket}/assignment`, body, { quiet: true });
    } catch (error) {
      const kind = (error.problem && error.problem.type || "").split(":").pop();
      if (!ASK_FIRST.includes(kind)) { $("assign-result").textContent = error.message; return; }
      if (!confirm(`${error.message.replace(/; send force: true.*$/, "")}. Send ${name} anyway?`)) {
        $("assign-result").textContent = `${ticket} not assigned.`; return;
      }
      try { await send("POST", `/api/v1/incidents/${ticket}/assignment`, { ...body, force: true }); }
      catch (again) { $("assign-result").textContent = again.message; return; }
    }
    $("assign-result").textContent = `${ticket} assigned to ${name}.`;
  }

  const work = { view: "waiting", page: 1 };
  const age = (iso) => {
    const minutes = Math.round((Date.now() - new Date(iso)) / 60000);
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  };

  async function waiting() {
    const query = new URLSearchParams({ view: work.view, page: work.page, per_page: 25 });
    if ($("work-category").value) query.set("category", $("work-category").value);
    if ($("work-district").value) query.set("district", $("work-district").value);
    const list = await send("GET", `/api/v1/worklist?${query}`);
    work.page = list.page;
    document.querySelectorAll("[data-count]").forEach((span) => { span.textContent = `(${list.counts[span.dataset.count]})`; });
    const chosen = $("work-district").value;
    $("work-district").replaceChildren(new Option("All", ""), ...list.districts.map((d) => new Option(`District ${d}`, d, false, d === chosen)));
    $("work-page").textContent = `Page ${list.page} of ${list.pages} · ${list.total} in this list`;
    $("work-prev").disabled = list.page <= 1;
    $("work-next").disabled = list.page >= list.pages;
    $("waiting").tBodies[0].replaceChildren(...list.items.map((i) => {
      const held = i.handoff && i.handoff.held;
      const actions = document.createElement("div");
      if (held) {
        actions.append(button("Release from 911 hold", async () => {
          const reason = prompt("Why may 311 dispatch it while 911 has it?", "911 asked us to clear the tree");
          if (!reason) return;
          try { await send("POST", `/api/v1/incidents/${i.ticket}/handoff/release`, { reason }); }
          catch (error) { $("assign-result").textContent = error.message; }
          waiting();
        }));
      } else if (i.needs_location) {
        const place = document.createElement("a"); place.href = "/locate"; place.textContent = "Place it on the map";
        actions.append(place);
      } else if (i.status === "open") {
        actions.append(button("Recommend crews", async () => {
          const found = await send("GET", `/api/v1/incidents/${i.ticket}/recommendations`);
          actions.replaceChildren(...(found.candidates.length ? found.candidates.slice(0, 3).map((c) => {
            const line = document.createElement("div");
            line.append(button(`Assign ${c.name}`, async () => {
              await assign(i.ticket, c.crew_id, c.name, c.reason);
              waiting();
            }), ` ${c.reason}`);
            return line;
          }) : [document.createTextNode(`No crew can go: ${Object.entries(found.excluded).map(([k, n]) => `${n} ${k}`).join(", ") || "none on the board"}`)]));
        }));
      }
      const flags = [held ? "HELD FOR 911" : "", i.outside_jurisdiction ? `OUTSIDE THE CITY${i.town ? ` (${i.town})` : ""}` : "",
        i.status === "referred" ? "REFERRED" : "", i.needs_location ? "NOT PLACED" : ""].filter(Boolean);
      const row = cells(ticket(i.ticket), `${i.category} · ${i.priority}${flags.length ? ` · ${flags.join(" · ")}` : ""}`,
        age(i.opened_at), i.address || "", actions);
      row.dataset.ticket = i.ticket;
      row.dataset.priority = i.priority;
      return row;
    }));
  }
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    work.view = tab.dataset.view; work.page = 1;
    document.querySelectorAll(".tab").forEach((t) => t.setAttribute("aria-pressed", String(t === tab)));
    waiting();
  }));
  $("work-category").addEventListener("change", () => { work.page = 1; waiting(); });
  $("work-district").addEventListener("change", () => { work.page = 1; waiting(); });
  $("work-prev").addEventListener("click", () => { work.page -= 1; waiting(); });
  $("work-next").addEventListener("click", () => { work.page += 1; waiting(); });

  async function alerts() {
    const view = await send("GET", "/api/v1/alarms?newest=true&limit=15");
    $("alerts").replaceChildren(...view.alarms.reverse().map((a) =>
      item(`${new Date(a.event.at).toLocaleTimeString()} · ${a.event.kind} · ${a.event.message}`, "alert")));
  }

  // Open call-downs and how far each has got: done of size, safe, help, door knocks, not yet called.
  async function calldowns() {
    const open = (await send("GET", "/api/v1/calldowns")).items.filter((c) => !c.closed_at);
    const progress = await Promise.all(open.map((c) => send("GET", `/api/v1/calldowns/${encodeURIComponent(c.id)}`)));
    $("calldowns-none").hidden = progress.length > 0;
    $("calldown-progress").hidden = progress.length === 0;
    $("calldown-progress").tBodies[0].replaceChildren(...progress.map((p) => {
      const row = cells(`${p.calldown.name} (${p.calldown.id})`, `${p.done} / ${p.size}`, p.safe, p.help, p.unreached, p.waiting);
      row.dataset.calldown = p.calldown.id;
      return row;
    }));
  }

  $("mode-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { mode: $("mode").value, reason: $("mode-reason").value };
    // Standing down ends the storm for everyone and cannot be undone: a new storm is a new activation.
    if ($("mode-now").dataset.mode === "incident" && body.mode !== "incident" &&
        !confirm(`Stand the storm down? Incident mode ends for every screen, the storm's open work goes back to the ${body.mode} queues and its report is written.`)) return;
    if ($("mode-name").value.trim()) body.name = $("mode-name").value.trim();
    try { await send("POST", "/api/v1/mode", body); $("mode-result").textContent = "Switched."; }
    catch (error) { $("mode-result").textContent = `Not switched: ${error.message}`; }
    mode();
  });

  const all = () => Promise.all([mode(), surge(), queues(), overdue(), crews(), alerts(), waiting(), calldowns()])
    .then(() => { document.getElementById("supervisor").dataset.ready = "true"; });
  follow(["incident.opened", "call.attached", "incident.status_changed", "incident.assigned",
          "incident.unassigned", "crew.marked", "incident.requeued", "handoff.step", "incident.located",
          "referral.changed", "incident.triage_overridden"],
         () => { queues(); surge(); overdue(); crews(); waiting(); });
  follow(["alarm.raised"], alerts);
  follow(["center.mode_changed"], mode);
  follow(["calldown.changed"], calldowns);
  all();
  setInterval(() => { crews(); surge(); calldowns(); }, 30000); // ages and the chart's window move with the clock
})();
