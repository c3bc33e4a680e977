// The crews half of the admin page: listed and created through the same crews API the boards use.
(() => {
  const $ = (id) => document.getElementById(id);
  const send = window.stormline.send;
  async function crews() {
    const board = await send("GET", "/api/v1/crews");
    $("crews").tBodies[0].replaceChildren(...board.items.map(({ crew: c }) => {
      const tr = document.createElement("tr");
      tr.dataset.crew = c.id;
      [c.id, c.name, c.kind.replaceAll("_", " "), c.capabilities.map((x) => x.replaceAll("_", " ")).join(", "), c.seats ?? "",
        c.base ? `${c.base.lat.toFixed(4)}, ${c.base.lon.toFixed(4)}` : "", c.on_duty ? "yes" : "no"]
        .forEach((v) => { const td = document.createElement("td"); td.textContent = v; tr.append(td); });
      return tr;
    }));
  }
  const number = (id) => (Number.isNaN($(id).valueAsNumber) ? undefined : $(id).valueAsNumber);
  $("new-crew").addEventListener("submit", async (e) => {
    e.preventDefault();
    const lat = number("crew-lat"), lon = number("crew-lon");
    const body = { id: $("crew-id").value.trim(), name: $("crew-name").value.trim(), kind: $("crew-kind").value,
      capabilities: [...document.querySelectorAll("input[name=capability]:checked")].map((b) => b.value),
      size: number("crew-size"), seats: number("crew-seats"), wheelchair_spaces: number("crew-chairs"),
      base: lat !== undefined && lon !== undefined ? { lat, lon } : undefined };
    try {
      await send("POST", "/api/v1/crews", body);
      $("crew-result").textContent = `Crew ${body.name} created.`;
      $("new-crew").reset();
    } catch (error) { $("crew-result").textContent = `Not created: ${error.message}`; }
    crews();
  });
  crews();
})();
