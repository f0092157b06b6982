// A WebSocket that reconnects with backoff and reports its state.
// `url()` is called on every (re)connect so the caller can resume from its last seq.

export function openStream(url, { onFrames, onState }) {
  let ws = null;
  let attempts = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    clearTimeout(timer);
    if (stopped) return;
    onState("connecting");
    ws = new WebSocket(url());
    ws.onopen = () => {
      attempts = 0;
      onState("live");
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onFrames(Array.isArray(message) ? message : [message]);
    };
    ws.onclose = (event) => {
      ws = null;
      if (stopped) return;
      if (event.code === 1008) {
        // Refused by policy (unknown event, signed out): retrying would not help.
        stopped = true;
        onState("refused");
        return;
      }
      onState("offline");
      // 0.5s, 1s, 2s ... capped at 30s, with jitter so thousands of readers do not return at once.
      const delay = Math.min(30000, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
      attempts += 1;
      timer = setTimeout(connect, delay);
    };
  }

  window.addEventListener("offline", () => ws && ws.close());
  window.addEventListener("online", () => {
    attempts = 0;
    if (!ws) connect();
  });
  connect();
  return {
    close() {
      stopped = true;
      if (ws) ws.close();
    },
  };
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

const STATE_TEXT = {
  connecting: "Connecting to live updates…",
  live: "Live updates on.",
  offline: "Connection lost. Reconnecting…",
  refused: "Live updates are not available. Reload the page to try again.",
};

export function showConnection(element, state) {
  if (!element) return;
  element.hidden = false;
  element.dataset.state = state;
  element.textContent = STATE_TEXT[state] || "";
}
