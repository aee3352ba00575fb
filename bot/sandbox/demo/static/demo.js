// The demo's chat page: be one of the cast, on Telegram or WeCom, and see what the bot sends.
// Everything a person or the bot wrote is put in the page as text nodes, never as HTML.
"use strict";

const LABELS = {
  zh_CN: {
    title: "hdbot 演示", push: "立即推送（倒计时、提醒）", who: "我是", telegram: "Telegram",
    wecom: "企业微信", send: "发送", type: "输入消息或 /命令…", photo: "上传照片",
    location: "发送位置", lat: "纬度", lon: "经度", geo: "使用浏览器定位", share: "发送位置",
    close: "关闭", private: "与机器人的私聊", app: "应用「隐患排查」", robot: "群机器人",
    robotOf: "群机器人消息（{title}）", closes: "{name} · {date} 收官", queued: "已排队：{what}",
    nothing: "没有新推送", inspector: "检查员", supervisor: "监管人员", admin: "管理员（市级群）",
    city: "全市", empty: "还没有消息。试试 /help 或 /report。", robotEmpty: "机器人还没有发消息。按「立即推送」。",
    note: "本页面在本机运行：模拟的 Telegram 与企业微信，真实的 hdbot。切换身份即可看到各人的对话。",
    pressed: "已选择：{what}", edited: "已编辑", members: "{n} 位成员", failed: "没有成功：{why}",
    kind_countdown: "倒计时", kind_overdue: "逾期汇总", kind_reminder: "提醒", kind_digest: "监管汇总",
    kind_escalation: "升级通报", kind_notice: "通知",
    file: "文件", geoFailed: "无法获取位置", locationSent: "［位置］{where}",
  },
  en: {
    title: "hdbot demo", push: "Run pushes now (countdown, reminders)", who: "I am", telegram: "Telegram",
    wecom: "WeCom", send: "Send", type: "Write a message or a /command…", photo: "Upload photos",
    location: "Share a location", lat: "Latitude", lon: "Longitude", geo: "Use my location",
    share: "Send location", close: "Close", private: "Private chat with the bot",
    app: "Application 隐患排查", robot: "Group robot", robotOf: "Group robot ({title})",
    closes: "{name} · closes {date}", queued: "Queued: {what}", nothing: "Nothing new to push",
    inspector: "inspector", supervisor: "supervisor", admin: "admin (city group)", city: "the city",
    empty: "No messages yet. Try /help or /report.", robotEmpty: "The robot has sent nothing yet. Press \"Run pushes now\".",
    note: "This page runs on your machine: a stand-in Telegram and WeCom, the real hdbot. Switch who you are to see each person's chats.",
    pressed: "Chosen: {what}", edited: "edited", members: "{n} members", failed: "That did not work: {why}",
    kind_countdown: "countdown", kind_overdue: "overdue digest", kind_reminder: "reminders",
    kind_digest: "supervisors' digests", kind_escalation: "escalations", kind_notice: "notices",
    file: "file", geoFailed: "Could not get the location", locationSent: "[location] {where}",
  },
};

const COLORS = ["#e0452b", "#2a7fd4", "#2b8a4b", "#8e44ad", "#d9822b"];
const state = { world: null, person: null, view: null, lastShown: "", lastWorld: "", lang: "zh_CN", stick: true };
const $ = (id) => document.getElementById(id);

