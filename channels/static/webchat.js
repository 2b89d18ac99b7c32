// The web chat: sends each message to /api/v1/messages and shows the outcome in the form its action
// needs (choices as buttons, the ticket number with a copy button, emergencies as an alert with tel:
// links), and looks up a ticket's progress with /api/v1/tickets/<number>. Plain JavaScript, no build step.
(function () {
  "use strict";

  var SENDER_KEY = "hotline-sender";
  var TIMEOUT_MS = 30000;
  var TEXT = {
    network: "网络连接失败，消息没有发出。您输入的内容还在输入框里，请检查网络后再试，或拨打12345热线。",
    busy: "系统繁忙，暂时无法处理，请稍后再试，或拨打12345热线。",
    tooLarge: "内容太长了，请精简后再发送。",
    tooMany: "您发送得太频繁了，请稍等片刻再试。",
    refused: "消息没有发送成功，请稍后再试，或拨打12345热线。",
    unsent: "未发送成功",
    clarify: "您想咨询的是以下哪一项？请点选：",
    clarifyNone: "如果都不是，请再详细描述一下您的问题。",
    emergency: "紧急情况",
    ticketLabel: "工单号",
    copy: "复制工单号",
    copied: "已复制",
    copyFailed: "复制失败，请长按工单号手动复制",
    lookupAsk: "查询工单 {number} 的办理进度",
    lookupNumber: "请输入正确的工单号（数字）。",
    lookupCheck: "电话号码后四位应为4位数字。",
    sending: "发送中…",
    send: "发送"
  };

  var log = document.getElementById("log");
  var status = document.getElementById("status");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var lookupForm = document.getElementById("lookup");
  var lookupNumber = document.getElementById("lookup-number");
  var lookupCheck = document.getElementById("lookup-check");
  var lookupError = document.getElementById("lookup-error");

  var sending = false;
  var lookingUp = false;
  // A message whose reply never arrived. Sent again it keeps its id, so a POST that did reach the server
  // is answered from there and creates nothing twice.
  var unsent = null;

  // ------------------------------------------------------------ storage and ids

  var memory = {};  // when the browser refuses storage (some private modes) the id lasts for this page

  function load(key) {
    try {
      return window.localStorage.getItem(key) || memory[key] || null;
    } catch (e) {
      return memory[key] || null;
    }
  }

  function save(key, value) {
    memory[key] = value;
    try { window.localStorage.setItem(key, value); } catch (e) { /* kept in memory */ }
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; a hotline served over plain HTTP still gets random v4 ids.
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // ------------------------------------------------------------ talking to the server

  // Resolves to {status, body} for every HTTP answer (body null when it is not JSON, e.g. a proxy's
  // error page); status 0 means the request never got an answer.
  function call(url, options) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    if (controller) { options.signal = controller.signal; }
    return fetch(url, options).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        return { status: r.status, body: body };
      });
    }).catch(function () {
      return { status: 0, body: null };
    }).then(function (result) {
      clearTimeout(timer);
      return result;
    });
  }

  function failure(result) {
    if (result.status === 0) { return TEXT.network; }
    var said = result.body && typeof result.body.error === "string" && result.body.error;
    if (result.status === 413) { return TEXT.tooLarge; }
    if (result.status === 429) { return TEXT.tooMany; }
    if (result.status >= 500) { return said || TEXT.busy; }
    return said || TEXT.refused;
  }

  // ------------------------------------------------------------ the conversation

  function bubble(who, extraClass) {
    var div = document.createElement("div");
    div.className = "msg " + who + (extraClass ? " " + extraClass : "");
    log.appendChild(div);
    return div;
  }

  function para(parent, text, className) {
    var p = document.createElement("p");
    if (className) { p.className = className; }
    p.textContent = text;
    parent.appendChild(p);
    return p;
  }

  function reveal(el) {
    el.scrollIntoView({ block: "nearest" });
  }

  function announce(text) {
    status.textContent = "";
    // A fresh text node after a tick makes screen readers announce the same words twice in a row.
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function closeOldChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".choices button"), function (b) { b.disabled = true; });
  }

  function showChoices(div, candidates) {
    para(div, TEXT.clarify);
    var box = document.createElement("div");
    box.className = "choices";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "可选的问题");
    candidates.forEach(function (c, i) {
      var b = document.createElement("button");
      var number = String(i + 1);
      b.type = "button";
      b.textContent = number + ". " + c.question;
      b.addEventListener("click", function () {
        // The pipeline picks a clarify choice by its number; the citizen sees the question they chose.
        send(number, b.textContent).then(function (sent) {
          if (sent) { b.classList.add("chosen"); }
        });
      });
      box.appendChild(b);
    });
    div.appendChild(box);
    para(div, TEXT.clarifyNone, "aside");
  }

  function showEmergency(div, outcome) {
    para(div, TEXT.emergency, "alert-title");
    para(div, outcome.reply);
    var lines = (outcome.transfer_all && outcome.transfer_all.length) ? outcome.transfer_all : [outcome.transfer_to];
    var calls = document.createElement("div");
    calls.className = "calls";
    lines.forEach(function (line, i) {
      // a utility line without a number (004 第十条(一)) has only the guidance in the reply
      if (!line || !/^[0-9+]+$/.test(line)) { return; }
      var a = document.createElement("a");
      a.href = "tel:" + line;
      a.className = "call" + (i === 0 ? " primary" : "");
      a.textContent = "拨打 " + line;
      calls.appendChild(a);
    });
    div.appendChild(calls);
  }

  function showTicket(div, number) {
    var card = document.createElement("div");
    card.className = "ticket-card";
    var label = document.createElement("span");
    label.className = "ticket-label";
    label.textContent = TEXT.ticketLabel;
    var strong = document.createElement("strong");
    strong.className = "ticket-number";
    strong.textContent = number;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = TEXT.copy;
    button.setAttribute("aria-label", TEXT.copy + " " + number);
    button.addEventListener("click", function () { copy(number, button); });
    card.appendChild(label);
    card.appendChild(strong);
    card.appendChild(button);
    div.appendChild(card);
    if (!lookupNumber.value) { lookupNumber.value = number; }
  }

  function show(outcome) {
    closeOldChoices();
    var action = outcome.action;
    var div = bubble("bot", action);
    // a clarify list, or the same list said again ("重复一遍", action "move")
    if ((action === "clarify" || action === "move") && outcome.candidates && outcome.candidates.length) {
      showChoices(div, outcome.candidates);
    } else if (action === "transfer") {
      showEmergency(div, outcome);
    } else {
      para(div, outcome.reply);
    }
    if (outcome.ticket && outcome.ticket.number) {
      showTicket(div, outcome.ticket.number);
    }
    reveal(div);
  }

  function setSending(on) {
    sending = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
    sendButton.setAttribute("aria-disabled", on ? "true" : "false");
    sendButton.textContent = on ? TEXT.sending : TEXT.send;
  }

  // Sends one message; resolves to whether the server answered it.
  function send(text, shown) {
    if (sending) { return Promise.resolve(false); }
    setSending(true);
    var id = unsent && unsent.text === text ? unsent.id : newId();
    unsent = { text: text, id: id };
    var mine = bubble("me");
    para(mine, shown || text);
    reveal(mine);
    var body = { channel: "web", text: text, message_id: id };
    var sender = load(SENDER_KEY);
    if (sender) { body.sender = sender; }
    return call("/api/v1/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (result) {
      setSending(false);
      var outcome = result.body;
      if (result.status === 200 && outcome && typeof outcome.reply === "string") {
        unsent = null;
        if (typeof outcome.sender === "string" && outcome.sender) { save(SENDER_KEY, outcome.sender); }
        show(outcome);
        var focused = document.activeElement;
        if (focused && focused.disabled) { input.focus({ preventScroll: true }); }
        return true;
      }
      mine.classList.add("failed");
      para(mine, TEXT.unsent, "note");
      var error = bubble("bot", "error");
      para(error, failure(result));
      reveal(error);
      return false;
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var typed = input.value;
    var text = typed.trim();
    if (!text) { input.focus(); return; }
    send(text).then(function (sent) {
      // What the citizen typed stays in the box until the server has it.
      if (sent && input.value === typed) { input.value = ""; }
    });
  });

  input.addEventListener("keydown", function (e) {
    // Enter while an input method is composing picks the characters; it must not send.
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) { return; }
    e.preventDefault();
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  // ------------------------------------------------------------ copying the ticket number

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(text, button) {
    var attempt = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text).then(function () { return true; }, function () { return legacyCopy(text); })
      : Promise.resolve(legacyCopy(text));
    attempt.then(function (ok) {
      button.focus({ preventScroll: true });
      button.textContent = ok ? TEXT.copied : TEXT.copyFailed;
      announce(ok ? TEXT.copied + " " + text : TEXT.copyFailed);
      setTimeout(function () { button.textContent = TEXT.copy; }, 4000);
    });
  }

  // ------------------------------------------------------------ ticket progress

  function invalid(field, message) {
    field.setAttribute("aria-invalid", "true");
    lookupError.textContent = message;
    field.focus();
  }

  lookupForm.addEventListener("submit", function (e) {
    e.preventDefault();
    if (lookingUp) { return; }
    var number = lookupNumber.value.replace(/\s+/g, "");
    var check = lookupCheck.value.replace(/\s+/g, "");
    lookupNumber.removeAttribute("aria-invalid");
    lookupCheck.removeAttribute("aria-invalid");
    lookupError.textContent = "";
    if (!/^[0-9]{6,20}$/.test(number)) { invalid(lookupNumber, TEXT.lookupNumber); return; }
    // The last four digits are the proof for a ticket registered elsewhere; this browser's own tickets
    // are proven by its sender id.
    if (check && !/^[0-9]{4}$/.test(check)) { invalid(lookupCheck, TEXT.lookupCheck); return; }
    lookingUp = true;
    lookupForm.setAttribute("aria-busy", "true");
    var mine = bubble("me");
    para(mine, TEXT.lookupAsk.replace("{number}", number));
    reveal(mine);
    var query = [];
    if (check) { query.push("check=" + encodeURIComponent(check)); }
    var sender = load(SENDER_KEY);
    if (sender) { query.push("sender=" + encodeURIComponent(sender)); }
    var url = "/api/v1/tickets/" + encodeURIComponent(number) + (query.length ? "?" + query.join("&") : "");
    call(url, { headers: { "Accept": "application/json" } }).then(function (result) {
      lookingUp = false;
      lookupForm.setAttribute("aria-busy", "false");
      var body = result.body;
      var div;
      if (result.status === 200 && body && (body.reply || body.stage_text)) {
        div = bubble("bot", "progress");
        para(div, body.reply || (TEXT.ticketLabel + " " + number + "：" + body.stage_text));
      } else if (result.status === 404 && body && body.error) {
        div = bubble("bot", "not-found");
        para(div, body.error);
      } else {
        div = bubble("bot", "error");
        para(div, failure(result));
      }
      reveal(div);
    });
  });
}());
