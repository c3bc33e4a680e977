// The incident page: a note, a status move, the location fixed on the map or by an address. Each
// goes through the JSON API, then the page is read again (it is the record, drawn on the server).
(() => {
  const root = document.getElementById("incident");
  if (!root) return;
  const send = window.stormline.send;
  const $ = (id) => document.getElementById(id);
  const ticket = root.dataset.ticket;
  const frame = $("map-frame");
  const map = window[frame.dataset.map];
  let pin = null;
  let point = null;

  function place(lat, lon) {
    point = { lat, lon };
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true, keyboard: true, title: `Where ${ticket} is` }).addTo(map);
      pin.on("dragend", () => { const p = pin.getLatLng(); point = { lat: p.lat, lon: p.lng }; $("save-point").disabled = false; });
    } else pin.setLatLng([lat, lon]);
  }
  if (root.dataset.lat) place(Number(root.dataset.lat), Number(root.dataset.lon));
  map.on("click", (e) => { place(e.latlng.lat, e.latlng.lng); $("save-point").disabled = false; });
  window.stormlineBase(map, { fit: !root.dataset.lat }).then(() => { frame.dataset.ready = "true"; });

  async function act(result, call) {
    try { await call(); window.location.reload(); }
    catch (error) { $(result).textContent = `Not done: ${error.message}`; }
  }

  $("save-point").addEventListener("click", () => act("location-result",
    () => send("POST", `/api/v1/incidents/${ticket}/location`, { point })));
  $("location-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const address = $("new-address").value.trim();
    if (address) act("location-result", () => send("POST", `/api/v1/incidents/${ticket}/location`, { address }));
  });
  const status = $("status-form");
  if (status) {
    status.addEventListener("submit", (e) => {
      e.preventDefault();
      const to = e.submitter.value;
      if (["cancelled", "closed"].includes(to) && !confirm(`${e.submitter.textContent} ${ticket}?`)) return;
      const reason = $("status-reason").value.trim();
      act("status-result", () => send("POST", `/api/v1/incidents/${ticket}/transitions`, { to, ...(reason ? { reason } : {}) }));
    });
  }
  $("note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act("note-text", () => send("POST", `/api/v1/incidents/${ticket}/notes`, { text: $("note-text").value }));
  });
})();
