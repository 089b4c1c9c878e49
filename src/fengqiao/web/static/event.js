// One event: its card, the trail as a timeline, and a form for each step the user may take
// now (the API's `actions`). Every form posts to the same transitions endpoint with the version
// it read; a refusal is shown on the form, field by field.
(function () {
  "use strict";

  const { api, h, time, remaining, lightBadge, statusBadge, toast, T } = FQ;
  const page = document.getElementById("event-page");
  const id = Number(page.dataset.eventId);
  const canSupervise = page.dataset.canSupervise === "true";
  // A city's or the province's staff read the event's 市 and 区 before its town.
  const aboveDistrict = page.dataset.aboveDistrict === "true";
  let event = null;
  let map = null;
  let marker = null;
  let current = null; // the action whose form is open
  let units = null;
  let classes = null;

  const field = (label, input, hint) => h("label", { class: "field" }, label, input,
    hint ? h("span", { class: "muted" }, hint) : null);
  const note = (required, label) => field(label || (required ? "原因/说明（必填）" : "备注"),
    h("textarea", { name: "note", maxlength: 2000, required: required || null }));
  const photos = (label, required) => field(label, h("input", { type: "file", name: "photos",
    accept: "image/jpeg,image/png,image/webp", multiple: true, capture: "environment",
    required: required || null }));

  // What each action asks for. `kind`: the kind of photos it uploads first.
  const FORMS = {
    accept: () => [classField(), field("等级", levelSelect()), field("", h("span", {},
      h("input", { type: "checkbox", name: "urgent", dataset: { bool: "" }, value: "true",
        checked: event.urgent || null }), " 紧急事件")), note(false)],
    reject: () => [note(true, "不予受理的原因（必填）")],
    self_handle: () => [note(false)],
    close: () => [photos("处置后照片（必填）", true), note(false)],
    dispatch: () => [unitField(), assistField(), note(false, "说明（改派其他单位时必填）")],
    // 联合执法: the assisting units' parts (协办), each unit signing and feeding back its own.
    add_assist: () => [assistField(), note(false)],
    sign_part: () => [note(false)],
    feedback_part: () => [field("协办情况（必填）", h("textarea", { name: "result", required: true,
      maxlength: 4000 })), photos("协办处置照片（至少一张）", true), note(false)],
    waive_part: () => [field("免除的协办单位", h("select", { name: "unit_id", dataset: { int: "" } },
      openParts().map((p) => h("option", { value: p.unit.id }, p.unit.name)))),
      note(true, "免除理由（必填）")],
    sign: () => [note(false)],
    return: () => [note(true, "回退原因（必填，如非本单位职责）")],
    feedback: () => [field("处置结果（必填）", h("textarea", { name: "result", required: true,
      maxlength: 4000 })), photos("处置照片（至少一张）", true), note(false)],
    verify: () => [field("核查结果", h("select", { name: "ok", dataset: { bool: "" } },
      h("option", { value: "true" }, "通过，结案"), h("option", { value: "false" }, "不通过，退回返工"))),
      photos("现场核查照片（通过时必填）", false),
      field("", h("span", {}, h("input", { type: "checkbox", name: "confirmed", dataset: { bool: "" },
        value: "true" }), " 我已到现场核实（通过时必填）")),
      note(false, "核查意见（不通过时必填）")],
    request_suspend: () => [note(true, "挂起原因（必填）")],
    request_void: () => [note(true, "作废原因（必填）")],
    approve: () => [note(false)],
    deny: () => [note(false)],
    resume: () => [note(false)],
    merge: () => [field("合并到事件编号（必填）", h("input", { type: "text", name: "into_code",
      required: true, placeholder: "如 KQ-20261128-0001" })), note(false)],
    rate: () => [field("满意度", h("select", { name: "satisfaction", dataset: { int: "" } },
      [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, "★".repeat(n))))), note(false)],
    request_escalation: () => [note(true, "需要上级协调的原因（必填）")],
    escalate: () => [note(true, "升级原因（必填）")],
    supervise: () => [field("督办类型", h("select", { name: "kind" },
      h("option", { value: "leader" }, "领导督办"), h("option", { value: "important" }, "重要事项督办"))),
      field("督办要求（必填）", h("textarea", { name: "requirement", required: true, maxlength: 2000 }))],
  };
  const PHOTO_KIND = { close: "after", feedback: "after", feedback_part: "after", verify: "verify" };

  const openParts = () => (event.parts || []).filter((p) => p.role === "assist" &&
    (p.status === "dispatched" || p.status === "signed"));

  // 协办单位: units of the event's village or town, or district departments (the API refuses
  // others); the routing rule's proposal ticked, units already assisting left out, and the lead
  // hidden: on the dispatch form the lead is the unit chosen above (followLead), so every unit but
  // the chosen one is offered.
  function assistField() {
    const taken = new Set((event.parts || []).map((p) => p.unit && p.unit.id));
    const proposed = new Set((event.proposed_assist_units || []).map((u) => u.id));
    const places = new Set([event.town.id, event.village.id]);
    const near = (units || []).filter((u) => !taken.has(u.id) &&
      (places.has(u.org.id) || u.org.kind === "district"));
    near.sort((a, b) => Number(proposed.has(b.id)) - Number(proposed.has(a.id)));
    const box = (u) => h("label", { class: "assist-unit", dataset: { unit: u.id } }, h("input", {
      type: "checkbox", value: u.id, dataset: { assist: "" }, checked: proposed.has(u.id) || null }),
      " ", u.name, proposed.has(u.id) ? h("span", { class: "muted" }, "（系统建议）") : "");
    const empty = h("span", { class: "muted" }, "暂无可选单位");
    const set = h("fieldset", { class: "field assist-units" }, h("legend", {}, "协办单位（联合执法，可多选）"),
      h("div", { class: "assist-list", style: { maxHeight: "10em", overflowY: "auto" } }, near.map(box)),
      empty);
    const lead = event.owner_unit ? event.owner_unit.id : (event.proposed_unit ? event.proposed_unit.id : null);
    showLead(set, lead);
    return set;
  }

  // Hide (and untick) the lead's box, show the others.
  function showLead(set, lead) {
    let shown = 0;
    for (const label of set.querySelectorAll("label[data-unit]")) {
      const isLead = lead !== null && Number(label.dataset.unit) === lead;
      label.hidden = isLead;
      if (isLead) label.querySelector("input").checked = false;
      else shown += 1;
    }
    set.querySelector(".assist-units > span.muted").hidden = shown > 0;
  }

  // On the dispatch form the 协办 list follows the lead the operator picks.
  function followLead(form) {
    const select = form.querySelector("select[name=unit_id]");
    const set = form.querySelector(".assist-units");
    if (!select || !set || form.dataset.action !== "dispatch") return;
    const sync = () => showLead(set, select.value ? Number(select.value) : null);
    select.addEventListener("change", sync);
    sync();
  }

  // 主办/协办: each unit's part with its state, deadline and light.
  function renderParts() {
    const block = document.getElementById("event-parts");
    const parts = event.parts || [];
    block.hidden = parts.length === 0;
    FQ.fill(document.getElementById("part-list"), ...parts.map((p) => h("li", {
      class: "part-item", dataset: { role: p.role, unit: p.unit ? String(p.unit.id) : "" } },
      h("span", { class: "tag" }, FQ.label("partRoles", p.role)), " ",
      h("strong", {}, p.unit ? p.unit.name : "—"), " ", lightBadge(p.light), " ",
      p.role === "lead" ? statusBadge(p.status) : h("span", { class: "tag part-status" }, FQ.label("partStatus", p.status)),
      h("div", { class: "muted" }, "时限 " + time(p.due_at),
        p.fed_back_at ? " · 反馈于 " + time(p.fed_back_at) : "",
        p.waive_reason ? " · 免除理由：" + p.waive_reason : ""),
      p.role === "assist" && p.result ? h("div", {}, "协办情况：" + p.result) : null)));
  }

  // Where the browser says this device is, as the upload's device fields; null when it has no
  // fix within ten seconds or the user refused.
  function here() {
    if (!navigator.geolocation) return Promise.resolve(null);
    return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
      (p) => resolve({ device_lat: p.coords.latitude, device_lng: p.coords.longitude,
        device_accuracy: Math.round(p.coords.accuracy * 10) / 10,
        device_at: new Date(p.timestamp).toISOString() }),
      () => resolve(null), { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }));
  }

  // The workflow table as served (web/labels.py `steps`): the loop's next step from each state
  // and who takes it. When the caller may not take it, the page shows the step disabled and says
  // who can, rather than leaving the reader to wonder why nothing is offered.
  const STEPS = FQ.labels("steps");
  const nextSteps = (status) =>
    Object.keys(STEPS).filter((a) => STEPS[a].main && STEPS[a].from.includes(status));

  // Why the caller cannot take `action` now, in a sentence.
  function whyNot(action) {
    if (action === "rate" && event.satisfaction) return "已评价，每件事件只能评价一次";
    // A void request is approved by a leader, a suspension request by an operator.
    if (action === "approve") return "待审批的申请仅" + FQ.label("actors", event.pending_action === "void" ? "leader" : "operator") + "可审批";
    return "仅" + STEPS[action].actors.map((kind) => FQ.label("actors", kind)).join("或") + "可" + FQ.label("actions", action);
  }

  function blockedActions(actions) {
    const blocked = nextSteps(event.status).filter((a) => !actions.includes(a));
    if (event.pending_action && !actions.includes("approve")) blocked.push("approve");
    return blocked;
  }

  function classField() {
    const select = h("select", { name: "category" });
    for (const major of classes ? classes.majors : []) {
      select.append(h("optgroup", { label: major.name_zh }, classes.categories
        .filter((c) => c.major_code === major.code)
        .map((c) => h("option", { value: c.code, selected: c.code === event.category || null }, c.name_zh))));
    }
    if (!classes) select.append(h("option", { value: event.category }, event.category_name));
    return field("事件分类", select);
  }

  function levelSelect() {
    return h("select", { name: "level", dataset: { int: "" } }, [1, 2, 3, 4].map((n) =>
      h("option", { value: n, selected: n === event.level || null }, T.levels[String(n)])));
  }

  function unitField() {
    const select = h("select", { name: "unit_id", dataset: { int: "" } });
    const proposed = event.proposed_unit;
    if (proposed) select.append(h("option", { value: proposed.id }, proposed.name + "（系统建议）"));
    else select.append(h("option", { value: "" }, "请选择责任单位"));
    for (const u of units || []) {
      if (proposed && u.id === proposed.id) continue;
      select.append(h("option", { value: u.id }, u.name));
    }
    return field("责任单位", select, proposed ? "流转规则建议：" + proposed.name : "该分类暂无流转规则，请人工指定");
  }

  // --- rendering -----------------------------------------------------------------------------

  function render() {
    document.title = event.title + " · 枫桥";
    document.getElementById("event-title").textContent = event.title;
    FQ.fill(document.getElementById("event-badges"), lightBadge(event.light), " ",
      statusBadge(event.status), event.urgent ? [" ", h("span", { class: "badge-urgent" }, "紧急")] : "",
      event.pending_action ? [" ", h("span", { class: "tag" }, "待审批：" + (T.actions[event.pending_action] || event.pending_action))] : "");
    const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
    FQ.fill(document.getElementById("event-facts"), 
      ...fact("事件编号", h("code", { id: "event-code" }, event.code)),
      ...fact("分类", event.major_name + " / " + event.category_name),
      ...(event.answers || []).flatMap((a) => fact(a.question, a.answer)),
      ...fact("等级", T.levels[String(event.level)] || event.level),
      ...fact("来源", T.source[event.source] || event.source),
      ...fact("事发地点", (aboveDistrict ? [event.city, event.district].filter(Boolean).map((a) => a.name + " ").join("") : "") +
        event.town.name + " " + event.village.name + " " + event.grid.name +
        (event.address ? " · " + event.address : "")),
      ...fact("责任单位", event.owner_unit ? event.owner_unit.name : (event.proposed_unit ? "建议：" + event.proposed_unit.name : "待交办")),
      ...fact("处置时限", time(event.due_at), " ", h("span", { class: "muted" },
        event.closed_at ? "" : remaining(event.due_at))),
      ...fact("协调层级", event.escalation_rung_name),
      ...fact("上报时间", time(event.created_at)),
      ...(event.closed_at ? fact("结案时间", time(event.closed_at)) : []),
      ...(event.result ? fact("处置结果", event.result) : []),
      ...(event.rework_count || event.return_count ? fact("返工/回退", event.rework_count + " / " + event.return_count) : []),
      ...(event.satisfaction ? fact("满意度", "★".repeat(event.satisfaction)) : []));
    document.getElementById("event-description").textContent = event.description || "（无描述）";
    FQ.fill(document.getElementById("event-photos"), ...event.attachments.map(photoItem));
    FQ.fill(document.getElementById("event-trail"), ...event.trail.map((r) => h("li", {},
      h("div", {}, h("span", { class: "when" }, time(r.at)), " ",
        h("strong", {}, T.actions[r.action] || r.action), " ",
        r.from_status !== r.to_status && r.from_status ? h("span", { class: "muted" },
          (T.status[r.from_status] || r.from_status) + " → " + (T.status[r.to_status] || r.to_status)) : null),
      h("div", {}, r.actor ? r.actor.name : "系统", r.note ? "：" + r.note : ""),
      h("div", { class: "hash", title: r.hash }, "#" + r.seq + " " + r.hash.slice(0, 12)))));
    document.getElementById("trail-state").textContent = "共 " + event.trail.length + " 条，哈希链存证";
    renderMap();
    renderParts();
    renderActions();
  }

  // A photo, and for an operator or the owner unit's handler the 公开给上报人 switch: the
  // reporter sees the photos marked public on their report (the resident app's 我的上报).
  function photoItem(a) {
    const link = h("a", { href: a.url, target: "_blank", title: FQ.label("photoKinds", a.kind) },
      h("img", { src: a.url, alt: FQ.label("photoKinds", a.kind), loading: "lazy" }));
    const mayPublish = page.dataset.operator === "true" ||
      (event.owner_unit && String(event.owner_unit.id) === page.dataset.unitId);
    if (!mayPublish) return link;
    const box = h("input", { type: "checkbox", class: "photo-public", checked: a.public,
      dataset: { photo: String(a.id) } });
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await api("/events/" + id + "/attachments/" + a.id + "/public",
          { method: "PUT", json: { public: box.checked, version: event.version } });
        toast(box.checked ? "已公开给上报人" : "已取消公开");
      } catch (err) {
        toast(FQ.problemText(err), "error");
      }
      await load(); // the change is on the trail: the version moved
    });
    return h("figure", { class: "photo-item" }, link, h("label", { class: "photo-public-label" }, box, "公开给上报人"));
  }

  function renderMap() {
    if (!map) {
      map = FQ.leafletMap("event-map", { zoomControl: true, attributionControl: false }).setView([event.lat, event.lng], 16);
      // The roads and their names around the event (static/basemap.js): the base map's API
      // serves staff; a resident's small map shows their grid and the event.
      if (page.dataset.staff === "true") FQ.basemap.add(map);
      marker = L.circleMarker([event.lat, event.lng], { radius: 8, color: "#fff", weight: 2,
        fillColor: "#d93025", fillOpacity: 1 }).addTo(map);
      // Only the grids near the event (a box of about 2 km), not every grid of the caller's
      // area: a province's 85,000 grids were 2.6 MB and seconds to read for one outline.
      const near = [event.lng - 0.01, event.lat - 0.01, event.lng + 0.01, event.lat + 0.01];
      api("/grids/geojson?bbox=" + near.map((v) => v.toFixed(5)).join(",")).then((g) => {
        const mine = (g.features || []).filter((f) => f.properties.id === event.grid.id);
        if (!mine.length) return;
        const outline = L.geoJSON(mine, { style: { color: "#b22222", weight: 2, fillOpacity: 0.08 } }).addTo(map);
        map.fitBounds(outline.getBounds(), { padding: [12, 12], maxZoom: 17 });
      }).catch(() => {});
    } else {
      marker.setLatLng([event.lat, event.lng]);
    }
  }

  function availableActions() {
    const actions = event.actions.slice();
    const open = !["closed", "rejected", "voided", "merged"].includes(event.status);
    if (canSupervise && open && event.owner_unit) actions.push("supervise");
    return actions;
  }

  function renderActions() {
    const actions = availableActions().filter((a) => FORMS[a]);
    // Choices for the forms, read once and only by those who need them.
    if (actions.includes("accept") && classes === null) {
      classes = false;
      api("/categories").then((c) => { classes = c; renderActions(); }).catch(() => {});
    }
    if ((actions.includes("dispatch") || actions.includes("add_assist")) && units === null) {
      units = [];
      // The units that may take this event: its village's, its town's and its district's
      // (what the dispatch accepts). Not the first 500 of the caller's area: at a city or the
      // province those are other districts' and the event's own were missing from the list.
      const places = [event.district, event.town, event.village].filter(Boolean);
      Promise.all(places.map((o) => api("/units?size=500&org=" + encodeURIComponent(o.code)))).then((pages) => {
        units = pages.flatMap((p) => p.items).filter((u) => u.active)
          .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
        renderActions();
      }).catch(() => {});
    }
    const tabs = document.getElementById("action-tabs");
    document.getElementById("no-actions").hidden = actions.length > 0;
    let blocked = document.getElementById("blocked-actions");
    if (!blocked) {
      blocked = h("ul", { class: "blocked-actions", id: "blocked-actions", "aria-label": "暂不能办理的操作",
        style: { listStyle: "none", padding: "0", margin: "0 0 10px" } });
      tabs.insertAdjacentElement("afterend", blocked);
    }
    FQ.fill(blocked, blockedActions(actions).map((a) => h("li", { dataset: { action: a } },
      h("button", { type: "button", class: "btn btn-secondary btn-small", disabled: true,
        "aria-describedby": "why-" + a, style: { opacity: "0.55", cursor: "not-allowed" } }, FQ.label("actions", a)),
      " ", h("span", { class: "muted", id: "why-" + a }, whyNot(a)))));
    if (!actions.includes(current)) current = actions[0] || null;
    FQ.fill(tabs, ...actions.map((a) => h("button", {
      type: "button", class: "btn btn-secondary btn-small", "aria-pressed": String(a === current),
      dataset: { action: a }, onclick: () => { current = a; renderActions(); },
    }, a === "supervise" ? "督办" : T.actions[a] || a)));
    const forms = document.getElementById("action-forms");
    if (!current) {
      FQ.fill(forms, );
      return;
    }
    const form = h("form", { class: "action-form", dataset: { action: current }, novalidate: true },
      h("h3", {}, current === "supervise" ? "督办" : T.actions[current] || current),
      FORMS[current](),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("div", { class: "buttons" }, h("button", { type: "submit", class: "btn btn-primary" }, "提交")));
    form.addEventListener("submit", (e) => submit(e, form));
    followLead(form);
    FQ.fill(forms, form);
  }

  // --- submitting ---------------------------------------------------------------------------

  async function submit(e, form) {
    e.preventDefault();
    FQ.clearErrors(form);
    if (!form.reportValidity()) return;
    const action = form.dataset.action;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const data = FQ.formData(form);
      const ticked = form.querySelectorAll("input[data-assist]:checked");
      if (ticked.length) data.assist_unit_ids = Array.from(ticked, (x) => Number(x.value));
      if (action === "supervise") {
        await api("/events/" + id + "/supervision-orders", { method: "POST", json: data });
        toast("督办单已下发", "ok");
        await load();
        return;
      }
      if (action === "merge") {
        const found = await api("/events" + FQ.query({ q: data.into_code, size: 5 }));
        const target = found.items.find((x) => x.code === data.into_code.trim());
        if (!target) {
          throw new FQ.ApiError(422, { detail_zh: "找不到编号为 " + data.into_code + " 的事件",
            errors: [{ field: "into_code", reason_zh: "编号不存在或不在您的辖区" }] });
        }
        data.into = target.id;
        delete data.into_code;
      }
      const files = form.querySelector("input[type=file]");
      if (files && files.files.length) {
        const upload = new FormData();
        for (const file of files.files) upload.append("photos", file);
        // Proof photos carry where this device is: a photo without GPS of its own is placed by
        // it (核查通过 needs a photo taken near the event). No fix, no fields: the server says why.
        if (PHOTO_KIND[action]) {
          for (const [key, value] of Object.entries(await here() || {})) upload.append(key, String(value));
        }
        const stored = await api("/events/" + id + "/attachments?kind=" + (PHOTO_KIND[action] || "evidence"),
          { method: "POST", body: upload });
        data.attachment_ids = stored.map((a) => a.id);
        event = await api("/events/" + id); // the upload is a trail row: the version moved
      }
      if (action === "dispatch" && event.proposed_unit && data.unit_id === event.proposed_unit.id) delete data.unit_id;
      const body = Object.assign({ action: action, version: event.version }, data);
      event = await api("/events/" + id + "/transitions", { method: "POST", json: body });
      toast((T.actions[action] || action) + "成功", "ok");
      current = null;
      render();
    } catch (error) {
      FQ.showErrors(form, error);
      if (error instanceof FQ.ApiError && error.status === 409) {
        // Someone else moved the event: show the fresh state, keep the message.
        const message = FQ.problemText(error);
        await load();
        const again = document.querySelector(".action-form");
        if (again) {
          const box = again.querySelector(".form-error");
          box.textContent = message;
          box.hidden = false;
        }
      }
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    event = await api("/events/" + id);
    render();
    renderMeToo();
    await renderSupervision();
  }

  // 我也遇到: how many residents said they meet this problem too (issue 19), after the facts.
  async function renderMeToo() {
    const count = await api("/events/" + id + "/me-too").then((r) => r.me_too, () => 0);
    const facts = document.getElementById("event-facts");
    if (count > 0 && !document.getElementById("event-me-too")) {
      facts.append(h("dt", {}, "我也遇到"), h("dd", { id: "event-me-too" }, count + " 位群众"));
    }
  }

  // 督办: the event's open supervision orders (kind, requirement, reply due, status), each with
  // the reply form when the caller may answer it (the API says: can_reply); the replied ones
  // folded away below. Only those who may read orders see any (the API's scope), so the block
  // stays hidden for everyone else.
  const LIST = { listStyle: "none", padding: "0", margin: "0" };
  const ITEM = { padding: "8px 0", borderBottom: "1px dashed var(--line)" };

  function supervisionBlock() {
    let block = document.getElementById("event-supervision");
    if (!block) {
      block = h("div", { class: "card detail-card", id: "event-supervision", hidden: true });
      const trail = document.querySelector(".detail-card-next");
      trail.parentNode.insertBefore(block, trail);
    }
    return block;
  }

  function orderFacts(o) {
    const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];
    return h("dl", { class: "facts" },
      ...fact("督办要求", o.requirement),
      ...fact("回复期限", time(o.due_at), " ", o.status === "open"
        ? h("span", { class: o.overdue ? "badge-urgent" : "muted" }, o.overdue ? "已逾期" : remaining(o.due_at)) : ""),
      ...fact("下发", (o.issued_by ? o.issued_by.name : "系统") + " · " + time(o.issued_at)),
      ...(o.reply ? fact("回复", o.reply) : []),
      ...(o.replied_at ? fact("回复时间", (o.replied_by ? o.replied_by.name + " · " : "") + time(o.replied_at)) : []));
  }

  function orderHead(o) {
    return h("div", { class: "order-head" }, h("strong", {}, FQ.label("orderKinds", o.kind) + "督办"), " ",
      h("code", {}, o.code), " ", h("span", { class: o.status === "open" ? "badge-supervised" : "tag" },
        FQ.label("orderStatus", o.status)));
  }

  function replyForm(o) {
    const form = h("form", { class: "action-form reply-form", dataset: { order: o.id }, novalidate: true },
      h("h3", {}, "回复督办"),
      field("回复内容（必填）", h("textarea", { name: "reply", required: true, maxlength: 4000,
        placeholder: "已采取的措施、办结时限" })),
      h("p", { class: "form-error", role: "alert", hidden: true }),
      h("div", { class: "buttons" }, h("button", { type: "submit", class: "btn btn-primary" }, "提交回复")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      FQ.clearErrors(form);
      if (!form.reportValidity()) return;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await api("/supervision-orders/" + o.id + "/reply", { method: "POST", json: FQ.formData(form) });
        toast("督办单已回复", "ok");
        await load(); // the reply is on the trail: the version moved
      } catch (error) {
        FQ.showErrors(form, error);
      } finally {
        button.disabled = false;
      }
    });
    return form;
  }

  async function renderSupervision() {
    const block = supervisionBlock();
    let orders;
    try {
      orders = (await api("/supervision-orders" + FQ.query({ event: id, limit: 50 }))).items;
    } catch (_err) {
      block.hidden = true;
      return;
    }
    const open = orders.filter((o) => o.status === "open");
    const done = orders.filter((o) => o.status !== "open");
    FQ.fill(block,
      h("h2", {}, "督办 ", h("span", { class: "muted" }, open.length ? open.length + " 件待回复" : "暂无待回复")),
      h("ul", { class: "supervision-orders", id: "open-orders", style: LIST }, open.map((o) =>
        h("li", { class: "supervision-order", dataset: { code: o.code }, style: ITEM }, orderHead(o),
          orderFacts(o), o.can_reply ? replyForm(o) : null))),
      done.length ? h("details", { class: "replied-orders" },
        h("summary", {}, "已回复的督办单（" + done.length + "）"),
        h("ul", { class: "supervision-orders", style: LIST }, done.map((o) =>
          h("li", { class: "supervision-order", dataset: { code: o.code }, style: ITEM }, orderHead(o),
            orderFacts(o))))) : null);
    block.hidden = orders.length === 0;
  }

  // 附近视频: the nearest cameras within 1 km, listed and drawn on the small map by status.
  // Staff only (the API's rule too): for anyone else the section stays hidden.
  async function renderCameras() {
    if (page.dataset.staff !== "true") return;
    let rows;
    try {
      rows = await api("/layers/cameras/nearest" + FQ.query({ lat: event.lat, lng: event.lng,
        limit: 5, radius_m: 1000 }));
    } catch (_err) {
      return;
    }
    const list = document.getElementById("nearest-cameras");
    FQ.fill(list, ...(rows.length ? rows.map(FQ.cameraItem)
      : [h("li", { class: "muted" }, "1 公里内暂无视频")]));
    if (FQ.video && rows.length) list.after(FQ.video.playAllButton(rows));
    document.getElementById("event-cameras").hidden = false;
    for (const c of rows) {
      L.circleMarker([c.lat, c.lng], { radius: 6, color: "#fff", weight: 2,
        fillColor: FQ.CAMERA_COLOURS[c.status] || "#9aa0a6", fillOpacity: 1 })
        .bindTooltip(h("span", {}, c.name + " · " + (FQ.CAMERA_STATUS[c.status] || c.status))).addTo(map);
    }
  }

  // 物联感知: the device behind an IoT event and how many alarms folded into it.
  async function renderIot() {
    if (event.source !== "iot") return;
    let fold;
    try {
      fold = await api("/iot/events/" + id);
    } catch (_err) {
      return;
    }
    const readings = Object.entries(fold.last_readings || {}).map(([k, v]) =>
      FQ.label("iotReadings", k) + " " + (typeof v === "boolean" ? (v ? "是" : "否") : String(v))).join("、");
    const rows = [["设备", fold.device.name + "（" + fold.device.code + "）"],
      ["告警次数", String(fold.alarm_count)], ["首次告警", time(fold.first_at)],
      ["最近告警", time(fold.last_at)], ["最近读数", readings || "—"],
      ["设备恢复", fold.recovered_at ? time(fold.recovered_at) : (fold.auto_close ? "恢复后自动结案" : "恢复后须人工核查结案")]];
    FQ.fill(document.getElementById("iot-facts"), ...rows.flatMap(([k, v]) => [h("dt", {}, k),
      h("dd", { dataset: { iot: k } }, v)]));
    document.getElementById("event-iot").hidden = false;
  }

  async function start() {
    try {
      await load();
    } catch (error) {
      document.getElementById("event-title").textContent = FQ.problemText(error);
      return;
    }
    await renderIot();
    await renderCameras();
    page.dataset.state = "ready";
  }

  start();
})();
