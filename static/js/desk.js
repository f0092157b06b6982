// The moderation desk: the queue reloads live; actions post without leaving the page.
import { liveRegion } from "./staff.js";

const desk = document.getElementById("desk");
if (desk) {
  const slug = desk.dataset.slug;
  const region = liveRegion({
    slug,
    regionId: "queue-region",
    fragmentUrl: () => `/desk/events/${encodeURIComponent(slug)}/queue`,
  });
  document.getElementById("queue-region").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const response = await fetch(form.action, { method: "POST", body: new FormData(form) });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("queue-region");
    if (fresh) region.replace(fresh.innerHTML);
    else region.refresh();
  });
}