function t(key, params) {
  let text = (LABELS[state.lang] || LABELS.en)[key] || (key.startsWith("kind_") ? key.slice(5) : key);
  for (const [name, value] of Object.entries(params || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : body instanceof FormData
    ? { method: "POST", body }
    : { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
  const response = await fetch(path, options);
  if (!response.ok) throw new Error((await response.text()) || response.statusText);
  return response.json();
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

function me() { return state.world.people.find((p) => p.key === state.person); }

// --- the side bar -------------------------------------------------------------------------

function applyLabels() {
  document.documentElement.lang = state.lang === "en" ? "en" : "zh-CN";
  for (const node of document.querySelectorAll("[data-label]")) node.textContent = t(node.dataset.label);
  for (const node of document.querySelectorAll("[data-title]")) node.title = t(node.dataset.title);
  for (const node of document.querySelectorAll("[data-placeholder]")) node.placeholder = t(node.dataset.placeholder);
  const campaign = state.world && state.world.campaign;
  $("campaign").textContent = campaign ? t("closes", { name: campaign.name, date: campaign.closing_date }) : "";
}

function renderSide() {
  const people = $("people");
  people.replaceChildren();
  state.world.people.forEach((p, index) => {
    people.append(el("button", {
      class: "person" + (p.key === state.person ? " on" : ""), type: "button", "data-person": p.key,
      onclick: () => choosePerson(p.key),
    },
    el("span", { class: "avatar", style: `background:${COLORS[index % COLORS.length]}`, text: p.name.slice(0, 1) }),
    el("span", { class: "who" }, el("span", { text: p.name }),
      el("span", { class: "role", text: `${t(p.role)} · ${p.unit || t("city")}` }))));
  });
  const person = me();
  const telegram = $("telegram-chats");
  telegram.replaceChildren(chatItem("private", "tg", t("private"), "@" + state.world.bot.username));
  for (const group of state.world.groups.filter((g) => person.groups.includes(g.key))) {
    telegram.append(chatItem(group.key, "tg", group.title, group.unit));
  }
  const wecom = $("wecom-chats");
  const city = state.world.groups[0];
  wecom.replaceChildren(
    chatItem("wecom", "wc", t("app"), person.wecom),
    chatItem("robot", "wc", t("robot"), city.title),
  );
}

function chatItem(key, front, title, kind) {
  const on = state.view && state.view.key === key;
  return el("button", {
    class: "chat-item" + (on ? " on" : ""), type: "button", "data-chat": key, onclick: () => openView(key),
  }, el("span", { class: `front ${front}`, text: front === "tg" ? "TG" : "企微" }),
  el("span", { class: "who" }, el("div", { text: title }), el("div", { class: "kind", text: kind })));
}

async function loadWorld() {
  const world = await api("/api/world");
  const person = world.people.find((p) => p.key === state.person) || world.people[0];
  const seen = JSON.stringify(world) + person.key;
  if (seen === state.lastWorld) return;  // nothing changed: keep the side bar as it is
  state.lastWorld = seen;
  state.world = world;
  state.person = person.key;
  state.lang = person.language;
  applyLabels();
  renderSide();
  if (state.view) openView(state.view.key);  // its title and labels in the language now
}

async function choosePerson(key) {
  state.person = key;
  sessionStorage.setItem("person", key);
  await loadWorld();
  openView(state.view ? state.view.key : "private");
}

function openView(key) {
  const person = me();
  if (key !== "private" && key !== "wecom" && key !== "robot" && !person.groups.includes(key)) key = "private";
  const group = state.world.groups.find((g) => g.key === key);
  if (key === "private") state.view = { key, front: "telegram", chat: person.chat, title: state.world.bot.name, sub: "@" + state.world.bot.username };
  else if (group) state.view = { key, front: "telegram", chat: group.chat, title: group.title, sub: group.unit };
  else if (key === "wecom") state.view = { key, front: "wecom", title: t("app"), sub: person.wecom };
  else state.view = { key, front: "robot", title: t("robotOf", { title: state.world.groups[0].title }), sub: "markdown" };
  $("chat-title").textContent = state.view.title;
  $("chat-sub").textContent = state.view.sub;
  document.querySelector("main.chat").classList.toggle("wecom", state.view.front !== "telegram");
  $("composer").hidden = state.view.front === "robot";
  $("location").hidden = true;
  state.lastShown = "";
  state.stick = true;
  renderSide();
  refresh();
}

// --- the chat -----------------------------------------------------------------------------

async function refresh() {
  const view = state.view;
  if (!view) return;
  let data;
  try {
    if (view.front === "telegram") data = await api(`/api/telegram/chat/${view.chat}`);
    else if (view.front === "wecom") data = await api(`/api/wecom/chat/${state.person}`);
    else data = await api("/api/wecom/robot");
  } catch (error) {
    return;
  }
  const shown = JSON.stringify(data) + state.lang;
  if (view !== state.view || shown === state.lastShown) return;
  state.lastShown = shown;
  const box = $("messages");
  box.replaceChildren(...(view.front === "telegram" ? telegramMessages(data.messages)
    : view.front === "wecom" ? data.messages.map(wecomMessage) : data.messages.map(robotMessage)));
  if (!data.messages.length) box.append(el("div", { class: "empty", text: t(view.front === "robot" ? "robotEmpty" : "empty") }));
  renderReplyKeyboard(view.front === "telegram" ? data.reply_keyboard : null);
  stickToBottom();
}

// The chat stays at its newest message unless the person scrolled up to read.
function stickToBottom() {
  if (!state.stick) return;
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function telegramMessages(messages) {
  const nodes = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message.album && message.photo) {
      const album = [message];
      while (i + 1 < messages.length && messages[i + 1].album === message.album) album.push(messages[++i]);
      nodes.push(telegramAlbum(album));
    } else {
      nodes.push(telegramMessage(message));
    }
  }
  return nodes;
}

function bubble(message, ...children) {
  const mine = !message.from_bot;
  const node = el("div", { class: "msg" + (mine ? " me" : ""), "data-id": message.id });
  if (mine && state.view.key !== "private" && message.sender) node.append(el("div", { class: "sender", text: message.sender }));
  node.append(...children.filter(Boolean));
  const when = message.date ? new Date(message.date * 1000).toLocaleTimeString(state.lang === "en" ? "en-GB" : "zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" }) : "";
  node.append(el("div", { class: "meta", text: (message.edited ? t("edited") + " · " : "") + when }));
  return node;
}

function telegramMessage(message) {
  const parts = [];
  if (message.photo) parts.push(el("img", { class: "photo", src: message.photo.url, alt: "" }));
  if (message.location) {
    const [lat, lon] = message.location;
    const label = message.venue ? `${message.venue.title}\n${message.venue.address}\n` : "";
    parts.push(el("div", { class: "map", text: `${label}${lat.toFixed(5)}, ${lon.toFixed(5)}` }));
  }
  if (message.document) {
    const doc = message.document;
    parts.push(el("a", { class: "doc", href: doc.url, download: doc.name, "data-document": doc.name },
      el("span", { class: "icon", text: "↓" }),
      el("span", {}, el("span", { text: doc.name }), el("small", { text: `${Math.ceil(doc.size / 1024)} KB · ${t("file")}` }))));
  }
  if (message.text) parts.push(formatted(message.text, message.entities || []));
  if (message.buttons) parts.push(inlineKeyboard(message));
  return bubble(message, ...parts);
}

function telegramAlbum(album) {
  const grid = el("div", { class: "album" });
  for (const item of album) grid.append(el("img", { src: item.photo.url, alt: "" }));
  const captioned = album.find((item) => item.text);
  return bubble(album[album.length - 1], grid, captioned ? formatted(captioned.text, captioned.entities || []) : null);
}

function inlineKeyboard(message) {
  const box = el("div", { class: "inline-keyboard" });
  for (const row of message.buttons) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      line.append(el("button", {
        class: "inline-btn", type: "button", "data-data": button.data || "", text: button.text,
        onclick: () => button.url ? window.open(button.url, "_blank", "noopener")
          : act(() => api("/api/telegram/press", { person: state.person, chat: state.view.chat, message: message.id, data: button.data })),
      }));
    }
    box.append(line);
  }
  return box;
}

