// The grid worker app's 入户发放宣传折页 (in the 巡查 tab): pick a campaign and one of my grids,
// record each household reached (typed, or picked from the doors earlier campaigns reached),
// once per household; the grid's coverage follows at once.
(function () {
  "use strict";

  const { api, h, fill, toast, problemText, showErrors, clearErrors } = FQ;
  const $ = (id) => document.getElementById(id);
  const card = $("leaflet-card");
  if (!card) return;
  const campaignSelect = $("leaflet-campaign");
  const gridSelect = $("leaflet-grid");
  const form = $("leaflet-form");

  function rate(reached, households) {
    return households ? (reached / households * 100).toFixed(1) + "%" : "—";
  }

  // Only the campaign and grid chosen last are shown: a slower answer for a choice before is dropped.
  const refreshes = FQ.latest();

  async function refresh() {
    const current = refreshes();
    const campaign = campaignSelect.value;
    const grid = gridSelect.value;
    if (!campaign || !grid) return;
    try {
      const [coverage, doors] = await Promise.all([
        api("/leaflets/campaigns/" + campaign + "/coverage"),
        api("/leaflets/campaigns/" + campaign + "/households?grid_id=" + grid),
      ]);
      if (!current()) return;
      const row = coverage.grids.find((g) => String(g.grid.id) === grid);
      const reached = row ? row.reached : 0;
      const households = row ? row.households : 0;
      $("leaflet-coverage").textContent = "本网格已发放 " + reached + " 户，共 " + households + " 户，覆盖率 " + rate(reached, households);
      fill($("leaflet-known"), doors.filter((d) => !d.delivered).map((d) => h("option", { value: d.household })));
      fill($("leaflet-doors"), doors.filter((d) => d.delivered).map((d) => h("li", { class: "is-done" }, "✓ " + d.household)));
    } catch (error) {
      if (current()) toast(problemText(error), "error");
    }
  }

  async function start() {
    let campaigns;
    let grids;
    try {
      [campaigns, grids] = await Promise.all([api("/leaflets/campaigns"), api("/leaflets/grids")]);
    } catch (_error) {
      card.hidden = true;
      return;
    }
    if (!campaigns.length || !grids.length) {
      fill(campaignSelect, h("option", { value: "" }, "暂无发放任务"));
      form.hidden = true;
      return;
    }
    fill(campaignSelect, campaigns.map((c) => h("option", { value: c.id }, c.name)));
    fill(gridSelect, grids.map((g) => h("option", { value: g.grid.id }, g.grid.name)));
    refresh();
  }

  campaignSelect.addEventListener("change", refresh);
  gridSelect.addEventListener("change", refresh);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const household = $("leaflet-household").value.trim();
    if (!household) {
      showErrors(form, new FQ.ApiError(422, { detail_zh: "请填写门牌或地址", errors: [{ field: "household", reason_zh: "请填写门牌或地址" }] }));
      return;
    }
    try {
      await api("/leaflets/campaigns/" + campaignSelect.value + "/deliveries", { method: "POST",
        json: { grid_id: parseInt(gridSelect.value, 10), household: household } });
      toast(household + " 已登记", "ok");
      form.reset();
      refresh();
    } catch (error) {
      showErrors(form, error);
    }
  });
  start();
})();
