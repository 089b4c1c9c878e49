// 流转规则 (administration): the ordered routing rules; the first that matches an event picks
// its unit.
(function () {
  "use strict";

  const { api, h } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { Ref, LEVELS, LEVEL_SHORT, entries, dash, tag, state, categoryData, categoryOptions, unitTypes,
    unitTypeName } = A;

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
})();
