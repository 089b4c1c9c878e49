// A handler's 待办 on the phone: the unit's open events in the list API's inbox order (most
// urgent first), each with its light, a 督办 mark when a supervision order is open on it, and
// the step it waits for: 签收, then 反馈 with the result and photos taken on the spot (stamped,
// from the camera or the album, uploaded as 处置后 photos with the phone's position).
(function () {
  "use strict";

  const { api, h, short, toast, remaining } = FQ;
  const $ = (id) => document.getElementById(id);
  const list = $("inbox-list");
  if (!list) return;
  const cards = new Map(); // event id → {node, version, picker}

  // One step on `version`: the card's for 签收; for 反馈 the one after its own photo upload.
  function step(e, version, body) {
    return api("/events/" + e.id + "/transitions", { method: "POST",
      json: Object.assign({ version: version }, body), noRedirect: true });
  }

  async function sign(e, card) {
    const form = card.node.querySelector(".sign-form");
    FQ.clearErrors(form);
    try {
      const done = await step(e, e.version, { action: "sign" });
      toast("已签收：" + done.code, "ok");
      load();
    } catch (error) {
      FQ.showErrors(form, error);
    }
  }

  async function feedback(e, card, submit) {
    submit.preventDefault();
    const form = submit.currentTarget;
    FQ.clearErrors(form);
    const result = form.elements.result.value.trim();
    const photos = await card.picker.ready();
    if (!result) return FQWorker.refuse(form, "请填写处置结果", "result");
    if (!photos.length) return FQWorker.refuse(form, "请拍摄处置后照片", "photos");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const position = FQWorker.position() || (await FQWorker.currentFix());
      const stored = await FQPhotos.upload(e.id, "after", photos, position);
      const version = (await api("/events/" + e.id)).version; // the upload moved it on
      const done = await step(e, version, { action: "feedback", result: result,
        attachment_ids: stored.map((a) => a.id) });
      toast("已反馈：" + done.code + "，等待核查", "ok");
      card.picker.clear();
      load();
    } catch (error) {
      FQ.showErrors(form, error);
    } finally {
      button.disabled = false;
    }
  }

  function build(e) {
    const card = { version: e.version, picker: null };
    const actions = [];
    if (e.actions.includes("sign")) {
      actions.push(h("div", { class: "sign-form" },
        h("button", { type: "button", class: "btn btn-primary", onclick: () => sign(e, card) }, "签收"),
        h("p", { class: "form-error", role: "alert", hidden: true })));
    }
    if (e.actions.includes("feedback")) {
      const pickerRoot = FQPhotos.pickerNode({ cameraText: "拍摄处置照片", small: true });
      card.picker = FQPhotos.attach(pickerRoot, () => ({ position: FQWorker.position(), address: e.address,
        grid: e.grid.name }));
      actions.push(h("form", { class: "task-form feedback-form", novalidate: true, onsubmit: (ev) => feedback(e, card, ev) },
        h("textarea", { name: "result", maxlength: 4000, rows: 2, placeholder: "处置结果，如：已清理占道摊位并劝离" }),
        pickerRoot,
        h("p", { class: "form-error", role: "alert", hidden: true }),
        h("button", { type: "submit", class: "btn btn-primary" }, "提交反馈")));
    }
    card.node = h("li", { class: "task inbox-card", dataset: { id: e.id, status: e.status } },
      h("div", { class: "task-head" }, h("h3", {}, e.title), " ", FQ.lightBadge(e.light),
        e.urgent ? h("span", { class: "badge-urgent" }, "紧急") : null,
        e.supervised ? h("span", { class: "badge-supervised", title: "该事件有未办结的督办单" }, "督办") : null),
      h("div", { class: "muted" }, e.code + " · " + FQ.label("status", e.status) +
        (e.due_at ? " · 时限 " + short(e.due_at) + "（" + remaining(e.due_at) + "）" : "")),
      h("p", { class: "description" }, e.description || "（无描述）"),
      h("div", { class: "place" }, "地址：" + (e.address || "未填写") + " · " + e.grid.name, " ",
        h("a", { href: "/events/" + e.id }, "详情")),
      ...actions);
    return card;
  }

  // The list in the server's order, keeping a card whose event has not moved (a result typed,
  // photos taken stay put).
  async function load() {
    let page;
    try {
      page = await api("/events" + FQ.query({ task: "inbox", size: 50 }));
    } catch (_err) {
      return;
    }
    const shown = page.items.map((e) => {
      const known = cards.get(e.id);
      if (!known || known.version !== e.version) cards.set(e.id, build(e));
      return cards.get(e.id);
    });
    const ids = new Set(page.items.map((e) => e.id));
    for (const id of cards.keys()) if (!ids.has(id)) cards.delete(id);
    $("inbox-count").textContent = shown.length ? shown.length + " 件" : "";
    FQ.fill(list, ...(shown.length ? shown.map((c) => c.node) : [h("li", { class: "muted" }, "本单位暂无待办事件")]));
    FQWorker.taskBadge();
  }

  document.addEventListener("fq:tasks", load);
})();
