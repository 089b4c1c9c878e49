// The simple lists: supervision orders (with the unit's reply), the outbox (with resend) and the
// in-app messages (live over server-sent events). FQ.list loads them; each says where its rows
// come from and how a row looks.
(function () {
  "use strict";

  const { api, h, short, time, query, toast, T } = FQ;
  const page = document.getElementById("list-page");
  const form = document.getElementById("filters");

  const CHANNELS = FQ.labels("channels");
  const OUTBOX_STATUS = FQ.labels("outboxStatus");
  const TEMPLATES = FQ.labels("messageTemplates");

  function replyForm(order) {
    const f = h("form", { class: "inline-reply" },
      h("textarea", { name: "reply", required: true, maxlength: 4000, placeholder: "回复办理情况" }),
      h("p", { class: "form-error", hidden: true }),
      h("button", { type: "submit", class: "btn btn-small" }, "回复"));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/supervision-orders/" + order.id + "/reply", { method: "POST", json: FQ.formData(f) });
        toast("已回复督办单 " + order.code, "ok");
        list.load(true);
      } catch (error) {
        FQ.showErrors(f, error);
      }
    });
    return f;
  }

  const LISTS = {
    supervision: {
      path: "/supervision-orders", paging: "before",
      row: (o) => h("tr", { dataset: { id: o.id } },
        h("td", {}, h("code", {}, o.code)),
        h("td", {}, h("a", { href: "/events/" + o.event.id }, o.event.name || o.event.code)),
        h("td", {}, o.kind_name),
        h("td", {}, o.unit.name),
        h("td", { class: "description" }, o.requirement),
        h("td", {}, time(o.due_at), o.overdue ? [" ", h("span", { class: "light light-red" }, "逾期")] : null),
        h("td", {}, h("span", { class: "status" + (o.status === "replied" ? " status-closed" : "") }, o.status_name)),
        h("td", { class: "description" }, o.reply ? [o.reply, h("div", { class: "muted" },
          (o.replied_by ? o.replied_by.name : "") + " " + short(o.replied_at))]
          : page.dataset.canReply === "true" && o.status === "open" ? replyForm(o) : "—")),
      onQuery: (p) => {
        document.getElementById("export-link").href = "/api/v1/supervision-orders/export" + query(p);
      },
    },
    outbox: {
      path: "/outbox", paging: "none", size: 200,
      row: (m) => h("tr", { dataset: { id: m.id } },
        h("td", {}, m.id), h("td", {}, CHANNELS[m.channel] || m.channel), h("td", {}, m.recipient),
        h("td", {}, TEMPLATES[m.template] || m.template),
        h("td", {}, m.event_id ? h("a", { href: "/events/" + m.event_id }, "查看") : "—"),
        h("td", {}, h("span", { class: "status" + (m.status === "dead" ? " light-red" : m.status === "sent" ? " status-closed" : "") },
          OUTBOX_STATUS[m.status] || m.status)),
        h("td", { class: "num" }, m.attempts),
        h("td", { class: "description" }, m.error || ""),
        // A sent message is not sent twice; an expired reminder is not sent late.
        h("td", {}, m.status === "sent" || m.status === "expired" ? "" : h("button", { type: "button", class: "btn btn-small",
          onclick: async () => {
            try {
              await api("/outbox/" + m.id + "/resend", { method: "POST" });
              toast("已重新排队发送", "ok");
              list.load(true);
            } catch (error) {
              toast(FQ.problemText(error), "error");
            }
          } }, "重新发送"))),
    },
    messages: {
      path: "/me/notifications", paging: "before", empty: "暂无消息",
      onLoad: (data) => {
        unread = data.unread;
        showUnread();
      },
      row: (n) => message(n),
      target: document.getElementById("message-list"),
    },
  };

  let unread = 0;

  function showUnread() {
    document.getElementById("unread-count").textContent = unread ? unread + " 条未读" : "没有未读消息";
  }

  function message(n) {
    const item = h("li", { class: "message" + (n.read_at ? "" : " is-unread"), dataset: { id: n.id } },
      h("div", { class: "message-head" }, h("strong", {}, n.title), h("span", { class: "muted" }, short(n.created_at))),
      h("div", { class: "description" }, n.body),
      // The page it is about, on this server (a 代办 request, a warning, a bulletin, an event).
      /^\/(?!\/)/.test(n.path || "") ? h("a", { href: n.path, class: "btn btn-small" }, n.event_id ? "查看事件" : "查看") : null);
    item.addEventListener("click", async () => {
      if (item.classList.contains("is-unread")) {
        item.classList.remove("is-unread");
        unread = Math.max(0, unread - 1);
        showUnread();
        await api("/me/notifications/" + n.id + "/read", { method: "POST" }).catch(() => {});
      }
    });
    return item;
  }

  const kind = LISTS[page.dataset.list];
  const target = kind.target || document.querySelector("#list-table tbody");
  const list = FQ.list(Object.assign({ form: form, target: target, more: document.getElementById("load-more") }, kind));

  const readAll = document.getElementById("read-all");
  if (readAll) {
    readAll.addEventListener("click", async () => {
      await api("/me/notifications/read-all", { method: "POST" });
      list.load(true);
    });
    // New messages arrive live (the browser's one stream, shared with every tab: live.js).
    FQ.live.on("notification", (n) => {
      list.prepend(n);
      unread += 1;
      showUnread();
      toast("新消息：" + n.title);
    });
  }
  list.load(true);
})();
