// Told when answered: when an answer to one of the reader's own questions arrives, a notice
// on the page links to it; after a click on "Notify me" (never asked unprompted), a browser
// Notification too, if the tab is hidden. The page knows the reader's questions from "Your
// questions" (data-mine-id, private to them) and from questions asked in place (feedback.js).
import { el } from "./feedback.js";

const root = document.getElementById("event");
if (root) start();

function start() {
  const mine = new Set([...document.querySelectorAll("[data-mine-id]")].map((n) => n.dataset.mineId));
  let notifying = false; // the reader clicked "Notify me" and the browser allowed it

  if (mine.size) showNotifyMe();
  document.addEventListener("livepanel:asked", (event) => {
    mine.add(String(event.detail.id));
    showNotifyMe();
  });
  document.addEventListener("livepanel:frame", (event) => {
    const frame = event.detail;
    if (frame.type !== "answer.published") return;
    const answer = frame.data.answer;
    if (mine.has(String(answer.question_id))) tell(answer);
  });

  function tell(answer) {
    const notices = document.getElementById("answered-notices") || root.appendChild(region());
    const notice = el("p", "answered-notice", `Your question was answered by ${answer.by.name} — `);
    notice.append(answerLink(answer.id));
    const dismiss = el("button", "button-small dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", () => notice.remove());
    notice.append(" ", dismiss);
    notices.append(notice);
    const item = document.querySelector(`[data-mine-id="${answer.question_id}"]`);
    if (item && !item.querySelector(".mine-answer-link")) item.append(" — ", answerLink(answer.id, "mine-answer-link"));
    if (notifying && document.visibilityState === "hidden" && Notification.permission === "granted") {
      const note = new Notification(`Your question was answered by ${answer.by.name}`, {
        body: "Open the page to read the answer.",
        tag: `answer-${answer.id}`,
      });
      note.onclick = () => {
        window.focus();
        goTo(answer.id);
        note.close();
      };
    }
  }

  function showNotifyMe() {
    if (!("Notification" in window) || Notification.permission === "denied") return;
    let row = document.getElementById("notify-me-row");
    if (!row) {
      row = el("p", "notify-me");
      row.id = "notify-me-row";
      const button = el("button", "button-small", "Notify me when my question is answered");
      button.type = "button";
      button.id = "notify-me";
      const state = el("span", "meta");
      state.id = "notify-state";
      row.append(button, " ", state);
      document.getElementById("ask")?.append(row);
    }
    row.hidden = false;
    const button = document.getElementById("notify-me");
    if (button.dataset.ready) return;
    button.dataset.ready = "true";
    button.addEventListener("click", async () => {
      const state = document.getElementById("notify-state");
      const permission = await Notification.requestPermission();
      notifying = permission === "granted";
      button.disabled = notifying;
      state.textContent = notifying
        ? "You will get a notification when your question is answered while this tab is in the background."
        : "Notifications are blocked in this browser; the notice on this page still appears.";
    });
  }
}

function region() {
  const notices = el("div", "answered-notices");
  notices.id = "answered-notices";
  notices.setAttribute("role", "status");
  return notices;
}

function answerLink(answerId, className) {
  const link = el("a", className || "", "read the answer");
  link.href = `#a-${answerId}`;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    goTo(answerId);
  });
  return link;
}

// Scroll to the answer and move focus there, so keyboard and screen reader users land on it.
function goTo(answerId) {
  const answer = document.getElementById(`a-${answerId}`);
  if (!answer) return;
  answer.tabIndex = -1;
  answer.scrollIntoView({ block: "center" });
  answer.focus({ preventScroll: true });
  history.replaceState(null, "", `#a-${answerId}`);
}
