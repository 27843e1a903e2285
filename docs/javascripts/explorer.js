// The live explorer's entry point, on every page of the site (mkdocs.yml lists
// it): where a page has an explorer (<div class="vae-explorer">), it loads the
// explorer itself, explorer-ui.js; elsewhere it does nothing and costs nothing.
(function () {
  "use strict";
  if (!document.querySelector(".vae-explorer")) return;
  const script = document.createElement("script");
  script.src = new URL("explorer-ui.js", document.currentScript.src).href;
  document.head.appendChild(script);
})();
