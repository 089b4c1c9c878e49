// 标准化 (/standards): the standard in force by aspect, its versions, and for the district's
// administrators and leaders a draft editor (items, weights summing to 100, evidence) with
// publish. Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, short, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const page = $("standards-page");
  if (!page) return;
  const canWrite = page.dataset.write === "1";
  const ASPECTS = FQ.labels("standardAspects");
  const EVIDENCE = FQ.labels("standardEvidence");
  const STATUS = FQ.labels("standardStatus");
  let editing = null;

  function points(value) {
    return (Math.round(value * 100) / 100).toString();
  }

  function showVersion(target, v) {
    fill(target,
      h("div", { class: "page-head" }, h("h2", {}, v.title),
        h("span", { class: "std-status is-" + v.status }, STATUS[v.status] || ""),
        h("span", { class: "muted" }, "第 " + v.number + " 版，合计 " + points(v.weight_total) + " 分",
          v.published_at ? "，" + short(v.published_at) + " 发布" : "")),
      v.note ? h("p", { class: "muted" }, v.note) : null,
      h("div", { class: "aspect-grid" }, v.aspects.map((a) => h("section", { class: "aspect-card" },
        h("h3", {}, a.name, h("span", { class: "muted" }, "　" + points(a.weight) + " 分")),
        h("ol", { class: "aspect-items" }, a.items.map((i) => h("li", {},
          h("span", { class: "item-text" }, i.text),
          h("span", { class: "item-meta muted" }, points(i.weight) + " 分 · " + (EVIDENCE[i.evidence] || "")))))))));
  }

  // The box shows the version asked for last (the one in force, or one clicked): a slower answer
  // for one asked before is dropped.
  const shownVersions = FQ.latest();

  async function loadCurrent() {
    const current = shownVersions();
    try {
      // The newest published version of the list: no request that fails before the first one.
      const inForce = (await api("/standards")).find((v) => v.status === "published");
      if (!current()) return;
      if (!inForce) {
        fill($("standard-current"), h("p", { class: "muted" }, "尚未发布标准，请先发布一个版本"));
        return;
      }
      const version = await api("/standards/" + inForce.id);
      if (current()) showVersion($("standard-current"), version);
    } catch (error) {
      if (current()) fill($("standard-current"), h("p", { class: "muted" }, problemText(error)));
    }
  }

  async function loadVersions() {
    const rows = await api("/standards");
    fill(document.querySelector("#version-table tbody"), rows.map((v) => h("tr", { dataset: { id: v.id } },
      h("td", {}, "第 " + v.number + " 版"), h("td", {}, v.title),
      h("td", {}, h("span", { class: "std-status is-" + v.status }, STATUS[v.status] || "")),
      h("td", { class: "muted" }, (v.created_by ? v.created_by.name + " " : "") + short(v.created_at)),
      h("td", { class: "muted" }, v.published_at ? short(v.published_at) : "—"),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => view(v.id) }, "查看"),
        canWrite && v.status === "draft" ? h("button", { type: "button", class: "btn btn-small btn-primary", onclick: () => edit(v.id) }, "编辑") : null))));
  }

  async function view(id) {
    const current = shownVersions();
    try {
      const version = await api("/standards/" + id);
      if (!current()) return;
      showVersion($("standard-current"), version);
      $("standard-current").scrollIntoView();
    } catch (error) {
      if (current()) toast(problemText(error), "error");
    }
  }

  // --- the draft editor -------------------------------------------------------------------

  function select(name, words, value) {
    return h("select", { name: name, "aria-label": name === "aspect" ? "方面" : "佐证" },
      Object.entries(words).map(([code, word]) => h("option", { value: code, selected: code === value }, word)));
  }

  function itemRow(item) {
    const row = h("tr", { class: "editor-row" },
      h("td", {}, select("aspect", ASPECTS, item.aspect)),
      h("td", {}, h("input", { type: "text", name: "text", maxlength: 200, value: item.text || "", "aria-label": "条目" })),
      h("td", {}, h("input", { type: "number", name: "weight", min: 0, max: 100, step: "any", value: item.weight == null ? "" : item.weight, "aria-label": "分值", class: "weight-input" })),
      h("td", {}, select("evidence", EVIDENCE, item.evidence || "none")),
      h("td", {}, h("button", { type: "button", class: "btn btn-small btn-secondary", onclick: () => { row.remove(); total(); } }, "删除")));
    row.querySelector("[name=weight]").addEventListener("input", total);
    return row;
  }

  function rows() {
    return [...document.querySelectorAll("#editor-table .editor-row")].map((r) => ({
      aspect: r.querySelector("[name=aspect]").value,
      text: r.querySelector("[name=text]").value.trim(),
      weight: parseFloat(r.querySelector("[name=weight]").value),
      evidence: r.querySelector("[name=evidence]").value,
    }));
  }

  function total() {
    const sum = rows().reduce((s, i) => s + (isNaN(i.weight) ? 0 : i.weight), 0);
    const box = $("weight-total");
    box.textContent = "分值合计 " + points(sum) + " 分" + (Math.abs(sum - 100) > 0.001 ? "，应为 100 分" : "");
    box.classList.toggle("is-wrong", Math.abs(sum - 100) > 0.001);
  }

  async function edit(id) {
    let v;
    try {
      v = await api("/standards/" + id);
    } catch (error) {
      toast(problemText(error), "error");
      return;
    }
    editing = v;
    const form = $("standard-editor");
    clearErrors(form);
    form.hidden = false;
    $("editor-title").textContent = "编辑草稿：第 " + v.number + " 版";
    form.elements.title.value = v.title;
    form.elements.note.value = v.note || "";
    fill(document.querySelector("#editor-table tbody"), v.aspects.flatMap((a) => a.items.map(itemRow)));
    total();
    form.scrollIntoView();
  }

  async function save() {
    const form = $("standard-editor");
    clearErrors(form);
    const body = { title: form.elements.title.value.trim(), note: form.elements.note.value.trim(),
      items: rows(), version: editing.version };
    try {
      editing = await api("/standards/" + editing.id, { method: "PATCH", json: body });
      toast("草稿已保存", "ok");
      loadVersions();
      return true;
    } catch (error) {
      showErrors(form, error);
      return false;
    }
  }

  if (canWrite) {
    const form = $("standard-editor");
    form.addEventListener("submit", (e) => { e.preventDefault(); save(); });
    $("editor-add").addEventListener("click", () => {
      document.querySelector("#editor-table tbody").append(itemRow({ aspect: "system", evidence: "none" }));
      total();
    });
    $("editor-publish").addEventListener("click", async () => {
      if (!(await save())) return;
      try {
        await api("/standards/" + editing.id + "/publish", { method: "POST", json: { version: editing.version } });
        toast("新版本已发布", "ok");
        form.hidden = true;
        loadCurrent();
        loadVersions();
      } catch (error) {
        showErrors(form, error);
      }
    });
    $("standard-new").addEventListener("click", async () => {
      try {
        const made = await api("/standards", { method: "POST", json: { title: "标准化建设标准（修订稿）" } });
        await loadVersions();
        edit(made.id);
      } catch (error) {
        toast(problemText(error), "error");
      }
    });
  }

  loadCurrent();
  loadVersions().catch((error) => toast(problemText(error), "error"));
})();
