// The reader page's header and panel list, from stream frames (see templates/event.html):
// the audience count from `presence` frames (hidden until the first one), and the panel
// list's "on now" labels from `slot.started`, `slot.ended` and `event.status` (their on_now),
// and the schedule's "now" label, which follows the slot live.js marks current.
const root = document.getElementById("event");
if (root) document.addEventListener("livepanel:frame", (event) => apply(event.detail));

function apply(frame) {
  if (frame.type === "presence") showAudience(frame.data.audience);
  if (["slot.started", "slot.ended", "event.status"].includes(frame.type)) {
    markPanel(frame.data.on_now || []);
    markSchedule(frame.type === "event.status" && frame.data.status !== "live");
  }
}

function showAudience(count) {
  const holder = document.getElementById("audience");
  if (!holder || !Number.isInteger(count)) return;
  document.getElementById("audience-count").textContent =
    `${count.toLocaleString("en-GB")} ${count === 1 ? "reader" : "readers"} here`;
  holder.hidden = false;
}

function nowLabel(text) {
  const label = document.createElement("span");
  label.className = "now-label";
  label.textContent = text;
  return label;
}

// The "now" label goes with the slot marked current (live.js runs before this); none once the
// event is no longer live.
function markSchedule(over) {
  document.querySelectorAll(".slots .slot").forEach((slot) => {
    const time = slot.querySelector(".slot-time");
    const label = time?.querySelector(".now-label");
    const current = !over && slot.classList.contains("current");
    if (current && time && !label) time.append(" ", nowLabel("now"));
    else if (!current && label) label.remove();
  });
}

function markPanel(people) {
  const now = new Set(people.map((p) => String(p.id)));
  document.querySelectorAll(".panelists .panelist[data-panelist-id]").forEach((item) => {
    const name = item.querySelector(".panelist-name");
    const label = name?.querySelector(".now-label");
    const on = now.has(item.dataset.panelistId);
    if (on && name && !label) {
      name.append(" ", nowLabel("on now"));
    } else if (!on && label) {
      label.remove();
    }
  });
}
