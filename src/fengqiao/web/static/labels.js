// The UI words of every vocabulary, served by the server (web/labels.py) in the page shell's
// #fq-labels block: scripts ask FQ.label("status", "closed") or FQ.labels("channels") instead of
// keeping their own copies. Loaded after fq.js and before the page's scripts.
(function () {
  "use strict";

  const block = document.getElementById("fq-labels");
  const VOCABULARIES = block ? JSON.parse(block.textContent) : {};
  for (const words of Object.values(VOCABULARIES)) Object.freeze(words);
  Object.freeze(VOCABULARIES);
  const NONE = Object.freeze({});

  // All words of one vocabulary, {code: 中文} (the escalation rungs: a list by rung).
  function labels(vocabulary) {
    return VOCABULARIES[vocabulary] || NONE;
  }

  // The word for one code; an unknown code shows as itself, as the pages always did.
  function label(vocabulary, code) {
    const words = labels(vocabulary);
    if (code != null && Object.prototype.hasOwnProperty.call(words, code)) return words[code];
    return code == null ? "" : String(code);
  }

  window.FQ = Object.assign(window.FQ || {}, { label, labels });
})();
