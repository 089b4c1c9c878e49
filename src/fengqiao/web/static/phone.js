// Desk pages on a phone (办事指南, 代办): a table's rows read as cards, each cell labelled with its
// column's head, and the detail card opens as a sheet over the list where the finger is, instead
// of below a list thousands of pixels long. On a desk both leave the page as it is (phone.css).
(function () {
  "use strict";

  const PHONE = window.matchMedia("(max-width: 760px)");

  // Label each cell of `table` with its column's head (data-label, which phone.css shows before
  // the cell on a phone), for the rows there now and every row a list adds later.
  function cards(table) {
    const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
    const body = table.tBodies[0];
    const label = () => {
      for (const row of body.rows) {
        [...row.cells].forEach((cell, index) => {
          if (cell.colSpan === 1 && heads[index]) cell.dataset.label = heads[index];
        });
      }
    };
    table.classList.add("phone-cards");
    new MutationObserver(label).observe(body, { childList: true });
    label();
  }

  // `card` (an aside with a .sheet-close button) as a sheet on a phone: open() shows it over the
  // page with a backdrop, scrolled to its top; the button, the backdrop and Escape close it. On a
  // desk the card stays beside the list and open() does nothing.
  function sheet(card) {
    const backdrop = FQ.h("div", { class: "sheet-backdrop", hidden: true });
    document.body.append(backdrop);
    function close() {
      card.classList.remove("is-open");
      backdrop.hidden = true;
      document.body.classList.remove("has-sheet");
    }
    function open() {
      if (!PHONE.matches) return;
      card.classList.add("is-open");
      backdrop.hidden = false;
      document.body.classList.add("has-sheet");
      card.scrollTop = 0;
    }
    backdrop.addEventListener("click", close);
    card.querySelector(".sheet-close").addEventListener("click", close);
    document.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
    PHONE.addEventListener("change", close);
    return { open, close };
  }

  window.FQPhone = { cards, sheet };
})();
