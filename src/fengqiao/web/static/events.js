// 事件中心: the filterable, sortable list for people who process hundreds of events a day.
// Filters and the order are the list API's query parameters and live in the page's address, so
// a list can be bookmarked and shared. Rows can be selected for a batch step (受理, 交办 to each
// event's proposed unit, 督办, export) and worked from the keyboard: j/k move, Enter opens,
// x selects, a/d accept/dispatch the current row and move on to the next in the queue.
(function () {
  "use strict";

  const { api, h, short, time, remaining, lightBadge, statusBadge, query, problemText } = FQ;
  const page = document.getElementById("events-page");
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#events-table tbody");
  const sortInput = document.getElementById("events-sort");
  const selectPage = document.getElementById("select-page");
  const canStep = page.dataset.canStep === "true";
  const canSupervise = page.dataset.canSupervise === "true";
  const batchMax = parseInt(page.dataset.batchMax, 10) || 100;
  const FINISHED = ["closed", "rejected", "voided", "merged"];
  const DESCRIPTION_CHARS = 40;
  // A home above the district (a city's or the province's command center): rows show their
  // 市／区 and the filters offer them (set by `fillChoices`, before the first page).
  let aboveDistrict = false;
  // The latest copy of every event shown, by id (a step's answer replaces it).
  const shown = new Map();
  let current = null;  // the row the keyboard works on

  function params() {
    const out = FQ.filterValues(form);
    // Dates are local days: from the start of the first to the start of the day after the last.
    if (out.created_from) out.created_from = out.created_from + "T00:00:00+08:00";
    if (out.created_to) {
      const next = new Date(out.created_to + "T00:00:00+08:00");
      next.setUTCDate(next.getUTCDate() + 1);
      out.created_to = next.toISOString();
    }
    return out;
  }

  function fillFromAddress() {
    const search = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (!el.name || !search.has(el.name)) continue;
      const value = search.get(el.name);
      if (el.type === "checkbox") el.checked = value === el.value;
      else if (el.type === "date") el.value = value.slice(0, 10);
      else {
        if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === value)) {
          el.append(h("option", { value: value }, value));
        }
        el.value = value;
      }
    }
  }

  // The first words of the description (the title, a class name, when there is none).
  function excerpt(e) {
    const text = (e.description || "").trim();
    if (!text) return e.title;
    const chars = [...text];
    return chars.length > DESCRIPTION_CHARS ? chars.slice(0, DESCRIPTION_CHARS).join("") + "…" : text;
  }

  function row(e) {
    shown.set(e.id, e);
    const box = h("input", { type: "checkbox", class: "row-select", "aria-label": "选择 " + e.code });
    return h("tr", { dataset: { id: e.id, status: e.status } },
      h("td", { class: "select-cell" }, box),
      h("td", {}, h("a", { href: "/events/" + e.id }, h("code", {}, e.code))),
      h("td", { class: "description-cell", title: e.description || e.title },
        h("a", { href: "/events/" + e.id, class: "event-title" }, excerpt(e)),
        e.urgent ? [" ", h("span", { class: "badge-urgent" }, "紧急")] : null,
        e.supervised ? [" ", h("span", { class: "badge-supervised", title: "有待回复的督办单" }, "督办")] : null),
      h("td", { class: "category-cell", title: e.major_name }, e.category_name),
      h("td", { class: "num", title: FQ.label("levels", String(e.level)) }, FQ.label("levelsShort", String(e.level))),
      h("td", {}, statusBadge(e.status)),
      h("td", {}, lightBadge(e.light)),
      h("td", { class: "hide-phone" }, e.owner_unit ? e.owner_unit.name : "—"),
      aboveDistrict ? h("td", { class: "hide-phone area-cell" }, e.city ? e.city.name : "",
        e.district ? h("div", { class: e.city ? "muted" : "" }, e.district.name) : null) : null,
      h("td", { class: "hide-phone" }, e.town.name, h("div", { class: "muted" }, e.grid.name)),
      h("td", { title: time(e.created_at) }, short(e.created_at)),
      h("td", { title: time(e.due_at) }, e.due_at ? short(e.due_at) : "—",
        e.due_at && !FINISHED.includes(e.status) ? h("div", { class: "muted" }, remaining(e.due_at)) : null));
  }

  // --- the order: column heads ------------------------------------------------------------

  // With no order chosen the server sorts a task list by urgency, anything else newest first.
  const fallbackOrder = () => (form.elements.task.value ? "urgency" : "-created_at");
  const heads = FQ.sortable(document.getElementById("events-table"), sortInput, {
    fallback: fallbackOrder,
    onChange: () => list.load(true),
  });

  // --- the list --------------------------------------------------------------------------

  const list = FQ.list({
    path: "/events", paging: "cursor", row: row, form: form, params: params,
    target: tbody, more: document.getElementById("load-more"),
    status: document.getElementById("events-shown"), empty: "没有符合条件的事件",
    counted: (n) => "已显示 " + n + " 件",
    extra: (reset) => ({ count: reset ? "true" : "" }),  // the total only with the first page
    onQuery: (p) => {
      history.replaceState(null, "", location.pathname + query(Object.fromEntries(
        [...new FormData(form).entries()].filter(([, v]) => v !== ""))));
      document.getElementById("export-csv").href = "/api/v1/events/export.csv" + query(p);
      heads.show();
    },
    onLoad: (data, _p, reset) => {
      if (data.total != null) document.getElementById("events-total").textContent = "共 " + FQ.number(data.total) + " 件";
      if (reset) {
        current = null;
        selectPage.checked = false;
      }
      selectionChanged();
    },
  });

  // --- selection ----------------------------------------------------------------------------

  const rows = () => [...tbody.querySelectorAll("tr[data-id]")];
  const checkedRows = () => rows().filter((tr) => tr.querySelector(".row-select").checked);
  const eventOf = (tr) => shown.get(Number(tr.dataset.id));

  function selectionChanged() {
    const picked = checkedRows();
    for (const tr of rows()) tr.classList.toggle("is-selected", tr.querySelector(".row-select").checked);
    const n = picked.length;
    document.getElementById("batch-count").textContent = n ? "已选 " + n + " 件" : "未选择事件";
    for (const id of ["batch-accept", "batch-dispatch"]) {
      const button = document.getElementById(id);
      button.hidden = !canStep;
      button.disabled = !n;
    }
    const supervise = document.getElementById("batch-supervise");
    supervise.hidden = !canSupervise;
    supervise.disabled = !n;
    document.getElementById("batch-clear").disabled = !n;
    const exporter = document.getElementById("batch-export");
    const ids = picked.map((tr) => tr.dataset.id).join(",");
    exporter.href = "/api/v1/events/export.csv" + query({ ids: ids, sort: sortInput.value });
    exporter.classList.toggle("is-disabled", !n);
    exporter.setAttribute("aria-disabled", n ? "false" : "true");
    const all = rows();
    selectPage.checked = all.length > 0 && n === all.length;
    selectPage.indeterminate = n > 0 && n < all.length;
  }

  tbody.addEventListener("change", (event) => {
    if (event.target.classList.contains("row-select")) selectionChanged();
  });
  selectPage.addEventListener("change", () => {
    for (const tr of rows()) tr.querySelector(".row-select").checked = selectPage.checked;
    selectionChanged();
  });
  document.getElementById("batch-clear").addEventListener("click", () => {
    for (const tr of rows()) tr.querySelector(".row-select").checked = false;
    selectionChanged();
  });
  document.getElementById("batch-export").addEventListener("click", (event) => {
    if (!checkedRows().length) event.preventDefault();
  });

  // --- results ------------------------------------------------------------------------------

  const resultsBox = document.getElementById("batch-results");

  // One line per event: what happened, or why not, in the reader's words.
  function showResults(head, lines) {
    document.getElementById("batch-results-head").textContent = head;
    FQ.fill(document.getElementById("batch-results-list"), lines.map((line) =>
      h("li", { class: line.ok ? "result-ok" : "result-refused", dataset: { id: line.id } },
        h("code", {}, line.code), " ", line.text)));
    resultsBox.hidden = false;
  }

  // Why one event of a batch was refused: the problem's own sentence, without its heading.
  function refusal(problem) {
    if (!problem) return "请求失败";
    const reasons = (problem.errors || []).map((e) => e.reason_zh).filter(Boolean);
    return reasons.length ? reasons.join("；") : problem.detail_zh || problem.title_zh || "请求失败";
  }

  // Put a step's answer in place of the row, keeping what the user had selected.
  function replaceRow(tr, event) {
    const fresh = row(event);
    fresh.querySelector(".row-select").checked = tr.querySelector(".row-select").checked;
    fresh.classList.add("is-done");
    if (tr === current) {
      current = fresh;
      fresh.classList.add("is-current");
      fresh.setAttribute("aria-selected", "true");
    }
    tr.replaceWith(fresh);
    return fresh;
  }

  // 受理 or 交办 on rows, through the batch API (each event its own transaction and result).
  async function step(action, picked) {
    const word = FQ.label("actions", action);
    const items = picked.map((tr) => ({ id: eventOf(tr).id, version: eventOf(tr).version }));
    if (items.length > batchMax) {
      FQ.toast("一次最多" + word + " " + batchMax + " 件，请减少所选事件", "error");
      return null;
    }
    let answer;
    try {
      answer = await api("/events/batch", { method: "POST", json: { action: action, items: items } });
    } catch (error) {
      FQ.toast(problemText(error), "error");
      return null;
    }
    const byId = new Map(picked.map((tr) => [Number(tr.dataset.id), tr]));
    const lines = answer.results.map((r) => {
      const code = eventOf(byId.get(r.id)).code;
      if (!r.ok) {
        return { ok: false, id: r.id, code: code, text: "未" + word + "：" + refusal(r.problem) };
      }
      const tr = replaceRow(byId.get(r.id), r.event);
      tr.querySelector(".row-select").checked = false;
      const to = action === "dispatch" && r.event.owner_unit ? "，责任单位：" + r.event.owner_unit.name : "";
      return { ok: true, id: r.id, code: code, text: "已" + word + to };
    });
    showResults(word + "：成功 " + answer.done + " 件，未成功 " + answer.refused + " 件", lines);
    selectionChanged();
    // A row refused because the event moved on meanwhile shows the event as it is now.
    for (const r of answer.results.filter((r) => !r.ok && r.status === 409)) {
      api("/events/" + r.id).then((fresh) => {
        const tr = tbody.querySelector("tr[data-id='" + r.id + "']");
        if (tr) replaceRow(tr, fresh).classList.remove("is-done");
      }).catch(() => {});
    }
    return answer;
  }

  for (const id of ["batch-accept", "batch-dispatch"]) {
    const button = document.getElementById(id);
    button.addEventListener("click", async () => {
      button.disabled = true;
      await step(button.dataset.step, checkedRows());
      selectionChanged();
    });
  }

  // --- 督办: one form for all selected rows -----------------------------------------------

  const superviseForm = document.getElementById("supervise-form");
  document.getElementById("batch-supervise").addEventListener("click", () => {
    document.getElementById("supervise-count").textContent = "共 " + checkedRows().length + " 件";
    superviseForm.hidden = false;
    superviseForm.elements.requirement.focus();
  });
  document.getElementById("supervise-cancel").addEventListener("click", () => {
    superviseForm.hidden = true;
    FQ.clearErrors(superviseForm);
  });
  superviseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = checkedRows();
    if (picked.length > batchMax) {
      FQ.toast("一次最多督办 " + batchMax + " 件，请减少所选事件", "error");
      return;
    }
    const data = FQ.formData(superviseForm);
    if (data.due_at) data.due_at = data.due_at + ":00+08:00";
    const submit = superviseForm.querySelector("[type=submit]");
    submit.disabled = true;
    const lines = [];
    let done = 0;
    // One order per event through the supervision API (its own checks of scope and role).
    for (const tr of picked) {
      const e = eventOf(tr);
      try {
        const order = await api("/events/" + e.id + "/supervision-orders", { method: "POST", json: data });
        done += 1;
        const fresh = replaceRow(tr, Object.assign({}, e, { supervised: true }));
        fresh.querySelector(".row-select").checked = false;
        lines.push({ ok: true, id: e.id, code: e.code, text: "已督办，督办单 " + order.code });
      } catch (error) {
        lines.push({ ok: false, id: e.id, code: e.code, text: "未督办：" + problemText(error) });
      }
    }
    submit.disabled = false;
    superviseForm.hidden = true;
    superviseForm.reset();
    showResults("督办：成功 " + done + " 件，未成功 " + (picked.length - done) + " 件", lines);
    selectionChanged();
  });

  // --- the keyboard ---------------------------------------------------------------------------

  function setCurrent(tr) {
    if (current) {
      current.classList.remove("is-current");
      current.removeAttribute("aria-selected");
    }
    current = tr;
    if (!tr) return;
    tr.classList.add("is-current");
    tr.setAttribute("aria-selected", "true");
    tr.scrollIntoView({ block: "nearest" });
  }

  function move(by) {
    const all = rows();
    if (!all.length) return;
    const at = current ? all.indexOf(current) : -1;
    const next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + by));
    setCurrent(all[next]);
  }

  // Keys belong to what the user is typing in: fields, lists to choose from, text areas.
  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
    return target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
  }

  async function stepCurrent(action) {
    if (!current || !canStep) return;
    const tr = current;
    const answer = await step(action, [tr]);
    // Next in the queue: the row after the one just handled.
    if (answer && answer.done && current) {
      const all = rows();
      const at = all.indexOf(current);
      if (at >= 0 && at < all.length - 1) setCurrent(all[at + 1]);
    } else if (!answer && tr.isConnected) {
      setCurrent(tr);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || !superviseForm.hidden && superviseForm.contains(event.target)) return;
    const key = event.key.toLowerCase();
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "x" && current) {
      const box = current.querySelector(".row-select");
      box.checked = !box.checked;
      selectionChanged();
    } else if (key === "enter" && current && !(event.target instanceof Element && event.target.closest("a, button"))) {
      location.assign("/events/" + current.dataset.id);
    } else if (key === "a") stepCurrent("accept");
    else if (key === "d") stepCurrent("dispatch");
    else return;
    event.preventDefault();
  });
  // A click on a row makes it the keyboard's row too.
  tbody.addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-id]");
    if (tr) setCurrent(tr);
  });
  if (!canStep) document.querySelector("#key-legend .step-keys").hidden = true;

  // --- the filters' choices -------------------------------------------------------------

  const option = (node) => h("option", { value: node.id }, node.name);

  // The towns of one district, fetched when a district is chosen above the towns: only the one
  // chosen last (a slower answer for a district chosen before is dropped).
  const townLists = FQ.latest();
  async function fillTowns(districts, chosen) {
    const current = townLists();
    const town = document.getElementById("filter-town");
    FQ.fill(town, h("option", { value: "" }, "全部"));
    const district = districts.find((d) => String(d.id) === chosen);
    town.closest("label").hidden = !district;
    if (!district) return;
    const tree = await api("/org/tree?depth=1&root=" + encodeURIComponent(district.code));
    if (!current()) return;
    for (const t of (tree.children || []).filter((n) => n.kind === "town")) town.append(option(t));
  }

  // 市 and 区 above the towns: a province's cities and their districts, a city's districts.
  async function fillAreas(tree) {
    aboveDistrict = true;
    document.getElementById("area-head").hidden = false;
    const city = document.getElementById("filter-city");
    const district = document.getElementById("filter-district");
    const search = new URLSearchParams(location.search);
    let cities = [];
    let districts = [];
    if (tree.kind === "province") {
      const deep = await api("/org/tree?depth=2");
      cities = (deep.children || []).filter((n) => n.kind === "city");
      districts = cities.flatMap((c) => (c.children || []).filter((n) => n.kind === "district")
        .map((d) => Object.assign({ city: String(c.id) }, d)));
      for (const c of cities) city.append(option(c));
      city.closest("label").hidden = false;
    } else {
      districts = (tree.children || []).filter((n) => n.kind === "district");
    }
    const showDistricts = () => {
      const within = districts.filter((d) => !city.value || d.city === city.value);
      FQ.fill(district, h("option", { value: "" }, "全部"), within.map(option));
    };
    city.value = search.get("city") || "";
    showDistricts();
    district.closest("label").hidden = false;
    district.value = search.get("district") || "";
    await fillTowns(districts, district.value);
    city.addEventListener("change", () => {
      showDistricts();
      fillTowns(districts, "");
    });
    district.addEventListener("change", () => {
      fillTowns(districts, district.value).catch(() => {});
    });
  }

  async function fillChoices() {
    const sources = document.getElementById("filter-source");
    for (const [key, label] of Object.entries(FQ.labels("source"))) sources.append(h("option", { value: key }, label));
    try {
      const [classes, tree] = await Promise.all([api("/categories"), api("/org/tree?depth=1")]);
      const select = document.getElementById("filter-category");
      for (const major of classes.majors) {
        const group = h("optgroup", { label: major.name_zh },
          h("option", { value: major.code }, major.name_zh + "（全部）"),
          classes.categories.filter((c) => c.major_code === major.code)
            .map((c) => h("option", { value: c.code }, c.name_zh)));
        select.append(group);
      }
      if (tree.kind === "province" || tree.kind === "city") {
        await fillAreas(tree);
        return;
      }
      const towns = (tree.kind === "town" ? [tree] : tree.children || []).filter((n) => n.kind === "town");
      const town = document.getElementById("filter-town");
      for (const t of towns) town.append(option(t));
      if (towns.length <= 1) town.closest("label").hidden = true;
    } catch (_err) { /* the filters still work by typing into the address */ }
  }

  fillChoices().then(() => {
    fillFromAddress();
    list.load(true);
  });
})();
