// The resident's report form: "use my location" fills the point from the phone's GPS (with consent).
(() => {
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
