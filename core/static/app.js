/* Small behaviour for every page, as a file (the CSP allows no inline script):
   a form with data-confirm="question" asks before it is sent. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
