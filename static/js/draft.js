/* The application form, made easier with JavaScript (everything works without it):
   conditional questions shown or hidden as answers change, budget totals while typing,
   a warning before the session ends with « stay signed in », an autosave met by an
   ended session kept on the page, no autosave racing a submitted form.
   No inline script (CSP): loaded by base.html, set up on each page htmx loads. */
(function () {
  "use strict";

  var WARN_BEFORE_S = 5 * 60;

  function csrfToken() {
    var page = document.querySelector(".page[hx-headers]");
    try {
      return JSON.parse(page.getAttribute("hx-headers"))["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  /* --- Conditional questions ------------------------------------------------------- */

  function answerOf(form, name) {
    var values = [];
    form.querySelectorAll("[name]").forEach(function (input) {
      if (input.name !== name || input.disabled) return;
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) values.push(input.value);
      } else if (input.value) {
        values.push(input.value);
      }
    });
    return values;
  }

  function applyConditions(form) {
    // In the form's order: a question hidden hides the questions that depend on it.
    form.querySelectorAll("[data-condition-field]").forEach(function (block) {
      var shown = answerOf(form, block.dataset.conditionField).indexOf(block.dataset.conditionValue) >= 0;
      block.hidden = !shown;
      block.querySelectorAll("input, textarea, select").forEach(function (input) {
        input.disabled = !shown;
      });
    });
  }

  /* --- Budget totals ------------------------------------------------------------------ */

  function cents(text) {
    var clean = (text || "").replace(/[\s\u00a0\u202f€]/g, "").replace(",", ".");
    if (!/^\d+(\.\d{0,2})?$/.test(clean)) return 0;
    return Math.round(parseFloat(clean) * 100);
  }

  function money(value) {
    var lang = document.documentElement.lang || "fr";
    return new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" }).format(value / 100);
  }

  function percent(basisPoints) {
    var lang = document.documentElement.lang || "fr";
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 2 }).format(basisPoints / 10000);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function updateBudget(form) {
    var summary = form.querySelector("#budget-summary");
    if (!summary) return;
    var charges = 0, produits = 0, inKindCharges = 0;
    form.querySelectorAll("input[name^='budget_charges_']").forEach(function (input) {
      var value = cents(input.value);
      charges += value;
      if (input.name === "budget_charges_86") inKindCharges = value;
    });
    form.querySelectorAll("input[name^='budget_produits_']").forEach(function (input) {
      produits += cents(input.value);
    });
    var requestedInput = form.querySelector("input[name='requested']");
    var requested = requestedInput ? cents(requestedInput.value) : 0;
    produits += requested;
    var eligible = charges - inKindCharges;
    var rate = eligible > 0 ? Math.ceil((requested * 10000) / eligible) : 0;
    var maxRate = parseInt(summary.dataset.maxRateBp, 10) || 0;
    var totalCharges = form.querySelector("#total-charges");
    var totalProduits = form.querySelector("#total-produits");
    if (totalCharges) totalCharges.textContent = money(charges);
    if (totalProduits) totalProduits.textContent = money(produits);
    var rateLine = summary.querySelector("[data-budget='rate']");
    rateLine.textContent = fill(summary.dataset.textRate, { rate: percent(rate) }) +
      (maxRate && rate > maxRate ? " " + summary.dataset.textOver : "");
    var balance = summary.querySelector("[data-budget='balance']");
    if (charges && charges !== produits) {
      balance.textContent = fill(summary.dataset.textUnbalanced, { charges: money(charges), produits: money(produits) });
      balance.className = "field__error";
    } else {
      balance.textContent = charges ? summary.dataset.textBalanced : "";
      balance.className = "";
    }
  }

  /* --- The session ---------------------------------------------------------------- */

  function setUpSession(form) {
    var warning = document.getElementById("session-warning");
    var ended = document.getElementById("session-ended");
    if (!warning || !ended || !form.dataset.sessionIdle) return;
    var idle = parseInt(form.dataset.sessionIdle, 10) * 1000;
    var absoluteEnd = Date.now() + parseInt(form.dataset.sessionAbsolute, 10) * 1000;
    var lastActivity = Date.now();
    var over = false;

    function end() { return Math.min(lastActivity + idle, absoluteEnd); }

    function showEnded() {
      over = true;
      warning.hidden = true;
      ended.hidden = false;
      ended.focus();
    }

    function check() {
      if (over || !document.body.contains(form)) return;
      var left = end() - Date.now();
      if (left <= 0) {
        showEnded();
      } else if (left <= WARN_BEFORE_S * 1000) {
        var minutes = warning.querySelector("[data-minutes]");
        if (minutes) minutes.textContent = String(Math.max(1, Math.ceil(left / 60000)));
        if (warning.hidden) {
          warning.hidden = false;
          warning.focus();
        }
      } else {
        warning.hidden = true;
      }
    }

    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) lastActivity = Date.now();
    });
    var stay = warning.querySelector("[data-keep-alive]");
    if (stay) {
      stay.addEventListener("click", function () {
        fetch(stay.dataset.keepAlive, {
          method: "POST",
          credentials: "same-origin",
          headers: { "x-csrftoken": csrfToken() },
        }).then(function (response) {
          if (response.status === 204) {
            lastActivity = Date.now();
            var absolute = parseInt(response.headers.get("X-Session-Seconds"), 10);
            if (absolute >= 0) absoluteEnd = Math.max(absoluteEnd, Date.now() + absolute * 1000);
            warning.hidden = true;
          } else {
            showEnded();
          }
        }).catch(function () { /* offline: the next check says it again */ });
      });
    }
    // An autosave answered 401: the page stays as it is, with what was typed.
    form.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.xhr.status === 401) {
        event.detail.shouldSwap = false;
        showEnded();
      }
    });
    window.setInterval(check, 15000);
    check();
  }

  /* --- Setting up ----------------------------------------------------------------- */

  function setUp(root) {
    var form = (root.querySelector && root.querySelector("form#draft")) || null;
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    applyConditions(form);
    updateBudget(form);
    form.addEventListener("change", function () { applyConditions(form); });
    form.addEventListener("input", function (event) {
      if (event.target.name && event.target.name.indexOf("budget_") === 0 || event.target.name === "requested") {
        updateBudget(form);
      }
    });
    // A form sent (Save, or a document's Send) carries every answer: an autosave still
    // waiting would only race it.
    form.addEventListener("submit", function () { form.dataset.submitting = "1"; });
    form.addEventListener("htmx:confirm", function (event) {
      if (form.dataset.submitting) event.preventDefault();
    });
    setUpSession(form);
  }

  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
})();
