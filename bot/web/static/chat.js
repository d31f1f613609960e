// The shoppers' web chat: one websocket, replies rendered as text (never as HTML).
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusEl = document.getElementById("status");
  const STATUS = { connecting: "连接中…", bot: "智能客服在线", waiting: "正在为您转接人工客服…",
                   agent: "人工客服为您服务中", closed: "会话已结束", offline: "连接已断开，正在重连…" };
  let cid = localStorage.getItem("kefu.cid");
  if (!cid) {
    cid = Array.from(crypto.getRandomValues(new Uint8Array(12)), b => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem("kefu.cid", cid);
  }
  let ws = null;
  let retry = 500;
  const outbox = [];

  function setStatus(status) {
    statusEl.dataset.status = status;
    statusEl.textContent = STATUS[status] || status;
  }

  function add(kind, text, buttons, who) {
    const li = document.createElement("li");
    li.className = "msg msg--" + kind;
    if (who) {
      const w = document.createElement("span");
      w.className = "msg__who";
      w.textContent = who;
      li.appendChild(w);
    }
    li.appendChild(document.createTextNode(text));
    if (buttons && buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const title of buttons) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = title;
        b.addEventListener("click", () => send(title));
        box.appendChild(b);
      }
      li.appendChild(box);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function send(text) {
    if (!text.trim()) return;
    add("me", text);
    const frame = JSON.stringify({ type: "message", text });
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(frame); else outbox.push(frame);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}/ws/chat?cid=${encodeURIComponent(cid)}`);
    ws.onopen = () => { retry = 500; setStatus("bot"); while (outbox.length) ws.send(outbox.shift()); };
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      if (f.type === "reply") add(f.from === "agent" ? "agent" : "bot", f.text, f.buttons, f.who);
      else if (f.type === "status") setStatus(f.status);
      else if (f.type === "history") {
        log.textContent = "";
        for (const e of f.entries) add(e.from === "me" ? "me" : e.from === "agent" ? "agent" : "bot", e.text, [], e.who);
      }
      else if (f.type === "hello" && f.cid !== cid) { cid = f.cid; localStorage.setItem("kefu.cid", cid); }
    };
    ws.onclose = () => { setStatus("offline"); setTimeout(connect, retry); retry = Math.min(retry * 2, 8000); };
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    send(input.value);
    input.value = "";
    input.focus();
  });
  connect();
})();
