// The registry page: the list (paged, or only those due to re-verify), one resident registered, a CSV
// imported with each refused row said by its line. Every read goes through the API, which audits it.
(() => {
  const root = document.getElementById("registry");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const { send, csrf } = window.stormline;
  const LIMIT = 50;
  let offset = 0;
  let total = 0;

  function row(...values) {
    const tr = document.createElement("tr");
    values.forEach((v) => {
      const td = document.createElement("td");
      td.textContent = v === null || v === undefined || v === "" ? "–" : String(v);
      tr.append(td);
    });
    return tr;
  }
  const words = (needs) => needs.map((n) => n.replaceAll("_", " ")).join(", ");

  async function list() {
    const stale = $("stale").checked;
    const page = await send("GET", `/api/v1/registry?offset=${offset}&limit=${LIMIT}${stale ? "&stale=true" : ""}`);
    total = page.total;
    $("residents").tBodies[0].replaceChildren(...page.items.map((r) => {
      const tr = row(r.id, r.name, r.phone, r.address + (r.needs_location ? " (not placed)" : ""), words(r.needs),
        r.language, `${r.consent_date} · ${r.consent_source}`, r.reverify_by, r.source);
      tr.dataset.resident = r.id;
      return tr;
    }));
    const shown = page.items.length;
    $("residents-count").textContent = total
      ? `${offset + 1}–${offset + shown} of ${total}${stale ? " due to re-verify" : " registered"}`
      : (stale ? "Nobody is due to re-verify." : "Nobody is registered yet.");
    $("previous").disabled = offset === 0;
    $("next").disabled = offset + shown >= total;
    root.dataset.ready = "true";
  }
  $("stale").addEventListener("change", () => { offset = 0; list(); });
  $("previous").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); list(); });
  $("next").addEventListener("click", () => { offset += LIMIT; list(); });

  $("register").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { needs: [...form.querySelectorAll("[name=needs]:checked")].map((b) => b.value) };
    for (const field of form.querySelectorAll("input:not([type=checkbox]), select, textarea")) {
      const value = field.value.trim();
      if (value) body[field.name] = value;
    }
    try {
      const made = await send("POST", "/api/v1/registry", body);
      $("register-result").textContent = `Registered ${made.id}: ${made.name}` +
        (made.needs_location ? " (the address was not placed: set its point later)." : ".");
      form.reset();
      list();
    } catch (error) {
      $("register-result").textContent = `Not registered: ${error.message}`;
    }
  });

  $("import").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("i-file").files[0];
    if (!file) return;
    const text = await file.text();
    const source = $("i-source").value.trim();
    $("import-result").textContent = `Importing ${file.name}…`;
    $("refused").hidden = true;
    const answer = await fetch(`/api/v1/registry/import?source=${encodeURIComponent(source)}`, {
      method: "POST", credentials: "same-origin", body: text,
      headers: { "Content-Type": "text/csv; charset=utf-8", "X-CSRF-Token": csrf },
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      // A header Stormline cannot read refuses the whole file (line 1), with each problem listed.
      const errors = data.type === "urn:stormline:problem:invalid-file"
        ? (data.errors || []).map((e) => ({ line: Number(String(e.field).replace(/\D/g, "")) || 1, column: null, problem: e.detail }))
        : [];
      $("import-result").textContent = `Not imported: ${data.detail || answer.status}`;
      refused(errors);
      return;
    }
    $("import-result").textContent = `From ${data.source}: ${data.registered} registered, ${data.updated} updated, ` +
      `${data.unplaced} not placed (set their point later), ${data.refused.length} refused.`;
    refused(data.refused);
    offset = 0;
    list();
  });

  function refused(rows) {
    $("refused").hidden = rows.length === 0;
    $("refused").tBodies[0].replaceChildren(...rows.map((r) => row(r.line, r.column, r.problem)));
  }

  list();
})();
