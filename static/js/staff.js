// Staff pages (desk, console): a notice on the staff stream means "reload the list".
// Refreshes keep what the person is typing and where their focus is.
import { openStream, showConnection, wsUrl } from "./socket.js";

export function liveRegion({ slug, regionId, fragmentUrl }) {
  const region = document.getElementById(regionId);
  const connection = document.getElementById("connection");
  let running = false;
  let again = false;

  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const response = await fetch(fragmentUrl(), { headers: { Accept: "text/html" } });
      if (response.ok) replace(await response.text(), { keepNotice: true });
    } finally {
      running = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function replace(html, { keepNotice = false } = {}) {
    // A background refresh must not erase the message of the person's last action.
    const notice = keepNotice ? region.querySelector(".notice") : null;
    const drafts = {};
    region.querySelectorAll("textarea, input[type=text]").forEach((field) => {
      if (field.id && field.value) drafts[field.id] = field.value;
    });
    // Ticked boxes (bulk selection) survive a refresh too, or a new question would untick them;
    // keyed by their item (e.g. pending-5), so a question that moved to another list is unticked.
    const ticked = [...region.querySelectorAll("input[type=checkbox]:checked")]
      .map((box) => [box.parentElement?.closest("[id]")?.id, box.id])
      .filter(([item, id]) => item && id);
    const focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : null;
    const open = [...region.querySelectorAll("details[open]")].map((d) => d.closest("[id]")?.id);
    region.innerHTML = html;
    if (notice && !region.querySelector(".notice")) region.prepend(notice);
    for (const [id, value] of Object.entries(drafts)) {
      const field = document.getElementById(id);
      if (field) field.value = value;
    }
    open.forEach((id) => id && document.getElementById(id)?.querySelector("details")?.setAttribute("open", ""));
    ticked.forEach(([item, id]) => {
      const box = document.getElementById(item)?.querySelector(`#${CSS.escape(id)}`);
      if (box) box.checked = true;
    });
    if (focused) document.getElementById(focused)?.focus();
  }

  openStream(() => wsUrl(`/staff/events/${encodeURIComponent(slug)}/live`), {
    onFrames: () => refresh(),
    onState: (state) => {
      showConnection(connection, state);
      if (state === "live") refresh(); // catch up on anything missed while away
    },
  });
  return { refresh, replace };
}
