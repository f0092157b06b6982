// Reader feedback in place: asking, upvoting and reporting without leaving the page, and the
// question form turning into "Questions are closed" when the event closes. Every form still
// works without JavaScript; here the same form is posted with fetch, asking for JSON (the
// server checks the same token or same-origin proof, and sets the cookie as for the form).
const root = document.getElementById("event");
if (root) start();

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function send(form) {
  const body = new URLSearchParams(new FormData(form));
  let response;
  try {
    response = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" } });
  } catch {
    return { ok: false, data: {}, message: "Could not reach the site; nothing was lost: try again." };
  }
  const data = await response.json().catch(() => ({}));
  const message = data.message || data.error?.message || "That did not work; try again.";
  return { ok: response.ok, data, message };
}

// The reader's first action gives them a session: later forms carry its token.
function updateTokens(token) {
  if (!token) return;
  const template = document.getElementById("report-template");
  const inputs = [...document.querySelectorAll("input[name=csrf_token]")];
  if (template) inputs.push(...template.content.querySelectorAll("input[name=csrf_token]"));
  inputs.forEach((input) => (input.value = token));
}

function start() {
  setUpAsking();
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches?.(".upvote-form")) upvote(event, form);
    else if (form.matches?.(".report-form")) report(event, form);
  });
  document.addEventListener("livepanel:frame", (event) => {
    const frame = event.detail;
    if (frame.type === "event.status" && ["closed", "published"].includes(frame.data.status)) closeForm();
  });
  addReportForms();
  const questions = document.getElementById("questions");
  if (questions) new MutationObserver(addReportForms).observe(questions, { childList: true, subtree: true });
}

function setUpAsking() {
  const form = document.getElementById("question-form");
  if (!form) return;
  const status = el("p", "ask-status");
  status.id = "ask-status";
  status.setAttribute("role", "status");
  form.append(status);
  const body = form.querySelector("textarea[name=body]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Sending…";
    showError(form, body, "");
    const { ok, data, message } = await send(form);
    button.disabled = false;
    if (!ok) {
      status.textContent = "";
      showError(form, body, message); // the text stays in the box
      return;
    }
    listAsMine(data.id, data.status, body.value);
    body.value = ""; // as the page after a reload would be; the name is kept for the next one
    const to = form.querySelector("select[name=to]");
    if (to) to.value = "";
    status.textContent = message;
    updateTokens(data.csrf_token);
    document.dispatchEvent(new CustomEvent("livepanel:asked", { detail: { id: data.id, status: data.status } }));
  });
}

// "Your questions" as the server would list it after a reload (private: this page only).
function listAsMine(id, status, text) {
  let list = document.querySelector("#ask .mine ul");
  if (!list) {
    const mine = el("div", "mine");
    mine.id = "mine"; // static/js/openness.js finds the asker's questions by it
    mine.setAttribute("aria-labelledby", "mine-heading");
    const heading = el("h3", "", "Your questions");
    heading.id = "mine-heading";
    list = el("ul");
    mine.append(heading, el("p", "hint", "Only you can see this list."), list);
    document.getElementById("question-form").after(mine);
  }
  const item = el("li");
  item.dataset.mineId = String(id);
  item.append(el("span", "my-status", status === "approved" ? "Published" : "Awaiting moderation"), `: ${text.trim()}`);
  list.append(item);
}

function showError(form, body, message) {
  let error = document.getElementById("form-error");
  if (!message) {
    error?.remove();
    body.removeAttribute("aria-describedby");
    return;
  }
  if (!error) {
    error = el("p", "form-error");
    error.id = "form-error";
    error.setAttribute("role", "alert");
    (form.querySelector("label[for=q-body]") || body).before(error);
  }
  error.textContent = message;
  body.setAttribute("aria-describedby", "form-error");
}

async function upvote(event, form) {
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  const { ok, data, message } = await send(form);
  if (ok) {
    button.textContent = data.message; // "Upvoted" or "You already upvoted"
    button.setAttribute("aria-label", data.message);
    button.classList.add("upvoted");
  } else {
    button.disabled = false;
  }
  const announcer = document.getElementById("announcer");
  if (announcer) announcer.textContent = ok ? data.message : message;
}

async function report(event, form) {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  const status = form.querySelector(".report-status");
  button.disabled = true;
  const { ok, message } = await send(form);
  status.textContent = message; // "Thanks, the editors will look at it." or why not
  if (!ok) button.disabled = false;
}

// Items that arrive live get the same "Report" form as the server renders.
function addReportForms() {
  const template = document.getElementById("report-template");
  if (!template) return;
  document.querySelectorAll("#questions article.question").forEach((article) => {
    const head = article.querySelector(".question-head");
    if (head && !head.querySelector(":scope > .report")) head.append(reportForm(template, "question", article.dataset.questionId));
  });
  document.querySelectorAll("#questions section.answer").forEach((section) => {
    if (!section.querySelector(":scope > .report")) section.append(reportForm(template, "answer", section.dataset.answerId));
  });
}

function reportForm(template, kind, id) {
  const details = template.content.querySelector(".report").cloneNode(true);
  details.querySelector("input[name=kind]").value = kind;
  details.querySelector("input[name=id]").value = id;
  details.querySelector("summary .visually-hidden").textContent = ` this ${kind} to the editors`;
  return details;
}

function closeForm() {
  const form = document.getElementById("question-form");
  if (!form) return;
  const note = el("p", "questions-closed", "Questions are closed.");
  note.id = "questions-closed";
  note.setAttribute("role", "status");
  form.replaceWith(note);
}
