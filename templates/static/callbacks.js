// The agent console's callbacks: how many wait and how many promised times have passed, the next one
// held for this agent with the outcome of the call, and "call back later" for the caller on the line.
(() => {
  const panel = document.getElementById("callbacks");
  if (!panel) return;
  const $ = (id) => document.getElementById(id);
  const send = window.stormline.send;
  const REASONS = { ivr: "asked at the phone menu", abandoned: "hung up waiting", web: "asked on the web", agent: "promised by an agent" };
  const when = (iso) => new Date(iso).toLocaleString([], { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  let held = null;

  async function counts() {
    const queue = await send("GET", "/api/v1/callbacks", undefined, { quiet: true });
    $("callback-counts").textContent = `${queue.waiting} waiting · ${queue.overdue} overdue`;
    $("callback-counts").classList.toggle("late", queue.overdue > 0);
    panel.dataset.ready = "true";
  }

  $("take-callback").addEventListener("click", async () => {
    const taken = await send("POST", "/api/v1/callbacks/next");
    $("callback-result").textContent = "";
    if (!taken.id) {
      held = null; $("callback").hidden = true;
      $("callback-result").textContent = "No callback is due now.";
      return;
    }
    held = taken;
    const phone = $("callback-phone");
    const link = document.createElement("a");
    link.href = `tel:${taken.e164}`; link.textContent = taken.phone;
    phone.replaceChildren(link);
    $("callback-name").textContent = taken.name || "–";
    $("callback-reason").textContent = REASONS[taken.reason] || taken.reason;
    $("callback-promised").textContent = taken.promised_at ? when(taken.promised_at) : "no time promised";
    const about = $("callback-about");
    about.replaceChildren();
    if (taken.ticket) { const a = document.createElement("a"); a.href = `/incidents/${taken.ticket}`; a.target = "_blank"; a.textContent = taken.ticket; about.append(a); }
    about.append(`${taken.ticket ? " " : ""}${taken.note || ""}` || "–");
    $("callback-note").value = "";
    $("callback").hidden = false;
    $("callback-result").textContent = `Call ${taken.phone} now (${taken.attempts.length} earlier tries).`;
    counts();
  });

  panel.querySelectorAll("[data-outcome]").forEach((b) => b.addEventListener("click", async () => {
    if (!held) return;
    const done = await send("POST", `/api/v1/callbacks/${held.id}/attempts`,
      { outcome: b.dataset.outcome, note: $("callback-note").value.trim() });
    held = null;
    $("callback").hidden = true;
    $("callback-result").textContent = {
      done: `Recorded: ${done.phone} reached.`,
      waiting: `Recorded: ${done.phone} goes back in the queue to try again.`,
      unreached: `Recorded: ${done.phone} not reached; no more tries.`,
    }[done.status] || `Recorded: ${done.status}.`;
    $("take-callback").focus();
    counts();
  }));

  // "Call back at 3 pm": the number and name from the call being taken, and its ticket once logged.
  $("later-phone").addEventListener("focus", () => {
    if (!$("later-phone").value) $("later-phone").value = $("callback_number").value.trim();
  });
  $("callback-later").addEventListener("submit", async (event) => {
    event.preventDefault();
    const at = new Date($("later-at").value);
    if (Number.isNaN(at.getTime())) return;
    const body = { phone: $("later-phone").value.trim(), reason: "agent", promised_at: at.toISOString(),
      language: $("caller-language").value || "en" };
    const name = $("caller_name").value.trim();
    if (name) body.name = name;
    const ticket = $("ticket-number");
    if (ticket && /^\d{4}-\d{6}$/.test(ticket.textContent)) body.ticket = ticket.textContent;
    try {
      const made = await send("POST", "/api/v1/callbacks", body);
      $("later-result").textContent = `${made.id}: ${made.phone} will be called back ${when(made.promised_at)}.`;
      event.target.reset();
      counts();
    } catch (error) { $("later-result").textContent = `Not added: ${error.message}`; }
  });

  counts();
  setInterval(counts, 15000);
})();