// Telegram's entities (UTF-16 offsets, as JavaScript strings count) become nested elements.
const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre" };

function formatted(text, entities) {
  const body = el("div", { class: "body" });
  const cuts = new Set([0, text.length]);
  for (const e of entities) { cuts.add(e.offset); cuts.add(Math.min(text.length, e.offset + e.length)); }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(start, end));
    const covering = entities.filter((e) => e.offset <= start && e.offset + e.length >= end)
      .sort((a, b) => a.length - b.length);
    for (const e of covering) node = wrap(node, e, text.slice(start, end));
    body.append(node);
  }
  return body;
}

function wrap(node, entity, piece) {
  let outer;
  if (TAGS[entity.type]) outer = el(TAGS[entity.type]);
  else if (entity.type === "text_link" || entity.type === "url") {
    const href = entity.type === "url" ? piece : entity.url;
    outer = /^(https?|tg):/i.test(href || "") ? el("a", { href, target: "_blank", rel: "noopener" }) : el("span");
  } else if (entity.type === "spoiler") outer = el("span", { class: "spoiler" });
  else if (entity.type === "blockquote" || entity.type === "expandable_blockquote") outer = el("span", { class: "quote" });
  else if (entity.type === "bot_command") outer = el("span", { class: "cmd", onclick: () => sendText(piece) });
  else return node;
  outer.append(node);
  return outer;
}

