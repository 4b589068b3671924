// Tip pages: "add another person" for the accused formset and fields shown only when a box is
// ticked. Loaded as a file because the CSP forbids inline scripts; every page works without it
// (the extra fields are simply always shown, and one accused row is offered).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".js-accused-add").forEach(function (button) {
    var fieldset = button.closest("fieldset");
    var rows = fieldset.querySelector(".js-accused-rows");
    var template = fieldset.querySelector("template.js-accused-template");
    var total = fieldset.querySelector("input[name$='-TOTAL_FORMS']");
    var max = fieldset.querySelector("input[name$='-MAX_NUM_FORMS']");
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) {
        button.disabled = true;
        return;
      }
      var html = template.innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = rows.lastElementChild.querySelector("input");
      if (added) { added.focus(); }
    });
  });

  document.querySelectorAll(".js-show-if").forEach(function (block) {
    var box = document.getElementById(block.getAttribute("data-show-if"));
    if (!box) { return; }
    var hasErrors = block.querySelector(".invalid-feedback") !== null;
    function sync() { block.classList.toggle("d-none", !box.checked && !hasErrors); }
    box.addEventListener("change", function () { hasErrors = false; sync(); });
    sync();
  });
});
