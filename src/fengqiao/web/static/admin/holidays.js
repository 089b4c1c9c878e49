// 节假日 (administration): the official calendar and the administrator's overrides.
(function () {
  "use strict";

  const { api, h, query } = FQ;
  const A = FQAdmin;
  const SECTIONS = A.sections;
  const { tag, code } = A;

  const WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];

  function localToday() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  }

  SECTIONS.holidays = {
    noun: "日历调整",
    key: (row) => row.day,
    columns: [
      { label: "日期", cell: (d) => code(d.day) },
      { label: "星期", cell: (d) => WEEKDAYS[new Date(d.day + "T00:00:00Z").getUTCDay()] },
      { label: "是否工作日", cell: (d) => (d.is_working ? tag("工作日", "work") : tag("休息日", "rest")) },
      { label: "来源", cell: (d) => (d.source === "override" ? tag("人工调整", "override") : h("span", { class: "muted" }, "官方日历")) },
      { label: "说明", cell: (d) => d.note || h("span", { class: "muted" }, d.is_working ? "调休上班" : "法定节假日") },
    ],
    rowClass: (d) => (d.source === "override" ? ["is-override"] : []),
    filters: async () => {
      const year = Number(localToday().slice(0, 4));
      const years = new Set([year - 1, year, year + 1, year + 2]);
      const asked = Number(new URLSearchParams(location.search).get("year"));
      if (asked >= 2000 && asked <= 2100) years.add(asked);
      return [
        { name: "year", label: "年份", type: "select", options: [...years].sort().map((y) => [String(y), y + " 年"]),
          default: String(year) },
        { name: "show", label: "显示", type: "select",
          options: [["", "节假日、调休与人工调整"], ["override", "仅人工调整"], ["all", "全年每一天"]] },
      ];
    },
    load: async (f) => {
      const year = Number(f.year || localToday().slice(0, 4));
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      const days = await api("/sla/calendar" + query({ from: year + "-01-01", days: leap ? 366 : 365 }));
      const weekend = (d) => [0, 6].includes(new Date(d.day + "T00:00:00Z").getUTCDay());
      const rows = days.filter((d) => f.show === "all" || d.source === "override"
        || (f.show !== "override" && d.is_working === weekend(d)));
      return { rows, total: rows.length };
    },
    emptyText: "这一年没有节假日、调休或人工调整",
    title: (mode, d) => (mode === "edit" ? (d.source === "override" ? "人工调整：" : "调整：") + d.day : "新增日历调整"),
    formNote: (mode, d) => (mode === "edit" && d.source !== "override"
      ? "此日由官方日历决定；保存即登记人工调整，优先于官方日历。"
      : "人工调整优先于官方日历（如官方尚未公布的年份、本地调休）；删除后恢复官方日历。"),
    defaults: () => ({ day: "", is_working: "false" }),
    fields: async (mode, d) => [
      mode === "edit"
        ? { name: "day", label: "日期", type: "static", value: d.day + " " + WEEKDAYS[new Date(d.day + "T00:00:00Z").getUTCDay()] }
        : { name: "day", label: "日期", type: "date", required: true, min: "2000-01-01", max: "2100-12-31" },
      { name: "is_working", label: "是否工作日", type: "select", kind: "bool", required: true,
        options: [["true", "工作日（上班）"], ["false", "休息日（放假）"]] },
      { name: "note", label: "说明", maxlength: 100, empty: "", wide: true, placeholder: "如：国庆节放假、调休上班" },
    ],
    fullBody: true,
    body: (v, mode, d) => ({ day: mode === "edit" ? d.day : v.day, is_working: v.is_working, note: v.note }),
    save: (body) => api("/sla/calendar/" + body.day, { method: "PUT", json: { is_working: body.is_working, note: body.note } }),
    savedText: (mode, saved) => "已登记 " + saved.day + " 为" + (saved.is_working ? "工作日" : "休息日"),
    remove: (d) => api("/sla/calendar/" + d.day, { method: "DELETE" }),
    canRemove: (d) => d.source === "override",
    removeLabel: "删除调整",
    removedText: (d) => "已删除 " + d.day + " 的人工调整，恢复官方日历",
  };
})();