function renderReplyKeyboard(rows) {
  const box = $("reply-keyboard");
  box.replaceChildren();
  box.hidden = !rows;
  for (const row of rows || []) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      line.append(el("button", {
        class: "reply-btn", type: "button", text: button.text, "data-location": button.location ? "1" : "",
        onclick: () => button.location ? openLocation(button.text) : act(() => api("/api/telegram/tap", { person: state.person, chat: state.view.chat, text: button.text })),
      }));
    }
    box.append(line);
  }
}

// --- WeCom --------------------------------------------------------------------------------

function wecomMessage(message) {
  if (!message.from_bot) {
    if (message.photo) return el("div", { class: "msg me" }, el("img", { class: "photo", src: message.photo, alt: "" }));
    const text = message.text || (message.location ? t("locationSent", { where: message.location.join(", ") }) : "");
    return el("div", { class: "msg me" }, el("div", { class: "body", text }));
  }
  if (message.kind === "template_card") return wecomCard(message.card);
  if (message.kind === "image") return el("div", { class: "msg" }, el("img", { class: "photo", src: message.url, alt: "" }));
  if (message.kind === "file") {
    const name = message.name || t("file");
    return el("div", { class: "msg" }, el("a", { class: "doc", href: message.url, download: name, "data-document": name },
      el("span", { class: "icon", text: "↓" }), el("span", { text: name })));
  }
  return el("div", { class: "msg" }, el("div", { class: "body", text: message.text || "" }));
}

function wecomCard(card) {
  const node = el("div", { class: "card" }, el("div", { class: "head", text: card.title }));
  if (card.desc) node.append(el("div", { class: "desc", text: card.desc }));
  if (card.text) node.append(el("div", { class: "text", text: card.text }));
  if (card.pressed) { node.append(el("div", { class: "pressed", text: t("pressed", { what: card.pressed }) })); return node; }
  const buttons = el("div", { class: "buttons" });
  for (const button of card.buttons) {
    buttons.append(el("button", {
      type: "button", text: button.text, "data-key": button.key,
      onclick: () => act(() => api("/api/wecom/press", { person: state.person, task_id: card.task_id, key: button.key })),
    }));
  }
  node.append(buttons);
  return node;
}

// WeCom's robot markdown: escaped first, then its few marks (headings, bold, colours, quotes, links).
function robotMessage(message) {
  const box = el("div", { class: "markdown" });
  for (const line of message.markdown.split("\n")) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const quote = /^>\s?(.*)$/.exec(line);
    const node = heading ? el("h" + Math.min(heading[1].length, 3)) : quote ? el("blockquote") : el("div");
    inlineMarkdown(node, heading ? heading[2] : quote ? quote[1] : line);
    if (!line.trim()) node.append(document.createElement("br"));
    box.append(node);
  }
  return box;
}

