// 专项整治 on the event page: the campaigns the event is tagged to, with the quantity its closing
// records per measure (e.g. 拆除违建 1 处 and 320 平方米), entered at feedback or closing by the
// handler of the event's unit or by staff of the area (PUT /api/v1/campaigns/{id}/events/{code}).
(function () {
  "use strict";

  const { api, h, fill, toast, problemText } = FQ;
  const page = document.getElementById("event-page");
  const box = document.getElementById("event-campaigns");
  if (!page || !box) return;
  const canEnter = page.dataset.operator === "true" || page.dataset.canSupervise === "true" || !!page.dataset.unitId;

  function campaignBlock(code, c) {
    const rows = c.measures.filter((m) => m.applies || m.quantity != null).map((m) => {
      const shown = m.quantity != null ? m.quantity : (m.applies ? m.default_quantity : 0);
      const input = h("input", { type: "number", min: "0", step: m.unit === "m²" ? "0.1" : "1",
        value: String(shown), "aria-label": m.name, dataset: { measure: String(m.id) }, });
      return h("label", { class: "measure-row" }, h("span", {}, m.name), input, h("span", {}, m.unit_name),
        m.quantity == null ? h("span", { class: "muted" }, "（默认）") : null);
    });
    const save = h("button", { type: "button", class: "btn btn-secondary btn-small" }, "保存数量");
    save.addEventListener("click", async () => {
      const quantities = Array.from(block.querySelectorAll("input[data-measure]")).map((input) => ({
        measure_id: parseInt(input.dataset.measure, 10), quantity: parseFloat(input.value) || 0,
      }));
      try {
        await api("/campaigns/" + c.campaign_id + "/events/" + encodeURIComponent(code), { method: "PUT", json: { quantities: quantities } });
        toast("已保存“" + c.name + "”的数量", "ok");
        await load();
      } catch (error) {
        toast(problemText(error), "error");
      }
    });
    const block = h("div", { class: "event-campaign" },
      h("div", {}, h("a", { href: "/campaigns/" + c.campaign_id }, c.name), c.counted ? h("span", { class: "muted" }, "（已计入）") : null),
      rows, rows.length && c.status === "active" ? save : null);
    return block;
  }

  async function load() {
    const data = await api("/campaigns/event-tags/" + page.dataset.eventId);
    box.hidden = data.items.length === 0;
    fill(document.getElementById("event-campaign-list"), data.items.map((c) => campaignBlock(data.code, c)));
  }

  // Only the roles that may enter quantities ask (a 403 would show in the console of others).
  if (canEnter) load().catch(() => { box.hidden = true; });
})();
