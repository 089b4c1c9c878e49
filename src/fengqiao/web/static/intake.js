// Business modules in the grid worker's app (民情通, 食安通, 智慧安监, 河长通): a module narrows the
// report form to its classes, each class's extra questions appear under it, and a module's
// checklist (河长巡河检查 …) files one event per failed item. worker.js calls FQIntake.
(function () {
  "use strict";

  const { api, h, toast } = FQ;
  const $ = (id) => document.getElementById(id);
  let modules = [];
  let intakes = {}; // class code → {questions, keywords}
  let current = null; // the module narrowing the form, or null for every class
  let onChange = () => {};

  function cached(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key) || "null") || fallback; } catch (_e) { return fallback; }
  }

  async function load(changed) {
    onChange = changed;
    try {
      [modules, intakes] = await Promise.all([api("/intake/modules"), api("/intake/classes").then(
        (rows) => Object.fromEntries(rows.map((r) => [r.category, r])))]);
      localStorage.setItem("fq.intake", JSON.stringify({ modules, intakes }));
    } catch (_err) {
      ({ modules, intakes } = cached("fq.intake", { modules: [], intakes: {} }));
    }
    FQ.fill($("module-chips"), chip("全部", null), ...modules.map((m) => chip(m.name_zh, m.code)));
    renderChecklists();
  }

  function chip(label, code) {
    const button = h("button", { type: "button", class: "chip", role: "radio", dataset: { module: code || "" },
      "aria-checked": String((current ? current.code : null) === code) }, label);
    button.addEventListener("click", () => {
      current = modules.find((m) => m.code === code) || null;
      for (const c of $("module-chips").children) c.setAttribute("aria-checked", String(c === button));
      onChange();
    });
    return button;
  }

  // Whether a class is offered while the chosen module narrows the form.
  function allows(categoryCode) {
    return !current || current.categories.some((c) => c.code === categoryCode);
  }

  function input(q) {
    const attrs = { name: q.code, dataset: { answer: q.datatype }, required: q.required };
    if (q.datatype === "singlevaluelist") {
      return h("select", attrs, h("option", { value: "" }, q.required ? "请选择" : "（不填）"),
        ...q.values.map(([key, name]) => h("option", { value: key }, name)));
    }
    if (q.datatype === "multivaluelist") {
      return h("div", { class: "chips", dataset: { answer: q.datatype, code: q.code } },
        ...q.values.map(([key, name]) => h("label", { class: "check-chip" },
          h("input", { type: "checkbox", name: q.code, value: key }), name)));
    }
    if (q.datatype === "text") return h("textarea", { ...attrs, rows: 2, maxlength: 2000 });
    if (q.datatype === "number") return h("input", { ...attrs, type: "number", step: "any", inputmode: "decimal" });
    if (q.datatype === "datetime") return h("input", { ...attrs, type: "datetime-local" });
    return h("input", { ...attrs, type: "text", maxlength: 200 });
  }

  // The class's extra questions under the class chips (nothing when it asks none).
  function renderQuestions(categoryCode) {
    const box = $("report-questions");
    const questions = ((intakes[categoryCode] || {}).questions) || [];
    FQ.fill(box, ...questionFields(questions));
    box.hidden = !questions.length;
  }

  function localOffset() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const abs = Math.abs(minutes);
    return sign + String(Math.floor(abs / 60)).padStart(2, "0") + ":" + String(abs % 60).padStart(2, "0");
  }

  // The answers given in a box of questions, by question code; empty ones are left out.
  function answersIn(box) {
    const out = {};
    for (const el of box.querySelectorAll("[data-answer]")) {
      if (el.dataset.answer === "multivaluelist") {
        const keys = Array.from(el.querySelectorAll("input:checked")).map((c) => c.value);
        if (keys.length) out[el.dataset.code] = keys;
      } else if (el.value !== "") {
        out[el.name] = el.dataset.answer === "datetime" ? el.value + localOffset() : el.value;
      }
    }
    return out;
  }

  function answers() {
    return answersIn($("report-questions"));
  }

  function questionFields(questions) {
    return questions.map((q) => h("label", { class: "field" }, q.description + (q.required ? "" : "（选填）"), input(q)));
  }

  function clearQuestions() {
    FQ.fill($("report-questions"));
    $("report-questions").hidden = true;
  }

  // --- checklists ---------------------------------------------------------------------------

  function renderChecklists() {
    const lists = modules.filter((m) => m.checklist.length);
    $("checklist-card").hidden = !lists.length;
    FQ.fill($("checklist-buttons"), ...lists.map((m) => h("button", {
      type: "button", class: "btn btn-secondary", dataset: { module: m.code },
      onclick: () => openChecklist(m) }, m.checklist_title || m.name_zh)));
  }

  function openChecklist(module) {
    const form = $("checklist-form");
    form.dataset.module = module.code;
    $("checklist-title").textContent = module.checklist_title || module.name_zh;
    $("checklist-subject-label").firstChild.textContent = module.subject_label || "检查对象";
    FQ.fill($("checklist-items"), ...module.checklist.map((item) => h("fieldset", { class: "check-item", dataset: { code: item.code } },
      h("legend", {}, item.text),
      h("div", { class: "chips" },
        h("label", { class: "check-chip" }, h("input", { type: "radio", name: "ok-" + item.code, value: "ok", checked: true,
          onchange: () => toggleNote(item.code, false) }), "正常"),
        h("label", { class: "check-chip bad" }, h("input", { type: "radio", name: "ok-" + item.code, value: "problem",
          onchange: () => toggleNote(item.code, true) }), "有问题")),
      h("div", { hidden: true, dataset: { note: item.code } },
        h("label", { class: "field" }, "问题说明（将生成「" + item.category_name + "」事件）",
          h("input", { type: "text", name: "note", maxlength: 1000, placeholder: item.hint || "描述发现的问题" })),
        // The class's own questions, but the one the run's subject answers (the river).
        h("div", { class: "item-questions" }, ...questionFields((((intakes[item.category] || {}).questions) || [])
          .filter((q) => q.code !== module.subject_question)))))));
    FQ.clearErrors(form);
    $("checklist-result").hidden = true;
    $("checklist-dialog").showModal();
  }

  function toggleNote(code, show) {
    const field = $("checklist-items").querySelector("[data-note='" + CSS.escape(code) + "']");
    field.hidden = !show;
    if (show) field.querySelector("input").focus();
  }

  async function submitChecklist(e, position) {
    e.preventDefault();
    const form = $("checklist-form");
    FQ.clearErrors(form);
    if (!position) {
      FQ.showErrors(form, new FQ.ApiError(422, { detail_zh: "还没有定位，请打开定位后重试" }));
      return;
    }
    const items = Array.from($("checklist-items").querySelectorAll(".check-item")).map((set) => {
      const ok = set.querySelector("input[type=radio]:checked").value === "ok";
      return ok ? { code: set.dataset.code, ok: true } : { code: set.dataset.code, ok: false,
        note: set.querySelector("input[name=note]").value, answers: answersIn(set.querySelector(".item-questions")) };
    });
    const body = { module: form.dataset.module, subject: $("checklist-subject").value.trim(),
      lat: position.lat, lng: position.lng, items: items };
    const key = form.dataset.key || (form.dataset.key = "checklist-" + Date.now() + "-" + Math.random().toString(36).slice(2));
    try {
      const run = await api("/intake/checklists", { method: "POST", json: body, headers: { "Idempotency-Key": key } });
      delete form.dataset.key;
      const filed = run.items.filter((i) => !i.ok).length;
      $("checklist-result").textContent = filed
        ? "已提交，" + filed + " 项问题已生成事件，请在「我的上报」中跟踪。"
        : "已提交，各项均正常。";
      $("checklist-result").hidden = false;
      toast(filed ? "检查已提交，生成 " + filed + " 个事件" : "检查已提交，各项正常");
      $("checklist-dialog").close();
      form.reset();
      document.dispatchEvent(new CustomEvent("fq:reported"));
    } catch (err) {
      FQ.showErrors(form, err);
    }
  }

  window.FQIntake = { load, allows, renderQuestions, answers, clearQuestions, submitChecklist };
})();
