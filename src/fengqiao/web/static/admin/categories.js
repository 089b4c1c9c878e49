// 分类 (administration): the major and minor event classes, their platform, default unit type
// and level.
(function () {
  "use strict";

  const { api, h } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { PLATFORMS, LEVELS, LEVEL_SHORT, ZH_ORDER, entries, tag, state, code, forget,
    categoryData, unitTypes, unitTypeName } = A;

  SECTIONS.categories = {
    noun: "分类",
    key: (row) => row.code,
    columns: [
      { label: "分类编码", cell: (c) => code(c.code) },
      { label: "大类", cell: (c) => (SECTIONS.categories.majors.get(c.major_code) || {}).name_zh || c.major_code },
      { label: "小类名称", cell: (c) => c.name_zh, cls: "strong" },
      { label: "平台", cell: (c) => tag(PLATFORMS[c.platform] || c.platform, c.platform) },
      { label: "默认单位类型", cell: (c) => unitTypeName(c.default_unit_type) },
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
      types.sort((a, b) => ZH_ORDER.compare(a[1], b[1]));
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
        { name: "default_unit_type", label: "默认单位类型", type: "select", required: true,
          options: [["", "请选择"], ...types] },
        { name: "default_level", label: "默认等级", type: "select", kind: "int", required: true, options: entries(LEVELS) },
        { name: "filing_condition", label: "立案条件", type: "textarea", wide: true, empty: "" },
        { name: "closing_condition", label: "结案条件", type: "textarea", wide: true, empty: "" },
        { name: "national_code", label: "国标编码", maxlength: 32, hint: "GB/T 47678.5，城市管理类填写" },
        ...(mode === "edit" ? [{ name: "active", label: "启用（停用后不能再以此分类上报）", type: "checkbox" }] : []),
      ];
    },
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
})();
