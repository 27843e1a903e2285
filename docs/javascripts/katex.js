// Typesets the page's math with KaTeX, served from this site (assets/katex/).
// KaTeX is loaded only on pages that have math: pymdownx.arithmatex marks its
// \( \) and \[ \] with class "arithmatex"; notebook pages write $ and $$ in
// their rendered Markdown cells.
(function () {
  "use strict";
  const MATH = ".arithmatex, .jp-RenderedMarkdown";
  if (!document.querySelector(MATH)) return;
  const base = new URL("../assets/katex/", document.currentScript.src);

  function load(tag, attributes) {
    return new Promise((resolve, reject) => {
      const element = Object.assign(document.createElement(tag), attributes);
      element.onload = resolve;
      element.onerror = () => reject(new Error("cannot load " + (attributes.src || attributes.href)));
      document.head.appendChild(element);
    });
  }

  load("link", { rel: "stylesheet", href: new URL("katex.min.css", base).href });
  load("script", { src: new URL("katex.min.js", base).href })
    .then(() => load("script", { src: new URL("contrib/auto-render.min.js", base).href }))
    .then(() => {
      document.querySelectorAll(MATH).forEach((element) => {
        renderMathInElement(element, {
          delimiters: [
            { left: "$$", right: "$$", display: true },
            { left: "\\[", right: "\\]", display: true },
            { left: "\\(", right: "\\)", display: false },
            { left: "$", right: "$", display: false },
          ],
          ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
          throwOnError: false,
        });
      });
      document.documentElement.dataset.mathTypeset = "true";
    });
})();
