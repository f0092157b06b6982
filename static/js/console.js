// The panelist console: live list, answer preview, answers posted without losing drafts.
import { liveRegion } from "./staff.js";

const root = document.getElementById("console");
if (root) {
  const slug = root.dataset.slug;
  const show = root.dataset.show;
  liveRegion({
    slug,
    regionId: "console-questions",
    fragmentUrl: () => `/console/${encodeURIComponent(slug)}/questions?show=${encodeURIComponent(show)}`,
  });
  root.addEventListener("click", async (event) => {
    const button = event.target.closest(".preview-button");
    if (!button) return;
    const field = document.getElementById(button.dataset.for);
    const target = document.getElementById(field.dataset.preview);
    const response = await fetch(`/console/${encodeURIComponent(slug)}/preview`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ body: field.value }),
    });
    if (!response.ok) return;
    const { html } = await response.json();
    target.innerHTML = html; // rendered and sanitised by the server
    target.hidden = false;
  });
}
