// The agents' console: JSON API for reads and actions, one websocket for live events.
// Every text from shoppers, agents or the library goes through textContent, never HTML.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.body.dataset.agent;

  const SKILL = { presale: "售前", after_sales: "售后" };
  const PRESENCE = { online: "在线", away: "离开", offline: "离线" };
  const STATUS = { queued: "排队中", assigned: "接待中", closed: "已结束" };
  const ROLE = { shopper: "顾客", bot: "机器人", agent: "客服", system: "系统" };
  const CHANNEL = { web: "网页", telegram: "Telegram" };
  const OUTCOME = { closed: "已结束", handed_back: "已交还机器人" };
  const SLOT = { order_id: "订单号", height: "身高", weight: "体重（斤）", size: "尺码", fit: "版型偏好",
                 size_chart: "尺码表", phone: "电话" };
  const ERRORS = {
    taken: "手慢了，这位顾客已被其他客服接入", at_capacity: "接待已满，请先结束一个会话",
    not_yours: "这个会话已分配给其他客服", closed: "这个会话已经结束了",
    not_assigned: "请先接入这个会话", agent_offline: "对方客服不在线或接待已满",
    unknown_agent: "没有这位客服", unknown_ticket: "找不到这个会话", csrf: "页面已过期，请刷新后重试",
    login: "登录已过期，请重新登录", unavailable: "服务暂时不可用，请稍后再试",
    empty: "请先输入内容", too_long: "内容太长了，最多2000字", bad_json: "请求格式有误",
    forbidden: "没有权限", conflict: "当前状态下不能这样操作",
  };

  let clockOffset = 0;   // server clock minus this browser's clock, in seconds
  let selected = null;   // id of the ticket shown in the middle
  let current = null;    // its last payload
  let agents = [];
  let names = {};        // display names by login name
  let myPresence = "offline";
  let ws = null;
  let retry = 500;

  // ------------------------------------------------------------------ helpers

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Web shoppers rarely give a name: the end of the conversation id tells them apart.
  function shopperName(t) { return t.shopper_name || "顾客 #" + t.conversation.slice(-4); }

  function now() { return Date.now() / 1000 + clockOffset; }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + "秒";
    if (s < 3600) return Math.floor(s / 60) + "分" + String(s % 60).padStart(2, "0") + "秒";
    return Math.floor(s / 3600) + "小时" + Math.floor((s % 3600) / 60) + "分";
  }

  function clock(ts) {
    if (!ts) return "";
    const d = new Date((ts - clockOffset) * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  let toastTimer = null;
  function toast(text, kind) {
    const box = $("toast");
    box.textContent = text;
    box.dataset.kind = kind || "error";
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
  }

  async function api(method, path, body) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method === "POST") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body || {});
    }
    let resp;
    try {
      resp = await fetch("/console/api/" + path, opts);
    } catch (err) {
      toast("网络连接失败，请检查网络");
      throw err;
    }
    let data = {};
    try { data = await resp.json(); } catch (err) { data = {}; }
    if (resp.status === 401) {
      location.href = "/login?next=/console";
      throw new Error("login");
    }
    if (!resp.ok) {
      const err = new Error(ERRORS[data.code] || data.error || ("请求失败（" + resp.status + "）"));
      err.code = data.code;
      err.status = resp.status;
      throw err;
    }
    if (typeof data.now === "number") clockOffset = data.now - Date.now() / 1000;
    return data;
  }

  // Run an action; a refusal becomes a toast instead of an unhandled rejection.
  async function act(fn) {
    try { return await fn(); } catch (err) {
      if (err.message !== "login") toast(err.message);
      return null;
    }
  }

  // ------------------------------------------------------------------ left column

  function badge(text, cls) { return el("span", "badge" + (cls ? " " + cls : ""), text); }

  function queueRow(t) {
    const li = el("li", "row");
    li.dataset.ticket = t.id;
    if (t.id === selected) li.setAttribute("aria-current", "true");
    const top = el("div", "row__top");
    top.appendChild(el("strong", "row__name", shopperName(t)));
    if (t.urgent) top.appendChild(badge("优先", "urgent"));
    if (t.angry) top.appendChild(badge("情绪激动", "angry"));
    top.appendChild(badge(SKILL[t.skill] || t.skill));
    top.appendChild(badge(CHANNEL[t.channel] || t.channel, "channel"));
    const wait = el("span", "row__wait", duration(now() - t.created_at));
    wait.dataset.since = t.created_at;
    wait.title = "已等待";
    top.appendChild(wait);
    li.appendChild(top);
    li.appendChild(el("p", "row__summary", t.summary || "（无摘要）"));
    const meta = [t.reason_label, t.intent_title].filter(Boolean).join(" · ");
    if (meta) li.appendChild(el("p", "row__meta muted", meta));
    if (t.left_message) li.appendChild(el("p", "row__left", "留言：" + t.left_message));
    const take = el("button", "take", "接入");
    take.type = "button";
    take.addEventListener("click", (ev) => { ev.stopPropagation(); claim(t.id); });
    li.appendChild(take);
    focusable(li, t.id);
    return li;
  }

  // Rows open with a click, or with Enter/Space when reached with the keyboard.
  function focusable(li, id) {
    li.tabIndex = 0;
    li.addEventListener("click", () => select(id));
    li.addEventListener("keydown", (ev) => {
      if (ev.target === li && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); select(id); }
    });
  }

  function mineRow(t) {
    const li = el("li", "row row--mine");
    li.dataset.ticket = t.id;
    if (t.id === selected) li.setAttribute("aria-current", "true");
    const top = el("div", "row__top");
    top.appendChild(el("strong", "row__name", shopperName(t)));
    if (t.angry) top.appendChild(badge("情绪激动", "angry"));
    if (t.unanswered) top.appendChild(badge(t.unanswered + "条待回复", "unread"));
    const since = el("span", "row__wait", duration(now() - (t.assigned_at || t.created_at)));
    since.dataset.since = t.assigned_at || t.created_at;
    since.title = "接入时长";
    top.appendChild(since);
    li.appendChild(top);
    const last = t.last ? (ROLE[t.last.role] || t.last.role) + "：" + t.last.text : (t.summary || "");
    li.appendChild(el("p", "row__summary", last));
    focusable(li, t.id);
    return li;
  }

  function fillList(listId, emptyId, countId, tickets, row) {
    const list = $(listId);
    list.replaceChildren(...tickets.map(row));
    $(emptyId).hidden = tickets.length > 0;
    $(countId).textContent = tickets.length;
  }

  async function loadQueue() {
    const data = await api("GET", "queue");
    fillList("queue", "queue-empty", "queue-count", data.tickets, queueRow);
  }

  async function loadMine() {
    const data = await api("GET", "mine");
    fillList("mine", "mine-empty", "mine-count", data.tickets, mineRow);
  }

  function renderMe(data) {
    myPresence = data.presence;
    for (const b of document.querySelectorAll(".presence__btn")) {
      b.setAttribute("aria-checked", String(b.dataset.presence === data.presence));
    }
    $("presence-box").dataset.presence = data.presence;
    $("load").textContent = data.active;
    $("capacity-now").textContent = data.capacity;
    if (document.activeElement !== $("capacity")) $("capacity").value = data.capacity;
    for (const box of document.querySelectorAll('#profile-form input[name="skill"]')) {
      box.checked = data.skills.includes(box.value);
    }
  }

  async function loadMe() { renderMe(await api("GET", "me")); }

  async function loadAgents() {
    agents = (await api("GET", "agents")).agents;
    fillTransfer();
  }

  function fillTransfer() {
    const select = $("transfer-agent");
    const keep = select.value;
    const options = [el("option", null, "（选择在线客服）")];
    options[0].value = "";
    for (const a of agents) {
      if (a.name === me) continue;
      const label = a.display_name + " · " + (PRESENCE[a.presence] || a.presence) + " · " +
        a.active + "/" + a.capacity + " · " + a.skills.map((s) => SKILL[s] || s).join("/");
      const opt = el("option", null, label);
      opt.value = a.name;
      opt.disabled = a.presence !== "online" || a.free <= 0;
      options.push(opt);
    }
    select.replaceChildren(...options);
    select.value = keep;
    if (select.value !== keep) select.value = "";
  }

  // ------------------------------------------------------------------ the selected chat

  function line(role, text, who, ts) {
    const li = el("li", "msg msg--" + role);
    const head = el("span", "msg__who", [who || ROLE[role] || role, clock(ts)].filter(Boolean).join(" · "));
    li.appendChild(head);
    li.appendChild(document.createTextNode(text));
    return li;
  }

  function agentName(name) {
    if (!name) return "";
    if (names[name]) return names[name];
    const a = agents.find((x) => x.name === name);
    return a ? a.display_name : name;
  }

  function renderTicket(t) {
    current = t;
    $("chat-empty").hidden = true;
    $("chat-head").hidden = false;
    $("messages").hidden = false;
    $("composer-box").hidden = false;
    $("context").hidden = false;
    $("chat").dataset.ticket = t.id;
    $("chat").dataset.status = t.status;
    $("chat-title").textContent = shopperName(t);
    const meta = [CHANNEL[t.channel] || t.channel, SKILL[t.skill] || t.skill];
    if (t.assigned_to) meta.push("接待：" + agentName(t.assigned_to));
    if (t.rating) meta.push("评分：" + t.rating + "分");
    $("chat-meta").textContent = meta.join(" · ");
    const status = t.status === "closed" ? (OUTCOME[t.outcome] || STATUS.closed) : STATUS[t.status];
    $("chat-status").textContent = status;

    const log = $("messages");
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const items = [];
    for (const e of t.context.transcript) {
      if (!["shopper", "bot", "agent"].includes(e.role)) continue;
      items.push(line(e.role === "bot" ? "bot" : e.role, e.text, null, e.ts));
    }
    items.push(el("li", "divider", "以上为机器人接待记录 · " + (t.reason_label || "转人工")));
    for (const m of t.messages) {
      const who = m.role === "agent" ? "客服 " + agentName(m.author) : m.role === "shopper" ? (m.author || "顾客") : null;
      const li = line(m.role, m.text, who, m.ts);
      if (m.attachment) li.appendChild(el("span", "msg__attachment", "[附件] " + m.attachment));
      items.push(li);
    }
    if (t.status === "closed") {
      items.push(el("li", "divider", (OUTCOME[t.outcome] || "会话已结束") +
        (t.rating ? " · 顾客评分 " + t.rating + " 分" : "")));
    }
    log.replaceChildren(...items);
    if (atBottom || log.dataset.ticket !== t.id) log.scrollTop = log.scrollHeight;
    log.dataset.ticket = t.id;

    $("reply").disabled = !t.mine;
    $("send").disabled = !t.mine;
    $("take-hint").hidden = t.status !== "queued";
    $("composer").hidden = t.status === "queued";
    $("composer-hint").textContent = t.mine ? "" :
      t.status === "closed" ? "会话已结束" : t.status === "assigned" ? "由 " + agentName(t.assigned_to) + " 接待中" : "";
    for (const b of document.querySelectorAll(".phrase")) b.disabled = !t.mine;
    $("phrases-box").hidden = !t.mine || !document.querySelector(".phrase");

    renderContext(t);
    for (const row of document.querySelectorAll(".row")) {
      if (row.dataset.ticket === t.id) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
  }

  function renderContext(t) {
    const c = t.context;
    $("ctx-summary").textContent = c.summary || t.summary || "（无摘要）";
    $("ctx-reason").textContent = t.reason_label || t.reason || "—";
    $("ctx-intent").textContent = t.intent_title || t.intent || "—";
    $("ctx-skill").textContent = SKILL[t.skill] || t.skill;
    const anger = $("ctx-anger");
    anger.replaceChildren(document.createTextNode(Math.round((c.anger || 0) * 100) + "%"));
    if (t.angry) anger.appendChild(badge("情绪激动", "angry"));
    $("ctx-channel").textContent = CHANNEL[t.channel] || t.channel;
    $("ctx-left").hidden = !t.left_message;
    $("ctx-left-text").textContent = t.left_message || "";
    $("ctx-contact").textContent = t.contact || "未留";

    const slots = Object.entries(c.slots || {});
    $("ctx-slots").replaceChildren(...slots.map(([k, v]) => {
      const tr = el("tr");
      tr.appendChild(el("th", null, SLOT[k] || k));
      tr.appendChild(el("td", null, typeof v === "object" ? JSON.stringify(v) : v));
      return tr;
    }));
    $("ctx-slots-empty").hidden = slots.length > 0;
    $("ctx-turns").replaceChildren(...c.turns.map((turn) => {
      const tr = el("tr");
      tr.appendChild(el("td", null, turn.text));
      tr.appendChild(el("td", null, turn.intent_title || turn.intent || "—"));
      tr.appendChild(el("td", "num", typeof turn.confidence === "number" ? Math.round(turn.confidence * 100) + "%" : "—"));
      return tr;
    }));

    $("notes").replaceChildren(...t.notes.map((n) => {
      const li = el("li", "note");
      li.appendChild(el("span", "note__who", agentName(n.author) + " · " + clock(n.ts)));
      li.appendChild(document.createTextNode(n.text));
      return li;
    }));

    $("transfer").disabled = !(t.mine || t.status === "queued");
    $("hand-back").disabled = !t.mine;
    $("close").disabled = !t.can_close;
    $("transfer-agent").disabled = $("transfer").disabled;
    $("transfer-skill").disabled = $("transfer").disabled;
  }

  function renderPhrases(phrases, mine) {
    $("phrases-box").hidden = !phrases.length || !mine;
    $("phrases").replaceChildren(...phrases.map((text) => {
      const b = el("button", "phrase secondary", text.length > 18 ? text.slice(0, 18) + "…" : text);
      b.type = "button";
      b.title = text;
      b.dataset.text = text;
      b.disabled = !mine;
      b.addEventListener("click", () => insertPhrase(text));
      return b;
    }));
  }

  function insertPhrase(text) {
    const box = $("reply");
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
  }

  async function loadTicket() {
    if (!selected) return;
    const id = selected;
    let data;
    try {
      data = await api("GET", "tickets/" + encodeURIComponent(id));
    } catch (err) {
      if (err.code === "unknown_ticket" && selected === id) clearSelection();
      else if (err.message !== "login") toast(err.message);
      return;
    }
    if (selected !== id) return;
    names = data.names || names;
    renderTicket(data.ticket);
    renderPhrases(data.phrases, data.ticket.mine);
  }

  function clearSelection() {
    selected = null;
    current = null;
    $("chat-empty").hidden = false;
    for (const id of ["chat-head", "messages", "composer-box", "context"]) $(id).hidden = true;
    $("chat").dataset.ticket = "";
  }

  function select(id) {
    if (selected !== id) $("reply").value = "";
    selected = id;
    act(loadTicket);
  }

  // ------------------------------------------------------------------ actions

  async function claim(id) {
    const data = await act(() => api("POST", "tickets/" + encodeURIComponent(id) + "/claim"));
    if (!data) { schedule("queue"); return; }
    toast("已接入，顾客会收到提示", "ok");
    selected = id;
    schedule("queue", "mine", "me", "ticket");
  }

  async function post(action, body, done) {
    if (!current) return null;
    const id = current.id;
    const data = await act(() => api("POST", "tickets/" + encodeURIComponent(id) + "/" + action, body));
    if (data && selected === id) renderTicket(data.ticket);
    if (data && done) done(data);
    return data;
  }

  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("reply").value;
    if (!text.trim()) { toast(ERRORS.empty); return; }
    $("send").disabled = true;
    const data = await post("message", { text }, () => { $("reply").value = ""; });
    $("send").disabled = !(current && current.mine);
    if (data) $("reply").focus();
  });

  $("reply").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  });

  $("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("note-text").value;
    if (!text.trim()) { toast(ERRORS.empty); return; }
    await post("note", { text }, () => { $("note-text").value = ""; toast("备注已添加（顾客看不到）", "ok"); });
  });

  $("transfer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const toAgent = $("transfer-agent").value || null;
    const toSkill = $("transfer-skill").value || null;
    if (!toAgent && !toSkill) { toast("请选择要转给的客服或技能组"); return; }
    await post("transfer", { to_agent: toAgent, to_skill: toSkill }, () => {
      toast("已转接", "ok");
      $("transfer-agent").value = "";
      $("transfer-skill").value = "";
      schedule("mine", "queue", "me");
    });
  });

  $("hand-back").addEventListener("click", () => post("hand_back", {}, () => {
    toast("已交还给机器人", "ok");
    schedule("mine", "me");
  }));

  $("close").addEventListener("click", () => post("close", {}, () => {
    toast("会话已结束，顾客会收到评价邀请", "ok");
    schedule("mine", "queue", "me");
  }));

  $("take-selected").addEventListener("click", () => { if (selected) claim(selected); });

  for (const b of document.querySelectorAll(".presence__btn")) {
    b.addEventListener("click", async () => {
      const data = await act(() => api("POST", "presence", { presence: b.dataset.presence }));
      if (data) { renderMe(data); toast("状态：" + PRESENCE[data.presence], "ok"); schedule("queue", "mine"); }
    });
  }

  $("profile-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const skills = Array.from(document.querySelectorAll('#profile-form input[name="skill"]:checked'), (x) => x.value);
    if (!skills.length) { toast("至少选择一个技能组"); return; }
    const capacity = parseInt($("capacity").value, 10);
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 50) { toast("接待上限需为 0-50 的整数"); return; }
    const data = await act(() => api("POST", "presence", { presence: myPresence, capacity, skills }));
    if (data) { renderMe(data); toast("已保存", "ok"); }
  });

  // ------------------------------------------------------------------ live updates

  const LOADERS = { queue: loadQueue, mine: loadMine, me: loadMe, agents: loadAgents, ticket: loadTicket };
  const pending = new Set();
  let timer = null;

  // Coalesce refreshes: a burst of events re-reads each panel once.
  function schedule(...panels) {
    for (const p of panels) pending.add(p);
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      const run = Array.from(pending);
      pending.clear();
      await Promise.all(run.map((p) => LOADERS[p]().catch((err) => {
        if (err.message !== "login") console.warn("refresh " + p + " failed:", err.message);
      })));
    }, 100);
  }

  function onEvent(f) {
    const k = f.kind;
    const mineToo = f.agent === me || (f.data && (f.data.from_agent === me || f.data.by === me));
    if (["ticket_opened", "ticket_assigned", "ticket_transferred", "ticket_closed", "handed_back",
         "left_message"].includes(k)) schedule("queue");
    if (k !== "presence" && k !== "ticket_opened" && (mineToo || k !== "note_added")) schedule("mine");
    if (k === "presence") { schedule("agents"); if (f.agent === me) schedule("me"); }
    if (mineToo && k !== "note_added") schedule("me", "agents");
    if (f.ticket && f.ticket === selected) schedule("ticket");
    if (k === "ticket_opened") toast("新的转人工：" + (f.data.shopper_name || "顾客") + (f.data.summary ? " · " + f.data.summary : ""), "info");
    if (k === "ticket_assigned" && f.agent === me && f.data.auto) toast("系统为你分配了一位顾客", "info");
    if (k === "ticket_transferred" && f.agent === me && f.data.by !== me) toast("同事转给你一位顾客", "info");
  }

  function setConn(state) {
    const box = $("conn");
    box.dataset.state = state;
    box.textContent = { connecting: "连接中…", online: "实时连接正常", offline: "连接断开，正在重连…" }[state];
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    setConn("connecting");
    ws = new WebSocket(proto + "://" + location.host + "/console/ws");
    ws.onopen = () => { retry = 500; };
    ws.onmessage = (ev) => {
      if (ev.data === "pong") return;
      let f;
      try { f = JSON.parse(ev.data); } catch (err) { return; }
      if (f.type === "hello") { setConn("online"); schedule("queue", "mine", "me", "agents", "ticket"); }
      else if (f.type === "event") onEvent(f);
      else if (f.type === "resync") schedule("queue", "mine", "me", "agents", "ticket");
    };
    ws.onclose = () => {
      setConn("offline");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  // Tick waiting times every second, from the server's clock.
  setInterval(() => {
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = duration(now() - Number(node.dataset.since));
    }
  }, 1000);
  // A safety net for events missed while the socket was down (pub/sub keeps nothing).
  setInterval(() => schedule("queue", "mine", "me"), 20000);

  schedule("queue", "mine", "me", "agents");
  connect();
})();
