// Keeps the mode banner current without a reload: a supervisor's switch shows on every screen
// within seconds. Polling /api/v1/mode (one Redis read) rides out dropped connections by itself.
(() => {
  const banner = document.getElementById("mode-banner");
  if (!banner) return;
  const every = 3000;
  async function refresh() {
    try {
      const answer = await fetch("/api/v1/mode", { credentials: "same-origin", cache: "no-store" });
      if (!answer.ok) return;
      const view = await answer.json();
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
