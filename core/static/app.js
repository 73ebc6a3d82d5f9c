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

/* A confirmation after a save: focus it, so the page shows it and a screen reader reads it. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var messages = document.getElementById("meldingen");
    if (messages && !document.querySelector(".error-summary")) {
      messages.focus();
    }
  });
})();
