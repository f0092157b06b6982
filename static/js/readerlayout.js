// The reader page's header and panel list, from stream frames (see templates/event.html):
// the audience count from `presence` frames (hidden until the first one), and the panel
// list's "on now" labels from `slot.started`, `slot.ended` and `event.status` (their on_now).
const root = document.getElementById("event");
if (root) document.addEventListener("livepanel:frame", (event) => apply(event.detail));

function apply(frame) {
  if (frame.type === "presence") showAudience(frame.data.audience);
  if (["slot.started", "slot.ended", "event.status"].includes(frame.type)) markPanel(frame.data.on_now || []);
}

function showAudience(count) {
  const holder = document.getElementById("audience");
  if (!holder || !Number.isInteger(count)) return;
  document.getElementById("audience-count").textContent =
    `${count.toLocaleString("en-GB")} ${count === 1 ? "reader" : "readers"} here`;
  holder.hidden = false;
}

function markPanel(people) {
  const now = new Set(people.map((p) => String(p.id)));
  document.querySelectorAll(".panelists .panelist[data-panelist-id]").forEach((item) => {
    const name = item.querySelector(".panelist-name");
    let label = name?.querySelector(".now-label");
    const on = now.has(item.dataset.panelistId);
    if (on && name && !label) {
      label = document.createElement("span");
      label.className = "now-label";
      label.textContent = "on now";
      name.append(" ", label);
    } else if (!on && label) {
      label.remove();
    }
  });
}
