// 网格 (administration): the grids of the caller's area, GeoJSON import and export, one grid's
// form whose save goes through the importer's checks.
(function () {
  "use strict";

  const { api, h, toast, query } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { Ref, PAGE_SIZE, entries, dash, tag, code, forget, refresh, townFilter, villageFilter } = A;

  const GRID_TYPES = FQ.labels("gridTypes");
  const AREA_TYPES = FQ.labels("areaTypes");
  const CRS = FQ.labels("crs");

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
      throw { field: "geometry", reason_zh: "须为面或多面几何" };
    }
    return data;
  }

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
        required: mode === "create", get: () => "", placeholder: "粘贴边界的 GeoJSON 几何（面或多面），坐标系在下方选择" },
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
})();
