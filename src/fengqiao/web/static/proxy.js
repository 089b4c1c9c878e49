// 代办: proxy requests the caller may read (a resident: their own), filtered and paged, with the
// summary counts; a row opens its card with the deadline, the trail and the steps the caller
// may take (each posts the version it read). Staff and residents file new requests here too.
(function () {
  "use strict";

  const { api, h, short, time, remaining, lightBadge, query, toast } = FQ;
  const $ = (id) => document.getElementById(id);
  const filters = $("filters");
  const target = document.querySelector("#proxy-table tbody");
  const detail = $("proxy-detail");
  // On a phone the rows are cards and a request opens over the list, where the finger is.
  const sheet = FQPhone.sheet($("proxy-sheet"));
  FQPhone.cards($("proxy-table"));
  const params = new URLSearchParams(location.search);
  let wanted = params.get("id");

  const STATUS = FQ.labels("proxyStatus");
  const ACTIONS = FQ.labels("proxyActions");
  const HINTS = {
    take: "接单后请尽快联系群众收取材料。",
    submit: "已将材料递交办理单位（可注明单位和经办人）。",
    complete: "填写办理结果，如：社保卡已制好并送达本人。",
    refuse: "请填写不予办理的理由，群众可以看到。",
    withdraw: "撤回后本次代办结束。",
  };

  function statusBadge(r) {
    const closed = r.status === "done" ? " status-closed" : r.status === "refused" || r.status === "withdrawn" ? " status-rejected" : "";
    return h("span", { class: "status" + closed }, r.status_name || STATUS[r.status] || r.status);
  }

  function deadline(r) {
    if (r.light) return [lightBadge(r.light), " ", h("span", { class: "muted" }, remaining(r.due_at))];
    return r.overdue ? h("span", { class: "status status-rejected" }, "超期办结") : h("span", { class: "muted" }, "—");
  }

  function row(r) {
    return h("tr", { dataset: { id: r.id }, class: String(r.id) === String(wanted) ? "is-selected" : "",
      onclick: () => open(r.id) },
      h("td", {}, r.code),
      h("td", {}, r.item.name),
      h("td", {}, r.resident_name, h("div", { class: "muted" }, r.resident_phone)),
      h("td", {}, r.village.name + " " + r.grid.name),
      h("td", {}, statusBadge(r)),
      h("td", {}, deadline(r)),
      h("td", {}, short(r.created_at)),
      h("td", {}, r.worker ? r.worker.name : "—"));
  }

  function actionForm(r, action) {
    const needsNote = action === "refuse";
    const f = h("form", { class: "action-form", dataset: { action: action } },
      h("strong", {}, ACTIONS[action]),
      h("span", { class: "muted" }, HINTS[action]),
      action === "complete" ? h("textarea", { name: "result", maxlength: 2000, required: true, placeholder: "办理结果" }) : null,
      action !== "complete" ? h("textarea", { name: "note", maxlength: 2000, required: needsNote,
        placeholder: needsNote ? "理由（必填）" : "说明（选填）" }) : null,
      h("p", { class: "form-error", hidden: true }),
      h("button", { type: "submit", class: "btn " + (action === "refuse" || action === "withdraw" ? "btn-danger" : "btn-primary") }, ACTIONS[action]));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = Object.assign({ action: action, version: r.version }, FQ.formData(f));
      try {
        const next = await api("/proxy-requests/" + r.id + "/transitions", { method: "POST", json: body });
        toast(r.code + " 已" + ACTIONS[action], "ok");
        render(next);
        list.load(true);
      } catch (error) {
        FQ.showErrors(f, error);
      }
    });
    return f;
  }

  function render(r) {
    wanted = r.id;
    for (const tr of target.querySelectorAll("tr")) tr.classList.toggle("is-selected", tr.dataset.id === String(r.id));
    FQ.fill(detail, h("div", { id: "proxy-card", dataset: { id: r.id, status: r.status } },
      h("h2", {}, r.item.name, " ", statusBadge(r)),
      h("p", { class: "muted" }, r.code + " · 法定时限 " + (r.time_limit_days ? r.time_limit_days + " 个工作日" : "即办")),
      h("dl", { class: "facts" },
        h("dt", {}, "群众"), h("dd", { id: "proxy-resident" }, r.resident_name + " " + r.resident_phone),
        r.resident_id_number ? [h("dt", {}, "身份证号"), h("dd", {}, r.resident_id_number)] : null,
        h("dt", {}, "所在网格"), h("dd", {}, r.town.name + " " + r.village.name + " " + r.grid.name),
        r.address ? [h("dt", {}, "地址"), h("dd", {}, r.address)] : null,
        r.note ? [h("dt", {}, "备注"), h("dd", {}, r.note)] : null,
        h("dt", {}, "网格员"), h("dd", {}, r.worker ? r.worker.name : "待接单"),
        h("dt", {}, "办结时限"), h("dd", { id: "proxy-due" }, time(r.due_at), " ", deadline(r)),
        r.result ? [h("dt", {}, "办理结果"), h("dd", { id: "proxy-result" }, r.result)] : null),
      h("h3", {}, "流转记录"),
      h("ol", { class: "timeline", id: "proxy-trail" }, r.trail.map((t) => h("li", {},
        h("div", {}, h("strong", {}, t.action_name), " ", t.actor ? t.actor.name : "系统",
          t.from_status ? h("span", { class: "muted" }, " " + (STATUS[t.from_status] || "") + " → " + (STATUS[t.to_status] || "")) : null),
        t.note ? h("div", { class: "description" }, t.note) : null,
        h("div", { class: "when" }, time(t.at))))),
      r.actions.length ? h("div", { class: "proxy-actions" }, r.actions.map((a) => actionForm(r, a))) : null));
  }

  async function open(id) {
    try {
      render(await api("/proxy-requests/" + id));
      sheet.open();
    } catch (error) {
      toast(FQ.problemText(error), "error");
    }
  }

  const list = FQ.list({
    path: "/proxy-requests", paging: "page", row: row, form: filters, target: target, more: $("load-more"),
    noun: "件", empty: "暂无代办事项",
    onQuery: (p) => {
      const exportLink = $("export-link");
      if (exportLink) exportLink.href = "/api/v1/proxy-requests/export.csv" + query(p);
    },
    onLoad: (data) => {
      $("sum-open").textContent = data.summary.open;
      $("sum-yellow").textContent = data.summary.yellow;
      $("sum-overdue").textContent = data.summary.overdue;
      $("sum-done").textContent = data.summary.done;
    },
  });

  // --- filing -----------------------------------------------------------------------------------

  function picker(input, hidden, options, fetcher) {
    let found = new Map();
    let timer = null;
    const searches = FQ.latest(); // the options of the words typed last, not of a slower search before
    input.addEventListener("input", () => {
      hidden.value = found.has(input.value) ? String(found.get(input.value)) : "";
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const current = searches();
        const text = input.value.trim();
        if (!text || found.has(input.value)) return;
        try {
          const answer = await fetcher(text);
          if (!current()) return;
          found = new Map(answer);
          FQ.fill(options, [...found.keys()].map((label) => h("option", { value: label })));
          if (found.has(input.value)) hidden.value = String(found.get(input.value));
        } catch (_error) { /* typing on keeps the old options */ }
      }, 200);
    });
    return (label, id) => { found.set(label, id); input.value = label; hidden.value = String(id); };
  }

  const createForm = $("create-form");
  if (createForm) {
    const pickItem = picker($("item-search"), $("item-id"), $("item-options"), async (text) => {
      const data = await api("/services/search" + query({ q: text, proxy: "true", size: 20 }));
      return data.items.map((i) => [i.name, i.id]);
    });
    if ($("grid-search")) {
      picker($("grid-search"), $("grid-id"), $("grid-options"), async (text) => {
        const data = await api("/org/units" + query({ kind: "grid", q: text, size: 20 }));
        return data.items.map((g) => [g.name + "（" + g.code + "）", g.id]);
      });
    }
    const itemParam = params.get("item");
    if (itemParam) {
      api("/api/v1/public/services/" + encodeURIComponent(itemParam)).then((item) => {
        pickItem(item.name, item.id);
        $("create-card").open = true;
      }).catch(() => {});
    }
    createForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = FQ.formData(createForm);
      if (!body.item_id) {
        FQ.showErrors(createForm, new FQ.ApiError(422, { detail_zh: "请从列表中选择服务事项",
          errors: [{ field: "item_id", reason_zh: "请从列表中选择服务事项" }] }));
        $("item-search").classList.add("is-invalid");
        return;
      }
      try {
        const created = await api("/proxy-requests", { method: "POST", json: body });
        toast("已提交代办 " + created.code, "ok");
        createForm.reset();
        $("create-card").open = false;
        await list.load(true);
        render(created);
        sheet.open();
      } catch (error) {
        FQ.showErrors(createForm, error);
      }
    });
  }

  list.load(true).then(() => { if (wanted) open(wanted); });
})();
