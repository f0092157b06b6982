// Undo on the desk. With JavaScript, destructive forms (close the event, reject and ban,
// withdraw) are posted already confirmed, and the notice that follows offers Undo: the
// button counts down and disappears (the server still accepts an undo a while longer, for
// a slow click). Without JavaScript the server asks for confirmation instead.

// A bulk reject or withdraw of several questions cannot be undone: let the browser post it
// and show the server's confirmation page.
export function needsConfirmationPage(form) {
  if (form.id !== "bulk-form") return false;
  const action = form.querySelector("[name=action]")?.value;
  const ticked = document.querySelectorAll('input[name="ids"][form="bulk-form"]:checked').length;
  return (action === "withdraw" || action === "reject") && ticked > 1;
}

// The form's fields, confirmed: no confirmation page, the Undo notice instead.
export function confirmedBody(form) {
  const body = new FormData(form);
  body.set("confirm", "yes");
  return body;
}

// Count down each new Undo form in `root`, then remove it. A notice kept across live
// refreshes is the same element, so its countdown goes on.
export function startCountdowns(root) {
  root.querySelectorAll(".undo-form:not([data-counting])").forEach((form) => {
    form.dataset.counting = "yes";
    let left = Number(form.dataset.undoSeconds) || 10;
    const countdown = document.createElement("span");
    countdown.className = "undo-countdown";
    countdown.setAttribute("aria-hidden", "true"); // the status region is not re-read every second
    const show = () => (countdown.textContent = `${left} s`);
    show();
    form.append(countdown);
    const timer = setInterval(() => {
      left -= 1;
      if (left > 0 && form.isConnected) return show();
      clearInterval(timer);
      form.remove();
    }, 1000);
  });
}
