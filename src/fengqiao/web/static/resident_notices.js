// 通知 in the residents' app (/r/notices): today's notices of the resident's area, or, without
// sign-in, the district's and a chosen village's. Text shown as text; images from the public
// route of notices shown today.
(function () {
  "use strict";

  const { api, h, fill } = FQ;
  const $ = (id) => document.getElementById(id);
  const list = $("notice-list");
  const chooser = $("notice-village");
  if (!list || !chooser) return;

  function day(iso) {
    return String(iso || "").replace(/^(\d{4})-(\d{2})-(\d{2}).*$/, "$1年$2月$3日");
  }

  function card(n) {
    return h("li", { class: "r-card r-notice", dataset: { id: n.id } },
      h("h3", { class: "r-notice-title" }, n.title),
      h("div", { class: "r-muted" }, n.area + " · 有效期至 " + day(n.valid_to)),
      h("p", { class: "r-notice-text" }, n.text),
      n.images.length ? h("div", { class: "r-notice-images" }, n.images.map((img, i) =>
        h("img", { src: img.url, alt: n.title + " 图片 " + (i + 1), loading: "lazy", width: img.width, height: img.height }))) : null);
  }

  // Only the village chosen last is shown: a slower answer for one chosen before is dropped.
  const loads = FQ.latest();

  async function load() {
    const current = loads();
    const village = chooser.value;
    let data;
    try {
      data = await api("/public/notices" + (village ? "?village=" + encodeURIComponent(village) : ""), { noRedirect: true });
    } catch (error) {
      if (!current()) return;
      fill(list, h("li", { class: "r-card r-muted" }, "通知加载失败，请稍后重试"));
      return;
    }
    if (!current()) return;
    $("notice-area").textContent = "当前显示：" + data.area.name + "的通知";
    fill(list, data.items.length ? data.items.map(card) : h("li", { class: "r-card r-muted empty" }, "今天没有新的通知"));
    list.dataset.area = String(data.area.id);
  }

  async function places() {
    try {
      const towns = await api("/public/notices/places", { noRedirect: true });
      chooser.append(...towns.map((t) => h("optgroup", { label: t.name },
        h("option", { value: t.id }, t.name + "（全镇街）"),
        t.villages.map((v) => h("option", { value: v.id }, v.name)))));
    } catch (_error) {
      // The chooser stays with the default area; the notices still load.
    }
  }

  // 我的消息 (signed in only): the resident's inbox, each step of their reports in plain words;
  // a tap marks it read and opens the report.
  const inbox = $("r-message-list");

  function message(m) {
    const item = h("li", { class: "r-card r-message" + (m.read_at ? "" : " is-unread"), dataset: { id: m.id } },
      h("a", { href: m.path ? m.path : "/r/reports" },
        h("strong", {}, m.title), h("p", {}, m.body.replace(/^【枫桥】/, "")), h("span", { class: "r-muted" }, FQ.time(m.created_at))));
    item.querySelector("a").addEventListener("click", async (event) => {
      if (m.read_at) return;
      event.preventDefault();
      try {
        await api("/me/notifications/" + m.id + "/read", { method: "POST" });
      } catch (_error) {
        // Opening the report matters more than the mark.
      }
      location.assign(m.path ? m.path : "/r/reports");
    });
    return item;
  }

  async function messages() {
    let data;
    try {
      data = await api("/me/notifications?limit=20");
    } catch (_error) {
      fill(inbox, h("li", { class: "r-card r-muted" }, "消息加载失败，请稍后重试"));
      return;
    }
    const badge = $("r-unread");
    badge.hidden = !data.unread;
    badge.textContent = data.unread ? data.unread + " 条未读" : "";
    fill(inbox, data.items.length ? data.items.map(message) : h("li", { class: "r-card r-muted empty" }, "暂无消息"));
  }

  chooser.addEventListener("change", load);
  places();
  load();
  if (inbox) messages();
})();
