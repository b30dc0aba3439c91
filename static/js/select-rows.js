// « Tout sélectionner / Ne rien sélectionner » above a table whose rows are ticked for
// a bulk form (the committee's sheet, the screening table): the buttons tick or untick
// the form's « ids » boxes here, without a request. Without JavaScript they are submit
// buttons and the server shows the page again with the rows ticked (or not).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-select]") : null;
    if (!button || !button.form) return;
    event.preventDefault();
    var tick = button.getAttribute("data-select") === "all";
    Array.prototype.forEach.call(button.form.elements, function (element) {
      if (element.type === "checkbox" && element.name === "ids" && !element.disabled) {
        element.checked = tick;
      }
    });
  });
})();
