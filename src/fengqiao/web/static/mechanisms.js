// 工作机制: each card's figure from its mechanism's own list (the total of a one-row page, the
// towns still without this month's round, the standard in force or 尚未发布). A figure the caller may not
// read, or that fails, stays a dash; the card still links to its page.
(function () {
  "use strict";

  const { api } = FQ;
  const total = (path) => api(path).then((page) => page.total);
  const FIGURES = {
    jointops: () => total("/joint-operations?status=planned&size=1"),
    campaigns: () => total("/campaigns?status=active&size=1"),
    decisions: () => total("/tasks?kind=decision&status=open&light=red&size=1"),
    missing: () => api("/inspections/missing").then((answer) => answer.towns.length),
    rectifications: () => total("/tasks?kind=rectification&status=open&light=red&size=1"),
    // From the list of versions (newest first): before any is published the figure says so,
    // where /standards/current would answer 409 and log a failed request on a normal day.
    standard: () => api("/standards").then((versions) => {
      const inForce = versions.find((v) => v.status === "published");
      return inForce ? inForce.title : "尚未发布";
    }),
    tasks: () => total("/tasks?status=open&size=1"),
    late: () => total("/tasks?status=open&light=red&size=1"),
  };

  document.querySelectorAll("[data-figure]").forEach((line) => {
    const read = FIGURES[line.dataset.figure];
    const slot = line.querySelector("strong");
    read().then((value) => {
      slot.textContent = typeof value === "number" ? FQ.number(value) : value;
      line.classList.toggle("is-text", typeof value !== "number");
      if (typeof value === "number" && value > 0 && line.dataset.figure !== "campaigns"
          && line.dataset.figure !== "jointops" && line.dataset.figure !== "tasks") {
        line.classList.add("is-alert");
      }
    }).catch(() => { slot.textContent = "—"; });
  });
})();
