// MathJax 2 settings, read by assets/mathjax/MathJax.js (served from this site)
// with its combined configuration TeX-AMS-MML_HTMLorMML-full.
// pymdownx.arithmatex writes \( \) and \[ \]; the notebook page writes $ and $$.
window.MathJax = {
  tex2jax: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    ignoreClass: "tex2jax_ignore|highlight|md-search",
  },
  "HTML-CSS": {
    availableFonts: ["STIX-Web"],
    preferredFont: "STIX-Web",
    webFont: "STIX-Web",
    imageFont: null,
  },
  messageStyle: "none",
  showMathMenu: false,
};