function inlineMarkdown(parent, text) {
  const pattern = /\*\*(.+?)\*\*|<font color="(info|comment|warning)">(.*?)<\/font>|\[([^\]]+)\]\((https?:[^)\s]+)\)|`([^`]+)`/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parent.append(document.createTextNode(text.slice(last, match.index)));
    if (match[1] !== undefined) { const b = el("b"); inlineMarkdown(b, match[1]); parent.append(b); }
    else if (match[2] !== undefined) { const span = el("span", { class: match[2] }); inlineMarkdown(span, match[3]); parent.append(span); }
    else if (match[4] !== undefined) parent.append(el("a", { href: match[5], target: "_blank", rel: "noopener", text: match[4] }));
    else parent.append(el("code", { text: match[6] }));
    last = match.index + match[0].length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

// --- acting -------------------------------------------------------------------------------

async function act(action) {
  state.stick = true;  // whoever acts wants to see the answer
  try {
    await action();
  } catch (error) {
    toast(t("failed", { why: error.message }));
  }
  setTimeout(refresh, 150);
  setTimeout(loadWorld, 600);
}

function sendText(text) {
  if (!text.trim()) return;
  if (state.view.front === "telegram") return act(() => api("/api/telegram/send", { person: state.person, chat: state.view.chat, text }));
  return act(() => api("/api/wecom/send", { person: state.person, text }));
}

let locationButton = null;

function openLocation(buttonText) {
  locationButton = buttonText || null;
  $("location").hidden = false;
}

function sendLocation() {
  const body = { person: state.person, chat: state.view.chat, latitude: $("lat").value, longitude: $("lon").value };
  $("location").hidden = true;
  if (state.view.front === "wecom") return act(() => api("/api/wecom/location", body));
  if (locationButton) return act(() => api("/api/telegram/tap", { ...body, text: locationButton }));
  return act(() => api("/api/telegram/location", body));
}

function uploadPhotos(files) {
  if (!files.length) return;
  const form = new FormData();
  form.append("person", state.person);
  form.append("chat", state.view.chat || "");
  for (const file of files) form.append("photo", file, file.name);
  const caption = $("text").value.trim();
  if (caption && state.view.front === "telegram") { form.append("caption", caption); $("text").value = ""; }
  const path = state.view.front === "telegram" ? "/api/telegram/photos" : "/api/wecom/photos";
  return act(() => api(path, form));
}

async function pushNow() {
  const button = $("push-now");
  button.disabled = true;
  try {
    const { queued } = await api("/api/push", {});
    const what = Object.entries(queued).map(([kind, n]) => `${t("kind_" + kind)} ${n}`).join(", ");
    toast(what ? t("queued", { what }) : t("nothing"));
  } catch (error) {
    toast(t("failed", { why: error.message }));
  } finally {
    button.disabled = false;
  }
}

function wire() {
  const box = $("messages");
  // Only the person's own scrolling decides whether the chat follows new messages: a redraw,
  // or a picture still taking its size, scrolls too, and must not stop the following.
  const touched = () => { state.touched = Date.now(); };
  for (const kind of ["wheel", "touchstart", "mousedown", "keydown"]) {
    box.addEventListener(kind, touched, { passive: true });
  }
  box.addEventListener("scroll", () => {
    if (Date.now() - (state.touched || 0) > 1500) return;
    state.stick = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  });
  // A picture that loads after the chat was drawn pushes it up: follow it down.
  box.addEventListener("load", stickToBottom, true);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    $("text").value = "";
    sendText(text);
  });
  $("photo-input").addEventListener("change", (event) => {
    uploadPhotos([...event.target.files]);
    event.target.value = "";
  });
  $("location-open").addEventListener("click", () => openLocation(null));
  $("location-close").addEventListener("click", () => { $("location").hidden = true; });
  $("location-send").addEventListener("click", sendLocation);
  $("geo").addEventListener("click", () => {
    if (!navigator.geolocation) return toast(t("geoFailed"));
    navigator.geolocation.getCurrentPosition((where) => {
      $("lat").value = where.coords.latitude.toFixed(6);
      $("lon").value = where.coords.longitude.toFixed(6);
    }, () => toast(t("geoFailed")));
  });
  $("push-now").addEventListener("click", pushNow);
}

async function start() {
  wire();
  state.person = sessionStorage.getItem("person") || "inspector";
  for (;;) {
    try { await loadWorld(); break; } catch (error) { await new Promise((r) => setTimeout(r, 500)); }
  }
  openView("private");
  setInterval(refresh, 700);
  setInterval(loadWorld, 5000);
}

start();
