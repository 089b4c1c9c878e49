// 处置时限 (administration): the SLA policies by level, class and urgency.
(function () {
  "use strict";

  const { api, h } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { LEVELS, entries, categoryData, categoryOptions } = A;

  const LIMIT_UNITS = FQ.labels("limitUnits");

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
})();
