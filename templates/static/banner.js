// Keeps the mode banner current without a reload: a supervisor's switch shows on every screen
// within seconds. Polling /api/v1/mode (one Redis read) rides out dropped connections by itself.
// The drill banner, and what is offered only while a drill runs ([data-drill-only]), follow too.
(() => {
  const banner = document.getElementById("mode-banner");
  if (!banner) return;
  const every = 3000;
  function showDrill(drill) {
    const drillBanner = document.getElementById("drill-banner");
    if (drillBanner.hidden === !drill && document.getElementById("drill-name").textContent === (drill ? drill.name : "")) return;
    document.getElementById("drill-name").textContent = drill ? drill.name : "";
    drillBanner.hidden = !drill;
    document.querySelectorAll("[data-drill-only]").forEach((el) => {
      // Focus is not lost with what is hidden: it goes to the page's first field.
      if (!drill && el.contains(document.activeElement)) (document.querySelector("main input, main textarea") || document.body).focus();
      el.hidden = !drill;
      // A call cannot be the drill's once it has ended: nothing stays ticked for a real call.
      if (!drill) el.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = false; });
    });
  }
  async function refresh() {
    try {
      const answer = await fetch("/api/v1/mode", { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) return;
      const view = await answer.json();
      showDrill(view.state.drill);
      const name = view.state.activation ? ` (${view.state.activation.name})` : "";
      const text = view.banner ? view.banner + name : "";
      if (banner.textContent.trim() === text && banner.dataset.mode === view.state.mode) return; // said once
      banner.dataset.mode = view.state.mode;
      banner.textContent = text;
      banner.hidden = !view.banner;
    } catch (error) {
      // Offline for a moment: keep showing the last known mode and try again.
    } finally {
      setTimeout(refresh, every);
    }
  }
  setTimeout(refresh, every);
})();
