// 单位 (administration): the responsible units events are routed to.
(function () {
  "use strict";

  const { api, h, query } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { Ref, PAGE_SIZE, PLATFORMS, PHONE, entries, dash, tag, state, code, forget,
    unitTypes, unitTypeName, townFilter, villageFilter, orgCascade, orgFields } = A;

  const UNIT_CATEGORIES = FQ.labels("unitCategories");

  SECTIONS.units = {
    noun: "单位",
    key: (row) => row.id,
    columns: [
      { label: "单位编码", cell: (x) => code(x.code) },
      { label: "单位名称", cell: (x) => x.name, cls: "strong" },
      { label: "所在区划", cell: (x) => x.org.name },
      { label: "单位类型", cell: (x) => unitTypeName(x.unit_type) },
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
      { name: "unit_type", label: "单位类型", type: "select", required: true, wide: true,
        options: [["", "请选择"], ...await unitTypes(true)], hint: "流转规则按单位类型找承办单位" },
      { name: "phone", label: "电话", type: "tel", pattern: PHONE, maxlength: 32, title: "数字，可含 + - 和空格" },
      { name: "duty_phone", label: "值班电话", type: "tel", pattern: PHONE, maxlength: 32, title: "数字，可含 + - 和空格" },
      ...(mode === "edit" ? [{ name: "active", label: "启用（停用后不再参与流转）", type: "checkbox" }] : []),
    ],
    afterBuild: async (mode) => {
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
})();
