// 宣传 (/notices/manage): draft and publish notices to an area of the caller's scope (with up
// to four images), withdraw them, and follow the leaflet campaigns' coverage per grid. Every
// user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, short, formData, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("notices-page");
  if (!page) return;
  const canWrite = page.dataset.write === "1";
  const STATUS = FQ.labels("noticeStatus");
  const KIND = FQ.labels("orgLevels");

  function day(iso) {
    return String(iso || "").replace(/^(\d{4})-(\d{2})-(\d{2}).*$/, "$1年$2月$3日");
  }

  // A day in Asia/Shanghai (the server's day of validity), whatever the browser's zone.
  const DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
  function localDay(offset) {
    return DAY.format(new Date(Date.now() + (offset || 0) * 86400000));
  }

  // The areas the caller may publish to: their own and those below (the tree, two levels down).
  async function areas() {
    const tree = await api("/org/tree?depth=2");
    const out = [];
    (function walk(node, depth) {
      out.push(h("option", { value: node.id }, "　".repeat(depth) + node.name + "（" + (KIND[node.kind] || "") + "）"));
      for (const child of node.children || []) walk(child, depth + 1);
    })(tree, 0);
    return out;
  }

  function step(n, action, extra) {
    return async () => {
      try {
        await api("/notices/" + n.id + "/" + action, { method: "POST", json: Object.assign({ version: n.version }, extra || {}) });
        toast("“" + n.title + "”" + (action === "publish" ? "已发布" : "已撤回"), "ok");
        notices.load(true);
        loadNoticeOptions();
      } catch (error) {
        toast(problemText(error), "error");
      }
    };
  }

  function withdrawForm(n) {
    const f = h("form", { class: "inline-step" },
      h("input", { type: "text", name: "reason", maxlength: 500, placeholder: "撤回原因（选填）", "aria-label": "撤回原因" }),
      h("button", { type: "submit", class: "btn btn-small btn-danger" }, "撤回"));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      step(n, "withdraw", formData(f))();
    });
    return f;
  }

  function row(n) {
    const who = n.status === "withdrawn" && n.withdrawn_by ? n.withdrawn_by.name + " 撤回于 " + short(n.withdrawn_at)
      : n.published_by ? n.published_by.name + " 发布于 " + short(n.published_at) : n.created_by.name + " 起草";
    return h("tr", { dataset: { id: n.id, status: n.status } },
      h("td", {}, h("strong", { class: "notice-title" }, n.title), h("div", { class: "muted notice-text" }, n.text)),
      h("td", {}, n.org.name),
      h("td", {}, day(n.valid_from), " 至 ", day(n.valid_to)),
      h("td", {}, h("span", { class: "notice-status is-" + n.status }, STATUS[n.status] || "")),
      h("td", {}, n.images.length ? n.images.map((img, i) => h("a", { href: img.url, target: "_blank", rel: "noopener" },
        h("img", { class: "notice-thumb", src: img.url, alt: "图片 " + (i + 1), width: 48, height: 36 }))) : "无"),
      h("td", { class: "muted" }, who),
      h("td", { class: "actions" }, canWrite ? [
        n.status === "draft" ? h("button", { type: "button", class: "btn btn-small btn-primary", onclick: step(n, "publish") }, "发布") : null,
        n.status !== "withdrawn" ? withdrawForm(n) : null,
      ] : null));
  }

  const notices = FQ.list({
    path: "/notices", form: $("filters"), target: document.querySelector("#notice-table tbody"),
    more: $("load-more"), row: row, size: 20, empty: "暂无通知",
  });

  async function uploadImages(notice, input) {
    if (!input || !input.files.length) return;
    const body = new FormData();
    for (const file of input.files) body.append("images", file);
    await api("/notices/" + notice.id + "/images", { method: "POST", body: body });
  }

  async function loadNoticeOptions() {
    const select = $("campaign-notice");
    if (!select) return;
    const data = await api("/notices?status=published&size=100");
    fill(select, h("option", { value: "" }, "无"), data.items.map((n) => h("option", { value: n.id }, n.title)));
  }

  if (canWrite) {
    const form = $("notice-form");
    const chosen = () => {
      const n = $("notice-images").files.length;
      $("notice-images-chosen").textContent = n ? "已选择 " + n + " 张图片" : "未选择图片";
    };
    $("notice-images").addEventListener("change", chosen);
    form.addEventListener("reset", () => setTimeout(chosen, 0));
    form.elements.valid_from.value = localDay(0);
    form.elements.valid_to.value = localDay(7);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = formData(form);
      body.publish = form.elements.publish.checked;
      $("notice-submit").disabled = true;
      let made = null;
      try {
        // Images are checked before the notice is kept: a draft first, the images, then publish.
        made = await api("/notices", { method: "POST", json: Object.assign({}, body, { publish: false }) });
        await uploadImages(made, $("notice-images"));
        if (body.publish) await api("/notices/" + made.id + "/publish", { method: "POST", json: { version: made.version + ($("notice-images").files.length ? 1 : 0) } });
        toast("通知已" + (body.publish ? "发布" : "保存为草稿"), "ok");
        form.reset();
        form.elements.valid_from.value = localDay(0);
        form.elements.valid_to.value = localDay(7);
        notices.load(true);
        loadNoticeOptions();
      } catch (error) {
        showErrors(form, error);
        if (made) notices.load(true);
      } finally {
        $("notice-submit").disabled = false;
      }
    });
    const campaignForm = $("campaign-form");
    campaignForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(campaignForm);
      try {
        const made = await api("/leaflets/campaigns", { method: "POST", json: formData(campaignForm) });
        toast("已新建发放：" + made.name, "ok");
        campaignForm.reset();
        loadCampaigns();
      } catch (error) {
        showErrors(campaignForm, error);
      }
    });
    areas().then((options) => {
      fill($("notice-area"), options);
      fill($("campaign-area"), options.map((o) => o.cloneNode(true)));
    }).catch((error) => toast(problemText(error), "error"));
    loadNoticeOptions().catch(() => {});
  }

  function rate(value) {
    return value == null ? "—" : (value * 100).toFixed(value < 0.01 ? 2 : 1) + "%";
  }

  // The coverage of the campaign clicked last: a slower answer for one clicked before is dropped.
  const coverages = FQ.latest();

  async function showCoverage(c) {
    const current = coverages();
    let data;
    try {
      data = await api("/leaflets/campaigns/" + c.id + "/coverage");
    } catch (error) {
      if (current()) toast(problemText(error), "error");
      return;
    }
    if (!current()) return;
    $("coverage-card").hidden = false;
    $("coverage-title").textContent = "覆盖情况：" + c.name;
    $("coverage-total").textContent = "共 " + data.grids.length + " 个网格，" + data.households + " 户，已发放 "
      + data.reached + " 户，覆盖率 " + rate(data.rate);
    fill(document.querySelector("#coverage-table tbody"), data.grids.length ? data.grids.map((g) => h("tr", { dataset: { grid: g.grid.id } },
      h("td", {}, g.grid.name), h("td", {}, g.village), h("td", {}, String(g.households)),
      h("td", {}, String(g.reached)), h("td", {}, rate(g.rate)))) : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "暂无网格")));
  }

  async function loadCampaigns() {
    const target = document.querySelector("#campaign-table tbody");
    let rows;
    try {
      rows = await api("/leaflets/campaigns");
    } catch (error) {
      fill(target, h("tr", {}, h("td", { colspan: 6, class: "muted" }, "查询失败")));
      return;
    }
    fill(target, rows.length ? rows.map((c) => h("tr", { dataset: { id: c.id } },
      h("td", {}, c.name), h("td", {}, c.org.name), h("td", {}, String(c.copies)),
      h("td", {}, String(c.delivered)), h("td", {}, rate(c.households ? c.delivered / c.households : null)),
      h("td", {}, h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => showCoverage(c) }, "各网格覆盖"))))
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "暂无宣传折页发放")));
  }

  notices.load(true);
  loadCampaigns();
})();
