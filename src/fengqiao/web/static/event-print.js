// Printing an event (打印): the print stylesheet (print.css) makes the page an A4 document; this
// button opens the browser's print dialog, and before any printing the photos are loaded (they
// load lazily on screen, and a photo never scrolled to would print as an empty box) and the
// printing time is stamped in the document's head.
(function () {
  "use strict";

  const stamp = document.getElementById("printed-at");

  function prepare() {
    for (const img of document.querySelectorAll("#event-photos img")) img.loading = "eager";
    if (stamp) stamp.textContent = "　打印时间：" + FQ.time(new Date().toISOString());
  }

  window.addEventListener("beforeprint", prepare);
  document.getElementById("print-event").addEventListener("click", () => {
    prepare();
    window.print();
  });
})();
