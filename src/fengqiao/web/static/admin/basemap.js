// 底图 (administration): the one base map setting. The provider (天地图 with a key, an XYZ
// template, a GCJ-02 template such as Amap, or only the local base), its template, attribution
// and zoom; the server checks the template and keeps the key, showing only its last four
// characters. The table shows the setting in force; the form edits it.
(function () {
  "use strict";

  const { api } = FQ;
  const A = FQAdmin;
  const { entries, dash, code } = A;
  const PROVIDERS = FQ.labels("basemapProviders");
  const SOURCES = FQ.labels("basemapSources");
  // Which fields each provider uses; the others are hidden (and not sent).
  const USES = {
    tianditu: ["api_key", "attribution", "max_zoom"],
    xyz: ["url_template", "subdomains", "attribution", "max_zoom"],
    gcj02: ["url_template", "subdomains", "attribution", "max_zoom"],
    local: [],
  };
  const OPTIONAL = ["api_key", "url_template", "subdomains", "attribution", "max_zoom"];

  function showFieldsOf(provider) {
    for (const name of OPTIONAL) {
      const wrapper = A.form.querySelector(".field-" + name);
      if (wrapper) wrapper.hidden = !(USES[provider] || []).includes(name);
    }
  }

  const SECTIONS = A.sections;

  SECTIONS.basemap = {
    noun: "底图",
    single: true,
    fullBody: true,
    key: () => "basemap",
    columns: [
      { label: "底图", cell: (b) => PROVIDERS[b.provider] || b.provider },
      { label: "瓦片地址模板", cls: "cell-wrap", cell: (b) => (b.url_template ? code(b.url_template) : "—") },
      { label: "密钥", cell: (b) => dash(b.key_hint) },
      { label: "注记", cell: (b) => dash(b.attribution) },
      { label: "最大级别", num: true, cell: (b) => String(b.max_zoom) },
      { label: "来源", cell: (b) => SOURCES[b.source] || b.source },
      { label: "更新时间", cell: (b) => FQ.time(b.updated_at) },
    ],
    load: async () => {
      const setting = await api("/basemap");
      return { rows: [setting], total: 1 };
    },
    title: () => "底图设置",
    formNote: (mode, b) => (b && b.has_key
      ? "已保存天地图密钥 " + b.key_hint + "；密钥一栏留空则保持不变。"
      : "天地图密钥在天地图官网申请（浏览器端）；高德等 GCJ-02 瓦片会自动纠偏到 WGS-84 坐标。"),
    fields: async () => [
      { name: "provider", label: "底图来源", type: "select", required: true, options: entries(PROVIDERS) },
      { name: "api_key", label: "天地图密钥", type: "password", maxlength: 64, autocomplete: "new-password",
        get: () => "", hint: "留空则保持已保存的密钥" },
      { name: "url_template", label: "瓦片地址模板", type: "text", maxlength: 500, wide: true,
        hint: "完整网址，含 {z}、{x}、{y} 三个占位符，可含 {s}" },
      { name: "subdomains", label: "子域轮换", type: "text", maxlength: 16, hint: "模板含 {s} 时依次替换的字符，如 1234" },
      { name: "attribution", label: "注记（版权说明）", type: "text", maxlength: 200 },
      { name: "max_zoom", label: "最大级别", type: "number", kind: "int", min: 1, max: 20, step: 1 },
    ],
    afterBuild: () => {
      const select = A.input("provider");
      showFieldsOf(select.value);
      select.addEventListener("change", () => showFieldsOf(select.value));
    },
    body: (values) => {
      const used = USES[values.provider] || [];
      const body = { provider: values.provider };
      for (const name of used) if (values[name] != null) body[name] = values[name];
      return body;
    },
    save: (body) => api("/basemap", { method: "PUT", json: body }),
    savedText: (mode, saved) => "已保存底图：" + (PROVIDERS[saved.provider] || saved.provider),
    keepSaved: true,
  };
})();
