// Markdown preview on desk forms: rendered and sanitised by the server, as readers will see it.
document.addEventListener("click", async (event) => {
  const button = event.target.closest(".preview-button");
  if (!button || document.getElementById("console")) return; // the console has its own
  const field = document.getElementById(button.dataset.for);
  const target = document.getElementById(field.dataset.preview);
  const response = await fetch("/desk/preview", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ body: field.value }),
  });
  if (!response.ok) return;
  target.innerHTML = (await response.json()).html;
  target.hidden = false;
});

// Copy buttons for links and tokens shown once; hidden without JavaScript or a clipboard.
document.querySelectorAll(".copy-button").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
    button.textContent = "Copied";
  });
});
