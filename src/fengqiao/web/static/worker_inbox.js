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

  // 协办: a part the unit assists with (GET /event-parts), as a card of its own: 协办签收, then
  // 协办反馈 with the result and photos, as the lead's feedback.
  async function partStep(p, card, body, form) {
    FQ.clearErrors(form);
    try {
      let version = p.event_version;
      if (body.action === "feedback_part") {
        const photos = await card.picker.ready();
        if (!body.result) return FQWorker.refuse(form, "请填写协办情况", "result");
        if (!photos.length) return FQWorker.refuse(form, "请拍摄处置后照片", "photos");
        const position = FQWorker.position() || (await FQWorker.currentFix());
        const stored = await FQPhotos.upload(p.event_id, "after", photos, position);
        version = (await api("/events/" + p.event_id)).version;
        body.attachment_ids = stored.map((a) => a.id);
      }
      const done = await api("/events/" + p.event_id + "/transitions", { method: "POST",
        json: Object.assign({ version: version }, body), noRedirect: true });
      toast((body.action === "sign_part" ? "已签收协办：" : "已反馈协办：") + done.code, "ok");
      load();
    } catch (error) {
      FQ.showErrors(form, error);
    }
  }

  function buildPart(p) {
    const card = { version: p.event_version, picker: null };
    let action;
    if (p.status === "dispatched") {
      action = h("div", { class: "sign-form" });
      action.append(h("button", { type: "button", class: "btn btn-primary",
        onclick: () => partStep(p, card, { action: "sign_part" }, action) }, "协办签收"),
      h("p", { class: "form-error", role: "alert", hidden: true }));
    } else {
      const pickerRoot = FQPhotos.pickerNode({ cameraText: "拍摄协办照片", small: true });
      card.picker = FQPhotos.attach(pickerRoot, () => ({ position: FQWorker.position(), address: p.event_address,
        grid: p.event_grid ? p.event_grid.name : "" }));
      action = h("form", { class: "task-form feedback-form", novalidate: true },
        h("textarea", { name: "result", maxlength: 4000, rows: 2, placeholder: "协办情况，如：已配合取缔占道摊位" }),
        pickerRoot, h("p", { class: "form-error", role: "alert", hidden: true }),
        h("button", { type: "submit", class: "btn btn-primary" }, "提交协办反馈"));
      action.addEventListener("submit", (ev) => {
        ev.preventDefault();
        partStep(p, card, { action: "feedback_part", result: action.elements.result.value.trim() }, action);
      });
    }
    card.node = h("li", { class: "task inbox-card part-card", dataset: { id: p.event_id, part: p.status } },
      h("div", { class: "task-head" }, h("h3", {}, p.event_title), " ", h("span", { class: "tag" }, "协办"),
        " ", FQ.lightBadge(p.light)),
      h("div", { class: "muted" }, p.event_code + " · " + FQ.label("partStatus", p.status) +
        (p.due_at ? " · 协办时限 " + short(p.due_at) + "（" + remaining(p.due_at) + "）" : "")),
      h("div", { class: "place" }, "地址：" + (p.event_address || "未填写") +
        (p.event_grid ? " · " + p.event_grid.name : ""), " ",
        h("a", { href: "/events/" + p.event_id }, "详情")),
      action);
    return card;
  }

  // The list in the server's order, keeping a card whose event has not moved (a result typed,
  // photos taken stay put); the unit's open 协办 parts after its own events.
  async function load() {
    let page;
    let parts = { items: [] };
    try {
      page = await api("/events" + FQ.query({ task: "inbox", size: 50 }));
      parts = await api("/event-parts" + FQ.query({ status: "open", size: 50 })).catch(() => parts);
    } catch (_err) {
      return;
    }
    const shown = page.items.map((e) => {
      const known = cards.get(e.id);
      if (!known || known.version !== e.version) cards.set(e.id, build(e));
      return cards.get(e.id);
    });
    for (const p of parts.items) {
      const key = "p" + p.event_id;
      const known = cards.get(key);
      if (!known || known.version !== p.event_version) cards.set(key, buildPart(p));
      shown.push(cards.get(key));
    }
    const ids = new Set([...page.items.map((e) => e.id), ...parts.items.map((p) => "p" + p.event_id)]);
    for (const id of cards.keys()) if (!ids.has(id)) cards.delete(id);
    $("inbox-count").textContent = shown.length ? shown.length + " 件" : "";
    FQ.fill(list, ...(shown.length ? shown.map((c) => c.node) : [h("li", { class: "muted" }, "本单位暂无待办事件")]));
    FQWorker.taskBadge();
  }

  document.addEventListener("fq:tasks", load);
})();
