// Typesets the page's math with KaTeX (served from this site, assets/katex/).
// pymdownx.arithmatex writes \( \) and \[ \]; the notebook page writes $ and $$.
(function () {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
    throwOnError: false,
  });
})();
