// Administration engine: one table and one form per section (grids, users, units, classes,
// routing rules, SLA policies, holidays) over the same /api/v1 every other page uses. A section
// (admin/<section>.js, loaded after this file) says how its rows load and look, which fields its
// form has and how a save is sent; the engine draws the filters, table, pager and form with FQ.h
// (text is never HTML) and puts the server's problem+json on the form, field by field. What the
// sections share (words, reference data, field helpers, org selects) is exported as FQAdmin.
(function () {
  "use strict";

  const { api, h, toast, query, fill } = FQ;
  const page = document.getElementById("admin-page");
  if (!page) return;
  const SECTION = page.dataset.section;
  const table = document.getElementById("admin-table");
  const pager = document.getElementById("admin-pager");
  const filters = document.getElementById("admin-filters");
  const form = document.getElementById("admin-form");
  const actions = document.getElementById("admin-actions");
  const PAGE_SIZE = 20;

  // --- words shared by several sections (a section's own words live in its file) ----------------

  const PLATFORMS = FQ.labels("platforms");
  const ROLES = FQ.labels("roles");
  const LEVELS = FQ.labels("levels");
  const LEVEL_SHORT = FQ.labels("levelsShort");
  // The standard kinds of responsible unit of the four-platforms model (served `unitTypes`); a
  // type not listed there is shown by its code.
  const UNIT_TYPES = FQ.labels("unitTypes");
  const PHONE = "\\+?[0-9][0-9 \\-]{2,30}";
  // Lists of Chinese names read in pinyin order (派出所 before 司法所), never by their codes.
  const ZH_ORDER = new Intl.Collator("zh-Hans-CN");

  const entries = (words) => Object.entries(words);
  const unitTypeName = (type) => (type ? UNIT_TYPES[type] || type : "—");
  const dash = (value) => (value == null || value === "" ? "—" : value);
  const tag = (text, kind) => h("span", { class: "tag" + (kind ? " tag-" + kind : "") }, text);
  const state = (active) => (active ? tag("启用", "on") : tag("停用", "off"));
  const code = (text) => h("code", {}, text);

  // --- reference data: loaded once per page, when a section needs it ---------------------------

  const cache = new Map();
  function once(key, load) {
    if (!cache.has(key)) {
      cache.set(key, load().catch((error) => {
        cache.delete(key);
        throw error;
      }));
    }
    return cache.get(key);
  }
  function forget(prefix) {
    for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key);
  }

  const Ref = {
    // The caller's part of the tree down to villages: every select of towns and villages.
    tree: () => once("tree", async () => {
      const root = await api("/org/tree" + query({ depth: 2 }));
      const byId = new Map();
      const byCode = new Map();
      (function walk(node) {
        byId.set(node.id, node);
        byCode.set(node.code, node);
        for (const child of node.children || []) walk(child);
      })(root);
      const towns = root.kind === "district" ? root.children : root.kind === "town" ? [root] : [];
      return { root, byId, byCode, towns };
    }),
    units: () => once("units", async () => {
      let all = [];
      for (let number = 1; ; number += 1) {
        const data = await api("/units" + query({ size: 500, page: number }));
        all = all.concat(data.items);
        if (!data.items.length || all.length >= data.total) return all;
      }
    }),
    categories: () => once("categories", () => api("/categories")),
    grids: (villageCode) => once("grids:" + villageCode, async () =>
      (await api("/org/units" + query({ kind: "grid", within: villageCode, size: 500 }))).items),
  };

  // Unit types as options [code, 中文] in the order of their Chinese names: those units have (a
  // filter), or with `all` every served standard type too (a form picks from these; a type outside
  // the served table has no Chinese name and is shown by its code).
  async function unitTypes(all) {
    const units = await Ref.units();
    const types = new Set(units.map((u) => u.unit_type));
    if (all) Object.keys(UNIT_TYPES).forEach((t) => types.add(t));
    return [...types].map((t) => [t, unitTypeName(t)]).sort((a, b) => ZH_ORDER.compare(a[1], b[1]));
  }

  function categoryOptions(data, withMajors) {
    return data.majors.map((major) => ({
      group: major.code + " " + major.name_zh,
      options: [
        ...(withMajors ? [["major:" + major.code, "整个大类：" + major.name_zh]] : []),
        ...data.categories.filter((c) => c.major_code === major.code)
          .map((c) => [(withMajors ? "cat:" : "") + c.code, c.code + " " + c.name_zh]),
      ],
    }));
  }

  async function categoryData() {
    const data = await Ref.categories();
    const majors = new Map(data.majors.map((m) => [m.code, m]));
    const byCode = new Map(data.categories.map((c) => [c.code, c]));
    return { data, majors, byCode };
  }

  // --- fields -----------------------------------------------------------------------------------
  // A field: {name, label, type (text, number, select, textarea, checkbox, checks, date, password,
  // tel, static), options ([[value, label]] or [{group, options}]), kind (int, float, bool),
  // required, min, max, step, pattern, minlength, maxlength, placeholder, hint, wide, list,
  // empty (what an emptied field sends; default null), value (for static), dynamic (the section
  // sets its value and options itself)}.

  function optionNodes(options) {
    return (options || []).map((option) => {
      if (option.group) return h("optgroup", { label: option.group }, optionNodes(option.options));
      return h("option", { value: option[0] }, option[1]);
    });
  }

  function control(field) {
    const id = "f-" + field.name;
    const common = {
      id, name: field.name, required: field.required, disabled: field.disabled,
      "aria-describedby": field.hint ? id + "-hint" : null,
    };
    switch (field.type) {
      case "static":
        return h("output", { id, class: "static-value", dataset: { name: field.name } }, dash(field.value));
      case "select":
        return h("select", common, optionNodes(field.options));
      case "textarea":
        return h("textarea", Object.assign(common, {
          rows: field.rows || 3, maxlength: field.maxlength, placeholder: field.placeholder,
          spellcheck: field.spellcheck === false ? "false" : null,
        }));
      case "checkbox":
        return h("input", Object.assign(common, { type: "checkbox", value: "true" }));
      case "checks":
        return h("div", { id, class: "check-group", role: "group", name: field.name },
          (field.options || []).map(([value, label]) => h("label", { class: "check" },
            h("input", { type: "checkbox", name: field.name, value }), label)));
      default:
        return h("input", Object.assign(common, {
          type: field.type || "text", min: field.min, max: field.max, step: field.step,
          pattern: field.pattern, minlength: field.minlength, maxlength: field.maxlength,
          placeholder: field.placeholder, list: field.list, title: field.title,
          inputmode: field.inputmode, autocomplete: field.autocomplete || "off",
        }));
    }
  }

  function fieldNode(field) {
    const label = h("span", { class: "field-label" }, field.label,
      field.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
    const hint = field.hint ? h("span", { class: "field-hint", id: "f-" + field.name + "-hint" }, field.hint) : null;
    const wide = field.wide || field.type === "checkbox";
    const cls = "field admin-field" + (wide ? " is-wide" : "") + " field-" + field.name;
    if (field.type === "checkbox") {
      return h("div", { class: cls }, h("label", { class: "inline-field check" }, control(field), field.label), hint);
    }
    if (field.type === "checks" || field.type === "static") {
      return h("div", { class: cls }, label, control(field), hint);
    }
    return h("label", { class: cls, for: "f-" + field.name }, label, control(field), hint);
  }

  function input(name) {
    return form.querySelector(`input[name="${name}"], select[name="${name}"], textarea[name="${name}"]`);
  }

  function setValue(field, value) {
    if (field.type === "static") return;
    if (field.type === "checks") {
      const wanted = new Set((value || []).map(String));
      form.querySelectorAll(`input[name="${field.name}"]`).forEach((box) => { box.checked = wanted.has(box.value); });
      return;
    }
    const el = input(field.name);
    if (!el) return;
    if (field.type === "checkbox") el.checked = Boolean(value);
    else el.value = value == null ? "" : String(value);
  }

  function readValue(field) {
    if (field.type === "checks") {
      return [...form.querySelectorAll(`input[name="${field.name}"]:checked`)].map((box) => box.value);
    }
    const el = input(field.name);
    if (!el) return undefined;
    if (field.type === "checkbox") return el.checked;
    const text = el.value.trim();
    if (text === "") return field.empty !== undefined ? field.empty : null;
    if (field.kind === "int") return parseInt(text, 10);
    if (field.kind === "float") return Number(text);
    if (field.kind === "bool") return text === "true";
    return text;
  }

  // Two values are the same setting: arrays by their sorted members, "", null and absent alike.
  function same(a, b) {
    const norm = (v) => (Array.isArray(v) ? v.map(String).sort().join("\u0001")
      : v === undefined || v === "" ? null : v);
    return norm(a) === norm(b);
  }
  // --- the engine -------------------------------------------------------------------------------

  const view = { rows: [], page: 1, total: 0, size: 0, mode: "create", row: null, fields: [] };
  let S = null;

  function readFilters() {
    const out = {};
    for (const el of filters.elements) if (el.name && el.value !== "") out[el.name] = el.value.trim();
    return out;
  }

  function syncUrl(values) {
    const params = Object.assign({}, values, view.page > 1 ? { page: view.page } : {});
    history.replaceState(null, "", location.pathname + query(params));
  }

  // Each refresh is numbered: a slower answer to an older filter never overwrites a newer one.
  const refreshes = FQ.latest();

  async function refresh() {
    const values = readFilters();
    syncUrl(values);
    const tbody = table.tBodies[0];
    const current = refreshes();
    page.setAttribute("aria-busy", "true");
    try {
      const result = await S.load(values, view.page);
      if (!current()) return;
      view.rows = result.rows;
      view.total = result.total;
      view.size = result.size || 0;
      if (view.size && view.rows.length === 0 && view.page > 1) {
        view.page = Math.max(1, Math.ceil(view.total / view.size));
        return refresh();
      }
      renderTable();
    } catch (error) {
      if (!current()) return;
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: S.columns.length, class: "admin-empty is-error" },
        "加载失败：" + FQ.problemText(error))));
      pager.replaceChildren();
      toast(FQ.problemText(error), "error");
    } finally {
      if (current()) page.removeAttribute("aria-busy");
    }
  }

  function renderTable() {
    table.tHead.replaceChildren(h("tr", {}, S.columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label))));
    const selected = view.mode === "edit" && view.row ? S.key(view.row) : null;
    const rows = view.rows.map((row) => {
      const tr = h("tr", {
        class: "admin-row" + (selected != null && S.key(row) === selected ? " is-selected" : ""),
        tabindex: "0", dataset: { key: S.key(row) },
        onclick: () => openRow(row),
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openRow(row); } },
      }, S.columns.map((c) => h("td", { class: c.num ? "num" : c.cls || null }, c.cell(row))));
      if (S.rowClass) tr.classList.add(...S.rowClass(row));
      return tr;
    });
    table.tBodies[0].replaceChildren(...(rows.length ? rows : [h("tr", {},
      h("td", { colspan: S.columns.length, class: "admin-empty" }, S.emptyText || "暂无数据"))]));
    renderPager();
  }

  function renderPager() {
    const parts = [h("span", { id: "admin-count" }, "共 " + FQ.number(view.total) + " 条")];
    if (view.size) {
      const last = Math.max(1, Math.ceil(view.total / view.size));
      const go = (n) => { view.page = n; refresh(); };
      parts.push(h("span", { class: "pager-buttons" },
        h("button", { type: "button", class: "btn btn-secondary btn-pager", disabled: view.page <= 1,
          onclick: () => go(view.page - 1) }, "上一页"),
        h("span", { class: "pager-at", id: "admin-page-at" }, "第 " + view.page + " / " + last + " 页"),
        h("button", { type: "button", class: "btn btn-secondary btn-pager", disabled: view.page >= last,
          onclick: () => go(view.page + 1) }, "下一页")));
    }
    pager.replaceChildren(...parts);
  }

  async function openRow(row) {
    try {
      const full = S.detail ? await S.detail(row) : row;
      await showForm("edit", full);
      renderTable();
      // Narrow screens stack the form under the table: bring it into view.
      if (window.matchMedia("(max-width: 1100px)").matches) form.scrollIntoView({ block: "start" });
    } catch (error) {
      toast(FQ.problemText(error), "error");
    }
  }

  async function showForm(mode, row, defaults) {
    view.mode = mode;
    view.row = row;
    const fields = await S.fields(mode, row);
    view.fields = fields;
    const removable = mode === "edit" && S.remove && (!S.canRemove || S.canRemove(row));
    const buttons = [
      h("button", { type: "submit", class: "btn btn-primary", id: "admin-save" }, mode === "edit" ? "保存修改" : "保存"),
      h("button", { type: "button", class: "btn btn-secondary", id: "admin-cancel",
        onclick: () => (mode === "edit" ? showForm("edit", row) : newRecord()) },
        mode === "edit" ? "撤销修改" : "清空"),
    ];
    if (removable) buttons.push(removeButton(row));
    form.dataset.mode = mode;
    fill(form,
      h("div", { class: "admin-form-head" },
        h("h2", { id: "admin-form-title" }, S.title(mode, row)),
        mode === "edit" && !S.single
          ? h("button", { type: "button", class: "btn btn-small", onclick: () => newRecord() }, "＋ " + S.noun)
          : null),
      S.formNote ? h("p", { class: "muted admin-form-note" }, S.formNote(mode, row)) : null,
      h("div", { class: "admin-fields" }, fields.map(fieldNode)),
      h("p", { class: "form-error", id: "admin-form-error", role: "alert", hidden: true }),
      h("div", { class: "admin-form-buttons" }, buttons),
      S.extra ? S.extra(mode, row) : null,
    );
    for (const field of fields) {
      if (field.dynamic) continue;
      const value = mode === "edit" ? (field.get ? field.get(row) : row[field.name])
        : defaults && field.name in defaults ? defaults[field.name] : field.default;
      setValue(field, value);
    }
    if (S.afterBuild) await S.afterBuild(mode, row);
  }

  function newRecord() {
    renderTable();
    const defaults = S.defaults ? S.defaults(readFilters()) : {};
    return showForm("create", null, defaults).then(() => renderTable());
  }

  // Deleting asks twice in place (no browser dialog): the first click arms the button.
  function removeButton(row) {
    const button = h("button", { type: "button", class: "btn btn-danger", id: "admin-delete" }, S.removeLabel || "删除");
    let armed = null;
    button.addEventListener("click", async () => {
      if (!armed) {
        button.textContent = "确认删除？";
        button.classList.add("is-armed");
        armed = setTimeout(() => {
          armed = null;
          button.textContent = S.removeLabel || "删除";
          button.classList.remove("is-armed");
        }, 4000);
        return;
      }
      clearTimeout(armed);
      button.disabled = true;
      try {
        await S.remove(row);
        toast(S.removedText ? S.removedText(row) : "已删除", "ok");
        await refresh();
        await newRecord();
      } catch (error) {
        showProblem(error);
        button.disabled = false;
      }
    });
    return button;
  }

  // The server's refusal on the form: fields named by the API are mapped to the form's own
  // (composite selects, imports that name `features[0]`), marked by FQ.showErrors, and the summary
  // is written with the form's Chinese labels.
  function showProblem(error) {
    const problem = error instanceof FQ.ApiError ? error.problem : null;
    if (!problem) {
      FQ.showErrors(form, error);
      return;
    }
    const labels = new Map(view.fields.map((f) => [f.name, f.label]));
    const errors = (problem.errors || []).map((e) => {
      const raw = String(e.field || "");
      const name = (S.errorField && S.errorField(e)) || raw.split(".")[0];
      return Object.assign({}, e, { field: labels.has(name) ? name : raw });
    });
    FQ.showErrors(form, new FQ.ApiError(error.status, Object.assign({}, problem, { errors })));
    const box = form.querySelector(".form-error");
    const lines = errors.map((e) => (labels.get(e.field) || e.field) + "：" + (e.reason_zh || e.reason || ""));
    const title = (S.problemTitle && S.problemTitle(problem, view.mode)) || problem.title_zh || "保存失败";
    box.replaceChildren(h("strong", {}, title),
      lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line)))
        : h("span", {}, "：" + (problem.detail_zh || problem.detail || "")));
    box.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    FQ.clearErrors(form);
    const values = {};
    for (const field of view.fields) if (field.type !== "static") values[field.name] = readValue(field);
    let body;
    try {
      body = S.body ? S.body(values, view.mode, view.row) : values;
    } catch (why) {
      showProblem(new FQ.ApiError(422, { title_zh: "输入有误", errors: [why] }));
      return;
    }
    if (view.mode === "edit" && !S.fullBody) {
      const before = S.original ? S.original(view.row) : view.row;
      for (const key of Object.keys(body)) if (same(body[key], before[key])) delete body[key];
      if (!Object.keys(body).length) {
        toast("没有需要保存的修改", "info");
        return;
      }
    } else if (view.mode === "create") {
      for (const key of Object.keys(body)) if (body[key] == null) delete body[key];
    }
    const button = document.getElementById("admin-save");
    button.disabled = true;
    try {
      const saved = await S.save(body, view.mode, view.row);
      toast(S.savedText(view.mode, saved, view.row), "ok");
      if (S.afterSave) S.afterSave();
      const key = saved ? S.key(saved) : null;
      await refresh();
      const again = key != null ? view.rows.find((r) => S.key(r) === key) : null;
      if (again) await openRow(again);
      else if (saved && S.keepSaved) await openRow(saved);
      else await newRecord();
    } catch (error) {
      showProblem(error);
    } finally {
      const still = document.getElementById("admin-save");
      if (still) still.disabled = false;
    }
  });

  async function buildFilters() {
    const fields = S.filters ? await S.filters() : [];
    if (!fields.length) return;
    filters.replaceChildren(
      ...fields.map((f) => h("label", {}, f.label, control(Object.assign({}, f, { required: false })))),
      h("div", { class: "actions" },
        h("button", { type: "reset", class: "btn btn-secondary" }, "重置"),
        h("button", { type: "submit", class: "btn btn-primary" }, "查询")));
    // Filter ids must not clash with the form's.
    filters.querySelectorAll("[id]").forEach((el) => { el.id = "q-" + el.id.replace(/^f-/, ""); });
    const params = new URLSearchParams(location.search);
    for (const f of fields) {
      const el = filters.elements.namedItem(f.name);
      if (f.cascade) await f.cascade(filters, params.get(f.name) || "", true);
      if (el && f.default !== undefined) {
        // What "重置" goes back to.
        const option = [...el.options].find((o) => o.value === f.default);
        if (option) option.defaultSelected = true;
      }
      if (el && params.has(f.name)) el.value = params.get(f.name);
      else if (el && f.default !== undefined) el.value = f.default;
    }
    view.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    filters.hidden = false;
    filters.addEventListener("submit", (e) => {
      e.preventDefault();
      view.page = 1;
      refresh();
    });
    filters.addEventListener("reset", () => setTimeout(async () => {
      for (const f of fields) if (f.cascade) await f.cascade(filters, "", false);
      view.page = 1;
      refresh();
    }));
    filters.addEventListener("change", async (e) => {
      if (e.target.type === "search") return;
      const f = fields.find((x) => x.name === e.target.name);
      if (f && f.cascade) await f.cascade(filters, e.target.value, false);
      view.page = 1;
      refresh();
      // A blank new record picks up what the filters now suggest (e.g. the village's code).
      if (view.mode === "create" && S.defaults) {
        for (const [name, value] of Object.entries(S.defaults(readFilters()))) {
          const el = input(name);
          if (el && el.value === "" && value !== "") el.value = value;
        }
      }
    });
  }

  // --- org selects shared by filters and forms ---------------------------------------------------

  // A town select and a village select that follows it; `prefix` names them (`town`/`village`
  // in filters, `home_town`... in forms). `anyLabel` is the empty choice of the town select.
  function villageChoices(tree, townCode, emptyLabel) {
    const town = tree.byCode.get(townCode);
    const villages = town && town.kind === "town" ? town.children : [];
    return [["", emptyLabel], ...villages.map((v) => [v.code, v.name])];
  }

  function fillSelect(select, options, value) {
    select.replaceChildren(...optionNodes(options));
    select.value = options.some((o) => o[0] === value) ? value : "";
  }

  async function townFilter(tree, withDistrict) {
    const options = [["", withDistrict ? "全部" : "全部镇街"]];
    if (withDistrict && tree.root.kind === "district") options.push([tree.root.code, "区级（" + tree.root.name + "）"]);
    for (const town of tree.towns) options.push([town.code, town.name]);
    return {
      name: "town", label: "镇街", type: "select", options,
      cascade: async (box, value) => {
        const village = box.elements.namedItem("village");
        if (!village) return;
        fillSelect(village, villageChoices(tree, value, "全部村社"), "");
        village.disabled = !tree.byCode.get(value) || tree.byCode.get(value).kind !== "town";
      },
    };
  }

  const villageFilter = { name: "village", label: "村社", type: "select", options: [["", "全部村社"]], disabled: true };

  // Town → village (→ grid) selects inside the form, set to `current` (an org code). Returns a
  // function giving the deepest chosen code; `onChange` hears every change.
  async function orgCascade(prefix, current, withGrid, onChange) {
    const tree = await Ref.tree();
    const town = input(prefix + "_town");
    const village = input(prefix + "_village");
    const grid = withGrid ? input(prefix + "_grid") : null;
    const townOptions = [];
    if (tree.root.kind === "district") townOptions.push([tree.root.code, "区级（" + tree.root.name + "）"]);
    for (const t of tree.towns) townOptions.push([t.code, t.name]);
    const at = (n) => (current && current.length >= n ? current.slice(0, n) : "");
    fillSelect(town, townOptions, at(9) || (current && current.length === 6 ? current : ""));
    if (!town.value && townOptions.length) town.value = townOptions[0][0];

    async function fillVillage(value) {
      const isTown = Boolean(tree.byCode.get(town.value)) && tree.byCode.get(town.value).kind === "town";
      fillSelect(village, villageChoices(tree, isTown ? town.value : "", "（镇街本级）"), value);
      village.disabled = !isTown;
      await fillGrid(at(15));
    }
    const gridLists = FQ.latest();
    async function fillGrid(value) {
      if (!grid) return;
      const current = gridLists();
      const grids = village.value ? await Ref.grids(village.value) : [];
      if (!current()) return;
      fillSelect(grid, [["", "（村社本级）"], ...grids.map((g) => [g.code, g.name])], value);
      grid.disabled = !village.value;
    }
    await fillVillage(at(12));
    const chosen = () => (grid && grid.value) || village.value || town.value;
    town.addEventListener("change", async () => { await fillVillage(""); if (onChange) onChange(chosen()); });
    village.addEventListener("change", async () => { await fillGrid(""); if (onChange) onChange(chosen()); });
    if (grid) grid.addEventListener("change", () => { if (onChange) onChange(chosen()); });
    return chosen;
  }

  const orgFields = (prefix, label, withGrid) => [
    { name: prefix + "_town", label: label + "：镇街", type: "select", dynamic: true, required: true },
    { name: prefix + "_village", label: "村社", type: "select", dynamic: true },
    ...(withGrid ? [{ name: prefix + "_grid", label: "网格", type: "select", dynamic: true }] : []),
  ];

  // --- start: once every section file has registered ---------------------------------------------

  const sections = {};

  async function start() {
    S = sections[SECTION];
    if (!S) return;
    fill(actions,
      ...(S.toolbar ? S.toolbar() : []),
      // A single setting (底图) is edited, never added to.
      S.single ? null
        : h("button", { type: "button", class: "btn btn-primary", id: "admin-new", onclick: () => newRecord() }, "＋ 新增" + S.noun),
    );
    try {
      await buildFilters();
    } catch (error) {
      toast(FQ.problemText(error), "error");
    }
    await refresh();
    const first = S.single && view.rows.length ? openRow(view.rows[0]) : newRecord();
    await first.catch((error) => toast(FQ.problemText(error), "error"));
    page.dataset.ready = "true";
  }

  window.FQAdmin = {
    sections, form, PAGE_SIZE, PLATFORMS, ROLES, LEVELS, LEVEL_SHORT, UNIT_TYPES, PHONE,
    ZH_ORDER, entries, unitTypeName, dash, tag, state, code, forget, Ref, unitTypes,
    categoryOptions, categoryData, optionNodes, input, refresh, townFilter, villageFilter,
    orgCascade, orgFields,
  };
  // The section files are plain scripts after this one: they have run when the document is parsed.
  document.addEventListener("DOMContentLoaded", start);
})();
