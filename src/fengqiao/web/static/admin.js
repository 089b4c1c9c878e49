// Administration: one table and one form per section (grids, users, units, classes, routing rules,
// SLA policies, holidays) over the same /api/v1 every other page uses. A section says how its rows
// load and look, which fields its form has and how a save is sent; the engine below draws the
// filters, table, pager and form with FQ.h (text is never HTML) and puts the server's
// problem+json on the form, field by field.
(function () {
  "use strict";

  const { api, h, toast, query, T } = FQ;
  const page = document.getElementById("admin-page");
  if (!page) return;
  const SECTION = page.dataset.section;
  const table = document.getElementById("admin-table");
  const pager = document.getElementById("admin-pager");
  const filters = document.getElementById("admin-filters");
  const form = document.getElementById("admin-form");
  const actions = document.getElementById("admin-actions");
  const PAGE_SIZE = 20;

  // --- words ------------------------------------------------------------------------------------

  const GRID_TYPES = { residential: "住宅", market: "市场", enterprise: "企业园区", school: "学校" };
  const AREA_TYPES = { urban: "城市", rural: "农村" };
  const PLATFORMS = T.platforms || {};
  const ROLES = T.roles || {};
  const LEVELS = T.levels || {};
  const LEVEL_SHORT = { 1: "一级", 2: "二级", 3: "三级", 4: "四级" };
  const LIMIT_UNITS = { hours: "小时", working_hours: "工作小时", working_days: "工作日", calendar_days: "自然日" };
  const UNIT_CATEGORIES = {
    agency: "派驻机构", town_office: "镇街科室", coordination_group: "平台协调组",
    village_committee: "村（居）委会", district_department: "区级部门",
  };
  // The standard kinds of responsible unit of the four-platforms model; a type not listed here
  // is shown by its code.
  const UNIT_TYPES = {
    law_enforcement_squadron: "综合行政执法中队", market_supervision_office: "市场监督管理所",
    police_station: "派出所", justice_office: "司法所", natural_resources_office: "自然资源所",
    ecology_station: "生态环境监管站", traffic_police_squadron: "交警中队",
    fire_rescue_station: "消防救援站", emergency_management_station: "应急管理站",
    human_resources_office: "人力社保所", tax_branch: "税务分局", power_supply_office: "供电所",
    comprehensive_governance_office: "综治办（平安办）", petition_office: "信访办",
    civil_affairs_office: "民政办", urban_construction_office: "城建办",
    agriculture_office: "农业农村办（河长办）", platform_coordination_group: "平台协调组",
    village_committee: "村（居）委会", petition_bureau: "区信访局", command_center: "综合信息指挥中心",
    law_enforcement_bureau: "区综合行政执法局", market_supervision_bureau: "区市场监督管理局",
    public_security_bureau: "公安分局", ecology_bureau: "区生态环境分局",
    housing_construction_bureau: "区住房和城乡建设局", civil_affairs_bureau: "区民政局",
    human_resources_bureau: "区人力社会保障局", emergency_management_bureau: "区应急管理局",
    natural_resources_bureau: "区自然资源和规划分局", transport_bureau: "区交通运输局",
  };
  const CRS = { wgs84: "WGS-84（GPS）", cgcs2000: "CGCS2000", gcj02: "GCJ-02（高德、腾讯）", bd09: "BD-09（百度）" };
  const WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];
  const PHONE = "\\+?[0-9][0-9 \\-]{2,30}";
  const UNIT_TYPE_PATTERN = "[a-z][a-z0-9_]{1,47}";

  const entries = (words) => Object.entries(words);
  const unitTypeName = (type) => (type ? UNIT_TYPES[type] || type : "—");
  const dash = (value) => (value == null || value === "" ? "—" : value);
  const tag = (text, kind) => h("span", { class: "tag" + (kind ? " tag-" + kind : "") }, text);
  const state = (active) => (active ? tag("启用", "on") : tag("停用", "off"));
  const code = (text) => h("code", {}, text);
  // replaceChildren would print a null as "null": leave absent parts out.
  const fill = (node, ...children) => node.replaceChildren(...children.flat().filter((c) => c != null && c !== false));

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

  // The unit types that exist, as options: Chinese names, with the code where one must type it.
  async function unitTypes(withCode) {
    const units = await Ref.units();
    const types = [...new Set(units.map((u) => u.unit_type))].sort();
    const label = (t) => (UNIT_TYPES[t] ? (withCode ? UNIT_TYPES[t] + "（" + t + "）" : UNIT_TYPES[t]) : t);
    return types.map((t) => [t, label(t)]);
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

  async function refresh() {
    const values = readFilters();
    syncUrl(values);
    const tbody = table.tBodies[0];
    page.setAttribute("aria-busy", "true");
    try {
      const result = await S.load(values, view.page);
      view.rows = result.rows;
      view.total = result.total;
      view.size = result.size || 0;
      if (view.size && view.rows.length === 0 && view.page > 1) {
        view.page = Math.max(1, Math.ceil(view.total / view.size));
        return refresh();
      }
      renderTable();
    } catch (error) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: S.columns.length, class: "admin-empty is-error" },
        "加载失败：" + FQ.problemText(error))));
      pager.replaceChildren();
      toast(FQ.problemText(error), "error");
    } finally {
      page.removeAttribute("aria-busy");
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
        mode === "edit"
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
    async function fillGrid(value) {
      if (!grid) return;
      const grids = village.value ? await Ref.grids(village.value) : [];
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

  // --- sections ---------------------------------------------------------------------------------

  // Import problems name `features[0] (code)`; the English reason says which property it was.
  function gridField(error) {
    const field = String(error.field || "");
    if (!field.startsWith("features[")) return null;
    const reason = String(error.reason || "");
    const rules = [
      [/household/i, "households"], [/population/i, "population"], [/grid_type/, "grid_type"],
      [/area_type/, "area_type"],
      [/polygon|geometry|coordinat|overlap|longitude|latitude|area|empty/i, "geometry"],
      [/name/i, "name"], [/code|orphan|kind|duplicate/i, "code"],
    ];
    const hit = rules.find(([pattern]) => pattern.test(reason));
    return hit ? hit[1] : null;
  }

  // A polygon pasted as a geometry, a Feature or a FeatureCollection of one feature.
  function parseGeometry(text) {
    if (!text) return null;
    let data;
    try {
      data = JSON.parse(text);
    } catch (_e) {
      throw { field: "geometry", reason_zh: "不是合法的 GeoJSON（JSON 格式错误）" };
    }
    if (data && data.type === "FeatureCollection") data = (data.features || [])[0];
    if (data && data.type === "Feature") data = data.geometry;
    if (!data || !["Polygon", "MultiPolygon"].includes(data.type)) {
      throw { field: "geometry", reason_zh: "须为面（Polygon 或 MultiPolygon）" };
    }
    return data;
  }

  // A unit-type box takes the code; the Chinese name of what was typed shows beside it.
  function nameUnitTypes(types) {
    form.append(h("datalist", { id: "unit-types" }, optionNodes(types)));
    form.querySelectorAll('input[list="unit-types"]').forEach((box) => {
      const shown = h("span", { class: "type-name", "aria-live": "polite" });
      const update = () => { shown.textContent = UNIT_TYPES[box.value.trim()] ? "即：" + UNIT_TYPES[box.value.trim()] : ""; };
      box.insertAdjacentElement("afterend", shown);
      box.addEventListener("input", update);
      update();
    });
  }

  const SECTIONS = {};

  SECTIONS.grids = {
    noun: "网格",
    key: (row) => row.code,
    columns: [
      { label: "网格编码", cell: (g) => code(g.code) },
      { label: "网格名称", cell: (g) => g.name, cls: "strong" },
      { label: "所属村社", cell: (g) => {
        const parent = SECTIONS.grids.tree && SECTIONS.grids.tree.byId.get(g.parent_id);
        return parent ? parent.name : "—";
      } },
      { label: "网格类型", cell: (g) => tag(GRID_TYPES[g.grid_type] || dash(g.grid_type), g.grid_type) },
      { label: "城乡", cell: (g) => AREA_TYPES[g.area_type] || "—" },
      { label: "户数", num: true, cell: (g) => FQ.number(g.households) },
      { label: "人口", num: true, cell: (g) => FQ.number(g.population) },
    ],
    filters: async () => {
      const tree = await Ref.tree();
      SECTIONS.grids.tree = tree;
      return [
        await townFilter(tree, false), villageFilter,
        { name: "grid_type", label: "网格类型", type: "select", options: [["", "全部类型"], ...entries(GRID_TYPES)] },
        { name: "q", label: "关键词", type: "search", placeholder: "网格名称或编码", maxlength: 100 },
      ];
    },
    load: async (f, number) => {
      const data = await api("/org/units" + query({
        kind: "grid", within: f.village || f.town, grid_type: f.grid_type, q: f.q, page: number, size: PAGE_SIZE,
      }));
      return { rows: data.items, total: data.total, size: PAGE_SIZE };
    },
    title: (mode, g) => (mode === "edit" ? "编辑网格：" + g.name : "新增网格"),
    formNote: (mode) => (mode === "edit"
      ? "户数不得超过城乡网格上限（默认城市 300 户、农村 150 户）；边界留空则不修改。"
      : "新网格经导入校验：编码、上级、户数上限、边界合法且不与相邻网格重叠。"),
    defaults: (f) => ({ code: f.village || "", grid_type: "residential", crs: "wgs84" }),
    fields: async (mode, g) => [
      mode === "edit"
        ? { name: "code", label: "网格编码", type: "static", value: g.code }
        : { name: "code", label: "网格编码", required: true, pattern: "\\d{15}", maxlength: 15,
          inputmode: "numeric", hint: "15 位：村社编码 + 3 位序号", title: "15 位数字" },
      { name: "name", label: "网格名称", required: true, maxlength: 100 },
      { name: "grid_type", label: "网格类型", type: "select", required: true, options: entries(GRID_TYPES) },
      { name: "area_type", label: "城乡类型", type: "select", options: [["", "随上级"], ...entries(AREA_TYPES)] },
      { name: "households", label: "户数", type: "number", kind: "int", min: 0, max: 100000, step: 1 },
      { name: "population", label: "人口", type: "number", kind: "int", min: 0, max: 1000000, step: 1 },
      { name: "geometry", label: "边界（GeoJSON 面）", type: "textarea", wide: true, rows: 4, spellcheck: false,
        required: mode === "create", get: () => "", placeholder: '{"type": "Polygon", "coordinates": [...]}' },
      { name: "crs", label: "边界坐标系", type: "select", options: entries(CRS), get: () => "wgs84" },
    ],
    errorField: gridField,
    // An edit goes through the importer, whose refusal speaks of an import.
    problemTitle: (problem, mode) => (mode === "edit" && /org-import-rejected$/.test(problem.type || "")
      ? "校验未通过，未作任何修改" : null),
    body: (v) => {
      const body = {
        name: v.name, grid_type: v.grid_type, area_type: v.area_type, households: v.households,
        population: v.population,
      };
      const geometry = parseGeometry(v.geometry);
      if (geometry) body.geometry = geometry;
      if (v.code) body.code = v.code;
      body.crs = v.crs;
      return body;
    },
    original: (g) => Object.assign({}, g, { crs: "wgs84" }),
    save: async (body, mode, g) => {
      const crs = body.crs;
      delete body.crs;
      if (mode === "edit") {
        if (!body.geometry && Object.keys(body).length === 0) return g;
        return api("/org/units/" + encodeURIComponent(g.code) + query({ crs: body.geometry ? crs : "" }),
          { method: "PATCH", json: body });
      }
      const { geometry, ...properties } = body;
      await api("/org/import" + query({ crs }), { method: "POST", json: {
        type: "FeatureCollection",
        features: [{ type: "Feature", properties: Object.assign({ kind: "grid" }, properties), geometry }],
      } });
      return api("/org/units/" + encodeURIComponent(body.code));
    },
    keepSaved: true,
    afterSave: () => forget("grids:"),
    savedText: (mode, saved, g) => (mode === "edit" ? "已保存网格 " + (saved.name || g.name) : "已新增网格 " + saved.code),
    toolbar: () => {
      const file = h("input", { type: "file", accept: ".json,.geojson,application/geo+json,application/json", hidden: true, id: "import-file" });
      file.addEventListener("change", async () => {
        const chosen = file.files[0];
        file.value = "";
        if (!chosen) return;
        try {
          const report = await api("/org/import", { method: "POST", json: JSON.parse(await chosen.text()) });
          toast("导入完成：新增 " + report.created + " 个，更新 " + report.updated + " 个", "ok");
          forget("grids:");
          forget("tree");
          refresh();
        } catch (error) {
          toast("导入被拒绝，未导入任何数据：" + (error instanceof SyntaxError ? "文件不是合法的 JSON" : FQ.problemText(error)), "error");
        }
      });
      return [
        h("a", { class: "btn btn-secondary", href: "/api/v1/org/export", download: "org-export.geojson" }, "导出 GeoJSON"),
        h("button", { type: "button", class: "btn btn-secondary", onclick: () => file.click() }, "导入 GeoJSON"),
        file,
      ];
    },
  };

  SECTIONS.users = {
    noun: "用户",
    key: (row) => row.id,
    columns: [
      { label: "用户名", cell: (u) => code(u.username) },
      { label: "姓名", cell: (u) => u.name, cls: "strong" },
      { label: "手机", cell: (u) => dash(u.phone), cls: "nowrap" },
      { label: "角色", cell: (u) => h("span", { class: "tags" }, u.roles.map((r) => tag(ROLES[r] || r))) },
      { label: "所属区划", cell: (u) => u.home.name },
      { label: "状态", cell: (u) => state(u.is_active) },
    ],
    filters: async () => {
      const tree = await Ref.tree();
      return [
        { name: "role", label: "角色", type: "select", options: [["", "全部角色"], ...entries(ROLES)] },
        await townFilter(tree, false), villageFilter,
        { name: "q", label: "关键词", type: "search", placeholder: "用户名或姓名", maxlength: 64 },
      ];
    },
    load: async (f, number) => {
      const data = await api("/users" + query({
        role: f.role, org: f.village || f.town, q: f.q, page: number, size: PAGE_SIZE,
      }));
      return { rows: data.items, total: data.total, size: PAGE_SIZE };
    },
    detail: (u) => api("/users/" + u.id),
    title: (mode, u) => (mode === "edit" ? "编辑用户：" + u.name : "新增用户"),
    fields: async (mode, u) => [
      mode === "edit"
        ? { name: "username", label: "用户名", type: "static", value: u.username }
        : { name: "username", label: "用户名", required: true, minlength: 2, maxlength: 64,
          pattern: "[A-Za-z0-9_.\\-]+", title: "字母、数字及 _ . -", hint: "登录用，字母、数字及 _ . -", autocomplete: "off" },
      { name: "name", label: "姓名", required: true, maxlength: 64 },
      { name: "phone", label: "手机", type: "tel", pattern: PHONE, maxlength: 32, title: "数字，可含 + - 和空格" },
      { name: "password", label: mode === "edit" ? "重置密码" : "初始密码", type: "password", minlength: 8,
        maxlength: 128, autocomplete: "new-password", get: () => "",
        hint: mode === "edit" ? "留空则不修改；至少 8 位" : "至少 8 位；留空则不能用密码登录（设备账号用 API 密钥）" },
      { name: "roles", label: "角色", type: "checks", wide: true, options: entries(ROLES) },
      ...orgFields("home", "所属区划", true),
      { name: "unit_code", label: "所属单位", type: "select", dynamic: true, wide: true,
        hint: "处置人员、单位负责人填写" },
      { name: "grid_codes", label: "服务网格", type: "checks", dynamic: true, wide: true,
        hint: "网格员、网格长填写：先选所属村社" },
      ...(mode === "edit" ? [{ name: "is_active", label: "启用（停用后不能登录）", type: "checkbox" }] : []),
    ],
    afterBuild: async (mode, u) => {
      const roleBoxes = [...form.querySelectorAll('input[name="roles"]')];
      const checkRoles = () => roleBoxes[0].setCustomValidity(
        roleBoxes.some((b) => b.checked) ? "" : "请至少选择一个角色");
      roleBoxes.forEach((b) => b.addEventListener("change", checkRoles));
      checkRoles();
      const units = await Ref.units();
      const unitSelect = input("unit_code");
      const assigned = u ? u.grids : [];
      const gridBox = form.querySelector('.check-group[name="grid_codes"]');
      let current = u && u.unit ? u.unit.code : "";
      unitSelect.addEventListener("change", () => { current = unitSelect.value; });
      async function follow(home) {
        // Units along the home's chain (district, town, village) and the chosen one.
        const fits = units.filter((x) => home.startsWith(x.org.code) || x.code === current);
        const groups = new Map();
        for (const x of fits) {
          if (!groups.has(x.org.name)) groups.set(x.org.name, []);
          groups.get(x.org.name).push([x.code, x.name]);
        }
        unitSelect.replaceChildren(...optionNodes([["", "（无）"],
          ...[...groups].map(([group, options]) => ({ group, options }))]));
        unitSelect.value = current;
        const checked = new Set([...gridBox.querySelectorAll("input:checked")].map((b) => b.value));
        if (!gridBox.dataset.ready) assigned.forEach((g) => checked.add(g.code));
        gridBox.dataset.ready = "true";
        const village = home.length >= 12 ? home.slice(0, 12) : "";
        const choices = new Map(assigned.map((g) => [g.code, g.name]));
        if (village) for (const g of await Ref.grids(village)) choices.set(g.code, g.name);
        for (const c of checked) if (!choices.has(c)) choices.set(c, c);
        gridBox.replaceChildren(...(choices.size ? [...choices].map(([value, label]) => h("label", { class: "check" },
          h("input", { type: "checkbox", name: "grid_codes", value, checked: checked.has(value) }), label))
          : [h("span", { class: "muted" }, "选择所属村社后列出其网格")]));
      }
      SECTIONS.users.home = await orgCascade("home", u ? u.home.code : "", true, follow);
      await follow(SECTIONS.users.home());
    },
    errorField: (e) => ({ home_org_code: "home_town", grid_codes: "grid_codes" })[String(e.field).split(".")[0]],
    body: (v) => ({
      username: v.username, name: v.name, phone: v.phone, password: v.password, roles: v.roles,
      home_org_code: SECTIONS.users.home(), unit_code: v.unit_code, grid_codes: v.grid_codes,
      is_active: v.is_active,
    }),
    original: (u) => ({
      name: u.name, phone: u.phone, roles: u.roles, home_org_code: u.home.code,
      unit_code: u.unit ? u.unit.code : null, grid_codes: u.grids.map((g) => g.code), is_active: u.is_active,
    }),
    save: (body, mode, u) => (mode === "edit"
      ? api("/users/" + u.id, { method: "PATCH", json: body })
      : api("/users", { method: "POST", json: Object.assign({ grid_codes: [] }, body) })),
    savedText: (mode, saved) => (mode === "edit" ? "已保存用户 " : "已新增用户 ") + saved.name + "（" + saved.username + "）",
    keepSaved: true,
    extra: (mode, u) => {
      if (mode !== "edit" || !u.roles.includes("device")) return null;
      const out = h("div", { class: "api-key-box", hidden: true });
      return h("div", { class: "admin-extra" },
        h("h3", {}, "API 密钥"),
        h("p", { class: "muted" }, "设备账号用 API 密钥接入；密钥只显示一次，请立即保存。"),
        h("button", { type: "button", class: "btn btn-secondary", onclick: async () => {
          try {
            const made = await api("/api-keys", { method: "POST", json: { username: u.username, name: u.name + " 接入密钥" } });
            out.replaceChildren(h("span", { class: "muted" }, "新密钥（前缀 " + made.prefix + "）："), h("code", { class: "secret" }, made.key));
            out.hidden = false;
            toast("已生成 API 密钥", "ok");
          } catch (error) {
            toast(FQ.problemText(error), "error");
          }
        } }, "生成 API 密钥"),
        out);
    },
  };

  SECTIONS.units = {
    noun: "单位",
    key: (row) => row.id,
    columns: [
      { label: "单位编码", cell: (x) => code(x.code) },
      { label: "单位名称", cell: (x) => x.name, cls: "strong" },
      { label: "所在区划", cell: (x) => x.org.name },
      { label: "单位类型", cell: (x) => h("span", { title: x.unit_type }, unitTypeName(x.unit_type)) },
      { label: "平台", cell: (x) => (x.platform ? tag(PLATFORMS[x.platform] || x.platform, x.platform) : "—") },
      { label: "值班电话", cell: (x) => dash(x.duty_phone), cls: "nowrap" },
      { label: "状态", cell: (x) => state(x.active) },
    ],
    filters: async () => {
      const tree = await Ref.tree();
      const types = await unitTypes();
      return [
        Object.assign(await townFilter(tree, true), { label: "所在区划" }), villageFilter,
        { name: "unit_type", label: "单位类型", type: "select", options: [["", "全部类型"], ...types] },
        { name: "platform", label: "平台", type: "select", options: [["", "全部平台"], ...entries(PLATFORMS)] },
      ];
    },
    load: async (f, number) => {
      const data = await api("/units" + query({
        org: f.village || f.town, unit_type: f.unit_type, platform: f.platform, page: number, size: PAGE_SIZE,
      }));
      return { rows: data.items, total: data.total, size: PAGE_SIZE };
    },
    title: (mode, x) => (mode === "edit" ? "编辑单位：" + x.name : "新增单位"),
    fields: async (mode, x) => [
      mode === "edit"
        ? { name: "code", label: "单位编码", type: "static", value: x.code }
        : { name: "code", label: "单位编码", pattern: "[A-Za-z0-9_\\-]{2,32}", maxlength: 32,
          placeholder: "留空自动生成", title: "2-32 位字母、数字、_ 或 -" },
      { name: "name", label: "单位名称", required: true, maxlength: 100, wide: true },
      ...(mode === "edit" ? [{ name: "org", label: "所在区划", type: "static", value: x.org.name, wide: true }]
        : orgFields("org", "所在区划", false)),
      { name: "category", label: "单位类别", type: "select", required: true, options: [["", "请选择"], ...entries(UNIT_CATEGORIES)] },
      { name: "platform", label: "平台", type: "select", options: [["", "（不属于平台）"], ...entries(PLATFORMS)] },
      { name: "unit_type", label: "单位类型", required: true, pattern: UNIT_TYPE_PATTERN, maxlength: 48,
        list: "unit-types", hint: "英文标识，如 police_station；流转规则按类型找单位", title: "小写字母开头，字母、数字、下划线", wide: true },
      { name: "phone", label: "电话", type: "tel", pattern: PHONE, maxlength: 32, title: "数字，可含 + - 和空格" },
      { name: "duty_phone", label: "值班电话", type: "tel", pattern: PHONE, maxlength: 32, title: "数字，可含 + - 和空格" },
      ...(mode === "edit" ? [{ name: "active", label: "启用（停用后不再参与流转）", type: "checkbox" }] : []),
    ],
    afterBuild: async (mode) => {
      nameUnitTypes(await unitTypes(true));
      if (mode === "create") SECTIONS.units.org = await orgCascade("org", "", false);
    },
    errorField: (e) => ({ org_code: "org_town" })[String(e.field)],
    body: (v, mode) => {
      const body = {
        name: v.name, category: v.category, unit_type: v.unit_type, platform: v.platform,
        phone: v.phone, duty_phone: v.duty_phone,
      };
      if (mode === "create") Object.assign(body, { code: v.code, org_code: SECTIONS.units.org() });
      else body.active = v.active;
      return body;
    },
    save: (body, mode, x) => (mode === "edit"
      ? api("/units/" + x.id, { method: "PATCH", json: body })
      : api("/units", { method: "POST", json: body })),
    afterSave: () => forget("units"),
    savedText: (mode, saved) => (mode === "edit" ? "已保存单位 " : "已新增单位 ") + saved.name,
    keepSaved: true,
  };

  async function categoryData() {
    const data = await Ref.categories();
    const majors = new Map(data.majors.map((m) => [m.code, m]));
    const byCode = new Map(data.categories.map((c) => [c.code, c]));
    return { data, majors, byCode };
  }

  SECTIONS.categories = {
    noun: "分类",
    key: (row) => row.code,
    columns: [
      { label: "分类编码", cell: (c) => code(c.code) },
      { label: "大类", cell: (c) => (SECTIONS.categories.majors.get(c.major_code) || {}).name_zh || c.major_code },
      { label: "小类名称", cell: (c) => c.name_zh, cls: "strong" },
      { label: "平台", cell: (c) => tag(PLATFORMS[c.platform] || c.platform, c.platform) },
      { label: "默认单位类型", cell: (c) => h("span", { title: c.default_unit_type }, unitTypeName(c.default_unit_type)) },
      { label: "默认等级", cell: (c) => h("span", { title: LEVELS[c.default_level] }, LEVEL_SHORT[c.default_level] || c.default_level) },
      { label: "状态", cell: (c) => state(c.active) },
    ],
    filters: async () => {
      const { data } = await categoryData();
      return [
        { name: "major", label: "大类", type: "select", options: [["", "全部大类"], ...data.majors.map((m) => [m.code, m.code + " " + m.name_zh])] },
        { name: "platform", label: "平台", type: "select", options: [["", "全部平台"], ...entries(PLATFORMS)] },
        { name: "q", label: "关键词", type: "search", placeholder: "编码或名称", maxlength: 50 },
      ];
    },
    load: async (f) => {
      const { data, majors } = await categoryData();
      SECTIONS.categories.majors = majors;
      const rows = data.categories.filter((c) => (!f.major || c.major_code === f.major)
        && (!f.platform || c.platform === f.platform)
        && (!f.q || c.code.includes(f.q) || c.name_zh.includes(f.q) || (c.name_en || "").toLowerCase().includes(f.q.toLowerCase())));
      return { rows, total: rows.length };
    },
    title: (mode, c) => (mode === "edit" ? "编辑分类：" + c.name_zh : "新增小类"),
    formNote: (mode) => (mode === "edit" ? "已上报的事件保留上报时的分类名称。" : "新小类沿用所属大类的平台。"),
    defaults: (f) => ({ major_code: f.major || "", default_level: 2 }),
    fields: async (mode, c) => {
      const { data, majors } = await categoryData();
      const types = await unitTypes(true);
      const known = new Set(types.map((t) => t[0]));
      for (const cat of data.categories) if (!known.has(cat.default_unit_type)) {
        known.add(cat.default_unit_type);
        types.push([cat.default_unit_type, unitTypeName(cat.default_unit_type)]);
      }
      SECTIONS.categories.types = types;
      return [
        mode === "edit"
          ? { name: "code", label: "分类编码", type: "static", value: c.code }
          : { name: "code", label: "分类编码", required: true, pattern: "\\d{4,6}", maxlength: 6,
            inputmode: "numeric", hint: "4-6 位数字，以大类编码开头", title: "4-6 位数字" },
        mode === "edit"
          ? { name: "major", label: "大类", type: "static", value: c.major_code + " " + ((majors.get(c.major_code) || {}).name_zh || "") }
          : { name: "major_code", label: "大类", type: "select", required: true,
            options: [["", "请选择"], ...data.majors.map((m) => [m.code, m.code + " " + m.name_zh])] },
        { name: "name_zh", label: "小类名称", required: true, maxlength: 64 },
        { name: "name_en", label: "英文名称", maxlength: 100, empty: "" },
        ...(mode === "edit" ? [{ name: "platform", label: "平台", type: "select", required: true, options: entries(PLATFORMS) }] : []),
        { name: "default_unit_type", label: "默认单位类型", required: true, pattern: UNIT_TYPE_PATTERN,
          maxlength: 48, list: "unit-types", title: "小写字母开头，字母、数字、下划线" },
        { name: "default_level", label: "默认等级", type: "select", kind: "int", required: true, options: entries(LEVELS) },
        { name: "filing_condition", label: "立案条件", type: "textarea", wide: true, empty: "" },
        { name: "closing_condition", label: "结案条件", type: "textarea", wide: true, empty: "" },
        { name: "national_code", label: "国标编码", maxlength: 32, hint: "GB/T 47678.5，城市管理类填写" },
        ...(mode === "edit" ? [{ name: "active", label: "启用（停用后不能再以此分类上报）", type: "checkbox" }] : []),
      ];
    },
    afterBuild: async () => nameUnitTypes(SECTIONS.categories.types),
    body: (v, mode) => {
      const body = {
        name_zh: v.name_zh, name_en: v.name_en, default_unit_type: v.default_unit_type,
        default_level: v.default_level, filing_condition: v.filing_condition,
        closing_condition: v.closing_condition, national_code: v.national_code,
      };
      if (mode === "create") Object.assign(body, { code: v.code, major_code: v.major_code });
      else Object.assign(body, { platform: v.platform, active: v.active });
      return body;
    },
    save: (body, mode, c) => (mode === "edit"
      ? api("/categories/" + encodeURIComponent(c.code), { method: "PATCH", json: body })
      : api("/categories", { method: "POST", json: body })),
    afterSave: () => forget("categories"),
    savedText: (mode, saved) => (mode === "edit" ? "已保存分类 " : "已新增分类 ") + saved.code + " " + saved.name_zh,
  };

  SECTIONS.rules = {
    noun: "规则",
    key: (row) => row.id,
    columns: [
      { label: "规则顺序", num: true, cell: (r) => r.position },
      { label: "分类", cell: (r) => {
        const ref = SECTIONS.rules.ref;
        if (r.category_code) return r.category_code + " " + ((ref.cats.byCode.get(r.category_code) || {}).name_zh || "");
        if (r.major_code) return "大类 " + ((ref.cats.majors.get(r.major_code) || {}).name_zh || r.major_code);
        return h("span", { class: "muted" }, "任意");
      } },
      { label: "镇街", cell: (r) => (r.town_id ? (SECTIONS.rules.ref.tree.byId.get(r.town_id) || {}).name || "#" + r.town_id
        : h("span", { class: "muted" }, "任意")) },
      { label: "等级", cell: (r) => (r.level ? LEVEL_SHORT[r.level] || r.level : h("span", { class: "muted" }, "任意")) },
      { label: "目标单位类型/单位", cell: (r) => (r.unit_id
        ? h("span", {}, tag("指定"), " ", (SECTIONS.rules.ref.units.get(r.unit_id) || {}).name || "#" + r.unit_id)
        : unitTypeName(r.unit_type)) },
      { label: "说明", cell: (r) => h("span", { class: "clamp", title: r.note }, dash(r.note)), cls: "note" },
      { label: "状态", cell: (r) => state(r.active) },
    ],
    rowClass: (r) => (r.active ? [] : ["is-inactive"]),
    filters: async () => {
      const [{ data }, tree] = await Promise.all([categoryData(), Ref.tree()]);
      return [
        { name: "category", label: "分类", type: "select", options: [["", "全部分类"], ...categoryOptions(data, true)] },
        { name: "town", label: "镇街", type: "select", options: [["", "全部"], ["any", "任意镇街"], ...tree.towns.map((t) => [String(t.id), t.name])] },
        { name: "active", label: "状态", type: "select", options: [["", "全部"], ["true", "启用"], ["false", "停用"]] },
      ];
    },
    load: async (f) => {
      const [rules, cats, tree, units] = await Promise.all([api("/routing-rules"), categoryData(), Ref.tree(), Ref.units()]);
      SECTIONS.rules.ref = { cats, tree, units: new Map(units.map((u) => [u.id, u])) };
      SECTIONS.rules.all = rules;
      // A class filter shows the rules that can fire for it: its own and its major class's.
      const [kind, value] = (f.category || "").split(":");
      const majorOf = (c) => (cats.byCode.get(c) || {}).major_code;
      const matches = (r) => (kind === "cat"
        ? r.category_code === value || (!r.category_code && r.major_code === majorOf(value))
        : r.major_code === value || majorOf(r.category_code) === value);
      const rows = rules.filter((r) => (!f.category || matches(r))
        && (!f.town || (f.town === "any" ? r.town_id == null : String(r.town_id) === f.town))
        && (!f.active || String(r.active) === f.active));
      return { rows, total: rows.length };
    },
    title: (mode, r) => (mode === "edit" ? "编辑规则：顺序 " + r.position : "新增规则"),
    formNote: () => "匹配条件留“任意”即不限；目标单位类型与指定单位二选一。",
    defaults: () => {
      const positions = (SECTIONS.rules.all || []).map((r) => r.position);
      return { active: true, position: positions.length ? Math.max(...positions) + 10 : 10 };
    },
    fields: async () => {
      const [{ data }, tree, units, types] = await Promise.all([categoryData(), Ref.tree(), Ref.units(), unitTypes()]);
      const groups = new Map();
      for (const u of units) {
        if (!groups.has(u.org.name)) groups.set(u.org.name, []);
        groups.get(u.org.name).push([String(u.id), u.name]);
      }
      return [
        { name: "position", label: "规则顺序", type: "number", kind: "int", required: true, min: 1, max: 1000000, step: 1,
          hint: "从小到大匹配，首条命中生效" },
        { name: "match", label: "分类", type: "select", wide: true, options: [["", "任意分类"], ...categoryOptions(data, true)],
          get: (r) => (r.category_code ? "cat:" + r.category_code : r.major_code ? "major:" + r.major_code : "") },
        { name: "town_id", label: "镇街", type: "select", kind: "int", options: [["", "任意镇街"], ...tree.towns.map((t) => [String(t.id), t.name])] },
        { name: "level", label: "等级", type: "select", kind: "int", options: [["", "任意等级"], ...entries(LEVELS)] },
        { name: "unit_type", label: "目标单位类型", type: "select", wide: true, options: [["", "（不按类型）"], ...types] },
        { name: "unit_id", label: "目标单位", type: "select", kind: "int", wide: true,
          options: [["", "（不指定单位）"], ...[...groups].map(([group, options]) => ({ group, options }))] },
        { name: "note", label: "说明", type: "textarea", wide: true, rows: 2, empty: "" },
        { name: "active", label: "启用", type: "checkbox" },
      ];
    },
    errorField: (e) => ({ category_code: "match", major_code: "match" })[String(e.field)],
    body: (v) => {
      const [kind, value] = (v.match || "").split(":");
      return {
        position: v.position, category_code: kind === "cat" ? value : null, major_code: kind === "major" ? value : null,
        town_id: v.town_id, level: v.level, unit_type: v.unit_type, unit_id: v.unit_id, note: v.note, active: v.active,
      };
    },
    save: (body, mode, r) => (mode === "edit"
      ? api("/routing-rules/" + r.id, { method: "PATCH", json: body })
      : api("/routing-rules", { method: "POST", json: body })),
    savedText: (mode, saved) => (mode === "edit" ? "已保存规则（顺序 " : "已新增规则（顺序 ") + saved.position + "）",
  };

  SECTIONS.sla = {
    noun: "时限规则",
    key: (row) => row.id,
    columns: [
      { label: "等级", cell: (p) => (p.level ? LEVELS[p.level] || p.level : h("span", { class: "muted" }, "任意")) },
      { label: "分类", cell: (p) => (p.category_code
        ? p.category_code + " " + ((SECTIONS.sla.cats.byCode.get(p.category_code) || {}).name_zh || "")
        : h("span", { class: "muted" }, "任意")) },
      { label: "紧急", cell: (p) => (p.urgent ? h("span", { class: "badge-urgent" }, "紧急") : "—") },
      { label: "时限", num: true, cell: (p) => (p.limit_value === 0 && p.limit_unit === "calendar_days" ? "当日"
        : FQ.number(p.limit_value) + " " + (LIMIT_UNITS[p.limit_unit] || p.limit_unit)) },
      { label: "提醒提前", num: true, cell: (p) => (p.remind_before_hours == null ? "不提醒" : FQ.number(p.remind_before_hours) + " 小时") },
      { label: "黄灯阈值", num: true, cell: (p) => Math.round(p.yellow_ratio * 100) + "%" },
    ],
    load: async () => {
      const [policies, cats] = await Promise.all([api("/sla/policies"), categoryData()]);
      SECTIONS.sla.cats = cats;
      return { rows: policies, total: policies.length };
    },
    title: (mode, p) => (mode === "edit" ? "编辑时限规则 #" + p.id : "新增时限规则"),
    formNote: () => "分类专属规则优先于等级规则；已交办的事件保持原有时限。时限 0 自然日表示当日办结。",
    defaults: () => ({ limit_unit: "working_days", yellow_ratio: 0.8, remind_before_hours: 24 }),
    fields: async () => {
      const { data } = await categoryData();
      return [
        { name: "level", label: "等级", type: "select", kind: "int", options: [["", "任意等级"], ...entries(LEVELS)] },
        { name: "category_code", label: "分类", type: "select", options: [["", "任意分类"], ...categoryOptions(data, false)] },
        { name: "limit_value", label: "时限", type: "number", kind: "float", required: true, min: 0, max: 100000, step: "any" },
        { name: "limit_unit", label: "单位", type: "select", required: true, options: entries(LIMIT_UNITS) },
        { name: "remind_before_hours", label: "提醒提前（小时）", type: "number", kind: "float", min: 0, max: 10000,
          step: "any", hint: "到期前多少小时提醒；留空不提醒" },
        { name: "yellow_ratio", label: "黄灯阈值", type: "number", kind: "float", required: true, min: 0.01, max: 1,
          step: 0.01, hint: "用去时限的比例，如 0.8 即 80% 亮黄灯" },
        { name: "urgent", label: "仅用于紧急事件（不论等级）", type: "checkbox", wide: true },
      ];
    },
    save: (body, mode, p) => (mode === "edit"
      ? api("/sla/policies/" + p.id, { method: "PATCH", json: body })
      : api("/sla/policies", { method: "POST", json: body })),
    savedText: (mode, saved) => (mode === "edit" ? "已保存时限规则 #" : "已新增时限规则 #") + saved.id,
  };

  function localToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  }

  SECTIONS.holidays = {
    noun: "日历调整",
    key: (row) => row.day,
    columns: [
      { label: "日期", cell: (d) => code(d.day) },
      { label: "星期", cell: (d) => WEEKDAYS[new Date(d.day + "T00:00:00Z").getUTCDay()] },
      { label: "是否工作日", cell: (d) => (d.is_working ? tag("工作日", "work") : tag("休息日", "rest")) },
      { label: "来源", cell: (d) => (d.source === "override" ? tag("人工调整", "override") : h("span", { class: "muted" }, "官方日历")) },
      { label: "说明", cell: (d) => d.note || h("span", { class: "muted" }, d.is_working ? "调休上班" : "法定节假日") },
    ],
    rowClass: (d) => (d.source === "override" ? ["is-override"] : []),
    filters: async () => {
      const year = Number(localToday().slice(0, 4));
      const years = new Set([year - 1, year, year + 1, year + 2]);
      const asked = Number(new URLSearchParams(location.search).get("year"));
      if (asked >= 2000 && asked <= 2100) years.add(asked);
      return [
        { name: "year", label: "年份", type: "select", options: [...years].sort().map((y) => [String(y), y + " 年"]),
          default: String(year) },
        { name: "show", label: "显示", type: "select",
          options: [["", "节假日、调休与人工调整"], ["override", "仅人工调整"], ["all", "全年每一天"]] },
      ];
    },
    load: async (f) => {
      const year = Number(f.year || localToday().slice(0, 4));
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      const days = await api("/sla/calendar" + query({ from: year + "-01-01", days: leap ? 366 : 365 }));
      const weekend = (d) => [0, 6].includes(new Date(d.day + "T00:00:00Z").getUTCDay());
      const rows = days.filter((d) => f.show === "all" || d.source === "override"
        || (f.show !== "override" && d.is_working === weekend(d)));
      return { rows, total: rows.length };
    },
    emptyText: "这一年没有节假日、调休或人工调整",
    title: (mode, d) => (mode === "edit" ? (d.source === "override" ? "人工调整：" : "调整：") + d.day : "新增日历调整"),
    formNote: (mode, d) => (mode === "edit" && d.source !== "override"
      ? "此日由官方日历决定；保存即登记人工调整，优先于官方日历。"
      : "人工调整优先于官方日历（如官方尚未公布的年份、本地调休）；删除后恢复官方日历。"),
    defaults: () => ({ day: "", is_working: "false" }),
    fields: async (mode, d) => [
      mode === "edit"
        ? { name: "day", label: "日期", type: "static", value: d.day + " " + WEEKDAYS[new Date(d.day + "T00:00:00Z").getUTCDay()] }
        : { name: "day", label: "日期", type: "date", required: true, min: "2000-01-01", max: "2100-12-31" },
      { name: "is_working", label: "是否工作日", type: "select", kind: "bool", required: true,
        options: [["true", "工作日（上班）"], ["false", "休息日（放假）"]] },
      { name: "note", label: "说明", maxlength: 100, empty: "", wide: true, placeholder: "如：国庆节放假、调休上班" },
    ],
    fullBody: true,
    body: (v, mode, d) => ({ day: mode === "edit" ? d.day : v.day, is_working: v.is_working, note: v.note }),
    save: (body) => api("/sla/calendar/" + body.day, { method: "PUT", json: { is_working: body.is_working, note: body.note } }),
    savedText: (mode, saved) => "已登记 " + saved.day + " 为" + (saved.is_working ? "工作日" : "休息日"),
    remove: (d) => api("/sla/calendar/" + d.day, { method: "DELETE" }),
    canRemove: (d) => d.source === "override",
    removeLabel: "删除调整",
    removedText: (d) => "已删除 " + d.day + " 的人工调整，恢复官方日历",
  };

  // --- start --------------------------------------------------------------------------------------

  S = SECTIONS[SECTION];
  if (!S) return;

  async function start() {
    fill(actions,
      ...(S.toolbar ? S.toolbar() : []),
      h("button", { type: "button", class: "btn btn-primary", id: "admin-new", onclick: () => newRecord() }, "＋ 新增" + S.noun),
    );
    try {
      await buildFilters();
    } catch (error) {
      toast(FQ.problemText(error), "error");
    }
    await refresh();
    await newRecord().catch((error) => toast(FQ.problemText(error), "error"));
    page.dataset.ready = "true";
  }

  start();
})();
