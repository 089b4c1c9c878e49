// 我的上报 (/r/reports, /r/reports/{code}): a resident's own reports and one report's progress in
// plain words, the before/after photos staff showed them, and the rating (five stars and a
// comment) once it is finished. Every word of a step comes from the API (events/public.py).
(function () {
  "use strict";

  const { api, h, fill } = FQ;
  const root = document.getElementById("r-reports");
  const code = root.dataset.code;
  const errorBox = document.getElementById("r-reports-error");
  const DAY = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric",
  });
  const WHEN = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit",
    hour12: false,
  });
  const day = (at) => (at ? DAY.format(new Date(at)) : "");
  const when = (at) => (at ? WHEN.format(new Date(at)) : "");
  const SIZE = 20;

  function fail(err) {
    errorBox.textContent = err && err.status === 404 ? "没有找到这条上报，可能不是您反映的问题。"
      : FQ.problemText(err);
    root.dataset.state = "error";
  }

  const chip = (report) => h("span", { class: "r-status r-status-" + report.status }, report.status_zh);

  // --- the list ------------------------------------------------------------------------------

  let page = 1;

  function item(report) {
    return h("li", {}, h("a", { class: "r-card r-report-item", href: "/r/reports/" + encodeURIComponent(report.code) },
      h("div", { class: "r-row" }, h("strong", { class: "r-class" }, report.category), chip(report)),
      report.description ? h("p", { class: "r-desc" }, report.description) : null,
      h("div", { class: "r-muted" }, day(report.created_at), report.address ? "　" + report.address : "",
        report.rated ? "　已评价" : "")));
  }

  async function loadList() {
    const list = document.getElementById("r-report-list");
    const more = document.getElementById("r-more");
    try {
      const data = await api("/resident/reports?page=" + page + "&size=" + SIZE);
      if (page === 1 && !data.items.length) {
        fill(list, h("li", { class: "r-card r-empty" }, "您还没有上报过问题。",
          h("a", { href: "/r/" }, "去随手拍")));
      } else {
        list.append(...data.items.map(item));
      }
      more.hidden = page * SIZE >= data.total;
      root.dataset.state = "ready";
    } catch (err) {
      fail(err);
    }
  }

  // --- one report ----------------------------------------------------------------------------

  function facts(report) {
    const rows = [["上报时间", day(report.created_at)]];
    if (report.address) rows.push(["地点", report.address]);
    if (report.expected_at && !report.closed_at) rows.push(["预计办结", day(report.expected_at)]);
    if (report.closed_at) rows.push(["办结时间", day(report.closed_at)]);
    if (report.me_too) rows.push(["也遇到的人", report.me_too + " 人"]);
    rows.push(["编号", report.code]);
    return h("dl", { class: "r-facts", id: "r-facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  function timeline(report) {
    const last = report.timeline.length - 1;
    return h("section", { class: "r-card" }, h("h3", {}, "办理进度"),
      h("ol", { class: "r-timeline", id: "r-timeline" }, report.timeline.map((step, i) =>
        h("li", { class: i === last ? "r-step r-step-now" : "r-step", dataset: { step: step.key } },
          h("div", { class: "r-step-words" }, step.words),
          step.reason ? h("div", { class: "r-step-reason" }, "原因：" + step.reason) : null,
          h("div", { class: "r-muted" }, when(step.at))))));
  }

  function photos(report) {
    if (!report.photos.length) return null;
    const side = (key, title) => {
      const shown = report.photos.filter((p) => p.side === key);
      return h("div", { class: "r-photo-side", dataset: { side: key } }, h("div", { class: "r-photo-title" }, title),
        shown.length ? shown.map((p) => h("a", { href: p.url, target: "_blank" },
          h("img", { src: p.url, alt: p.kind_zh, loading: "lazy" }), h("span", {}, p.kind_zh)))
          : h("div", { class: "r-muted r-photo-none" }, "暂无"));
    };
    return h("section", { class: "r-card" }, h("h3", {}, "现场照片"),
      h("div", { class: "r-photos", id: "r-photos" }, side("before", "处理前"), side("after", "处理后")));
  }

  function stars(n) {
    return h("span", { class: "r-stars", "aria-label": n + "星" }, "★".repeat(n),
      h("span", { class: "r-stars-off" }, "★".repeat(5 - n)));
  }

  function rating(report) {
    if (report.satisfaction) {
      return h("section", { class: "r-card", id: "r-rating" }, h("h3", {}, "您的评价"), stars(report.satisfaction),
        report.rating_comment ? h("p", { class: "r-comment" }, report.rating_comment) : null);
    }
    if (!report.may_rate) {
      return report.status === "fixed" ? null : h("section", { class: "r-card r-muted", id: "r-rating" },
        "问题办理完毕后，您可以在这里评价。");
    }
    let chosen = 0;
    const buttons = [1, 2, 3, 4, 5].map((n) => h("button", {
      type: "button", class: "r-star", role: "radio", "aria-checked": "false", "aria-label": n + "星",
      dataset: { stars: String(n) },
      onclick: () => {
        chosen = n;
        buttons.forEach((b, i) => {
          b.classList.toggle("on", i < n);
          b.setAttribute("aria-checked", String(i + 1 === n));
        });
        submit.disabled = false;
      },
    }, "★"));
    const comment = h("textarea", { name: "comment", maxlength: "500", rows: "3", placeholder: "说说您对办理结果的看法（选填）" });
    const error = h("p", { class: "r-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "r-btn", disabled: true }, "提交评价");
    const form = h("form", { class: "r-card", id: "r-rating" }, h("h3", {}, "给办理结果打分"),
      h("div", { class: "r-star-row", role: "radiogroup", "aria-label": "满意度" }, buttons),
      h("label", { class: "r-field" }, "留言", comment), error, submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!chosen) return;
      submit.disabled = true;
      error.textContent = "";
      try {
        const body = { stars: chosen, comment: comment.value };
        show(await api("/resident/reports/" + encodeURIComponent(code) + "/rating", { method: "POST", json: body }));
        FQ.toast("感谢您的评价");
      } catch (err) {
        error.textContent = FQ.problemText(err);
        submit.disabled = false;
      }
    });
    return form;
  }

  function show(report) {
    document.title = report.category + " · 我的上报";
    fill(document.getElementById("r-report"),
      h("section", { class: "r-card r-head" },
        h("div", { class: "r-row" }, h("h2", {}, report.category), chip(report)),
        report.description ? h("p", { class: "r-desc-full" }, report.description) : null,
        facts(report)),
      timeline(report), photos(report), rating(report));
    root.dataset.state = "ready";
  }

  async function loadOne() {
    try {
      show(await api("/resident/reports/" + encodeURIComponent(code)));
    } catch (err) {
      fail(err);
    }
  }

  if (code) {
    loadOne();
  } else {
    document.getElementById("r-more").addEventListener("click", () => {
      page += 1;
      loadList();
    });
    loadList();
  }
})();
