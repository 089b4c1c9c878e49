// 区县分类设置 (administration): a district's own settings for a shared class — turned off for
// its events, its owner unit type, its time limit in hours; blank keeps the shared setting.
(function () {
  "use strict";

  const { api, h } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { Ref, categoryData, categoryOptions, unitTypes, unitTypeName } = A;

  // The districts of the caller's part of the tree (its own district, or a city's or province's).
  async function districts() {
    const tree = await Ref.tree();
    const found = [];
    (function walk(node) {
      if (node.kind === "district") found.push(node);
      else for (const child of node.children || []) walk(child);
    })(tree.root);
    return found;
  }

  const shared = () => h("span", { class: "muted" }, "沿用统一设置");

  SECTIONS.overrides = {
    noun: "区县设置",
    key: (row) => row.id,
    columns: [
      { label: "区（县）", cell: (o) => o.district_name },
      { label: "分类", cell: (o) => o.category_code + " " + o.category_name },
      { label: "本区县", cell: (o) => (o.enabled ? "启用" : h("span", { class: "badge-urgent" }, "停用")) },
      { label: "承办单位类型", cell: (o) => (o.unit_type ? unitTypeName(o.unit_type) : shared()) },
      { label: "处置时限", num: true, cell: (o) => (o.limit_hours == null ? shared() : FQ.number(o.limit_hours) + " 小时") },
      { label: "说明", cell: (o) => h("span", { class: "clamp", title: o.note }, o.note || "—"), cls: "note" },
    ],
    rowClass: (o) => (o.enabled ? [] : ["is-inactive"]),
    load: async () => {
      const rows = await api("/class-overrides");
      return { rows, total: rows.length };
    },
    title: (mode, o) => (mode === "edit" ? "编辑" + o.district_name + "：" + o.category_name : "新增区县分类设置"),
    formNote: () => "事件分类各区（县）共用；各区（县）可在此停用某一分类，或改用本区县的承办单位类型与处置时限（按小时计），"
      + "只对本区县的事件生效。留空即沿用统一设置；已交办的事件保持原有时限。",
    defaults: () => ({ enabled: true }),
    fields: async (mode) => {
      const [{ data }, list, types] = await Promise.all([categoryData(), districts(), unitTypes()]);
      return [
        { name: "district_id", label: "区（县）", type: "select", kind: "int", required: true, disabled: mode === "edit",
          options: [["", "请选择"], ...list.map((d) => [String(d.id), d.name])] },
        { name: "category_code", label: "分类", type: "select", required: true, disabled: mode === "edit",
          options: [["", "请选择"], ...categoryOptions(data, false)] },
        { name: "unit_type", label: "承办单位类型", type: "select", wide: true, options: [["", "沿用统一设置"], ...types],
          hint: "须是本区县已有的责任单位类型" },
        { name: "limit_hours", label: "处置时限（小时）", type: "number", kind: "float", min: 0.1, max: 8760, step: "any",
          hint: "留空沿用统一的时限规则" },
        { name: "note", label: "说明", type: "textarea", wide: true, rows: 2, empty: "" },
        { name: "enabled", label: "本区县启用此分类", type: "checkbox" },
      ];
    },
    body: (v, mode) => {
      const body = { enabled: v.enabled, unit_type: v.unit_type, limit_hours: v.limit_hours, note: v.note };
      if (mode !== "edit") Object.assign(body, { district_id: v.district_id, category_code: v.category_code });
      return body;
    },
    save: (body, mode, o) => (mode === "edit"
      ? api("/class-overrides/" + o.id, { method: "PATCH", json: body })
      : api("/class-overrides", { method: "POST", json: body })),
    remove: (o) => api("/class-overrides/" + o.id, { method: "DELETE" }),
    removeLabel: "恢复统一设置",
    removedText: (o) => o.district_name + "的" + o.category_name + "已恢复统一设置",
    savedText: (mode, saved) => (mode === "edit" ? "已保存" : "已新增") + saved.district_name + "的" + saved.category_name + "设置",
  };
})();
