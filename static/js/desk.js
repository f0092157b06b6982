// The moderation desk: the queue reloads live; actions post without leaving the page;
// keyboard shortcuts for fast moderation.
import { fragmentRefresher, liveRegion, noteForm } from "./staff.js";
import { confirmedBody, needsConfirmationPage, startCountdowns } from "./undo.js";

const desk = document.getElementById("desk");
if (desk) {
  const slug = desk.dataset.slug;
  const regionElement = document.getElementById("queue-region");
  const refreshNotes = fragmentRefresher(
    document.getElementById("backstage-notes"),
    () => `/desk/events/${encodeURIComponent(slug)}/backstage`,
  );
  const region = liveRegion({
    slug,
    regionId: "queue-region",
    fragmentUrl: () => `/desk/events/${encodeURIComponent(slug)}/queue${location.search}`,
    onFrames: (frames) => frames.some((frame) => frame.data?.note) && refreshNotes(),
  });
  noteForm(document.getElementById("note-form"), { onSent: refreshNotes });
  startCountdowns(regionElement);

  regionElement.addEventListener("submit", async (event) => {
    const form = event.target;
    // getAttribute: the forms carry <input name="action">, which shadows form.action.
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return; // sorting and filtering navigate
    if (needsConfirmationPage(form)) return;
    event.preventDefault();
    const current = document.activeElement?.closest(".queue-item");
    const next = current?.nextElementSibling?.id || current?.previousElementSibling?.id;
    const response = await fetch(form.getAttribute("action") || location.href, { method: "POST", body: confirmedBody(form) });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("queue-region");
    if (fresh) region.replace(fresh.innerHTML);
    else region.refresh();
    startCountdowns(regionElement);
    // Keep the keyboard user's place: focus the question that took this one's place.
    const target = next && document.getElementById(next);
    if (target) target.focus();
  });

  const items = () => [...regionElement.querySelectorAll(".queue-item")];
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select")) return; // typing, not commanding
    const list = items();
    const current = document.activeElement?.closest(".queue-item");
    const index = list.indexOf(current);
    const key = event.key;
    if (key === "j" || key === "k") {
      const target = list[key === "j" ? Math.min(index + 1, list.length - 1) : Math.max(index - 1, 0)];
      target?.focus();
      event.preventDefault();
      return;
    }
    if (!current) return;
    if (key === "x") {
      const box = current.querySelector(".select");
      if (box) box.checked = !box.checked;
      event.preventDefault();
      return;
    }
    const button = current.querySelector(`button[data-key="${key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
}
