// Staff pages (desk, console): a notice on the staff stream means "reload the list".
// Refreshes keep what the person is typing and where their focus is.
import { openStream, showConnection, wsUrl } from "./socket.js";

// Run `task` one at a time: a call made while it runs is remembered, and runs once after it.
// Live refreshes use it, so a burst of notices costs at most two fetches in a row.
export function oneAtATime(task) {
  let running = false;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } finally {
      running = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
}

// Re-fetch a server-rendered fragment into `element`, one request at a time. For regions
// without form fields.
export function fragmentRefresher(element, url) {
  return oneAtATime(async () => {
    try {
      const response = await fetch(url(), { headers: { Accept: "text/html" } });
      if (response.ok) element.innerHTML = await response.text();
    } catch {
      // offline: the next notice or reconnect refreshes again
    }
  });
}

// The backstage note form (console and desk): sent without leaving the page; a refusal keeps
// the text and shows the reason.
export function noteForm(form, { onSent }) {
  const status = document.createElement("p");
  status.id = "note-status";
  status.setAttribute("role", "status");
  status.className = "note-status";
  form.append(status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.className = "note-status";
    status.textContent = "Sending…";
    let response;
    try {
      response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
      });
    } catch {
      status.className = "note-status form-error";
      status.textContent = "Could not reach the server. Your note is kept here: try again.";
      return;
    }
    if (response.ok) {
      form.querySelectorAll("input[type=text], textarea").forEach((field) => (field.value = ""));
      status.textContent = "Sent.";
      onSent();
      return;
    }
    const problem = await response.json().catch(() => null);
    status.className = "note-status form-error";
    status.textContent = problem?.error?.message || "The note was not sent. Your text is kept here.";
  });
}

// `ignore(frame)`: notices that need no refresh here (e.g. this desk's own presence report).
export function liveRegion({ slug, regionId, fragmentUrl, onFrames = () => {}, ignore = () => false }) {
  const region = document.getElementById(regionId);
  const connection = document.getElementById("connection");
  const refresh = oneAtATime(async () => {
    const response = await fetch(fragmentUrl(), { headers: { Accept: "text/html" } });
    if (response.ok) replace(await response.text(), { keepNotice: true });
  });

  function replace(html, { keepNotice = false } = {}) {
    // A background refresh must not erase the message of the person's last action.
    const notice = keepNotice ? region.querySelector(".notice") : null;
    const drafts = {};
    // Choices too: a merge target chosen in a <select> must not be lost to a refresh.
    region.querySelectorAll("textarea, input[type=text], select").forEach((field) => {
      if (field.id && field.value) drafts[field.id] = field.value;
    });
    // Ticked boxes (bulk selection) survive a refresh too, or a new question would untick them;
    // keyed by their item (e.g. pending-5), so a question that moved to another list is unticked.
    const ticked = [...region.querySelectorAll("input[type=checkbox]:checked")]
      .map((box) => [box.parentElement?.closest("[id]")?.id, box.id])
      .filter(([item, id]) => item && id);
    const focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : null;
    // An open <details> with an id of its own is found by it; else by its nearest ancestor's.
    const open = [...region.querySelectorAll("details[open]")].map((d) => d.id || d.closest("[id]")?.id);
    region.innerHTML = html;
    if (notice && !region.querySelector(".notice")) region.prepend(notice);
    for (const [id, value] of Object.entries(drafts)) {
      const field = document.getElementById(id);
      if (field) field.value = value;
    }
    open.forEach((id) => {
      const element = id && document.getElementById(id);
      (element?.matches("details") ? element : element?.querySelector("details"))?.setAttribute("open", "");
    });
    ticked.forEach(([item, id]) => {
      const box = document.getElementById(item)?.querySelector(`#${CSS.escape(id)}`);
      if (box) box.checked = true;
    });
    if (focused) document.getElementById(focused)?.focus();
  }

  openStream(() => wsUrl(`/staff/events/${encodeURIComponent(slug)}/live`), {
    onFrames: (frames) => {
      if (!frames.every(ignore)) refresh();
      onFrames(frames);
    },
    onState: (state) => {
      showConnection(connection, state);
      if (state === "live") refresh(); // catch up on anything missed while away
    },
  });
  return { refresh, replace };
}
