// The editors' pages work without this script; it only helps:
// - the service fields show for a service entry (办事指南) only, and the end date is marked required for a notice;
// - after a refused save the focus moves to the list of problems, after a preview to its result.
(function () {
  "use strict";

  var kind = document.getElementById("f-kind");
  var service = document.getElementById("service-fields");
  var until = document.getElementById("f-valid-until");

  function follow() {
    if (service) {
      service.hidden = kind.value !== "service";
    }
    if (until) {
      until.required = kind.value === "notice";
      until.setAttribute("aria-required", kind.value === "notice" ? "true" : "false");
    }
  }

  if (kind) {
    kind.addEventListener("change", follow);
    follow();
  }

  var problems = document.getElementById("problems") || document.getElementById("preview-result");
  if (problems) {
    problems.focus();
  }
})();
