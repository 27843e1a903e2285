// The live explorer's entry point, on every page of the site (mkdocs.yml lists
// it): where a page has an explorer (<div class="vae-explorer">), it loads the
// explorer itself, explorer-ui.js; elsewhere it does nothing and costs nothing.
// window.vaeExplorer.ready exists from here on, and settles when the explorer
// has started, or has failed to.
(function () {
  "use strict";
  if (!document.querySelector(".vae-explorer")) return;
  let settle = null;
  const ready = new Promise((resolve, reject) => { settle = { resolve: resolve, reject: reject }; });
  window.vaeExplorer = { ready: ready, settle: settle };
  const script = document.createElement("script");
  script.src = new URL("explorer-ui.js", document.currentScript.src).href;
  script.onerror = () => settle.reject(new Error("could not load " + script.src));
  document.head.appendChild(script);
})();
