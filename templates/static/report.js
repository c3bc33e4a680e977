// The resident's report form: the address completes from the city's street names as it is typed,
// a pin on the map (tapped, dragged, or put at the map's centre by keyboard) or "use my location"
// (the phone's GPS, with consent) gives the point. A point given wins over the address typed.
(() => {
  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  const frame = document.getElementById("map-frame");
  const map = frame && window[frame.dataset.map];
  const pinSaid = document.getElementById("pin-said");
  const centre = document.getElementById("pin-centre");
  const clear = document.getElementById("pin-clear");
  let pin = null;
  const pinAt = (at, { say = true, pan = false } = {}) => {
    if (!map) return;
    if (!pin) {
      pin = L.marker(at, { draggable: true, keyboard: true, title: frame.dataset.pin, alt: frame.dataset.pin }).addTo(map);
      pin.on("dragend", () => pinAt(pin.getLatLng()));
    } else pin.setLatLng(at);
    lat.value = Number(at.lat ?? at[0]).toFixed(6);
    lon.value = Number(at.lng ?? at[1]).toFixed(6);
    if (pan) map.setView(at, Math.max(map.getZoom(), 16));
    clear.hidden = false;
    if (say) pinSaid.textContent = pinSaid.dataset.placed;
  };
  if (map) {
    // The map is a place of its own for screen readers and keyboards: named, with its help.
    const container = map.getContainer();
    container.setAttribute("role", "region");
    container.setAttribute("aria-label", frame.dataset.label);
    container.setAttribute("aria-describedby", "pin-help");
    document.getElementById("pin-help").hidden = false; // the pin works only with the script
    window.stormlineBase(map, { fit: !lat.value })
      .catch(() => { /* the pin works on a blank map too */ })
      .finally(() => { frame.dataset.ready = "true"; });
    map.on("click", (event) => pinAt(event.latlng));
    centre.hidden = false;
    centre.addEventListener("click", () => pinAt(map.getCenter()));
    clear.addEventListener("click", () => {
      centre.focus(); // the button goes away: focus stays on the pin's controls, not lost to the page
      if (pin) { map.removeLayer(pin); pin = null; }
      lat.value = ""; lon.value = "";
      clear.hidden = true;
      pinSaid.textContent = pinSaid.dataset.cleared;
    });
    if (lat.value && lon.value) pinAt([Number(lat.value), Number(lon.value)], { say: false, pan: true });
    window.stormlineReport = { pinAt, map }; // for the browser tests
  }
  const address = document.getElementById("address");
  const options = document.getElementById("address-options");
  let asked = "";
  let timer = null;
  address?.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = address.value.trim();
      if (q.length < 3 || q === asked) return;
      asked = q;
      try {
        const answer = await fetch(`/api/v1/public/places?q=${encodeURIComponent(q)}&limit=8`, { cache: "no-store" });
        if (!answer.ok) return;
        const { suggestions } = await answer.json();
        options.replaceChildren(...suggestions.map((label) => Object.assign(document.createElement("option"), { value: label })));
      } catch (error) { /* offline: the resident types the whole address */ }
    }, 250);
  });

  const button = document.getElementById("use-location");
  const said = document.getElementById("location-said");
  if (!button || !navigator.geolocation) return; // no GPS: the address field is the way
  button.hidden = false;
  button.addEventListener("click", () => {
    said.textContent = button.dataset.finding || "…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const at = [position.coords.latitude, position.coords.longitude];
        if (map) pinAt(at, { say: false, pan: true });
        else { lat.value = at[0].toFixed(6); lon.value = at[1].toFixed(6); }
        said.textContent = button.dataset.found;
      },
      () => { said.textContent = button.dataset.failed; },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
})();
