// The offline base layer (city, council districts, known streets) under a page's map, so it shows
// where things are with no map tiles at all.
(() => {
  const frame = document.getElementById("map-frame");
  if (!frame) return;
  const map = window[frame.dataset.map];
  map.setMaxZoom(19);
  fetch("/api/v1/map/base", { credentials: "same-origin" })
    .then((answer) => answer.json())
    .then((base) => {
      const layer = L.geoJSON(base, {
        style: (f) => f.properties.layer === "street" ? { color: "#8a8a8a", weight: 2 }
          : f.properties.layer === "district" ? { color: "#5a4fcf", weight: 1, fillOpacity: 0.03 }
          : { color: "#000", weight: 2, fillOpacity: 0 },
      }).addTo(map);
      layer.bringToBack();
      const city = layer.getLayers().filter((l) => l.feature.properties.layer === "city");
      if (city.length) map.fitBounds(L.featureGroup(city).getBounds());
      frame.dataset.ready = "true";
    });
})();
