// 督办事项: the list of tracked tasks (/tasks) and one task (/tasks/{code}): its light, deadline,
// owner, photos and trail; the owner reports progress, takes photos with the phone's camera and
// closes it. Every user text goes into the page as text (FQ.h), never as markup.
(function () {
  "use strict";

  const { api, h, fill, toast, time, remaining, formData, showErrors, clearErrors, problemText } = FQ;
  const $ = (id) => document.getElementById(id);
  const LIGHT = FQ.labels("taskLight");

  function lightBadge(light) {
    return h("span", { class: "light light-" + light }, LIGHT[light] || "");
  }

  // --- the list ---------------------------------------------------------------------------
  const listPage = $("tasks-page");
  if (listPage) {
    const form = $("task-filters");
    let page = 1;
    // Only the filters asked last are shown: a slower answer for ones asked before is dropped;
    // 加载更多 waits for the rows it would add to.
    const loads = FQ.latest();
    const load = async (more) => {
      const current = loads();
      page = more ? page + 1 : 1;
      const params = Object.assign(FQ.filterValues(form), { page: page, size: 50 });
      $("task-more").disabled = true;
      try {
        const data = await api("/tasks" + FQ.query(params));
        if (!current()) return;
        const rows = data.items.map((t) => h("tr", {},
          h("td", {}, h("a", { href: "/tasks/" + t.code }, t.code)),
          h("td", {}, t.title),
          h("td", {}, t.kind_name),
          h("td", {}, t.org.name),
          h("td", {}, t.owner_name),
          h("td", {}, time(t.due_at)),
          h("td", {}, lightBadge(t.light)),
          h("td", {}, t.status_name)));
        const body = $("task-table").tBodies[0];
        if (more) body.append(...rows); else fill(body, ...rows);
        const shown = body.rows.length;
        $("task-shown").textContent = "共 " + data.total + " 项，已显示 " + shown + " 项";
        $("task-more").hidden = shown >= data.total;
      } catch (error) {
        if (current()) toast(problemText(error), "error");
      } finally {
        if (current()) $("task-more").disabled = false;
      }
    };
    form.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
    $("task-more").addEventListener("click", () => load(true));
    const wanted = new URLSearchParams(location.search);
    for (const el of form.elements) if (el.name && wanted.get(el.name)) el.value = wanted.get(el.name);
    load(false);
    return;
  }

  // --- one task ---------------------------------------------------------------------------
  const pageEl = $("task-page");
  if (!pageEl) return;
  const code = pageEl.dataset.code;
  let task = null;

  function fact(term, ...value) {
    return [h("dt", {}, term), h("dd", {}, ...value)];
  }

  function render(t) {
    task = t;
    $("task-title").textContent = t.title;
    fill($("task-light"), lightBadge(t.light));
    // The meeting's page is the command room's: an owner elsewhere would find it refused.
    const source = t.source_type === "meeting" && pageEl.dataset.staff === "1"
      ? h("a", { href: "/meetings/" + t.source_id }, "查看会商") : "";
    fill($("task-facts"),
      ...fact("编号", t.code),
      ...fact("类型", t.kind_name, " ", source),
      ...fact("区域", t.org.name),
      ...fact("责任方", t.owner_name),
      ...fact("办理期限", time(t.due_at), t.status === "open" ? h("span", { class: "muted" }, "（" + remaining(t.due_at) + "）") : ""),
      ...fact("状态", t.status_name),
      ...(t.evidence_required ? fact("佐证", "须上传照片后办结") : []));
    $("task-detail").textContent = t.detail || "";
    const result = $("task-result");
    result.hidden = !t.result;
    result.textContent = t.result ? "办理结果：" + t.result : "";
    $("task-act").hidden = !t.can_act;
    fill($("task-photo-list"), ...(t.photos.length ? t.photos.map((p) =>
      h("a", { href: p.url, target: "_blank", rel: "noopener" },
        h("img", { src: p.url, alt: "佐证照片", loading: "lazy" }))) : [h("span", { class: "muted" }, "暂无照片")]));
    fill($("task-trail"), ...t.trail.map((s) => h("li", {},
      h("span", { class: "trail-time" }, time(s.at)), " ",
      h("strong", {}, s.action_name), " ",
      s.actor ? h("span", {}, s.actor.name) : h("span", { class: "muted" }, "系统"),
      s.note ? h("div", { class: "trail-note" }, s.note) : "")));
  }

  async function load() {
    try {
      render(await api("/tasks/" + code));
    } catch (error) {
      toast(problemText(error), "error");
    }
  }

  function onSubmit(form, send, done) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        render(await send());
        form.reset();
        toast(done, "ok");
      } catch (error) {
        showErrors(form, error);
      }
    });
  }

  const picker = $("task-photos");
  picker.addEventListener("change", () => {
    $("photos-chosen").textContent = picker.files.length ? "已选择 " + picker.files.length + " 张" : "未选择照片";
  });
  onSubmit($("photo-form"), () => {
    if (!picker.files.length) return Promise.reject(new FQ.ApiError(422, { detail_zh: "请先拍照或选择照片" }));
    const body = new FormData();
    for (const file of picker.files) body.append("photos", file);
    return api("/tasks/" + code + "/photos", { method: "POST", body: body });
  }, "照片已上传");
  onSubmit($("progress-form"), () => api("/tasks/" + code + "/progress",
    { method: "POST", json: Object.assign(formData($("progress-form")), { version: task.version }) }), "进展已报告");
  onSubmit($("complete-form"), () => api("/tasks/" + code + "/complete",
    { method: "POST", json: Object.assign(formData($("complete-form")), { version: task.version }) }), "已办结");
  picker.form.addEventListener("reset", () => { $("photos-chosen").textContent = "未选择照片"; });
  load();
})();
