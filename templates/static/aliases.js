// The aliases page: listed, corrected and removed through the aliases API, with the shared request helper.
(() => {
  const $ = (id) => document.getElementById(id);
  const send = window.stormline.send;
  const say = (text) => { $("alias-result").textContent = text; };
  const query = (text) => `/api/v1/geo/aliases?text=${encodeURIComponent(text)}`;
  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  function row(alias) {
    const tr = document.createElement("tr");
    tr.dataset.text = alias.text;
    tr.append(cell(alias.text), cell(alias.point.lat.toFixed(6)), cell(alias.point.lon.toFixed(6)),
      cell(alias.learnt_from.join(", ")), cell(alias.at.slice(0, 16).replace("T", " ")));
    const actions = document.createElement("td");
    const edit = document.createElement("button");
    edit.type = "button";
    edit.textContent = "Correct";
    edit.setAttribute("aria-label", `Correct the alias ${alias.text}`);
    edit.addEventListener("click", () => {
      $("alias-text").value = alias.text;
      $("alias-lat").value = alias.point.lat;
      $("alias-lon").value = alias.point.lon;
      $("alias-lat").focus();
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove the alias ${alias.text}`);
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Remove the alias "${alias.text}"?`)) return;
      try { await send("DELETE", query(alias.text)); say(`Removed "${alias.text}".`); }
      catch (error) { say(`Not removed: ${error.message}`); }
      list();
    });
    actions.append(edit, " ", remove);
    tr.append(actions);
    return tr;
  }
  function pinRow(pin) {
    const tr = document.createElement("tr");
    tr.dataset.text = pin.text;
    tr.append(cell(pin.text), cell(pin.point.lat.toFixed(6)), cell(pin.point.lon.toFixed(6)), cell(pin.by),
      cell(pin.at.slice(0, 16).replace("T", " ")));
    const actions = document.createElement("td");
    const confirm = document.createElement("button");
    confirm.type = "button";
    confirm.textContent = "Confirm";
    confirm.setAttribute("aria-label", `Confirm ${pin.by}'s pin for ${pin.text}`);
    confirm.addEventListener("click", async () => {
      try { await send("PUT", "/api/v1/geo/aliases", { text: pin.text, point: pin.point }); say(`Confirmed "${pin.text}".`); }
      catch (error) { say(`Not confirmed: ${error.message}`); }
      list();
    });
    actions.append(confirm);
    tr.append(actions);
    return tr;
  }
  function fill(table, rows, none) {
    const body = $(table).tBodies[0];
    if (rows.length) { body.replaceChildren(...rows); return; }
    const empty = document.createElement("tr");
    const td = cell(none);
    td.colSpan = 6;
    empty.append(td);
    body.replaceChildren(empty);
  }
  async function list() {
    const [{ aliases }, { pins }] = await Promise.all([send("GET", "/api/v1/geo/aliases"), send("GET", "/api/v1/geo/pins")]);
    fill("aliases", aliases.map(row), "No aliases yet.");
    fill("pins", pins.map(pinRow), "No pins waiting.");
  }
  $("alias-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { text: $("alias-text").value.trim(),
      point: { lat: $("alias-lat").valueAsNumber, lon: $("alias-lon").valueAsNumber } };
    try { await send("PUT", "/api/v1/geo/aliases", body); say(`Saved "${body.text}".`); $("alias-form").reset(); }
    catch (error) { say(`Not saved: ${error.message}`); }
    list();
  });
  list();
})();
