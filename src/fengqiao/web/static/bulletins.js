// 每日通报: the reader's area's last 30 days, each issued bulletin with its 文号 and exports (a
// day not issued yet opens as a draft built on request), and the reader's subscription.
(function () {
  "use strict";

  const { api, h, fill, toast, problemText } = FQ;
  const page = document.getElementById("bulletins-page");
  if (!page) return;
  const form = document.getElementById("subscription");
  const stateText = document.getElementById("subscription-state");
  const off = document.getElementById("unsubscribe");
  const CHANNEL_NAME = FQ.labels("channels");

  function showSubscription(s) {
    stateText.textContent = s.subscribed
      ? "已订阅（" + s.channels.map((c) => CHANNEL_NAME[c] || c).join("、") + "）"
      : "未订阅：订阅后每天早上收到前一日通报";
    off.hidden = !s.subscribed;
    document.getElementById("subscribe").textContent = s.subscribed ? "更新订阅" : "订阅每日通报";
    form.querySelectorAll("input[name=channels]").forEach((box) => {
      box.checked = s.subscribed ? s.channels.includes(box.value) : box.value === "app";
    });
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const channels = [...form.querySelectorAll("input[name=channels]:checked")].map((b) => b.value);
    try {
      showSubscription(await api("/bulletins/subscription", { method: "PUT", json: { channels } }));
      toast("已订阅每日通报", "ok");
    } catch (error) {
      FQ.showErrors(form, error);
    }
  });
  off.addEventListener("click", async () => {
    try {
      await api("/bulletins/subscription", { method: "DELETE" });
      showSubscription({ subscribed: false, channels: [] });
      toast("已取消订阅", "ok");
    } catch (error) {
      toast(problemText(error), "error");
    }
  });

  // An issued day names its 文号 and when it was issued; a day not issued yet opens as a draft.
  function state(d) {
    if (!d.generated_at) return h("span", { class: "muted" }, "未签发（打开时生成草稿）");
    return [h("strong", { class: "doc-number" }, d.number || "已生成"), "　" + FQ.short(d.generated_at) + " 签发"];
  }

  (async () => {
    try {
      showSubscription(await api("/bulletins/subscription"));
      const days = await api("/bulletins?days=30");
      fill(document.querySelector("#bulletin-table tbody"), days.map((d) => h("tr", { dataset: { day: d.day } },
        h("td", {}, d.day),
        h("td", {}, state(d)),
        h("td", { class: "num" }, d.generated_at ? d.recipients + " 条" : "—"),
        h("td", {}, h("a", { href: d.links.html, target: "_blank", rel: "noopener", class: "html-link" }, "查看")),
        h("td", {}, h("a", { href: d.links.pdf, download: "bulletin-" + d.day + ".pdf", class: "pdf-link" }, "PDF")),
        h("td", {}, h("a", { href: d.links.xlsx, download: "bulletin-" + d.day + ".xlsx" }, "Excel")))));
      document.getElementById("bulletin-table").dataset.loaded = "true";
    } catch (error) {
      toast(problemText(error), "error");
    }
  })();
})();
