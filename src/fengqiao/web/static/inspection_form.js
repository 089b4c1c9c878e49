// The round scoring form (/inspections/new) and the town's self-assessment (/inspections/
// self-assessment): every item of the standard in force by aspect, each 达标／部分达标／未达标
// with a note (and for a self-assessment the evidence shown). Built for a phone: one column,
// large touch targets. Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, showErrors, clearErrors, problemText, formData } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("sheet-page");
  if (!page) return;
  const mode = page.dataset.mode;
  const RESULTS = FQ.labels("inspectionResults");
  const EVIDENCE = FQ.labels("standardEvidence");
  const FACTOR = { met: 1, partly: 0.5, not_met: 0 };
  const form = $("sheet-form");
  let standard = null;
  let groups = [];

  const LOCAL = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
  const today = LOCAL.format(new Date());

  function itemCard(item) {
    const name = "r" + item.id;
    return h("div", { class: "sheet-item", dataset: { item: item.id, weight: item.weight } },
      h("p", { class: "sheet-text" }, item.text,
        h("span", { class: "muted" }, "　" + item.weight + " 分 · " + (EVIDENCE[item.evidence] || ""))),
      h("div", { class: "sheet-results", role: "radiogroup", "aria-label": item.text },
        Object.entries(RESULTS).map(([code, word]) => h("label", { class: "sheet-result is-" + code },
          h("input", { type: "radio", name: name, value: code, checked: code === "met", onchange: changed }), word))),
      h("input", { type: "text", class: "sheet-note", maxlength: 500, placeholder: mode === "round" ? "问题说明（未达标时填写）" : "说明", "aria-label": "说明" }),
      mode === "self" ? h("input", { type: "text", class: "sheet-evidence", maxlength: 500, placeholder: "佐证材料（如台账名称、照片编号）", "aria-label": "佐证材料" }) : null,
      mode === "round" ? h("div", { class: "sheet-rectify", hidden: true },
        h("label", {}, "整改责任", h("select", { class: "sheet-owner", "aria-label": "整改责任单位" }, ownerOptions())),
        h("label", {}, "期限", h("input", { type: "number", class: "sheet-days", min: 1, max: 90, value: 10, "aria-label": "整改期限" }), "个工作日")) : null);
  }

  // Who rectifies a failed item: the town (its leader) or one of the town's units.
  let units = [];
  function ownerOptions() {
    return [h("option", { value: "" }, "镇街（主要负责人）"), units.map((u) => h("option", { value: u.id }, u.name))];
  }
  // Only the town chosen last: a slower answer for one chosen before is dropped.
  const unitLists = FQ.latest();
  async function loadUnits() {
    const current = unitLists();
    const group = groups.find((g) => String(g.id) === String($("sheet-group").value));
    const town = group && group.towns.find((t) => String(t.id) === String($("sheet-town").value));
    const found = town ? (await api("/units?size=200&org=" + encodeURIComponent(town.code))).items : [];
    if (!current()) return;
    units = found;
    for (const select of document.querySelectorAll(".sheet-owner")) fill(select, ownerOptions());
  }

  function changed(event) {
    const card = event.target.closest(".sheet-item");
    card.dataset.result = event.target.value;
    const rectify = card.querySelector(".sheet-rectify");
    if (rectify) rectify.hidden = event.target.value === "met";
    score();
  }

  function sheet() {
    return [...document.querySelectorAll(".sheet-item")].map((card) => {
      const out = { item_id: Number(card.dataset.item), result: card.querySelector("input[type=radio]:checked").value };
      const note = card.querySelector(".sheet-note").value.trim();
      if (note) out.note = note;
      const evidence = card.querySelector(".sheet-evidence");
      if (evidence && evidence.value.trim()) out.evidence = evidence.value.trim();
      if (out.result !== "met" && card.querySelector(".sheet-rectify")) {
        const owner = card.querySelector(".sheet-owner").value;
        if (owner) out.owner_unit_id = Number(owner);
        const days = parseInt(card.querySelector(".sheet-days").value, 10);
        if (days) out.deadline_days = days;
      }
      return out;
    });
  }

  function score() {
    let total = 0;
    let failed = 0;
    for (const card of document.querySelectorAll(".sheet-item")) {
      const result = card.querySelector("input[type=radio]:checked").value;
      total += Number(card.dataset.weight) * FACTOR[result];
      if (result !== "met") failed += 1;
    }
    $("sheet-score").textContent = "得分 " + (Math.round(total * 100) / 100) + " 分"
      + (mode === "round" && failed ? "，" + failed + " 个条目将下发整改" : "");
  }

  function townsOf(groupId) {
    const group = groups.find((g) => String(g.id) === String(groupId));
    fill($("sheet-town"), (group ? group.towns : []).map((t) => h("option", { value: t.id }, t.name)));
  }

  async function load() {
    standard = await api("/standards/current");
    fill($("sheet-aspects"), standard.aspects.map((a) => h("fieldset", { class: "card sheet-aspect" },
      h("legend", {}, a.name, h("span", { class: "muted" }, "　" + a.weight + " 分")),
      a.items.map(itemCard))));
    score();
    if (mode === "round") {
      groups = await api("/inspections/groups");
      fill($("sheet-group"), groups.map((g) => h("option", { value: g.id }, g.name)));
      $("sheet-group").addEventListener("change", () => { townsOf($("sheet-group").value); loadUnits().catch(() => {}); });
      $("sheet-town").addEventListener("change", () => loadUnits().catch(() => {}));
      const wanted = new URLSearchParams(location.search).get("town");
      const home = wanted && groups.find((g) => g.towns.some((t) => String(t.id) === wanted));
      if (home) $("sheet-group").value = home.id;
      townsOf($("sheet-group").value);
      if (wanted && home) $("sheet-town").value = wanted;
      await loadUnits().catch(() => {});
      $("sheet-month").value = today.slice(0, 7);
      $("sheet-day").value = today;
    } else {
      const towns = await api("/inspections/summary");
      fill($("sheet-town"), towns.map((t) => h("option", { value: t.town.id }, t.town.name)));
      $("sheet-year").value = today.slice(0, 4);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const submitting = event.submitter ? event.submitter.dataset.submit === "1" : true;
    // The head's fields only: the items' buttons are read by sheet(), not sent by name.
    const head = formData(form);
    const body = { scores: sheet() };
    for (const name of ["group_id", "town_id", "month", "held_on", "note", "year"]) {
      if (head[name] !== undefined) body[name] = head[name];
    }
    for (const el of form.querySelectorAll("button[type=submit]")) el.disabled = true;
    try {
      if (mode === "round") {
        const made = await api("/inspections", { method: "POST", json: body });
        location.assign("/inspections/rounds/" + made.id);
        return;
      }
      body.submit = submitting;
      const saved = await api("/inspections/self-assessments", { method: "POST", json: body });
      toast(saved.town.name + saved.year + "年度自评" + (saved.status === "submitted" ? "已提交" : "已保存") + "，得分 " + saved.score, "ok");
    } catch (error) {
      showErrors(form, error);
    } finally {
      for (const el of form.querySelectorAll("button[type=submit]")) el.disabled = false;
    }
  });

  load().catch((error) => {
    fill($("sheet-aspects"), h("p", { class: "muted" }, problemText(error)));
    toast(problemText(error), "error");
  });
})();
