// 用户 (administration): accounts, roles, home area, unit and served grids; a device account's
// API key.
(function () {
  "use strict";

  const { api, h, toast, query } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { Ref, PAGE_SIZE, ROLES, PHONE, entries, dash, tag, state, code, form, input, optionNodes,
    townFilter, villageFilter, orgCascade, orgFields } = A;

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
})();
