/* Draws every chart whose figure the page carries as JSON (<script type="application/json"
   class="plotly-figure" data-target="id">): no inline script, so the CSP can forbid them. */
(function () {
  "use strict";
  var config = JSON.parse(document.currentScript.getAttribute("data-config") || "{}");
  function draw() {
    var figures = document.querySelectorAll("script.plotly-figure");
    for (var i = 0; i < figures.length; i++) {
      var figure = JSON.parse(figures[i].textContent);
      var target = document.getElementById(figures[i].getAttribute("data-target"));
      if (target) {
        window.Plotly.newPlot(target, figure.data, figure.layout, config);
      }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
