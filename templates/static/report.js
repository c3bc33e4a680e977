// The resident's report form: the address completes from the city's street names as it is typed, and
// "use my location" fills the point from the phone's GPS (with consent).
(() => {
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
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
        said.textContent = button.dataset.found;
      },
      () => { said.textContent = button.dataset.failed; },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
})();
