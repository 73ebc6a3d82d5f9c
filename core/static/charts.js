/* Draws every chart whose figure the page carries as JSON (<script type="application/json"
   class="plotly-figure" data-target="id">): no inline script, so the CSP can forbid them.
   The standalone HTML report carries this same file inline. */
(function () {
  "use strict";
  var config = JSON.parse(document.currentScript.getAttribute("data-config") || "{}");
  // A4 landscape less the @page margins of the print stylesheet (297 - 2 x 12 mm), in CSS pixels.
  var PRINT_WIDTH = Math.floor((297 - 24) / 25.4 * 96);

  function draw() {
    var figures = document.querySelectorAll("script.plotly-figure");
    for (var i = 0; i < figures.length; i++) {
      var figure = JSON.parse(figures[i].textContent);
      var target = document.getElementById(figures[i].getAttribute("data-target"));
      if (target) {
        // The PNG is named after its chart ("grafiek-budget.png"), not Plotly's "newplot.png".
        var options = Object.assign({}, config.toImageButtonOptions, {filename: target.id});
        window.Plotly.newPlot(target, figure.data, figure.layout,
                              Object.assign({}, config, {toImageButtonOptions: options}));
      }
    }
  }

  // Printing lays the page out at the paper's width but fires no resize, so a chart drawn for a wide
  // window would be cut off at the page edge: draw each at the printed width first, and back after.
  var printing = false;
  function fit(toPaper) {
    if (!window.Plotly || toPaper === printing) {
      return;
    }
    printing = toPaper;
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var i = 0; i < plots.length; i++) {
      var width = Math.min(plots[i].parentElement.getBoundingClientRect().width || PRINT_WIDTH, PRINT_WIDTH);
      window.Plotly.relayout(plots[i], {width: toPaper ? width : null});
    }
  }
  window.addEventListener("beforeprint", function () { fit(true); });
  window.addEventListener("afterprint", function () { fit(false); });
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    var follow = function (event) { fit(event.matches); };
    if (print.addEventListener) {
      print.addEventListener("change", follow);
    } else if (print.addListener) {
      print.addListener(follow);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
