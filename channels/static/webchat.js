// The web chat: posts each message to /api/v1/messages and shows the outcome.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var input = document.getElementById("text");
  var sender = sessionStorage.getItem("hotline-sender");
  if (!sender) {
    sender = "web-" + Math.random().toString(36).slice(2, 14);
    sessionStorage.setItem("hotline-sender", sender);
  }

  function bubble(text, who, extraClass) {
    var div = document.createElement("div");
    div.className = "msg " + who + (extraClass ? " " + extraClass : "");
    div.textContent = text;
    log.appendChild(div);
    div.scrollIntoView({ block: "end" });
    return div;
  }

  function show(outcome) {
    var reply = outcome.reply;
    if (outcome.action === "clarify" && outcome.candidates) {
      reply = "您想咨询的是以下哪一项？";
    }
    var div = bubble(reply, "bot", outcome.action);
    if (outcome.ticket) {
      var t = document.createElement("span");
      t.className = "ticket";
      t.textContent = "工单号 " + outcome.ticket.number;
      div.appendChild(t);
    }
    if (outcome.action === "clarify" && outcome.candidates) {
      var box = document.createElement("div");
      box.className = "choices";
      outcome.candidates.forEach(function (c, i) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = (i + 1) + ". " + c.question;
        b.addEventListener("click", function () { send(String(i + 1), c.question); });
        box.appendChild(b);
      });
      div.appendChild(box);
    }
  }

  function send(text, shown) {
    bubble(shown || text, "me");
    fetch("/api/v1/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ channel: "web", sender: sender, text: text })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) { bubble(res.body.error || "系统繁忙，请稍后再试。", "bot"); return; }
      show(res.body);
    }).catch(function () {
      bubble("网络连接失败，请检查网络后重试，或拨打12345。", "bot");
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  bubble("您好，这里是12345政务服务便民热线在线服务。请问有什么可以帮您？", "bot");
}());
