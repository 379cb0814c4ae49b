(function () {
  "use strict";
  var state = { sev: null, zone: "", pair: null, suppressed: true };
  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var sevBoxes = Array.prototype.slice.call(document.querySelectorAll("input[name=sev]"));
  var zoneSel = document.getElementById("zone-filter");
  var supBox = document.getElementById("show-suppressed");
  var chip = document.getElementById("pair-chip");
  var countEl = document.getElementById("finding-count");

  function apply() {
    var sevs = {};
    sevBoxes.forEach(function (b) { sevs[b.value] = b.checked; });
    var shown = 0;
    findings.forEach(function (el) {
      var ok = sevs[el.dataset.severity] !== false;
      if (ok && state.zone) { ok = (" " + el.dataset.zones + " ").indexOf(" " + state.zone + " ") >= 0; }
      if (ok && state.pair) { ok = el.dataset.src === state.pair[0] && el.dataset.dst === state.pair[1]; }
      if (ok && !state.suppressed) { ok = el.dataset.suppressed !== "true"; }
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (countEl) { countEl.textContent = shown + " of " + findings.length + " findings shown"; }
    if (chip) {
      chip.hidden = !state.pair;
      if (state.pair) { chip.querySelector("span").textContent = state.pair[0] + " \u2192 " + state.pair[1]; }
    }
    document.body.dataset.zoneFilter = state.zone;
  }

  function showFindings() {
    var sec = document.getElementById("sec-findings");
    if (sec && sec.scrollIntoView) { sec.scrollIntoView({ block: "start" }); }
  }

  function setZone(z) {
    state.zone = z; state.pair = null;
    if (zoneSel) { zoneSel.value = z; }
    apply(); showFindings();
  }

  function setPair(a, b) {
    state.pair = [a, b]; state.zone = "";
    if (zoneSel) { zoneSel.value = ""; }
    apply(); showFindings();
  }

  sevBoxes.forEach(function (b) { b.addEventListener("change", apply); });
  if (zoneSel) { zoneSel.addEventListener("change", function () { state.zone = zoneSel.value; state.pair = null; apply(); }); }
  if (supBox) { supBox.addEventListener("change", function () { state.suppressed = supBox.checked; apply(); }); }
  if (chip) { chip.querySelector("button").addEventListener("click", function () { state.pair = null; apply(); }); }
  var reset = document.getElementById("reset-filters");
  if (reset) {
    reset.addEventListener("click", function () {
      sevBoxes.forEach(function (b) { b.checked = true; });
      state.zone = ""; state.pair = null; state.suppressed = true;
      if (zoneSel) { zoneSel.value = ""; }
      if (supBox) { supBox.checked = true; }
      apply();
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-zone-link]"), function (el) {
    el.addEventListener("click", function (ev) { ev.preventDefault(); setZone(el.getAttribute("data-zone-link")); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("td.cell[data-src]"), function (el) {
    el.addEventListener("click", function () { setPair(el.dataset.src, el.dataset.dst); });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".graph g.zone"), function (g) {
    var id = g.getAttribute("id") || "";
    if (id.indexOf("zone-") === 0) {
      g.addEventListener("click", function () { setZone(id.slice(5)); });
    }
  });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  window.segcheckReport = { setZone: setZone, setPair: setPair, apply: apply };
  apply();
}());
