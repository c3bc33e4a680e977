// The offline base layer: city limits, council and police districts, neighbourhoods and known street
// blocks, from Stormline's own data, so every map shows where things are with no tiles at all. One
// drawing for every page; a page whose map needs nothing more (data-base="draw") just gets it.
window.stormlineBase = async (map, { fit = true } = {}) => {
  const answer = await fetch("/api/v1/map/base", { credentials: "same-origin" });
  if (!answer.ok) throw new Error(`base layer: ${answer.status}`);
  const base = await answer.json();
  const styles = {
    street: { color: "#8a8a8a", weight: 2 },
    district: { color: "#5a4fcf", weight: 1, fillOpacity: 0.03 },
    neighborhood: { color: "#00796b", weight: 1, dashArray: "4 4", fillOpacity: 0 },
    police: { color: "#1a237e", weight: 2, dashArray: "8 4", fillOpacity: 0 },
    city: { color: "#000", weight: 2, fillOpacity: 0 },
  };
  const named = (text) => { const span = document.createElement("span"); span.textContent = text; return span; };
  const layerOf = (name) => L.geoJSON({ type: "FeatureCollection",
    features: base.features.filter((f) => f.properties.layer === name) }, {
    style: () => styles[name], interactive: name !== "street" && name !== "city",
    onEachFeature: (f, l) => { if (name !== "street" && name !== "city") l.bindTooltip(named(f.properties.name)); },
  });
  const zones = { "Streets": layerOf("street"), "Council districts": layerOf("district"),
    "Neighbourhoods": layerOf("neighborhood"), "Police districts": layerOf("police") };
  const city = layerOf("city");
  L.featureGroup([city, zones["Streets"], zones["Council districts"]]).addTo(map).bringToBack();
  // Street names, close in only: at the zoom a crew or an agent reads a block, for the streets in view.
  const names = () => {
    const near = map.getZoom() >= 16 && map.hasLayer(zones["Streets"]);
    const view = map.getBounds();
    const labelled = new Set();
    zones["Streets"].eachLayer((line) => {
      const street = line.feature.properties.street;
      const show = near && street && !labelled.has(street) && view.intersects(line.getBounds());
      if (show) {
        labelled.add(street); // one label per street in view is enough to read it
        if (!line.getTooltip()) line.bindTooltip(named(street), { permanent: true, direction: "center", className: "street-name" });
        line.openTooltip();
      } else if (line.getTooltip()) line.closeTooltip();
    });
  };
  map.on("zoomend moveend", names);
  if (fit && city.getLayers().length) map.fitBounds(city.getBounds(), { animate: false }); // a page opens on the city, not on a zoom
  return { zones, features: base.features.length };
};

(() => {
  const frame = document.getElementById("map-frame");
  if (frame && frame.dataset.base === "draw") {
    window.stormlineBase(window[frame.dataset.map]).then(() => { frame.dataset.ready = "true"; });
  }
})();
