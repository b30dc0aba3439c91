// The financial statement's totals and variances while typing (templates/grants/
// _statement.html): computed here, no request per key; the server's figures replace
// them at each save. Without JavaScript the page shows the saved totals.
(function () {
  "use strict";

  function parseCents(text) {
    var value = (text || "").replace(/[\s\u00a0\u202f€]/g, "").replace(/EUR$/i, "");
    if (value === "") return 0;
    var lastComma = value.lastIndexOf(","), lastDot = value.lastIndexOf(".");
    var decimal = lastComma > lastDot ? "," : ".";
    var other = decimal === "," ? "." : ",";
    var parts = value.split(other).join("").split(decimal);
    if (parts.length > 2 || !/^\d+$/.test(parts[0] || "0")) return null;
    var cents = parts[1] || "";
    if (!/^\d{0,2}$/.test(cents)) return null;
    return parseInt(parts[0] || "0", 10) * 100 + parseInt((cents + "00").slice(0, 2), 10);
  }

  function formatter() {
    var lang = document.documentElement.lang || "fr";
    return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB", {
      style: "currency", currency: "EUR",
    });
  }

  function percent(value) {
    var lang = document.documentElement.lang || "fr";
    var text = new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB", {
      minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "always",
    }).format(value);
    return text + "\u00a0%";
  }

  function update(table) {
    var money = formatter();
    var totals = {};
    var typed = {};
    table.querySelectorAll("tr[data-side]").forEach(function (row) {
      var side = row.getAttribute("data-side");
      var input = row.querySelector("input");
      var cell = row.querySelector("[data-variance]");
      if (!input || !cell) return;
      var cents = input.value.trim() === "" ? null : parseCents(input.value);
      totals[side] = totals[side] || 0;
      if (cents === null) {
        cell.textContent = "—";
        return;
      }
      typed[side] = true;
      totals[side] += cents;
      var forecast = parseInt(row.getAttribute("data-forecast"), 10) || 0;
      var variance = cents - forecast;
      cell.textContent = money.format(variance / 100) +
        (forecast ? " (" + percent(variance * 100 / forecast) + ")" : "");
    });
    table.querySelectorAll("tr[data-total]").forEach(function (row) {
      var side = row.getAttribute("data-total");
      var forecast = parseInt(row.getAttribute("data-forecast"), 10) || 0;
      var total = totals[side] || 0;
      row.querySelector("[data-actual]").textContent = money.format(total / 100);
      row.querySelector("[data-variance]").textContent =
        typed[side] ? money.format((total - forecast) / 100) : "";
    });
  }

  // Delegated: works on pages htmx swaps in (boosted navigation) as on the first one.
  document.addEventListener("input", function (event) {
    var table = event.target.closest && event.target.closest("table[data-statement]");
    if (table) update(table);
  });
})();
